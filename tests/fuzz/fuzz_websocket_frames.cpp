// libFuzzer target: the server's WebSocket frame reader (websocket_frames.hpp), fed what a client
// might send. The input's first byte, modulo 8, says how many of the bytes after it are chunk sizes
// (none: the rest in one feed; all 0: a byte at a time); the rest is the stream. It is read twice
// with a 1024-byte message limit: fed at once, and fed in chunks of those sizes in turn (a size of
// 0 is an empty feed), every event drained after each feed. Both must give the same events, since a
// socket may cut the stream anywhere; and every event must be one the reader may give: text that is
// UTF-8, no message over the limit, no control payload over 125 bytes, a close code a client may
// send, and once refused, refused for good. Each message then goes back out through append_frame
// (and close_payload) and must read back the same. Last, the input, when it fits the limit, becomes
// a stream whose events are known (check_known_stream): refusing what is valid, or letting through
// what RFC 6455 forbids, is a finding too.
#include "websocket_frames.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Reports and aborts: libFuzzer keeps the input of a SIGABRT (g_error's
// SIGTRAP it does not).
template <typename... Args> [[noreturn]] void fail(const char *format, Args... args) {
  std::fprintf(stderr, format, args...);
  std::fputc('\n', stderr);
  std::abort();
}

using namespace webrtccall::server::websocket;
using Kind = Incoming::Kind;

constexpr std::size_t kLimit = 1024; // small, so that fuzzed lengths cross it
constexpr std::size_t kMaxControlPayload = 125;
constexpr std::size_t kMaxChunkSizes = 7;

// An event copied out of the reader: its payload lasts only until the next call.
struct Event {
  Kind kind;
  std::string payload;
  std::uint16_t code;
  bool operator==(const Event &other) const {
    return kind == other.kind && payload == other.payload && code == other.code;
  }
};

Event copy(const Incoming &incoming) {
  return {incoming.kind, std::string(incoming.payload), incoming.code};
}

// RFC 3629, written here rather than taken from a library so that the check does
// not share the reader's validator: shortest forms only, no UTF-16
// surrogates, nothing past U+10FFFF.
bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = std::uint8_t(text[i]);
    std::size_t extra;
    std::uint32_t point, min;
    if (byte < 0x80) {
      i++;
      continue;
    } else if ((byte & 0xe0) == 0xc0) {
      extra = 1, point = byte & 0x1f, min = 0x80;
    } else if ((byte & 0xf0) == 0xe0) {
      extra = 2, point = byte & 0x0f, min = 0x800;
    } else if ((byte & 0xf8) == 0xf0) {
      extra = 3, point = byte & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i <= extra)
      return false;
    for (std::size_t k = 1; k <= extra; k++) {
      auto next = std::uint8_t(text[i + k]);
      if ((next & 0xc0) != 0x80)
        return false;
      point = (point << 6) | (next & 0x3f);
    }
    if (point < min || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff))
      return false;
    i += extra + 1;
  }
  return true;
}

