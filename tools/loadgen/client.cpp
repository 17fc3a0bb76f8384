#include "client.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace webrtccall::loadgen {

namespace {

// Larger than any message the servers send in one read: most reads then
// parse straight from here, with no copy into the client's buffer.
constexpr std::size_t kReadChunk = 256 * 1024;
// A signaling message is at most 64 KiB (docs/protocol.md); more is a broken server.
constexpr std::size_t kMaxMessage = 16 * 1024 * 1024;

std::string errno_text(const char *what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

} // namespace

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Client::~Client() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool Client::start(int epoll_fd, in_addr source, const Target &target) {
  epoll_fd_ = epoll_fd;
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    finish(errno_text("socket", errno));
    return false;
  }
  int one = 1;
  // Messages are small and each is a measurement: Nagle would hold one back
  // until the previous is acknowledged.
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // The source port is chosen at connect(), per destination, rather than at
  // bind(): tens of thousands of clients then never exhaust a source address.
  setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr = source;
  if (bind(fd_, reinterpret_cast<sockaddr *>(&local), sizeof local) != 0) {
    finish(errno_text("bind", errno));
    return false;
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT;
  event.data.ptr = this;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &event) != 0) {
    finish(errno_text("epoll_ctl", errno));
    return false;
  }
  writable_watched_ = true;
  HandshakeKey key = make_handshake_key();
  accept_ = key.accept;
  out_ = handshake_request(target.host_port, target.path, key.key);
  state_ = State::kConnecting;
  if (connect(fd_, reinterpret_cast<const sockaddr *>(&target.address), sizeof target.address) !=
          0 &&
      errno != EINPROGRESS) {
    finish(errno_text("connect", errno));
    return false;
  }
  return true;
}

void Client::handle_events(std::uint32_t events) {
  if (state_ == State::kClosed)
    return;
  if (state_ == State::kConnecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      return;
    on_connected();
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
    on_readable();
  if (state_ != State::kClosed && (events & EPOLLOUT))
    on_writable();
}

void Client::on_connected() {
  int error = 0;
  socklen_t length = sizeof error;
  getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    finish(errno_text("connect", error));
    return;
  }
  state_ = State::kHandshaking;
  flush(); // the upgrade request, queued by start()
}

void Client::on_readable() {
  static char chunk[kReadChunk];
  ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR)
      return;
    finish(errno_text("recv", errno));
    return;
  }
  if (n == 0) {
    finish(state_ == State::kClosing ? "" : "the server closed the TCP connection");
    return;
  }
  std::int64_t received = now_ns();
  if (in_.empty()) {
    std::string_view view(chunk, std::size_t(n));
    if (!consume(view, received))
      return;
    in_.assign(view); // a partial frame waits for the rest
  } else {
    in_.append(chunk, std::size_t(n));
    std::string_view view(in_);
    if (!consume(view, received))
      return;
    in_.erase(0, in_.size() - view.size());
  }
}

// Handles every whole frame (or the handshake response) at the start of
// `buffer` and leaves `buffer` at what remains.
bool Client::consume(std::string_view &buffer, std::int64_t received_ns) {
  if (state_ == State::kHandshaking) {
    std::string problem;
    long length = check_handshake_response(buffer, accept_, problem);
    if (length < 0) {
      finish(problem);
      return false;
    }
    if (length == 0)
      return true;
    buffer.remove_prefix(std::size_t(length));
    state_ = State::kOpen;
    owner_.on_open(*this);
    if (state_ == State::kClosed)
      return false;
  }
  while (!buffer.empty()) {
    FrameView frame;
    std::string problem;
    long length = parse_frame(buffer, kMaxMessage, frame, problem);
    if (length < 0) {
      force_close(problem);
      return false;
    }
    if (length == 0)
      return true;
    if (!handle_frame(frame, received_ns))
      return false;
    buffer.remove_prefix(std::size_t(length));
  }
  return true;
}

