#include "ws_frames.hpp"

#include <glib.h>

#include <cstring>
#include <random>

namespace webrtccall::loadgen {

namespace {

constexpr char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455, section 1.3

// Masks need not be strong here (the peer is our own server under test), but
// RFC 6455 wants them unpredictable per frame; xorshift is cheap and varies.
std::uint32_t next_mask() {
  static std::uint32_t state = std::random_device{}() | 1u;
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

bool header_equals(std::string_view line, std::string_view name, std::string_view value) {
  if (line.size() < name.size() + 1 || g_ascii_strncasecmp(line.data(), name.data(), name.size()) ||
      line[name.size()] != ':')
    return false;
  std::string_view rest = line.substr(name.size() + 1);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
    rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t'))
    rest.remove_suffix(1);
  return rest == value;
}

} // namespace

HandshakeKey make_handshake_key() {
  guint8 nonce[16];
  for (auto &byte : nonce)
    byte = guint8(g_random_int_range(0, 256));
  g_autofree char *key = g_base64_encode(nonce, sizeof nonce);
  std::string joined = std::string(key) + kGuid;
  guint8 digest[20];
  gsize digest_length = sizeof digest;
  g_autoptr(GChecksum) sha1 = g_checksum_new(G_CHECKSUM_SHA1);
  g_checksum_update(sha1, reinterpret_cast<const guchar *>(joined.data()), gssize(joined.size()));
  g_checksum_get_digest(sha1, digest, &digest_length);
  g_autofree char *accept = g_base64_encode(digest, digest_length);
  return {key, accept};
}

std::string handshake_request(std::string_view host_port, std::string_view path,
                              std::string_view key) {
  std::string request;
  request.reserve(200);
  request.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_port);
  request.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  request.append(key).append("\r\nSec-WebSocket-Version: 13\r\n\r\n");
  return request;
}

long check_handshake_response(std::string_view buffer, std::string_view accept,
                              std::string &problem) {
  std::size_t end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buffer.size() > 16384) {
      problem = "handshake response headers over 16 KiB";
      return -1;
    }
    return 0;
  }
  std::string_view headers = buffer.substr(0, end + 2);
  std::size_t line_end = headers.find("\r\n");
  std::string_view status = headers.substr(0, line_end);
  if (status.substr(0, 12) != "HTTP/1.1 101") {
    problem = "handshake refused: " + std::string(status);
    return -1;
  }
  bool accepted = false;
  for (std::size_t at = line_end + 2; at < headers.size();) {
    std::size_t next = headers.find("\r\n", at);
    if (header_equals(headers.substr(at, next - at), "Sec-WebSocket-Accept", accept))
      accepted = true;
    at = next + 2;
  }
  if (!accepted) {
    problem = "handshake response without the expected Sec-WebSocket-Accept";
    return -1;
  }
  return long(end + 4);
}

void append_frame(std::string &out, Opcode opcode, std::string_view payload) {
  unsigned char header[14];
  std::size_t length = payload.size(), h = 0;
  header[h++] = 0x80 | std::uint8_t(opcode); // FIN: we never fragment
  if (length < 126) {
    header[h++] = 0x80 | std::uint8_t(length);
  } else if (length <= 0xffff) {
    header[h++] = 0x80 | 126;
    header[h++] = std::uint8_t(length >> 8);
    header[h++] = std::uint8_t(length);
  } else {
    header[h++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8)
      header[h++] = std::uint8_t(std::uint64_t(length) >> shift);
  }
  std::uint32_t mask_word = next_mask();
  unsigned char mask[4];
  std::memcpy(mask, &mask_word, 4);
  std::memcpy(header + h, mask, 4);
  h += 4;
  std::size_t start = out.size();
  out.append(reinterpret_cast<const char *>(header), h);
  out.append(payload);
  char *data = out.data() + start + h;
  for (std::size_t i = 0; i < length; i++)
    data[i] = char(data[i] ^ mask[i & 3]);
}

long parse_frame(std::string_view buffer, std::size_t max_payload, FrameView &frame,
                 std::string &problem) {
  if (buffer.size() < 2)
    return 0;
  auto byte = [&](std::size_t i) { return std::uint8_t(buffer[i]); };
  if (byte(0) & 0x70) {
    problem = "frame with RSV bits set (no extension was negotiated)";
    return -1;
  }
  frame.final_frame = byte(0) & 0x80;
  frame.opcode = Opcode(byte(0) & 0x0f);
  bool masked = byte(1) & 0x80;
  std::uint64_t length = byte(1) & 0x7f;
  std::size_t at = 2;
  if (length >= 126) {
    std::size_t bytes = length == 126 ? 2 : 8;
    if (buffer.size() < at + bytes)
      return 0;
    length = 0;
    for (std::size_t i = 0; i < bytes; i++)
      length = (length << 8) | byte(at + i);
    at += bytes;
  }
  if (masked) {
    problem = "masked frame from the server (RFC 6455 forbids it)";
    return -1;
  }
  if (length > max_payload) {
    problem = "frame of " + std::to_string(length) + " bytes, over the limit";
    return -1;
  }
  if (buffer.size() < at + length)
    return 0;
  frame.payload = buffer.substr(at, std::size_t(length));
  return long(at + length);
}

} // namespace webrtccall::loadgen
