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

Connection::Connection(ConnectionId id, std::string address, GIOStream *stream, int fd, bool tls,
                       const Limits &limits, SocketPoller &poller, ClientLog &log,
                       ConnectionOwner &owner)
    : id_(id), address_(std::move(address)), limits_(limits), poller_(poller), log_(log),
      owner_(owner), socket_(stream, fd, tls, limits.max_message_bytes, poller, *this),
      last_seen_us_(g_get_monotonic_time()), tokens_(limits.message_burst),
      tokens_at_us_(last_seen_us_) {
  // Clients that connected in the same second (every client, after a
  // server restart) must not be pinged in one burst every interval: 9,800
  // pings in a few milliseconds held every message behind them
  // (docs/benchmarks.md, "Signaling"). Each connection's first ping comes at
  // a random point of the first interval, which spreads them.
  if (limits_.keepalive_interval_seconds > 0) {
    keepalive_ = poller_.watch(-1, *this);
    gint32 first_ping_ms = g_random_int_range(0, gint32(limits_.keepalive_interval_seconds * 1000));
    poller_.set_timer(keepalive_, last_seen_us_ + gint64(first_ping_ms) * 1000);
  }
}

Connection::~Connection() {
  poller_.unwatch(keepalive_);
  gone_ = true; // the owner is destroying us: it hears nothing more
  socket_.close(websocket::close_code::kGoingAway, {});
}

void Connection::send(std::string_view text) {
  if (!socket_.open())
    return;
  if (message_debug_enabled())
    g_debug("connection %" G_GUINT64_FORMAT ": send %.*s", id_, int(text.size()), text.data());
  socket_.send_text(text);
}

void Connection::close(std::uint16_t code, const char *reason) {
  report_gone();
  socket_.close(code, reason ? reason : "");
}

void Connection::report_gone() {
  if (gone_)
    return;
  gone_ = true;
  poller_.unwatch(keepalive_);
  keepalive_ = 0;
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
    log_.message(ClientLine::kFlood,
                 "connection %" G_GUINT64_FORMAT " (%s): closing: message flood", id_,
                 address_.c_str());
    close(websocket::close_code::kPolicyViolation, "message flood");
    return false;
  }
  // One error a second at most: the reply must not amplify the flood.
  if (now - last_rate_error_us_ >= kSecondUs) {
    last_rate_error_us_ = now;
    log_.message(ClientLine::kOverRate,
                 "connection %" G_GUINT64_FORMAT " (%s): over %u messages a second; dropping", id_,
                 address_.c_str(), limits_.messages_per_second);
    send(error_text(protocol::ErrorCode::kRateLimited,
                    "Too many messages: at most " + std::to_string(limits_.messages_per_second) +
                        " a second; messages are being dropped"));
  }
  return false;
}

void Connection::on_message(bool text, std::string_view payload) {
  if (gone_)
    return;
  last_seen_us_ = g_get_monotonic_time();
  if (!admit_message())
    return;
  if (!text) {
    // Logged once: a client may send them at its whole message rate.
    if (!binary_logged_)
      log_.message(ClientLine::kBinaryMessage,
                   "connection %" G_GUINT64_FORMAT " (%s): refused a binary message (and any "
                   "more it sends)",
                   id_, address_.c_str());
    binary_logged_ = true;
    send(error_text(protocol::ErrorCode::kBadMessage,
                    "Binary messages are not accepted: send JSON text"));
    return;
  }
  owner_.on_text(*this, payload);
}

void Connection::on_pong() {
  last_seen_us_ = g_get_monotonic_time();
}

// A close frame, sent or received: the client is leaving, and whoever logs
// in next under its name must not race the TCP teardown.
void Connection::on_closing() {
  report_gone();
}

void Connection::on_problem(const std::string &problem) {
  // Bad frames, oversize messages and resets are the client's doing, not ours.
  log_.message(ClientLine::kConnectionProblem, "connection %" G_GUINT64_FORMAT " (%s): %s", id_,
               address_.c_str(), problem.c_str());
}

void Connection::on_closed() {
  report_gone();
  owner_.on_closed(*this); // may destroy this
}

// Every interval: a ping, or the drop of a client silent for too long.
void Connection::on_timer() {
  gint64 now = g_get_monotonic_time();
  guint timeout = limits_.keepalive_timeout_seconds;
  if (timeout > 0 && now - last_seen_us_ >= gint64(timeout) * kSecondUs) {
    log_.message(ClientLine::kKeepaliveExpired,
                 "connection %" G_GUINT64_FORMAT " (%s): no pong for %u s; dropping it", id_,
                 address_.c_str(), timeout);
    close(websocket::close_code::kGoingAway, "keepalive timeout");
    return;
  }
  socket_.ping();
  poller_.set_timer(keepalive_, now + gint64(limits_.keepalive_interval_seconds) * kSecondUs);
}

} // namespace webrtccall::server
