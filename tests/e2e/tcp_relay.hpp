// A TCP relay between clients and a server on loopback, for tests that need
// a connection to die without the server noticing: cut() drops the client
// side of every relayed connection and leaves the server side open and
// silent, as a network that lost a link would.
#pragma once

#include <gio/gio.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace webrtccall::test {

class TcpRelay {
public:
  explicit TcpRelay(guint16 target_port); // to 127.0.0.1:target_port
  ~TcpRelay();
  TcpRelay(const TcpRelay &) = delete;
  TcpRelay &operator=(const TcpRelay &) = delete;

  guint16 port() const { return port_; }
  // Closes the client side of every connection relayed so far; the server
  // sides stay open, with nothing more sent on them.
  void cut();

private:
  struct Pair {
    GSocketConnection *client;
    GSocketConnection *server;
    GCancellable *splice;
  };
  static gboolean on_incoming(GSocketService *, GSocketConnection *client, GObject *,
                              gpointer self);

  guint16 target_port_;
  guint16 port_ = 0;
  GMainContext *context_;
  GMainLoop *loop_;
  GSocketService *service_ = nullptr;
  std::thread thread_;
  std::mutex lock_;
  std::vector<Pair> pairs_;
};

} // namespace webrtccall::test
