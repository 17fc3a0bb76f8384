#include "connection.hpp"

#include "message_log.hpp"
#include "protocol/serialize.hpp"

#include <algorithm>

namespace webrtccall::server {

namespace {

constexpr gint64 kSecondUs = G_USEC_PER_SEC;

std::string error_text(protocol::ErrorCode code, std::string message) {
  return protocol::serialize(
      protocol::ServerMessage{protocol::Error{std::move(message), code, {}}});
}

} // namespace

Connection::Connection(ConnectionId id, std::string address, SoupWebsocketConnection *socket,
                       GIOStream *base_stream, const Limits &limits, ConnectionOwner &owner,
                       ConnectionLoops::Loop &loop, std::unique_ptr<SocketWatch> socket_watch)
    : id_(id), address_(std::move(address)), socket_(ref(socket)), base_stream_(ref(base_stream)),
      limits_(limits), owner_(owner), loop_(loop), socket_watch_(std::move(socket_watch)),
      last_seen_us_(g_get_monotonic_time()),
      tokens_(limits.message_burst), tokens_at_us_(last_seen_us_) {
  // libsoup refuses single frames over the limit itself; fragmented messages
  // are capped by the FrameLimitStream under it (server.cpp).
  soup_websocket_connection_set_max_incoming_payload_size(socket, limits.max_message_bytes);
  start_keepalive_pings();
  g_signal_connect(socket, "message", G_CALLBACK(on_message), this);
  g_signal_connect(socket, "pong", G_CALLBACK(on_pong), this);
  g_signal_connect(socket, "error", G_CALLBACK(on_error), this);
  g_signal_connect(socket, "closing", G_CALLBACK(on_closing), this);
  g_signal_connect(socket, "closed", G_CALLBACK(on_closed), this);
  if (limits.keepalive_interval_seconds > 0 && limits.keepalive_timeout_seconds > 0) {
    keepalive_check_.reset(g_timeout_source_new_seconds(limits.keepalive_interval_seconds));
    g_source_set_callback(keepalive_check_.get(), on_keepalive_check, this, nullptr);
    g_source_attach(keepalive_check_.get(), g_main_context_get_thread_default());
  }
}

// libsoup pings on a whole-second timer, and GLib fires the whole-second
// timers of a process together: clients that connected in the same second
// (every client, after a server restart) would be pinged in one burst, 9,800
// pings in a few milliseconds, every interval (docs/benchmarks.md,
// "Signaling"). Each connection starts its pings at a random point of the
// first interval instead, which spreads them over its seconds.
void Connection::start_keepalive_pings() {
  guint interval = limits_.keepalive_interval_seconds;
  if (interval == 0)
    return;
  keepalive_start_.reset(g_timeout_source_new(g_random_int_range(0, gint32(interval * 1000))));
  g_source_set_callback(
      keepalive_start_.get(),
      +[](gpointer data) -> gboolean {
        auto *self = static_cast<Connection *>(data);
        InConnectionLoop in_loop(self->loop_); // libsoup's ping timer goes there
        soup_websocket_connection_set_keepalive_interval(self->socket_.get(),
                                                         self->limits_.keepalive_interval_seconds);
        self->keepalive_start_.reset(); // destroys this source: GLib allows it in dispatch
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(keepalive_start_.get(), g_main_context_get_thread_default());
}

Connection::~Connection() {
  g_signal_handlers_disconnect_by_data(socket_.get(), this);
  if (soup_websocket_connection_get_state(socket_.get()) == SOUP_WEBSOCKET_STATE_OPEN) {
    InConnectionLoop in_loop(loop_);
    soup_websocket_connection_close(socket_.get(), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
  }
  // libsoup closes its own stream, a wrapper over this one.
  g_io_stream_close_async(base_stream_.get(), G_PRIORITY_DEFAULT, nullptr, nullptr, nullptr);
}

void Connection::send(const std::string &text) {
  if (soup_websocket_connection_get_state(socket_.get()) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (message_debug_enabled())
    g_debug("connection %" G_GUINT64_FORMAT ": send %s", id_, text.c_str());
  // Not in the loop: a write that would block leaves a source in the
  // thread-default context (the server's), which GLib watches, and the
  // loop need not be looked at again for every message relayed.
  soup_websocket_connection_send_text(socket_.get(), text.c_str());
}

void Connection::close(gushort code, const char *reason) {
  report_gone();
  if (soup_websocket_connection_get_state(socket_.get()) == SOUP_WEBSOCKET_STATE_OPEN) {
    InConnectionLoop in_loop(loop_); // the close handshake has a timeout
    soup_websocket_connection_close(socket_.get(), code, reason);
  }
}

void Connection::report_gone() {
  if (gone_)
    return;
  gone_ = true;
  keepalive_start_.reset();
  keepalive_check_.reset();
  InServerContext in_server(loop_.server_context());
  owner_.on_gone(*this);
}

bool Connection::admit_message() {
  gint64 now = g_get_monotonic_time();
  double refill = double(now - tokens_at_us_) * limits_.messages_per_second / kSecondUs;
  tokens_ = std::min<double>(limits_.message_burst, tokens_ + refill);
  tokens_at_us_ = now;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    dropped_in_row_ = 0;
    return true;
  }
  dropped_in_row_++;
  // A client that keeps sending after a whole burst was refused is flooding.
  if (dropped_in_row_ > limits_.message_burst) {
    g_message("connection %" G_GUINT64_FORMAT " (%s): closing: message flood", id_,
              address_.c_str());
    close(SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "message flood");
    return false;
  }
  // One error a second at most: the reply must not amplify the flood.
  if (now - last_rate_error_us_ >= kSecondUs) {
    last_rate_error_us_ = now;
    g_message("connection %" G_GUINT64_FORMAT " (%s): over %u messages a second; dropping", id_,
              address_.c_str(), limits_.messages_per_second);
    send(error_text(protocol::ErrorCode::kRateLimited,
                    "Too many messages: at most " + std::to_string(limits_.messages_per_second) +
                        " a second; messages are being dropped"));
  }
  return false;
}

void Connection::on_message(SoupWebsocketConnection *, gint type, GBytes *message, gpointer data) {
  auto *self = static_cast<Connection *>(data);
  if (self->gone_)
    return;
  self->last_seen_us_ = g_get_monotonic_time();
  if (!self->admit_message())
    return;
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    g_message("connection %" G_GUINT64_FORMAT ": refused a binary message", self->id_);
    self->send(error_text(protocol::ErrorCode::kBadMessage,
                          "Binary messages are not accepted: send JSON text"));
    return;
  }
  gsize size = 0;
  const char *text = static_cast<const char *>(g_bytes_get_data(message, &size));
  InServerContext in_server(self->loop_.server_context());
  self->owner_.on_text(*self, std::string_view(text ? text : "", size));
}

void Connection::on_pong(SoupWebsocketConnection *, GBytes *, gpointer data) {
  static_cast<Connection *>(data)->last_seen_us_ = g_get_monotonic_time();
}

void Connection::on_error(SoupWebsocketConnection *, GError *error, gpointer data) {
  auto *self = static_cast<Connection *>(data);
  // Bad frames, oversize messages and resets are the client's doing, not ours.
  g_message("connection %" G_GUINT64_FORMAT " (%s): %s", self->id_, self->address_.c_str(),
            error->message);
}

// A close frame, sent or received: the client is leaving, and whoever logs
// in next under its name must not race the TCP teardown.
void Connection::on_closing(SoupWebsocketConnection *, gpointer data) {
  static_cast<Connection *>(data)->report_gone();
}

void Connection::on_closed(SoupWebsocketConnection *, gpointer data) {
  auto *self = static_cast<Connection *>(data);
  self->report_gone();
  InServerContext in_server(self->loop_.server_context());
  self->owner_.on_closed(*self); // may destroy self
}

gboolean Connection::on_keepalive_check(gpointer data) {
  auto *self = static_cast<Connection *>(data);
  gint64 silent_us = g_get_monotonic_time() - self->last_seen_us_;
  if (silent_us < gint64(self->limits_.keepalive_timeout_seconds) * kSecondUs)
    return G_SOURCE_CONTINUE;
  g_message("connection %" G_GUINT64_FORMAT " (%s): no pong for %u s; dropping it", self->id_,
            self->address_.c_str(), self->limits_.keepalive_timeout_seconds);
  // close() destroys this source; GLib allows that during its own dispatch.
  self->close(SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "keepalive timeout");
  return G_SOURCE_REMOVE;
}

} // namespace webrtccall::server