// RFC 6455 section 7.4: what a client may put in a close frame.
bool client_may_send(std::uint16_t code) {
  if (code >= 3000)
    return code <= 4999;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

void check(const Event &event) {
  switch (event.kind) {
  case Kind::kText:
    if (!is_utf8(event.payload))
      fail("a text message that is not UTF-8 came through (%zu bytes)", event.payload.size());
    [[fallthrough]];
  case Kind::kBinary:
    if (event.payload.size() > kLimit)
      fail("a %zu-byte message came through a %zu-byte limit", event.payload.size(), kLimit);
    return;
  case Kind::kPing:
  case Kind::kPong:
    if (event.payload.size() > kMaxControlPayload)
      fail("a %zu-byte ping or pong came through", event.payload.size());
    return;
  case Kind::kClose:
    if (event.code == close_code::kNoStatus) {
      if (!event.payload.empty())
        fail("a close without a code came with a %zu-byte reason", event.payload.size());
      return;
    }
    if (!client_may_send(event.code))
      fail("a close with code %u came through", event.code);
    if (event.payload.size() > kMaxControlPayload - 2 || !is_utf8(event.payload))
      fail("a close reason of %zu bytes, or not UTF-8, came through", event.payload.size());
    return;
  case Kind::kBad:
    if (event.code != close_code::kProtocolError && event.code != close_code::kInvalidData &&
        event.code != close_code::kTooBig)
      fail("refused with close code %u", event.code);
    if (event.payload.empty())
      fail("refused with code %u without saying why", event.code);
    return;
  }
  fail("an event of unknown kind %d", int(event.kind));
}

// After a refusal: the same refusal, whatever was fed since.
void check_still_refused(FrameReader &reader, const Event &refusal) {
  std::optional<Incoming> again = reader.next();
  if (!again || !(copy(*again) == refusal))
    fail("a reader refused with code %u gave something else after", refusal.code);
}

// Drains the reader into `events`; returns whether it refused.
bool drain(FrameReader &reader, std::vector<Event> &events) {
  while (std::optional<Incoming> incoming = reader.next()) {
    events.push_back(copy(*incoming));
    check(events.back());
    if (incoming->kind == Kind::kBad) {
      check_still_refused(reader, events.back());
      return true;
    }
  }
  return false;
}

std::vector<Event> read_at_once(std::string_view stream) {
  FrameReader reader(kLimit);
  reader.feed(stream.data(), stream.size());
  std::vector<Event> events;
  drain(reader, events);
  return events;
}

std::vector<Event> read_in_chunks(std::string_view stream, std::string_view sizes) {
  FrameReader reader(kLimit);
  std::vector<Event> events;
  bool refused = false;
  std::size_t turn = 0;
  while (!stream.empty()) {
    std::size_t size = sizes.empty() ? stream.size() : std::uint8_t(sizes[turn++ % sizes.size()]);
    std::string_view chunk = stream.substr(0, size);
    stream.remove_prefix(chunk.size());
    reader.feed(chunk.data(), chunk.size());
    if (refused)
      check_still_refused(reader, events.back());
    else
      refused = drain(reader, events);
  }
  return events;
}

const char *kind_name(Kind kind) {
  switch (kind) {
  case Kind::kText:
    return "text";
  case Kind::kBinary:
    return "binary";
  case Kind::kPing:
    return "ping";
  case Kind::kPong:
    return "pong";
  case Kind::kClose:
    return "close";
  case Kind::kBad:
    return "bad";
  }
  return "?";
}

// Fails at the first difference between two readings of a stream.
void compare(const char *how_a, const std::vector<Event> &a, const char *how_b,
             const std::vector<Event> &b) {
  for (std::size_t i = 0; i < a.size() || i < b.size(); i++) {
    if (i >= a.size() || i >= b.size())
      fail("%s: %zu events, %s: %zu", how_a, a.size(), how_b, b.size());
    if (!(a[i] == b[i]))
      fail("event %zu: %s %s (%zu bytes, code %u), %s %s (%zu bytes, code %u)", i, how_a,
           kind_name(a[i].kind), a[i].payload.size(), a[i].code, how_b, kind_name(b[i].kind),
           b[i].payload.size(), b[i].code);
  }
}

// A frame as a client sends it: append_frame's (which writes a server's
// final, unmasked frames), with the final bit as asked, masked.
std::string client_frame(bool final_frame, Opcode opcode, std::string_view payload) {
  static constexpr std::uint8_t kKey[4] = {0xa5, 0x3c, 0x0f, 0x71};
  std::string frame;
  append_frame(frame, opcode, payload);
  if (!final_frame)
    frame[0] = char(std::uint8_t(frame[0]) & 0x7f);
  auto second = std::uint8_t(frame[1]);
  std::size_t start = 2 + ((second & 0x7f) == 126 ? 2 : (second & 0x7f) == 127 ? 8 : 0);
  std::string bytes = frame.substr(0, start);
  bytes[1] = char(second | 0x80);
  bytes.append(reinterpret_cast<const char *>(kKey), 4);
  for (std::size_t i = start; i < frame.size(); i++)
    bytes.push_back(char(std::uint8_t(frame[i]) ^ kKey[(i - start) % 4]));
  return bytes;
}

// What the server would write back, read as a client's frame, is the event again.
void check_echo(const Event &event) {
  Opcode opcode;
  std::string payload = event.payload;
  switch (event.kind) {
  case Kind::kText:
    opcode = Opcode::kText;
    break;
  case Kind::kBinary:
    opcode = Opcode::kBinary;
    break;
  case Kind::kPing:
    opcode = Opcode::kPing;
    break;
  case Kind::kPong:
    opcode = Opcode::kPong;
    break;
  case Kind::kClose:
    if (event.code == close_code::kNoStatus)
      return; // close_payload always writes a code
    opcode = Opcode::kClose;
    payload = close_payload(event.code, event.payload);
    break;
  default:
    return;
  }
  std::vector<Event> back = read_at_once(client_frame(true, opcode, payload));
  if (back.size() != 1 || !(back[0] == event))
    fail("a %s of %zu bytes written by append_frame does not read back the same",
         kind_name(event.kind), event.payload.size());
}

// UTF-8 text as a close reason: the code first, then as much of the text as
// fits in 125 bytes, cut between characters.
void check_close_payload(std::string_view text) {
  std::string payload = close_payload(close_code::kGoingAway, text);
  if (payload.size() > kMaxControlPayload || payload.size() < 2 ||
      payload.compare(0, 2, "\x03\xe9") != 0)
    fail("close_payload gave %zu bytes, or not starting with the code", payload.size());
  std::string_view reason = std::string_view(payload).substr(2);
  if (text.substr(0, reason.size()) != reason)
    fail("close_payload's %zu-byte reason is not the start of the text", reason.size());
  // Cut only to fit, and by less than one character (at most 3 bytes back).
  std::size_t room = kMaxControlPayload - 2;
  std::size_t shortest = text.size() <= room ? text.size() : room - 3;
  if (!is_utf8(reason) || reason.size() < shortest)
    fail("close_payload cut a %zu-byte reason to %zu bytes", text.size(), reason.size());
}

constexpr std::uint16_t kCloseCodes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                         1010, 1011, 1012, 1013, 1014, 3000, 4999};

