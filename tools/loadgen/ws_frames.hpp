// The client side of RFC 6455, only as much as a load generator needs: the
// opening handshake, masked frames out, unmasked frames in. No extensions are
// offered, so frames never carry RSV bits. Pure functions over buffers: the
// sockets are Client's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace webrtccall::loadgen {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// A random Sec-WebSocket-Key and the Sec-WebSocket-Accept it must be answered with.
struct HandshakeKey {
  std::string key;
  std::string accept;
};
HandshakeKey make_handshake_key();

// The upgrade request for `path` on `host_port` ("127.0.0.1:9090").
std::string handshake_request(std::string_view host_port, std::string_view path,
                              std::string_view key);

// Reads the response headers at the start of `buffer`. Returns 0 while they
// are incomplete, the header length (bytes to skip) on a good 101 with the
// right accept, or -1 with `problem` set.
long check_handshake_response(std::string_view buffer, std::string_view accept,
                              std::string &problem);

// Appends one masked client frame carrying `payload` to `out`.
void append_frame(std::string &out, Opcode opcode, std::string_view payload);

struct FrameView {
  bool final_frame = true;
  Opcode opcode = Opcode::kText;
  std::string_view payload; // points into the buffer given to parse_frame
};

// Parses the frame at the start of `buffer`. Returns its total length, 0 if
// it is incomplete, or -1 with `problem` set for a frame no server may send.
long parse_frame(std::string_view buffer, std::size_t max_payload, FrameView &frame,
                 std::string &problem);

} // namespace webrtccall::loadgen
