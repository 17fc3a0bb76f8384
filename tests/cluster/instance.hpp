// One webrtccall-signaling instance of a cluster, in a child process:
// started with --redis on a free loopback port, killed with the test if the
// test dies (a failed test aborts without destructors), and asked over
// /healthz for its instance id and whether it reaches Redis. Killed when this
// goes, except under the sanitizers (WEBRTCCALL_TEST_SANITIZERS): there one
// the test did not end is stopped with SIGTERM and must exit cleanly, so that
// LeakSanitizer checks it and a finding fails the test.
#pragma once

#include <gio/gio.h>

#include <string>
#include <vector>

namespace webrtccall::test {

class Instance {
public:
  // --port 0 --host 127.0.0.1 --verbose --redis `redis_url` `args`; waits for
  // the URL line, which comes once Redis is reached.
  explicit Instance(const std::string &redis_url, const std::vector<std::string> &args = {});
  ~Instance();
  Instance(const Instance &) = delete;
  Instance &operator=(const Instance &) = delete;

  const std::string &url() const { return url_; } // ws://127.0.0.1:PORT/
  const std::string &id() const { return id_; }   // its instance id in Redis's keys
  bool redis_up();                                // what /healthz says now
  void wait_redis(bool up, int timeout_ms);       // until /healthz says so
  void kill();                                    // SIGKILL, reaped
  void signal(int signal);                        // SIGSTOP, SIGCONT: no wait
  int stop(int signal);                           // exit status (128+N for signal N)
  std::string log() const;

private:
  std::string health();
  void check_exit();

  GSubprocess *process_ = nullptr;
  std::string dir_;
  std::string url_;
  std::string id_;
  bool ended_ = false; // by kill() or stop(): the test judged how it ended
};

} // namespace webrtccall::test
