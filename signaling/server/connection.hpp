// One client's WebSocket: size and rate limits, keepalive, sending, closing.
// Knows nothing of the protocol: complete text messages go to its owner.
#pragma once

#include "client_log.hpp"
#include "limits.hpp"
#include "registry.hpp"
#include "socket_poller.hpp"
#include "websocket.hpp"

#include <gio/gio.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace webrtccall::server {

class Connection;

// What a connection reports to its owner (the Server). All calls come on the
// server's main thread.
class ConnectionOwner {
public:
  virtual ~ConnectionOwner() = default;
  virtual void on_text(Connection &connection, std::string_view text) = 0;
  // The client is gone or was dropped: release its name now. May come before
  // the socket has finished closing.
  virtual void on_gone(Connection &connection) = 0;
  // The socket is closed: the connection may be destroyed.
  virtual void on_closed(Connection &connection) = 0;
};

class Connection final : private WebSocketListener, private SocketPoller::Watcher {
public:
  // `stream`: the upgraded HTTP connection (plain or TLS), `fd` its socket.
  // `log`: the server's, shared by every connection (client_log.hpp).
  Connection(ConnectionId id, std::string address, GIOStream *stream, int fd, bool tls,
             const Limits &limits, SocketPoller &poller, ClientLog &log, ConnectionOwner &owner);
  ~Connection();
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  ConnectionId id() const { return id_; }
  const std::string &address() const { return address_; }

  void send(std::string_view text);
  // Starts a clean close. The owner hears on_gone now and on_closed later.
  void close(std::uint16_t code, const char *reason);

private:
  // WebSocketListener
  void on_message(bool text, std::string_view payload) override;
  void on_pong() override;
  void on_closing() override;
  void on_problem(const std::string &problem) override;
  void on_closed() override;
  // SocketPoller::Watcher, of a timer alone: the keepalive
  void on_timer() override;

  bool admit_message(); // the rate limit: true if the message may be handled
  void report_gone();

  ConnectionId id_;
  std::string address_;
  const Limits &limits_; // owned by the Server, which outlives us
  SocketPoller &poller_; // owned by the Server, which outlives us
  ClientLog &log_;       // owned by the Server, which outlives us
  ConnectionOwner &owner_;
  WebSocket socket_;
  SocketPoller::Token keepalive_ = 0;
  gint64 last_seen_us_; // monotonic: last message or pong
  double tokens_;       // rate limit bucket
  gint64 tokens_at_us_; // when the bucket was last filled
  unsigned dropped_in_row_ = 0;
  gint64 last_rate_error_us_ = 0;
  bool binary_logged_ = false;
  bool gone_ = false;
};

} // namespace webrtccall::server