bool Client::handle_frame(const FrameView &frame, std::int64_t received_ns) {
  switch (frame.opcode) {
  case Opcode::kPing:
    queue(Opcode::kPong, frame.payload);
    return state_ != State::kClosed;
  case Opcode::kPong:
    return true;
  case Opcode::kClose: {
    if (state_ == State::kClosing) {
      finish("");
      return false;
    }
    unsigned code = frame.payload.size() >= 2 ? unsigned(std::uint8_t(frame.payload[0])) << 8 |
                                                    std::uint8_t(frame.payload[1])
                                              : 0;
    std::string reason(frame.payload.size() > 2 ? frame.payload.substr(2) : std::string_view());
    queue(Opcode::kClose, frame.payload.substr(0, 2)); // echo the code, as RFC 6455 asks
    finish("the server closed the WebSocket (" + std::to_string(code) +
           (reason.empty() ? "" : ", " + reason) + ")");
    return false;
  }
  case Opcode::kText:
  case Opcode::kBinary:
  case Opcode::kContinuation:
    break;
  default:
    force_close("a frame with an unknown opcode");
    return false;
  }
  if (state_ != State::kOpen)
    return true; // closing: what still arrives is not wanted
  if (frame.opcode == Opcode::kBinary) {
    force_close("a binary message (the protocol has none)");
    return false;
  }
  // The servers never fragment, but RFC 6455 allows it.
  if ((frame.opcode == Opcode::kContinuation) != fragmented_) {
    force_close("a continuation frame out of place");
    return false;
  }
  if (!frame.final_frame || fragmented_) {
    fragments_.append(frame.payload);
    fragmented_ = !frame.final_frame;
    if (fragmented_)
      return true;
    std::string message = std::move(fragments_);
    fragments_.clear();
    owner_.on_text(*this, message, received_ns);
  } else {
    owner_.on_text(*this, frame.payload, received_ns);
  }
  return state_ != State::kClosed;
}

void Client::send_text(std::string_view text) {
  if (state_ != State::kOpen)
    return;
  queue(Opcode::kText, text);
}

void Client::close(std::uint16_t code) {
  if (state_ == State::kClosed || state_ == State::kClosing)
    return;
  if (state_ != State::kOpen) {
    finish("");
    return;
  }
  char payload[2] = {char(code >> 8), char(code & 0xff)};
  queue(Opcode::kClose, std::string_view(payload, 2));
  if (state_ != State::kClosed)
    state_ = State::kClosing;
}

void Client::force_close(const std::string &problem) {
  finish(problem);
}

void Client::queue(Opcode opcode, std::string_view payload) {
  bool was_empty = out_sent_ == out_.size();
  if (was_empty) {
    out_.clear();
    out_sent_ = 0;
  }
  append_frame(out_, opcode, payload);
  if (was_empty)
    flush();
}

void Client::flush() {
  while (out_sent_ < out_.size()) {
    ssize_t n = send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        break;
      finish(errno_text("send", errno));
      return;
    }
    out_sent_ += std::size_t(n);
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
  watch_writable(out_sent_ < out_.size());
}

void Client::on_writable() {
  if (state_ == State::kConnecting)
    return;
  flush();
}

void Client::watch_writable(bool on) {
  if (on == writable_watched_ || state_ == State::kClosed)
    return;
  epoll_event event{};
  event.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN;
  event.data.ptr = this;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &event);
  writable_watched_ = on;
}

void Client::finish(const std::string &problem) {
  if (state_ == State::kClosed)
    return;
  state_ = State::kClosed;
  if (fd_ >= 0) {
    // Closing the descriptor also takes it out of the epoll set.
    ::close(fd_);
    fd_ = -1;
  }
  in_.clear();
  in_.shrink_to_fit();
  out_.clear();
  out_.shrink_to_fit();
  owner_.on_closed(*this, problem);
}

} // namespace webrtccall::loadgen
