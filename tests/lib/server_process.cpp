#include "server_process.hpp"

#include "wait_deadline.hpp"
#include "ws_client.hpp"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <sys/prctl.h>

#include <csignal>
#include <cstdlib>
#include <utility>

namespace webrtccall::test {

namespace {

std::string temp_path(const char *suffix) {
  g_autofree char *dir = g_dir_make_tmp("webrtccall-test-XXXXXX", nullptr);
  return std::string(dir) + "/" + suffix;
}

std::string read_file(const std::string &path) {
  g_autofree char *contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(path.c_str(), &contents, &length, nullptr))
    return {};
  return std::string(contents, length);
}

} // namespace

std::string required_env(const char *name) {
  const char *value = g_getenv(name);
  if (!value || !*value)
    g_error("$%s is not set: run the tests through meson test", name);
  return value;
}

ServerProcess::ServerProcess(const std::vector<std::string> &argv, bool tutorial)
    : stdout_path_(temp_path("stdout")), stderr_path_(temp_path("stderr")), tutorial_(tutorial) {
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
  // A test that fails aborts without running our destructor: the server must
  // not outlive it (a load test's would go on holding its port and memory).
  g_subprocess_launcher_set_child_setup(
      launcher, +[](gpointer) { prctl(PR_SET_PDEATHSIG, SIGKILL); }, nullptr, nullptr);
  // Files, not pipes: nobody drains a pipe during a test, and a full one
  // would stall the tutorial's server, which logs every message.
  g_subprocess_launcher_set_stdout_file_path(launcher, stdout_path_.c_str());
  g_subprocess_launcher_set_stderr_file_path(launcher, stderr_path_.c_str());
  std::vector<const char *> args;
  for (const auto &arg : argv)
    args.push_back(arg.c_str());
  args.push_back(nullptr);
  g_autoptr(GError) error = nullptr;
  process_ = g_subprocess_launcher_spawnv(launcher, args.data(), &error);
  if (!process_)
    g_error("cannot start %s: %s", argv[0].c_str(), error->message);

  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time() < deadline) {
    std::string out = read_file(stdout_path_);
    auto newline = out.find('\n');
    if (newline != std::string::npos) {
      url_ = out.substr(0, newline);
      return;
    }
    if (!running())
      g_error("%s exited before listening:\n%s", argv[0].c_str(), log().c_str());
    g_usleep(5000); // polling a file; there is no event to wait on
  }
  g_error("%s printed no URL within 10 s:\n%s", argv[0].c_str(), log().c_str());
}

ServerProcess ServerProcess::ours(const std::vector<std::string> &args, bool verbose) {
  std::vector<std::string> argv = {required_env("WEBRTCCALL_SIGNALING"), "--port", "0", "--host",
                                   "127.0.0.1"};
  if (verbose)
    argv.push_back("--verbose");
  argv.insert(argv.end(), args.begin(), args.end());
  return ServerProcess(argv, false);
}

ServerProcess ServerProcess::tutorial() {
  // NODE_PATH is passed down from our environment so server.js finds `ws`.
  required_env("NODE_PATH");
  return ServerProcess({required_env("NODE"), "-r", required_env("TUTORIAL_PRELOAD"),
                        required_env("TUTORIAL_SERVER_JS")},
                       true);
}

ServerProcess ServerProcess::for_wire_tests() {
  std::string which = required_env("WIRE_SERVER");
  if (which == "tutorial")
    return tutorial();
  if (which == "ours")
    return ours({"--greeting"});
  g_error("$WIRE_SERVER must be ours or tutorial, not %s", which.c_str());
}

ServerProcess::ServerProcess(ServerProcess &&other) noexcept
    : process_(std::exchange(other.process_, nullptr)), url_(std::move(other.url_)),
      stdout_path_(std::move(other.stdout_path_)), stderr_path_(std::move(other.stderr_path_)),
      tutorial_(other.tutorial_), stopped_(other.stopped_) {}