// A frame RFC 6455 forbids a client, and the code it must be refused with.
struct Forbidden {
  std::string frame;
  std::uint16_t code;
};

std::vector<Forbidden> forbidden_frames() {
  std::string reserved_bit = client_frame(true, Opcode::kText, "x");
  reserved_bit[0] = char(std::uint8_t(reserved_bit[0]) | 0x40);
  std::string unmasked;
  append_frame(unmasked, Opcode::kText, "x");
  std::string unknown_opcode = client_frame(true, Opcode::kText, "x");
  unknown_opcode[0] = char(0x80 | 0x3);
  // Over the limit: the header alone, since the refusal must not wait for the payload.
  std::string too_big = client_frame(true, Opcode::kBinary, std::string(kLimit + 1, 'x'));
  too_big.resize(2 + 2 + 4);
  // 2^56 + 5 in the 64-bit form: its top byte must be read too.
  std::string huge("\x82\xff\x01\x00\x00\x00\x00\x00\x00\x05\x01\x02\x03\x04", 14);
  return {
      {reserved_bit, close_code::kProtocolError},
      {unmasked, close_code::kProtocolError},
      {unknown_opcode, close_code::kProtocolError},
      {client_frame(false, Opcode::kPing, ""), close_code::kProtocolError},
      {client_frame(true, Opcode::kPing, std::string(126, 'x')), close_code::kProtocolError},
      {client_frame(true, Opcode::kContinuation, "x"), close_code::kProtocolError},
      {client_frame(true, Opcode::kClose, "\x03"), close_code::kProtocolError},
      {client_frame(true, Opcode::kClose, "\x03\xed"), close_code::kProtocolError}, // 1005
      {client_frame(true, Opcode::kClose, "\x13\x88"), close_code::kProtocolError}, // 5000
      {client_frame(false, Opcode::kText, "a") + client_frame(true, Opcode::kText, "b"),
       close_code::kProtocolError},
      {client_frame(true, Opcode::kText, "\xff"), close_code::kInvalidData},
      {too_big, close_code::kTooBig},
      {huge, close_code::kTooBig},
  };
}

