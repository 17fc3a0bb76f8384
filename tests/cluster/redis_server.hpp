// A real redis-server for a test: started on a free loopback port with
// nothing saved to disk, stopped, killed and started again on the same port,
// and a blocking client of its own (hiredis's synchronous API) through which
// the test looks at what the servers under test wrote.
#pragma once

#include <gio/gio.h>

#include <string>
#include <vector>

namespace webrtccall::test {

class RedisServer {
public:
  RedisServer(); // redis-server from $REDIS_SERVER
  ~RedisServer();
  RedisServer(const RedisServer &) = delete;
  RedisServer &operator=(const RedisServer &) = delete;

  int port() const { return port_; }
  std::string url() const; // redis://127.0.0.1:PORT

  void start(); // again, on the same port, empty
  void stop();  // SIGTERM, and wait for the exit
  void kill();  // SIGKILL, and wait for the exit
  bool running() const;

  // A command and its reply as text: strings as they are, integers in
  // decimal, nil as "(nil)", errors as "(error) ...", arrays as [a,b].
  std::string command(const std::vector<std::string> &args);

private:
  bool launch(); // false when redis-server exited at once (its port was taken)
  void wait_exit();

  std::string binary_;
  std::string dir_; // its working folder, for its log
  int port_ = 0;
  GSubprocess *process_ = nullptr;
};

} // namespace webrtccall::test
