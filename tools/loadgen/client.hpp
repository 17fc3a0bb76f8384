// One WebSocket client on a non-blocking socket, driven by the generator's
// epoll loop: connect from a chosen source address, the opening handshake,
// text messages both ways, pongs for the server's pings, the closing
// handshake. Knows nothing of the signaling protocol: complete text messages
// go to its owner.
#pragma once

#include "ws_frames.hpp"

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace webrtccall::loadgen {

class Client;

// What a client reports. All calls come from inside Client::handle_events.
class ClientOwner {
public:
  virtual ~ClientOwner() = default;
  virtual void on_open(Client &client) = 0;
  // `received_ns`: the monotonic clock when the bytes were read.
  virtual void on_text(Client &client, std::string_view text, std::int64_t received_ns) = 0;
  // The connection is over. `problem` is empty when it ended by a close we
  // started; otherwise it says what happened (refused, reset, closed by the
  // server with a code, a bad frame).
  virtual void on_closed(Client &client, const std::string &problem) = 0;
};

// Where every client connects: the server's address and what the handshake names.
struct Target {
  sockaddr_in address{};
  std::string host_port; // Host header
  std::string path;
};

class Client {
public:
  enum class State { kNew, kConnecting, kHandshaking, kOpen, kClosing, kClosed };

  Client(std::uint32_t index, ClientOwner &owner) : index_(index), owner_(owner) {}
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  // Starts connecting from `source` (port 0: any). False, with on_closed
  // already called, if the socket could not even be made.
  bool start(int epoll_fd, in_addr source, const Target &target);
  // epoll's events for this client's socket.
  void handle_events(std::uint32_t events);

  void send_text(std::string_view text);
  // Sends a close frame; on_closed comes when the server answers, or at once
  // on a socket error. force_close() drops the socket without a word.
  void close(std::uint16_t code);
  void force_close(const std::string &problem);

  State state() const { return state_; }
  bool open() const { return state_ == State::kOpen; }
  std::uint32_t index() const { return index_; }
  std::size_t queued_bytes() const { return out_.size() - out_sent_; }

private:
  void on_connected();
  void on_readable();
  void on_writable();
  bool consume(std::string_view &buffer, std::int64_t received_ns); // false: closed
  bool handle_frame(const FrameView &frame, std::int64_t received_ns);
  void queue(Opcode opcode, std::string_view payload);
  void flush();
  void watch_writable(bool on);
  void finish(const std::string &problem);

  std::uint32_t index_;
  ClientOwner &owner_;
  int fd_ = -1;
  int epoll_fd_ = -1;
  State state_ = State::kNew;
  bool writable_watched_ = false;
  std::string accept_; // expected Sec-WebSocket-Accept
  std::string in_;     // bytes read and not yet parsed
  std::string out_;    // bytes to send from out_sent_ on
  std::size_t out_sent_ = 0;
  std::string fragments_;   // a fragmented message so far
  bool fragmented_ = false; // inside a fragmented message
};

// The monotonic clock in nanoseconds: the same clock stamps a relayed
// message on the sending client and is read again on the receiving one.
std::int64_t now_ns();

} // namespace webrtccall::loadgen