ServerProcess::~ServerProcess() {
  if (!process_)
    return;
  if (!tutorial_ && g_getenv("WEBRTCCALL_TEST_SANITIZERS"))
    check_exit();
  if (running()) {
    g_subprocess_force_exit(process_);
    g_subprocess_wait(process_, nullptr, nullptr);
  }
  g_object_unref(process_);
  for (const auto &path : {stdout_path_, stderr_path_}) {
    g_unlink(path.c_str());
    g_autofree char *dir = g_path_get_dirname(path.c_str());
    g_rmdir(dir);
  }
}

std::string ServerProcess::http_url(const std::string &path) const {
  std::string base = url_;
  base.replace(0, 2, "http"); // ws:// -> http://
  if (!base.empty() && base.back() == '/' && !path.empty() && path[0] == '/')
    base.pop_back();
  return base + path;
}

int ServerProcess::pid() const {
  const char *id = process_ ? g_subprocess_get_identifier(process_) : nullptr;
  return id ? std::atoi(id) : 0;
}

bool ServerProcess::running() {
  // g_subprocess_get_if_exited needs the exit reaped; poll with a zero wait.
  if (!process_)
    return false;
  const char *id = g_subprocess_get_identifier(process_);
  return id != nullptr;
}

// Under the sanitizers, killing the server would skip LeakSanitizer's check
// at exit, and a server that ended on a finding might go unnoticed by a test
// that was done with it. The ASan and LSan reports end the process with
// status 1, and UBSan's too (halt_on_error, tests/sanitizers/meson.build).
void ServerProcess::check_exit() {
  int status = 0;
  if (!stopped_)
    // What the test did not stop ends as an operator would end it. Running or
    // not: a server that died on its own is reaped here, with its status.
    status = stop(SIGTERM, int(10000 * wait_scale()));
  std::string text = log();
  bool reported = false;
  for (const char *report : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"})
    reported = reported || text.find(report) != std::string::npos;
  if (reported || status != 0)
    g_error("the server %s (status %d at the end of the test):\n%s",
            reported ? "reported a finding" : "did not exit cleanly when stopped", status,
            text.c_str());
}

int ServerProcess::stop(int signal, int timeout_ms) {
  stopped_ = true;
  g_subprocess_send_signal(process_, signal);
  gint64 deadline = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
  while (running() && g_get_monotonic_time() < deadline) {
    g_main_context_iteration(nullptr, FALSE); // GSubprocess reaps through the main context
    g_usleep(5000);
  }
  if (running()) {
    g_subprocess_force_exit(process_);
    g_subprocess_wait(process_, nullptr, nullptr);
    return -1;
  }
  if (g_subprocess_get_if_signaled(process_))
    return 128 + g_subprocess_get_term_sig(process_);
  return g_subprocess_get_exit_status(process_);
}

std::string ServerProcess::log() const {
  return read_file(stderr_path_);
}

void ServerProcess::assert_log_clean() const {
  std::string text = log();
  for (const char *bad : {"-WARNING **", "-CRITICAL **", "-ERROR **"})
    if (text.find(bad) != std::string::npos)
      g_error("the server logged a%s:\n%s", bad, text.c_str());
}

void assert_calls_still_work(ServerProcess &server) {
  g_assert_true(server.running());
  server.assert_log_clean();
  std::string suffix = std::to_string(g_random_int());
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice-" + suffix);
  bob.login("bob-" + suffix);
  establish(alice, "bob-" + suffix, bob, "alice-" + suffix);
}

int http_get(const std::string &url, std::string &body, const char *method) {
  g_autoptr(SoupSession) session = soup_session_new();
  g_autoptr(SoupMessage) message = soup_message_new(method, url.c_str());
  if (!message)
    g_error("bad URL %s", url.c_str());
  g_autoptr(GError) error = nullptr;
  g_autoptr(GBytes) bytes = soup_session_send_and_read(session, message, nullptr, &error);
  if (!bytes)
    g_error("GET %s failed: %s", url.c_str(), error->message);
  gsize size = 0;
  const char *data = static_cast<const char *>(g_bytes_get_data(bytes, &size));
  body.assign(data ? data : "", size);
  return int(soup_message_get_status(message));
}

} // namespace webrtccall::test
