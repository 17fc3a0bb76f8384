#include "instance.hpp"

#include "server_process.hpp"
#include "wait_deadline.hpp"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/prctl.h>

#include <csignal>

namespace webrtccall::test {

namespace {

std::string read_file(const std::string &path) {
  g_autofree char *contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(path.c_str(), &contents, &length, nullptr))
    return {};
  return std::string(contents, length);
}

std::string member(const std::string &json, const char *name) {
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, json.c_str(), -1, nullptr))
    g_error("/healthz is not JSON: %s", json.c_str());
  JsonObject *object = json_node_get_object(json_parser_get_root(parser));
  if (!json_object_has_member(object, name))
    g_error("/healthz has no \"%s\": %s", name, json.c_str());
  return json_object_get_string_member(object, name);
}

} // namespace

Instance::Instance(const std::string &redis_url, const std::vector<std::string> &args) {
  g_autofree char *dir = g_dir_make_tmp("webrtccall-instance-XXXXXX", nullptr);
  dir_ = dir;
  std::vector<std::string> argv = {required_env("WEBRTCCALL_SIGNALING"),
                                   "--port",
                                   "0",
                                   "--host",
                                   "127.0.0.1",
                                   "--verbose",
                                   "--redis",
                                   redis_url};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<const char *> pointers;
  for (const auto &arg : argv)
    pointers.push_back(arg.c_str());
  pointers.push_back(nullptr);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
  // Files, not pipes: a verbose server would block on a full pipe nobody drains.
  g_subprocess_launcher_set_stdout_file_path(launcher, (dir_ + "/stdout").c_str());
  g_subprocess_launcher_set_stderr_file_path(launcher, (dir_ + "/stderr").c_str());
  g_subprocess_launcher_set_child_setup(
      launcher, +[](gpointer) { prctl(PR_SET_PDEATHSIG, SIGKILL); }, nullptr, nullptr);
  g_autoptr(GError) error = nullptr;
  process_ = g_subprocess_launcher_spawnv(launcher, pointers.data(), &error);
  if (!process_)
    g_error("cannot start %s: %s", argv[0].c_str(), error->message);
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (url_.empty()) {
    std::string out = read_file(dir_ + "/stdout");
    if (auto newline = out.find('\n'); newline != std::string::npos)
      url_ = out.substr(0, newline);
    else if (!g_subprocess_get_identifier(process_))
      g_error("the instance exited before it was ready:\n%s", log().c_str());
    else if (g_get_monotonic_time() > deadline)
      g_error("the instance printed no URL within 10 s:\n%s", log().c_str());
    else
      g_usleep(5000); // polling a file: there is no event to wait on
  }
  id_ = member(health(), "instance");
}

Instance::~Instance() {
  if (g_getenv("WEBRTCCALL_TEST_SANITIZERS"))
    check_exit();
  if (g_subprocess_get_identifier(process_))
    kill();
  g_object_unref(process_);
  for (const char *file : {"/stdout", "/stderr"})
    g_unlink((dir_ + file).c_str());
  g_rmdir(dir_.c_str());
}

std::string Instance::health() {
  std::string url = url_;
  url.replace(0, 2, "http"); // ws:// -> http://
  std::string body;
  int status = http_get(url + "healthz", body);
  if (status != 200)
    g_error("/healthz answered %d: %s", status, body.c_str());
  return body;
}

bool Instance::redis_up() {
  return member(health(), "redis") == "up";
}

void Instance::wait_redis(bool up, int timeout_ms) {
  gint64 deadline = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
  while (redis_up() != up) {
    if (g_get_monotonic_time() > deadline)
      g_error("instance %s did not say redis \"%s\" within %d ms:\n%s", id_.c_str(),
              up ? "up" : "down", timeout_ms, log().c_str());
    g_usleep(20000); // polling /healthz: the server announces nothing else
  }
}

// As tests/lib/server_process.cpp does for a single server: a killed process
// is never checked for leaks, and one that ended on a finding might go
// unnoticed.
void Instance::check_exit() {
  int status = 0;
  if (!ended_) {
    // Maybe stopped by the test (SIGSTOP): it must run to end.
    g_subprocess_send_signal(process_, SIGCONT);
    g_subprocess_send_signal(process_, SIGTERM);
    gint64 deadline = wait_deadline(10000);
    while (g_subprocess_get_identifier(process_) && g_get_monotonic_time() < deadline) {
      g_main_context_iteration(nullptr, FALSE); // GSubprocess reaps through the main context
      g_usleep(5000);
    }
    if (g_subprocess_get_identifier(process_))
      g_error("instance %s did not end within 10 s of SIGTERM at the end of the test:\n%s",
              id_.c_str(), log().c_str());
    status = g_subprocess_get_if_signaled(process_) ? 128 + g_subprocess_get_term_sig(process_)
                                                    : g_subprocess_get_exit_status(process_);
  }
  std::string text = log();
  bool reported = false;
  for (const char *report : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"})
    reported = reported || text.find(report) != std::string::npos;
  if (reported || status != 0)
    g_error("instance %s %s (status %d at the end of the test):\n%s", id_.c_str(),
            reported ? "reported a finding" : "did not exit cleanly when stopped", status,
            text.c_str());
}

void Instance::kill() {
  ended_ = true;
  g_subprocess_force_exit(process_);
  g_subprocess_wait(process_, nullptr, nullptr);
}

void Instance::signal(int signal) {
  g_subprocess_send_signal(process_, signal);
}

int Instance::stop(int signal) {
  ended_ = true;
  g_subprocess_send_signal(process_, signal);
  g_subprocess_wait(process_, nullptr, nullptr);
  if (g_subprocess_get_if_signaled(process_))
    return 128 + g_subprocess_get_term_sig(process_);
  return g_subprocess_get_exit_status(process_);
}

std::string Instance::log() const {
  return read_file(dir_ + "/stderr");
}

} // namespace webrtccall::test
