#include "websocket_frames.hpp"

#include <simdjson.h>

#include <cstring>

namespace webrtccall::server::websocket {

namespace {

constexpr std::size_t kMaxControlPayload = 125;
// A read buffer this large is given back once it is empty: an idle client
// keeps none.
constexpr std::size_t kKeptBufferBytes = 4096;

bool is_known(std::uint8_t opcode) {
  switch (Opcode(opcode)) {
  case Opcode::kContinuation:
  case Opcode::kText:
  case Opcode::kBinary:
  case Opcode::kClose:
  case Opcode::kPing:
  case Opcode::kPong:
    return true;
  }
  return false;
}

// Not g_utf8_validate_len(), which refuses U+0000: a valid character, in a
// WebSocket's text as anywhere.
bool is_utf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

// Eight bytes at a time: every message the server relays passes here.
void unmask(char *payload, std::size_t length, const std::uint8_t *key) {
  std::uint8_t key8[8];
  for (int i = 0; i < 8; i++)
    key8[i] = key[i & 3];
  std::uint64_t key64;
  std::memcpy(&key64, key8, 8);
  std::size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, payload + i, 8);
    word ^= key64;
    std::memcpy(payload + i, &word, 8);
  }
  for (; i < length; i++)
    payload[i] = char(std::uint8_t(payload[i]) ^ key[i & 3]);
}

} // namespace

bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

void FrameReader::feed(const char *data, std::size_t length) {
  if (!problem_.empty())
    return; // nothing more is read from a connection refused
  buffer_.append(data, length);
}

std::optional<Incoming> FrameReader::refuse(std::uint16_t code, std::string problem) {
  problem_ = std::move(problem);
  problem_code_ = code;
  std::string().swap(buffer_);
  std::string().swap(fragments_);
  begin_ = 0;
  return Incoming{Incoming::Kind::kBad, problem_, problem_code_};
}

std::optional<Incoming> FrameReader::next() {
  if (!problem_.empty())
    return Incoming{Incoming::Kind::kBad, problem_, problem_code_};
  release_spent_memory();
  for (;;) {
    std::size_t available = buffer_.size() - begin_;
    if (available < 2)
      return std::nullopt;
    const auto *header = reinterpret_cast<const std::uint8_t *>(buffer_.data() + begin_);
    bool final_frame = header[0] & 0x80;
    std::uint8_t opcode = header[0] & 0x0f;
    bool control = opcode & 0x08;
    std::uint64_t length = header[1] & 0x7f;
    // What the first two bytes say is refused before the rest arrives.
    if (header[0] & 0x70)
      return refuse(close_code::kProtocolError,
                    "a frame with reserved bits set (no extension was agreed)");
    if (!(header[1] & 0x80))
      return refuse(close_code::kProtocolError, "an unmasked frame (a client masks every frame)");
    if (!is_known(opcode))
      return refuse(close_code::kProtocolError,
                    "a frame with unknown opcode " + std::to_string(opcode));
    if (control && !final_frame)
      return refuse(close_code::kProtocolError, "a fragmented control frame");
    if (control && length > kMaxControlPayload)
      return refuse(close_code::kProtocolError, "a control frame over 125 bytes");
    if (!control && opcode == std::uint8_t(Opcode::kContinuation) && !fragmented_)
      return refuse(close_code::kProtocolError, "a continuation frame with no message to continue");
    if (!control && opcode != std::uint8_t(Opcode::kContinuation) && fragmented_)
      return refuse(close_code::kProtocolError,
                    "a new message before the last one's final fragment");

    std::size_t header_length = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + 4;
    if (available < header_length)
      return std::nullopt;
    // RFC 6455 5.2: the length takes the shortest form that holds it, and a
    // 64-bit length has its top bit clear.
    if (length == 126) {
      length = (std::uint64_t(header[2]) << 8) | header[3];
      if (length < 126)
        return refuse(close_code::kProtocolError, "a frame length in a longer form than it needs");
    } else if (length == 127) {
      if (header[2] & 0x80)
        return refuse(close_code::kProtocolError, "a 64-bit frame length with its top bit set");
      length = 0;
      for (int i = 2; i < 10; i++)
        length = (length << 8) | header[i];
      if (length <= 0xffff)
        return refuse(close_code::kProtocolError, "a frame length in a longer form than it needs");
    }
    // The limit counts the message's fragments together, and is checked
    // before the payload is waited for: a client cannot make the server hold
    // more than one message's worth.
    std::size_t joined = fragmented_ ? fragments_.size() : 0;
    if (!control && (length > max_message_bytes_ || joined + length > max_message_bytes_))
      return refuse(close_code::kTooBig,
                    "a message larger than " + std::to_string(max_message_bytes_) + " bytes");
    if (available - header_length < length)
      return std::nullopt;

    char *payload = buffer_.data() + begin_ + header_length;
    unmask(payload, std::size_t(length), header + header_length - 4);
    std::string_view data(payload, std::size_t(length));
    begin_ += header_length + std::size_t(length);

    if (control)
      return control_frame(Opcode(opcode), data);
    if (opcode != std::uint8_t(Opcode::kContinuation)) {
      if (final_frame) // the common case: one frame, read where it lies
        return finish_message(Opcode(opcode), data);
      fragmented_ = Opcode(opcode);
      fragments_.assign(data);
      continue;
    }
    fragments_.append(data);
    if (!final_frame)
      continue;
    Opcode whole = *fragmented_;
    fragmented_.reset();
    return finish_message(whole, fragments_);
  }
}

