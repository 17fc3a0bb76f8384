// The server's side of one WebSocket, once libsoup has answered the upgrade:
// reads the client's frames (websocket_frames.hpp), answers pings, writes
// messages, and runs the closing handshake. Knows nothing of keepalive
// policy or the protocol: its owner (a Connection) decides those.
#pragma once

#include "common/gobject_ptr.hpp"
#include "socket_poller.hpp"
#include "websocket_frames.hpp"

#include <gio/gio.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace webrtccall::server {

// What a WebSocket reports. on_message(), on_pong() and on_closed() come
// from inside the poller's dispatch of this WebSocket; on_closing() and
// on_problem() may come from a call on it too (close(), or a send that fails).
class WebSocketListener {
public:
  // A whole message from the client.
  virtual void on_message(bool text, std::string_view payload) = 0;
  virtual void on_pong() = 0;
  // A close frame came or went: the client is leaving. Once.
  virtual void on_closing() = 0;
  // Why the WebSocket is ending, when the client broke it: a bad frame, a
  // socket error, a client that does not read. For the log.
  virtual void on_problem(const std::string &problem) = 0;
  // The socket is closed. The last call; the WebSocket may be destroyed in it.
  virtual void on_closed() = 0;

protected:
  ~WebSocketListener() = default;
};

class WebSocket final : private SocketPoller::Watcher {
public:
  // `stream`: the connection libsoup upgraded (soup_server_message_steal_
  // connection), plain or TLS; `fd` its socket. A plain socket is read and
  // written directly once what libsoup buffered is read; TLS goes through
  // GIO's streams.
  WebSocket(GIOStream *stream, int fd, bool tls, std::size_t max_message_bytes,
            SocketPoller &poller, WebSocketListener &listener);
  ~WebSocket();
  WebSocket(const WebSocket &) = delete;
  WebSocket &operator=(const WebSocket &) = delete;

  // Whether messages may still be sent: no close frame sent or received.
  bool open() const { return state_ == State::kOpen; }

  void send_text(std::string_view text);
  void ping();
  // Sends our close frame, starting the closing handshake or answering the
  // client's: nothing is sent after it, and a client that does not answer
  // has kCloseWaitUs before the socket is closed anyway.
  void close(std::uint16_t code, std::string_view reason);

private:
  enum class State {
    kOpen,
    kClosing, // a close frame went: waiting for the client's, or for the queue to drain
    kClosed,  // on_closed() was called
  };

  void on_socket_ready(std::uint32_t events) override;
  void on_timer() override;

  void read_available();
  gssize read_some(char *buffer, std::size_t size, bool &would_block);
  void handle(const websocket::Incoming &incoming);
  void send_frame(websocket::Opcode opcode, std::string_view payload);
  void flush();
  gssize write_some(const char *data, std::size_t size, bool &would_block);
  gssize socket_result(gssize count, const char *failure, bool &would_block);
  gssize stream_result(gssize count, const GError *error, const char *failure, bool &would_block);
  void fail(std::string problem); // the socket is unusable: close it at the next dispatch
  void finish_if_done();
  void arm_timer();

  GObjectPtr<GIOStream> stream_;
  GPollableInputStream *input_;   // stream_'s
  GPollableOutputStream *output_; // stream_'s
  int fd_;
  bool tls_;
  bool libsoup_buffer_read_ = false; // the bytes libsoup read past the upgrade request
  websocket::FrameReader reader_;
  SocketPoller &poller_;
  SocketPoller::Token token_ = 0;
  WebSocketListener &listener_;
  State state_ = State::kOpen;
  bool close_received_ = false;
  bool read_closed_ = false; // the client's end of stream
  bool hung_up_ = false;     // epoll said the client closed or the socket failed
  bool refused_ = false;     // the client broke the protocol: its bytes are dropped
  bool write_shut_ = false;  // our end of stream sent (a lingering close after a refusal)
  bool failed_ = false;
  bool more_to_read_ = false;    // this turn's read budget ran out
  gint64 close_deadline_us_ = 0; // monotonic: when kClosing gives up on the client
  std::string out_;              // frames not yet written
  std::size_t out_sent_ = 0;     // of out_
};

} // namespace webrtccall::server
