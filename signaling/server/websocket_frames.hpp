// WebSocket framing (RFC 6455) for the server's side of a connection: the
// client's frames read out of the bytes received, checked as the RFC asks,
// and the server's frames written. No I/O here (websocket.hpp does it), so
// tests and the fuzzer feed it bytes.
//
// The server frames its WebSockets itself rather than through libsoup's
// SoupWebsocketConnection, which it used before (docs/benchmarks.md,
// "Signaling"): libsoup 3.2 makes and destroys a GSource for every message
// read, reads until a read fails with a GError, formats debug lines it then
// drops and emits GObject signals through libffi, which was half of the
// server's CPU time per relayed message; and it caps each frame but not a
// message's fragments together. libsoup still does the HTTP side: the
// upgrade request and its 101 answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace webrtccall::server::websocket {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xa,
};

// Close codes (RFC 6455 section 7.4.1) the server sends or reports.
namespace close_code {
constexpr std::uint16_t kNormal = 1000;
constexpr std::uint16_t kGoingAway = 1001;
constexpr std::uint16_t kProtocolError = 1002;
constexpr std::uint16_t kNoStatus = 1005; // a close frame without a code; never sent
constexpr std::uint16_t kInvalidData = 1007;
constexpr std::uint16_t kPolicyViolation = 1008;
constexpr std::uint16_t kTooBig = 1009;
} // namespace close_code

// Whether a peer may send `code` in a close frame: 1000-1003 and 1007-1014
// (the rest of 1000-2999 is reserved or only for reporting), and 3000-4999
// for libraries and applications.
bool valid_close_code(std::uint16_t code);

// One thing the client sent: a whole message (its fragments joined), or a
// control frame.
struct Incoming {
  enum class Kind { kText, kBinary, kPing, kPong, kClose, kBad };
  Kind kind;
  // The message; the ping's or pong's data; the close frame's reason. kBad:
  // what was wrong, for the log and the close frame. Valid until the next
  // call to the FrameReader.
  std::string_view payload;
  // kClose: the code the client sent (kNoStatus if none). kBad: the code to
  // close the connection with.
  std::uint16_t code = 0;
};

// Reads the client's frames out of the bytes received: unmasks them, joins
// fragments, and refuses what RFC 6455 forbids a client (an unmasked frame,
// reserved bits, an unknown opcode, a long or fragmented control frame,
// fragments out of order, text that is not UTF-8, a bad close frame) and any
// message over `max_message_bytes` in all, as soon as the frame header that
// crosses the limit arrives.
class FrameReader {
public:
  explicit FrameReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Bytes as they came from the socket (copied).
  void feed(const char *data, std::size_t length);
  // The next thing the client sent, or nothing until more bytes come. After
  // a kBad, kBad again: the connection must close.
  std::optional<Incoming> next();

  std::size_t max_message_bytes() const { return max_message_bytes_; }

private:
  std::optional<Incoming> refuse(std::uint16_t code, std::string problem);
  std::optional<Incoming> finish_message(Opcode opcode, std::string_view message);
  std::optional<Incoming> control_frame(Opcode opcode, std::string_view payload);
  void release_spent_memory();

  std::size_t max_message_bytes_;
  std::string buffer_;               // bytes fed and not yet read out, from begin_
  std::size_t begin_ = 0;            // where the next frame starts in buffer_
  std::string fragments_;            // the fragmented message being joined
  std::optional<Opcode> fragmented_; // text or binary, while fragments_ is joined
  std::string problem_;              // set once refused
  std::uint16_t problem_code_ = 0;
};

// Appends one frame as a server sends it: final, unmasked.
void append_frame(std::string &out, Opcode opcode, std::string_view payload);

// A close frame's payload: the code, then as much of the reason as fits in a
// control frame (125 bytes in all), cut between UTF-8 characters.
std::string close_payload(std::uint16_t code, std::string_view reason);

} // namespace webrtccall::server::websocket