std::optional<Incoming> FrameReader::finish_message(Opcode opcode, std::string_view message) {
  if (opcode == Opcode::kText && !is_utf8(message))
    return refuse(close_code::kInvalidData, "a text message that is not UTF-8");
  return Incoming{opcode == Opcode::kText ? Incoming::Kind::kText : Incoming::Kind::kBinary,
                  message};
}

std::optional<Incoming> FrameReader::control_frame(Opcode opcode, std::string_view payload) {
  switch (opcode) {
  case Opcode::kPing:
    return Incoming{Incoming::Kind::kPing, payload};
  case Opcode::kPong:
    return Incoming{Incoming::Kind::kPong, payload};
  default:
    break;
  }
  if (payload.empty())
    return Incoming{Incoming::Kind::kClose, {}, close_code::kNoStatus};
  if (payload.size() == 1)
    return refuse(close_code::kProtocolError, "a close frame with a one-byte code");
  auto code = std::uint16_t((std::uint8_t(payload[0]) << 8) | std::uint8_t(payload[1]));
  if (!valid_close_code(code))
    return refuse(close_code::kProtocolError, "a close frame with code " + std::to_string(code));
  std::string_view reason = payload.substr(2);
  if (!is_utf8(reason))
    return refuse(close_code::kInvalidData, "a close frame whose reason is not UTF-8");
  return Incoming{Incoming::Kind::kClose, reason, code};
}

// What the last event pointed into is spent by now.
void FrameReader::release_spent_memory() {
  if (!fragmented_ && fragments_.capacity() > kKeptBufferBytes)
    std::string().swap(fragments_);
  if (begin_ < buffer_.size()) {
    if (begin_ > kKeptBufferBytes) { // a long run of frames read: move the rest down
      buffer_.erase(0, begin_);
      begin_ = 0;
    }
    return;
  }
  begin_ = 0;
  if (buffer_.capacity() > kKeptBufferBytes)
    std::string().swap(buffer_);
  else
    buffer_.clear();
}

void append_frame(std::string &out, Opcode opcode, std::string_view payload) {
  out.push_back(char(0x80 | std::uint8_t(opcode)));
  std::size_t length = payload.size();
  if (length < 126) {
    out.push_back(char(length));
  } else if (length <= 0xffff) {
    out.push_back(char(126));
    out.push_back(char(length >> 8));
    out.push_back(char(length & 0xff));
  } else {
    out.push_back(char(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(char((std::uint64_t(length) >> shift) & 0xff));
  }
  out.append(payload);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(char(code >> 8));
  payload.push_back(char(code & 0xff));
  std::size_t room = kMaxControlPayload - 2;
  if (reason.size() > room) {
    // Back off to the start of a character: continuation bytes are 10xxxxxx.
    std::size_t cut = room;
    while (cut > 0 && (std::uint8_t(reason[cut]) & 0xc0) == 0x80)
      cut--;
    reason = reason.substr(0, cut);
  }
  payload.append(reason);
  return payload;
}

} // namespace webrtccall::server::websocket
