#include "signaling_client.hpp"

#include "debug.hpp"
#include "protocol/parse.hpp"
#include "protocol/serialize.hpp"

#include <algorithm>
#include <utility>

namespace webrtccall {

namespace {

using Weak = std::weak_ptr<SignalingClient>;

// Backoff between attempts: 250 ms doubling to 4 s.
unsigned backoff_ms(unsigned attempt) {
  return std::min(250u << std::min(attempt, 4u), 4000u);
}

} // namespace

SignalingClient::SignalingClient(GstElement *element, ElementContext &context, std::string url,
                                 unsigned reconnect_timeout_s, TlsSettings tls, Events events)
    : element_(element), context_(context), url_(std::move(url)),
      reconnect_timeout_s_(reconnect_timeout_s), tls_(std::move(tls)), events_(std::move(events)) {}

SignalingClient::~SignalingClient() {
  context_.cancel(retry_source_);
  context_.cancel(close_timeout_);
  if (cancellable_)
    g_cancellable_cancel(cancellable_.get());
  if (socket_) {
    g_signal_handlers_disconnect_by_data(socket_.get(), this);
    if (soup_websocket_connection_get_state(socket_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close(socket_.get(), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
  }
}

void SignalingClient::start() {
  // Made here, on the signaling thread: a SoupSession belongs to the
  // thread-default context it was created in.
  session_ = adopt(soup_session_new_with_options("timeout", 10u, "idle-timeout", 0u, nullptr));
  if (!tls_.ca_file.empty()) {
    g_autoptr(GError) error = nullptr;
    g_autoptr(GTlsDatabase) database = g_tls_file_database_new(tls_.ca_file.c_str(), &error);
    if (!database) {
      closing_ = true;
      events_.untrusted("tls-ca-file " + tls_.ca_file + " cannot be used: " + error->message);
      return;
    }
    soup_session_set_tls_database(session_.get(), database);
  }
  connect();
}

bool SignalingClient::is_open() const {
  return socket_ && soup_websocket_connection_get_state(socket_.get()) == SOUP_WEBSOCKET_STATE_OPEN;
}

void SignalingClient::connect() {
  retry_source_ = 0;
  g_autoptr(SoupMessage) message = soup_message_new("GET", url_.c_str());
  if (!message) {
    closing_ = true;
    events_.failed("the server URL " + url_ + " is not valid (use ws://HOST:PORT or wss://...)");
    return;
  }
  GST_DEBUG_OBJECT(element_, "connecting to %s", url_.c_str());
  if (tls_.insecure)
    g_signal_connect(message, "accept-certificate",
                     G_CALLBACK(+[](SoupMessage *, GTlsCertificate *, GTlsCertificateFlags,
                                    gpointer) -> gboolean { return TRUE; }),
                     nullptr);
  cancellable_ = adopt(g_cancellable_new());
  soup_session_websocket_connect_async(
      session_.get(), message, nullptr, nullptr, G_PRIORITY_DEFAULT, cancellable_.get(),
      +[](GObject *source, GAsyncResult *result, gpointer data) {
        std::unique_ptr<Weak> weak(static_cast<Weak *>(data));
        g_autoptr(GError) error = nullptr;
        SoupWebsocketConnection *socket =
            soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
        auto self = weak->lock();
        if (!self) {
          g_clear_object(&socket);
          return;
        }
        if (socket)
          self->on_connected(socket);
        else if (error->domain == G_TLS_ERROR)
          self->on_untrusted(error->message);
        else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
          self->on_connect_failed(error->message);
      },
      new Weak(weak_from_this()));
}

void SignalingClient::on_connected(SoupWebsocketConnection *socket) {
  socket_ = adopt(socket); // transfer full from connect_finish
  attempt_ = 0;
  retry_deadline_us_ = 0;
  GST_INFO_OBJECT(element_, "connected to %s", url_.c_str());
  // Our server's message cap applies to us too; a browser offer is ~8 KiB.
  soup_websocket_connection_set_max_incoming_payload_size(socket_.get(), 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval(socket_.get(), 10);
  g_signal_connect(
      socket_.get(), "message",
      G_CALLBACK(+[](SoupWebsocketConnection *, gint type, GBytes *bytes, gpointer data) {
        auto *self = static_cast<SignalingClient *>(data);
        if (type != SOUP_WEBSOCKET_DATA_TEXT)
          return;
        gsize size = 0;
        auto *text = static_cast<const char *>(g_bytes_get_data(bytes, &size));
        std::string_view frame(text ? text : "", size);
        GST_LOG_OBJECT(self->element_, "received %.*s", int(size), text);
        auto parsed = protocol::parse_server_message(frame, 1024 * 1024);
        if (auto *message = std::get_if<protocol::ServerMessage>(&parsed))
          self->events_.message(*message);
        else if (auto *error = std::get_if<protocol::ParseError>(&parsed))
          GST_WARNING_OBJECT(self->element_,
                             "ignoring a bad message from the "
                             "server: %s",
                             error->message.c_str());
      }),
      this);
  g_signal_connect(socket_.get(), "closed",
                   G_CALLBACK(+[](SoupWebsocketConnection *, gpointer data) {
                     static_cast<SignalingClient *>(data)->on_closed();
                   }),
                   this);
  events_.opened();
}

void SignalingClient::retry(const std::string &why) {
  if (closing_)
    return;
  gint64 now = g_get_monotonic_time();
  if (retry_deadline_us_ == 0)
    retry_deadline_us_ = now + gint64(reconnect_timeout_s_) * G_USEC_PER_SEC;
  if (reconnect_timeout_s_ == 0 || now >= retry_deadline_us_) {
    closing_ = true;
    events_.failed(why);
    return;
  }
  unsigned delay = backoff_ms(attempt_++);
  GST_INFO_OBJECT(element_, "%s; retrying in %u ms", why.c_str(), delay);
  retry_source_ = context_.schedule(delay, false, [weak = weak_from_this()] {
    if (auto self = weak.lock())
      self->connect();
  });
}

void SignalingClient::on_connect_failed(const std::string &why) {
  retry("cannot reach the signaling server at " + url_ + ": " + why);
}

void SignalingClient::on_untrusted(const std::string &why) {
  closing_ = true;
  events_.untrusted("the TLS connection to " + url_ + " failed: " + why);
}

void SignalingClient::on_closed() {
  bool was_closing = closing_;
  if (socket_) {
    g_signal_handlers_disconnect_by_data(socket_.get(), this);
    socket_.reset();
  }
  if (was_closing) {
    context_.cancel(close_timeout_);
    close_timeout_ = 0;
    if (auto done = std::exchange(close_done_, nullptr))
      done();
    return;
  }
  std::string why = "lost the connection to the signaling server at " + url_;
  GST_WARNING_OBJECT(element_, "%s", why.c_str());
  events_.lost(why);
  retry(why);
}

void SignalingClient::send(const protocol::ClientMessage &message) {
  if (!is_open()) {
    GST_WARNING_OBJECT(element_, "not connected: dropping %s",
                       std::string(protocol::type_name(message)).c_str());
    return;
  }
  std::string text = protocol::serialize(message);
  GST_LOG_OBJECT(element_, "send %s", text.c_str());
  soup_websocket_connection_send_text(socket_.get(), text.c_str());
}

void SignalingClient::close(std::function<void()> done) {
  closing_ = true;
  context_.cancel(retry_source_);
  retry_source_ = 0;
  if (cancellable_)
    g_cancellable_cancel(cancellable_.get());
  if (!is_open()) {
    if (done)
      done();
    return;
  }
  close_done_ = std::move(done);
  // libsoup sends what is queued, then the close frame; the server answers.
  soup_websocket_connection_close(socket_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
  close_timeout_ = context_.schedule(1000, false, [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self)
      return;
    self->close_timeout_ = 0;
    if (auto done = std::exchange(self->close_done_, nullptr))
      done();
  });
}

} // namespace webrtccall