// A stream whose events are known, made of the input: the input as one
// message in fragments cut at the chunk sizes (text if it is UTF-8, else
// binary) with a ping among them; the same message again in one frame; a
// close without a code and one with; then a frame a client may not send. Whatever a client may send
// must be read back whole, so refusing what is valid is a finding too; and the forbidden frame must
// be refused with its code.
void check_known_stream(std::string_view message, std::string_view sizes) {
  if (message.size() > kLimit)
    return;
  bool text = is_utf8(message);
  if (text)
    check_close_payload(message);
  Opcode opcode = text ? Opcode::kText : Opcode::kBinary;
  Event whole{text ? Kind::kText : Kind::kBinary, std::string(message), 0};
  std::string_view head = message.substr(0, kMaxControlPayload - 2);
  std::string stream;
  std::vector<Event> expected;
  std::string_view rest = message;
  std::size_t turn = 0;
  bool first = true;
  do {
    std::size_t size = sizes.empty() ? rest.size() : std::uint8_t(sizes[turn++ % sizes.size()]);
    std::string_view piece = rest.substr(0, size);
    rest.remove_prefix(piece.size());
    stream += client_frame(rest.empty(), first ? opcode : Opcode::kContinuation, piece);
    if (first && !rest.empty()) {
      stream += client_frame(true, Opcode::kPing, head);
      expected.push_back({Kind::kPing, std::string(head), 0});
    }
    first = false;
  } while (!rest.empty());
  expected.push_back(whole);
  stream += client_frame(true, opcode, message);
  expected.push_back(whole);

  stream += client_frame(true, Opcode::kClose, "");
  expected.push_back({Kind::kClose, "", close_code::kNoStatus});
  std::uint16_t code = kCloseCodes[message.size() % std::size(kCloseCodes)];
  std::string_view reason = is_utf8(head) ? head : std::string_view();
  std::string close{char(code >> 8), char(code & 0xff)};
  close.append(reason);
  stream += client_frame(true, Opcode::kClose, close);
  expected.push_back({Kind::kClose, std::string(reason), code});

  static const std::vector<Forbidden> forbidden = forbidden_frames();
  const Forbidden &last = forbidden[message.size() % forbidden.size()];
  stream += last.frame;
  std::vector<Event> read = read_at_once(stream);
  for (std::size_t i = 0; i < expected.size(); i++)
    if (i >= read.size() || !(read[i] == expected[i]))
      fail("a known stream's event %zu: sent %s (%zu bytes, code %u), read %s (%zu bytes, code %u)",
           i, kind_name(expected[i].kind), expected[i].payload.size(), expected[i].code,
           i < read.size() ? kind_name(read[i].kind) : "nothing",
           i < read.size() ? read[i].payload.size() : 0, i < read.size() ? read[i].code : 0u);
  if (read.size() != expected.size() + 1 || read.back().kind != Kind::kBad ||
      read.back().code != last.code)
    fail("a forbidden frame (first byte 0x%02x) was not refused with %u",
         unsigned(std::uint8_t(last.frame[0])), last.code);
  compare("a known stream fed at once", read, "in chunks", read_in_chunks(stream, sizes));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  if (input.empty())
    return 0;
  std::size_t count = std::uint8_t(input[0]) % (kMaxChunkSizes + 1);
  input.remove_prefix(1);
  std::string_view sizes = input.substr(0, count);
  input.remove_prefix(sizes.size());
  // Sizes that are all 0 would never move on: one byte at a time instead.
  bool moves = false;
  for (char chunk_size : sizes)
    moves = moves || chunk_size != 0;
  std::string_view chunk_sizes = sizes.empty() || moves ? sizes : std::string_view("\x01", 1);

  std::vector<Event> at_once = read_at_once(input);
  compare("fed at once", at_once, "in chunks", read_in_chunks(input, chunk_sizes));
  for (const Event &event : at_once)
    check_echo(event);
  check_known_stream(input, chunk_sizes);
  return 0;
}
