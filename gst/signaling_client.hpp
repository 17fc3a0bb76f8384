// The element's WebSocket to the signaling server: connects (retrying with
// backoff for up to reconnect-timeout), sends typed messages, parses what
// arrives, and notices a lost server. Lives on the element's signaling thread.
#pragma once

#include "common/gobject_ptr.hpp"
#include "element_context.hpp"
#include "protocol/messages.hpp"

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>

namespace webrtccall {

// How a wss:// server's certificate is checked.
struct TlsSettings {
  std::string ca_file;   // PEM file of trusted CAs; empty: the system's
  bool insecure = false; // accept any certificate (test servers only)
};

class SignalingClient : public std::enable_shared_from_this<SignalingClient> {
public:
  struct Events {
    std::function<void()> opened; // connected (again): log in now
    std::function<void(const protocol::ServerMessage &)> message;
    std::function<void(const std::string &why)> lost;   // was open; reconnecting
    std::function<void(const std::string &why)> failed; // gave up: unreachable
    // The server's TLS certificate is not trusted, or tls-ca-file is unusable:
    // no retry, since waiting changes neither.
    std::function<void(const std::string &why)> untrusted;
  };

  SignalingClient(GstElement *element, ElementContext &context, std::string url,
                  unsigned reconnect_timeout_s, TlsSettings tls, Events events);
  ~SignalingClient();
  SignalingClient(const SignalingClient &) = delete;
  SignalingClient &operator=(const SignalingClient &) = delete;

  void start();
  bool is_open() const;
  void send(const protocol::ClientMessage &message);
  // Closes cleanly after what was sent; no reconnect. `done` runs once the
  // close handshake ended or gave up (at most ~1 s).
  void close(std::function<void()> done);

private:
  void connect();
  void on_connected(SoupWebsocketConnection *socket);
  void on_connect_failed(const std::string &why);
  void on_untrusted(const std::string &why);
  void on_closed();
  void retry(const std::string &why);

  GstElement *element_; // for logs
  ElementContext &context_;
  std::string url_;
  unsigned reconnect_timeout_s_;
  TlsSettings tls_;
  Events events_;
  GObjectPtr<SoupSession> session_;
  GObjectPtr<GCancellable> cancellable_; // cancels a pending connect
  GObjectPtr<SoupWebsocketConnection> socket_;
  gint64 retry_deadline_us_ = 0; // when retrying stops; 0 when not retrying
  unsigned attempt_ = 0;
  guint retry_source_ = 0;
  bool closing_ = false;
  std::function<void()> close_done_;
  guint close_timeout_ = 0;
};

} // namespace webrtccall
