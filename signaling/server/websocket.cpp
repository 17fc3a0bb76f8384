#include "websocket.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace webrtccall::server {

namespace {

using websocket::Incoming;
using websocket::Opcode;

// How long a client has to answer our close frame, as libsoup gave it.
constexpr gint64 kCloseWaitUs = 5 * G_USEC_PER_SEC;
// Bytes read from one client in one turn: a client sending without pause
// must not keep the others waiting.
constexpr std::size_t kReadBudgetBytes = 256 * 1024;
// Frames waiting for a client that does not read: past this, it is dropped
// rather than let grow the server's memory.
constexpr std::size_t kMaxQueuedBytes = 1024 * 1024;
// A write buffer this large is given back once it is empty.
constexpr std::size_t kKeptBufferBytes = 4096;
constexpr std::uint32_t kHangUpEvents = EPOLLRDHUP | EPOLLHUP | EPOLLERR;

// recv() and send() on a non-blocking socket, again when a signal interrupts them.
ssize_t recv_retrying(int fd, char *buffer, std::size_t size) {
  ssize_t count;
  do
    count = recv(fd, buffer, size, 0);
  while (count < 0 && errno == EINTR);
  return count;
}

ssize_t send_retrying(int fd, const char *data, std::size_t size) {
  ssize_t count;
  do
    count = send(fd, data, size, MSG_NOSIGNAL);
  while (count < 0 && errno == EINTR);
  return count;
}

} // namespace

WebSocket::WebSocket(GIOStream *stream, int fd, bool tls, std::size_t max_message_bytes,
                     SocketPoller &poller, WebSocketListener &listener)
    : stream_(ref(stream)), input_(G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream))),
      output_(G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(stream))), fd_(fd), tls_(tls),
      reader_(max_message_bytes), poller_(poller), listener_(listener) {
  token_ = poller_.watch(fd_, *this);
  if (token_ == 0) {
    // Only a programming error makes epoll refuse a new socket; a timer
    // alone still lets the failure end the connection through the poller.
    std::string problem = std::string("cannot watch the socket: ") + g_strerror(errno);
    token_ = poller_.watch(-1, *this);
    fail(std::move(problem));
    return;
  }
  // libsoup may have read past the upgrade request, and epoll does not know
  // what libsoup holds: the first read, through libsoup's stream, comes at
  // once (arm_timer).
  arm_timer();
}

WebSocket::~WebSocket() {
  if (state_ == State::kClosed)
    return;
  poller_.unwatch(token_);
  g_io_stream_close_async(stream_.get(), G_PRIORITY_DEFAULT, nullptr, nullptr, nullptr);
}

void WebSocket::send_text(std::string_view text) {
  send_frame(Opcode::kText, text);
}

void WebSocket::ping() {
  send_frame(Opcode::kPing, {});
}

void WebSocket::on_socket_ready(std::uint32_t events) {
  if (events & kHangUpEvents)
    hung_up_ = true; // edge-triggered: said once, however many reads it takes to get there
  if (events & EPOLLOUT)
    flush();
  if (events & (EPOLLIN | kHangUpEvents))
    read_available();
  finish_if_done();
}

void WebSocket::on_timer() {
  more_to_read_ = false;
  if (!read_closed_ && !failed_)
    read_available();
  flush();
  finish_if_done();
}

// Edge-triggered: read until the socket is drained, or until this client's
// turn is used up (then again at the next dispatch).
void WebSocket::read_available() {
  std::size_t budget = kReadBudgetBytes;
  while (!read_closed_ && !failed_) {
    if (budget == 0) {
      more_to_read_ = true;
      return;
    }
    std::size_t wanted = std::min(poller_.scratch_size(), budget);
    bool would_block = false;
    gssize count = read_some(poller_.scratch(), wanted, would_block);
    if (count < 0)
      return;         // drained, or failed
    if (count == 0) { // with or without a close frame first: a client's to choose
      read_closed_ = true;
      return;
    }
    budget -= std::size_t(count);
    // After a refusal what the client sends is read and dropped, until the
    // end of its stream (finish_if_done).
    if (!refused_) {
      reader_.feed(poller_.scratch(), std::size_t(count));
      while (!refused_ && !failed_) {
        auto incoming = reader_.next();
        if (!incoming)
          break;
        handle(*incoming);
      }
      if (failed_)
        return;
    }
    // A read of a plain socket that came back short has drained it: the
    // next bytes will raise a new event, so the read that would only say so
    // is saved (a system call per message). Not once the peer has closed or
    // failed: that event has come already, and the read that sees the end
    // of the stream is still to do.
    if (!tls_ && libsoup_buffer_read_ && !hung_up_ && std::size_t(count) < wanted)
      return;
  }
}

gssize WebSocket::read_some(char *buffer, std::size_t size, bool &would_block) {
  constexpr const char *kFailure = "cannot read from the client: ";
  if (!tls_ && libsoup_buffer_read_)
    return socket_result(recv_retrying(fd_, buffer, size), kFailure, would_block);
  g_autoptr(GError) error = nullptr;
  gssize count = g_pollable_input_stream_read_nonblocking(input_, buffer, size, nullptr, &error);
  count = stream_result(count, error, kFailure, would_block);
  if (would_block)
    libsoup_buffer_read_ = true; // drained, libsoup's buffer with it
  return count;
}

