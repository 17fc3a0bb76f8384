// One client's WebSocket: size and rate limits, keepalive, sending, closing.
// Knows nothing of the protocol: complete text messages go to its owner.
#pragma once

#include "common/gobject_ptr.hpp"
#include "connection_loops.hpp"
#include "limits.hpp"
#include "registry.hpp"

#include <libsoup/soup.h>

#include <memory>
#include <string>
#include <string_view>

namespace webrtccall::server {

class Connection;

// What a connection reports to its owner (the Server). All calls come on the
// server's main thread, with the server's context as the thread-default.
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

// Made inside its loop (InConnectionLoop), where `socket` was made too: every
// libsoup call on it runs there.
class Connection {
public:
  Connection(ConnectionId id, std::string address, SoupWebsocketConnection *socket,
             GIOStream *base_stream, const Limits &limits, ConnectionOwner &owner,
             ConnectionLoops::Loop &loop, std::unique_ptr<SocketWatch> socket_watch);
  ~Connection();
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  ConnectionId id() const { return id_; }
  const std::string &address() const { return address_; }

  void send(const std::string &text);
  // Starts a clean close. The owner hears on_gone now and on_closed later.
  void close(gushort code, const char *reason);

private:
  static void on_message(SoupWebsocketConnection *socket, gint type, GBytes *message,
                         gpointer self);
  static void on_pong(SoupWebsocketConnection *socket, GBytes *message, gpointer self);
  static void on_error(SoupWebsocketConnection *socket, GError *error, gpointer self);
  static void on_closing(SoupWebsocketConnection *socket, gpointer self);
  static void on_closed(SoupWebsocketConnection *socket, gpointer self);
  static gboolean on_keepalive_check(gpointer self);

  void start_keepalive_pings();
  bool admit_message(); // the rate limit: true if the message may be handled
  void report_gone();

  ConnectionId id_;
  std::string address_;
  GObjectPtr<SoupWebsocketConnection> socket_;
  GObjectPtr<GIOStream> base_stream_; // the stolen HTTP stream under socket_; closed with it
  const Limits &limits_;              // owned by the Server, which outlives us
  ConnectionOwner &owner_;
  ConnectionLoops::Loop &loop_; // owned by the Server's ConnectionLoops, which outlive us
  std::unique_ptr<SocketWatch> socket_watch_; // may be null: libsoup's own sources then
  GSourcePtr keepalive_start_; // one-shot: turns libsoup's pings on
  GSourcePtr keepalive_check_;
  gint64 last_seen_us_; // monotonic: last message or pong
  double tokens_;       // rate limit bucket
  gint64 tokens_at_us_; // when the bucket was last filled
  unsigned dropped_in_row_ = 0;
  gint64 last_rate_error_us_ = 0;
  bool gone_ = false;
};

} // namespace webrtccall::server
