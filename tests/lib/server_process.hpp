// Starts a signaling server in a child process for a test: ours, or the
// tutorial's own Node.js server (interop). Both print the URL they listen on
// as their first line of output. The process is killed when this goes; under
// the sanitizers (WEBRTCCALL_TEST_SANITIZERS) ours is stopped with SIGTERM
// instead and must exit cleanly, so that a leak or a late finding in any
// test's server fails that test.
#pragma once

#include <gio/gio.h>

#include <string>
#include <vector>

namespace webrtccall::test {

class ServerProcess {
public:
  // Our webrtccall-signaling (path from $WEBRTCCALL_SIGNALING) with --port 0
  // --host 127.0.0.1 plus `args`, and --verbose unless a load test would make
  // its log gigabytes.
  static ServerProcess ours(const std::vector<std::string> &args = {}, bool verbose = true);
  // The tutorial's unchanged server.js, run with node and our port preload
  // ($NODE, $TUTORIAL_SERVER_JS, $TUTORIAL_PRELOAD, $NODE_PATH).
  static ServerProcess tutorial();
  // Whichever $WIRE_SERVER names: "ours" (with the tutorial's greeting) or "tutorial".
  static ServerProcess for_wire_tests();

  ServerProcess(ServerProcess &&other) noexcept;
  ~ServerProcess();

  const std::string &url() const { return url_; }      // ws://127.0.0.1:PORT/
  std::string http_url(const std::string &path) const; // http://127.0.0.1:PORT/path
  bool is_tutorial() const { return tutorial_; }
  int pid() const; // for a load generator that samples the server's memory and CPU
  bool running();
  // Sends `signal`, waits for the exit; returns the exit status, or -1 if it
  // did not exit by the deadline (then it is killed). The caller judges the
  // status; the destructor still fails the test on a sanitizer's report.
  int stop(int signal, int timeout_ms);
  // What the process logged on stderr so far.
  std::string log() const;
  // Fails the test if the log has a warning or critical from any domain: bad
  // client input must be logged as a message, and criticals are bugs.
  void assert_log_clean() const;

private:
  ServerProcess(const std::vector<std::string> &argv, bool tutorial);
  void check_exit();

  GSubprocess *process_ = nullptr;
  std::string url_;
  std::string stdout_path_;
  std::string stderr_path_;
  bool tutorial_ = false;
  bool stopped_ = false; // by stop(): the test judged how it ended
};

// Returns the environment variable or fails the test naming it.
std::string required_env(const char *name);

// After a client was refused or dropped: the server is still running, logged
// no warning, and two new users complete a call set-up through it.
void assert_calls_still_work(ServerProcess &server);

// A blocking HTTP GET; returns the status and fills `body`.
int http_get(const std::string &url, std::string &body, const char *method = "GET");

} // namespace webrtccall::test