void WebSocket::handle(const Incoming &incoming) {
  switch (incoming.kind) {
  case Incoming::Kind::kText:
  case Incoming::Kind::kBinary:
    if (state_ == State::kOpen)
      listener_.on_message(incoming.kind == Incoming::Kind::kText, incoming.payload);
    break;
  case Incoming::Kind::kPing:
    send_frame(Opcode::kPong, incoming.payload);
    break;
  case Incoming::Kind::kPong:
    listener_.on_pong();
    break;
  case Incoming::Kind::kClose:
    close_received_ = true;
    // The answer repeats the client's code; a close without one gets 1000.
    close(incoming.code == websocket::close_code::kNoStatus ? websocket::close_code::kNormal
                                                            : incoming.code,
          {});
    break;
  case Incoming::Kind::kBad:
    refused_ = true;
    listener_.on_problem(std::string(incoming.payload));
    close(incoming.code, incoming.payload);
    break;
  }
}

void WebSocket::send_frame(Opcode opcode, std::string_view payload) {
  if (state_ != State::kOpen || failed_) // nothing after our close frame
    return;
  bool idle = out_sent_ == out_.size();
  websocket::append_frame(out_, opcode, payload);
  if (idle)
    flush();
  else if (out_.size() - out_sent_ > kMaxQueuedBytes)
    fail("the client does not read what it is sent (over 1 MiB waiting)");
}

void WebSocket::flush() {
  while (out_sent_ < out_.size() && !failed_) {
    bool would_block = false;
    gssize count = write_some(out_.data() + out_sent_, out_.size() - out_sent_, would_block);
    if (count < 0)
      break; // the socket's buffer is full (a new event says when it has room), or failed
    out_sent_ += std::size_t(count);
  }
  if (out_sent_ == out_.size()) {
    out_sent_ = 0;
    if (out_.capacity() > kKeptBufferBytes)
      std::string().swap(out_);
    else
      out_.clear();
  } else if (out_sent_ > kKeptBufferBytes) {
    out_.erase(0, out_sent_);
    out_sent_ = 0;
  }
}

gssize WebSocket::write_some(const char *data, std::size_t size, bool &would_block) {
  constexpr const char *kFailure = "cannot write to the client: ";
  if (!tls_)
    return socket_result(send_retrying(fd_, data, size), kFailure, would_block);
  g_autoptr(GError) error = nullptr;
  gssize count = g_pollable_output_stream_write_nonblocking(output_, data, size, nullptr, &error);
  return stream_result(count, error, kFailure, would_block);
}

// A count from recv() or send(), or -1 with `would_block` set or the
// failure reported (errno says which).
gssize WebSocket::socket_result(gssize count, const char *failure, bool &would_block) {
  if (count >= 0)
    return count;
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    would_block = true;
  else
    fail(std::string(failure) + g_strerror(errno));
  return -1;
}

// The same for a GIO stream's non-blocking read or write.
gssize WebSocket::stream_result(gssize count, const GError *error, const char *failure,
                                bool &would_block) {
  if (count >= 0)
    return count;
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    would_block = true;
  else
    fail(std::string(failure) + error->message);
  return -1;
}

void WebSocket::close(std::uint16_t code, std::string_view reason) {
  if (state_ != State::kOpen || failed_)
    return;
  send_frame(Opcode::kClose, websocket::close_payload(code, reason));
  state_ = State::kClosing;
  close_deadline_us_ = g_get_monotonic_time() + kCloseWaitUs;
  arm_timer();
  listener_.on_closing();
}

// The socket cannot be used any more; it is closed at the next dispatch of
// this WebSocket, since the caller may be inside another's.
void WebSocket::fail(std::string problem) {
  if (failed_ || state_ == State::kClosed)
    return;
  failed_ = true;
  listener_.on_problem(problem);
  arm_timer();
}

// At the end of each of our dispatches: closes the socket once the
// WebSocket is over, or sets the timer for what is still to come.
void WebSocket::finish_if_done() {
  if (state_ == State::kClosed)
    return;
  bool flushed = out_sent_ == out_.size();
  // A lingering close after a refusal: the close frame, then the end of our
  // stream, and the client's bytes read and dropped until it closes too.
  // Closing at once with its bytes unread would make the kernel answer with
  // a reset, which can destroy the close frame (and its code) on the way.
  if (refused_ && flushed && !tls_ && !write_shut_) {
    shutdown(fd_, SHUT_WR);
    write_shut_ = true;
  }
  // No close frame either way, just the end of the client's stream.
  bool client_vanished = read_closed_ && state_ == State::kOpen;
  bool handshake_over = state_ == State::kClosing && flushed &&
                        (close_received_ || read_closed_ || (refused_ && tls_));
  bool timed_out = state_ == State::kClosing && g_get_monotonic_time() >= close_deadline_us_;
  if (!failed_ && !client_vanished && !handshake_over && !timed_out) {
    arm_timer();
    return;
  }
  state_ = State::kClosed;
  poller_.unwatch(token_);
  // A client that failed or did not answer gets no more: over TLS, closing
  // would otherwise try to send it a close_notify, and wait on a client
  // that reads nothing.
  if (failed_ || timed_out)
    shutdown(fd_, SHUT_RDWR);
  g_io_stream_close_async(stream_.get(), G_PRIORITY_DEFAULT, nullptr, nullptr, nullptr);
  listener_.on_closed(); // may destroy this
}

// The one timer, for whichever comes first: the end of a failed socket,
// reading on where the last turn stopped (libsoup's buffer at the start, or
// the rest after a turn's budget), or the client's time to answer our close.
void WebSocket::arm_timer() {
  gint64 when = -1;
  if (failed_ || more_to_read_ || (!libsoup_buffer_read_ && !read_closed_))
    when = 0;
  else if (state_ == State::kClosing)
    when = close_deadline_us_;
  poller_.set_timer(token_, when);
}

} // namespace webrtccall::server
