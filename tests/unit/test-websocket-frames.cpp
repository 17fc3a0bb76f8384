// The server's WebSocket framing (websocket_frames.hpp): the client's frames
// read out of bytes however they arrive, every refusal RFC 6455 asks for with
// its close code, the message size limit at the frame header, and the frames
// the server writes.
#include "websocket_frames.hpp"

#include <glib.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace webrtccall::server::websocket;

namespace {

constexpr std::uint8_t kFinal = 0x80;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::size_t kLimit = 1 << 20;

// RFC 6455's own example key (section 5.7): its bytes all differ, so a payload
// left masked, or unmasked with the key misaligned, reads wrong.
using Key = std::array<std::uint8_t, 4>;
constexpr Key kKey = {0x37, 0xfa, 0x21, 0x3d};
constexpr Key kOtherKey = {0x9c, 0x01, 0x5e, 0xe2};

constexpr std::uint8_t op(Opcode opcode) {
  return std::uint8_t(opcode);
}

// A frame header as a client writes it: `first` holds the final bit, the
// reserved bits and the opcode; the length takes the shortest form that
// holds it (7, 16 or 64 bits); then the mask key, unless `masked` is false.
std::string header(std::uint8_t first, std::uint64_t length, bool masked = true,
                   const Key &key = kKey) {
  std::string bytes(1, char(first));
  std::uint8_t mask = masked ? kMaskBit : 0;
  if (length < 126) {
    bytes.push_back(char(mask | length));
  } else if (length <= 0xffff) {
    bytes.push_back(char(mask | 126));
    bytes.push_back(char(length >> 8));
    bytes.push_back(char(length & 0xff));
  } else {
    bytes.push_back(char(mask | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      bytes.push_back(char((length >> shift) & 0xff));
  }
  if (masked)
    bytes.append(key.begin(), key.end());
  return bytes;
}

// A whole frame as a client sends it, the payload masked with `key`.
std::string frame(std::uint8_t first, std::string_view payload, const Key &key = kKey) {
  std::string bytes = header(first, payload.size(), true, key);
  for (std::size_t i = 0; i < payload.size(); i++)
    bytes.push_back(char(std::uint8_t(payload[i]) ^ key[i % 4]));
  return bytes;
}

std::string final_frame(Opcode opcode, std::string_view payload, const Key &key = kKey) {
  return frame(kFinal | op(opcode), payload, key);
}

// A frame with the final bit clear: a fragment that more will follow.
std::string fragment(Opcode opcode, std::string_view payload) {
  return frame(op(opcode), payload);
}

// A server's frame (unmasked) as a client would send the same: mask bit set,
// key inserted after the length, payload masked.
std::string masked_like_a_client(std::string_view server_frame) {
  auto second = std::uint8_t(server_frame[1]);
  g_assert_false(second & kMaskBit);
  std::size_t length_bytes = (second & 0x7f) == 126 ? 2 : (second & 0x7f) == 127 ? 8 : 0;
  std::size_t payload_start = 2 + length_bytes;
  std::string bytes(server_frame.substr(0, payload_start));
  bytes[1] = char(second | kMaskBit);
  bytes.append(kKey.begin(), kKey.end());
  for (std::size_t i = payload_start; i < server_frame.size(); i++)
    bytes.push_back(char(std::uint8_t(server_frame[i]) ^ kKey[(i - payload_start) % 4]));
  return bytes;
}

std::string close_body(std::uint16_t code, std::string_view reason) {
  std::string body{char(code >> 8), char(code & 0xff)};
  body.append(reason);
  return body;
}

// Printable payload bytes (at most 60) for failure messages.
std::string printable(std::string_view bytes) {
  std::string text;
  for (std::size_t i = 0; i < bytes.size() && i < 60; i++) {
    auto byte = std::uint8_t(bytes[i]);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
      text.push_back(char(byte));
      continue;
    }
    char escaped[5];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
    text += escaped;
  }
  if (bytes.size() > 60)
    text += "... (" + std::to_string(bytes.size()) + " bytes)";
  return text;
}

const char *kind_name(Incoming::Kind kind) {
  switch (kind) {
  case Incoming::Kind::kText:
    return "text";
  case Incoming::Kind::kBinary:
    return "binary";
  case Incoming::Kind::kPing:
    return "ping";
  case Incoming::Kind::kPong:
    return "pong";
  case Incoming::Kind::kClose:
    return "close";
  case Incoming::Kind::kBad:
    return "bad";
  }
  return "?";
}

// An event copied out of the reader (its payload is valid only until the
// reader's next call). For "bad", the payload is the reader's explanation.
struct Event {
  std::string kind;
  std::string payload;
  std::uint16_t code = 0;
};

Event copy(const Incoming &incoming) {
  return {kind_name(incoming.kind), std::string(incoming.payload), incoming.code};
}

// Every event the reader has ready, up to and including a refusal.
std::vector<Event> drain(FrameReader &reader) {
  std::vector<Event> events;
  while (auto incoming = reader.next()) {
    events.push_back(copy(*incoming));
    if (incoming->kind == Incoming::Kind::kBad)
      break; // it would repeat forever
  }
  return events;
}

std::vector<Event> read_all(std::string_view bytes, std::size_t limit = kLimit) {
  FrameReader reader(limit);
  reader.feed(bytes.data(), bytes.size());
  return drain(reader);
}

Event text(std::string_view payload) {
  return {"text", std::string(payload)};
}
Event binary(std::string_view payload) {
  return {"binary", std::string(payload)};
}
Event ping(std::string_view payload) {
  return {"ping", std::string(payload)};
}
Event pong(std::string_view payload) {
  return {"pong", std::string(payload)};
}
Event closed(std::uint16_t code, std::string_view reason) {
  return {"close", std::string(reason), code};
}
// A refusal: any explanation will do, as long as there is one.
Event bad(std::uint16_t code) {
  return {"bad", "", code};
}

// Fails naming `what` and the first difference; a refusal's explanation must
// be there but its words are the reader's.
void expect(const char *what, const std::vector<Event> &actual,
            const std::vector<Event> &expected) {
  for (std::size_t i = 0; i < actual.size() || i < expected.size(); i++) {
    if (i >= actual.size())
      g_error("%s: event %zu: nothing, expected %s \"%s\"", what, i, expected[i].kind.c_str(),
              printable(expected[i].payload).c_str());
    if (i >= expected.size())
      g_error("%s: event %zu: unexpected %s \"%s\" (code %u)", what, i, actual[i].kind.c_str(),
              printable(actual[i].payload).c_str(), actual[i].code);
    const Event &a = actual[i], &e = expected[i];
    bool payload_ok = e.kind == "bad" ? !a.payload.empty() : a.payload == e.payload;
    if (a.kind != e.kind || a.code != e.code || !payload_ok)
      g_error("%s: event %zu: %s \"%s\" (code %u), expected %s \"%s\" (code %u)", what, i,
              a.kind.c_str(), printable(a.payload).c_str(), a.code, e.kind.c_str(),
              e.kind == "bad" ? "<any explanation>" : printable(e.payload).c_str(), e.code);
  }
}

// Payload text that shows a misplaced byte: the alphabet, over and over.
std::string letters(std::size_t length) {
  std::string bytes(length, 'a');
  for (std::size_t i = 0; i < length; i++)
    bytes[i] = char('a' + i % 26);
  return bytes;
}

// Reading frames

void test_text_frame_is_unmasked_in_each_length_form() {
  struct {
    std::size_t payload, header;
  } cases[] = {
      {0, 6}, {5, 6}, {125, 6}, {126, 8}, {65535, 8}, {65536, 14}, {70000, 14},
  };
  for (const auto &c : cases) {
    std::string payload = letters(c.payload);
    std::string bytes = final_frame(Opcode::kText, payload);
    // The length form in use is the one the case names.
    g_assert_cmpuint(bytes.size(), ==, c.header + c.payload);
    std::string what = std::to_string(c.payload) + "-byte text";
    expect(what.c_str(), read_all(bytes), {text(payload)});
  }
}

void test_byte_at_a_time_reads_the_same() {
  // Each piece is one frame, and whether the reader has an event once it is in.
  std::vector<std::pair<std::string, bool>> pieces = {
      {final_frame(Opcode::kText, "hello"), true},
      {final_frame(Opcode::kPing, "are you there"), true},
      {fragment(Opcode::kBinary, letters(300)), false},
      {frame(op(Opcode::kContinuation), std::string("\x00\xff", 2)), false},
      {final_frame(Opcode::kPong, ""), true},
      {frame(kFinal | op(Opcode::kContinuation), letters(70000)), true},
      {final_frame(Opcode::kText, "caf\xc3\xa9"), true},
      {final_frame(Opcode::kClose, close_body(1000, "done")), true},
  };
  std::string stream;
  std::vector<std::size_t> event_ends; // stream offsets after which an event is ready
  for (const auto &[bytes, emits] : pieces) {
    stream += bytes;
    if (emits)
      event_ends.push_back(stream.size());
  }
  std::vector<Event> at_once = read_all(stream);
  expect("fed at once", at_once,
         {text("hello"), ping("are you there"), pong(""),
          binary(letters(300) + std::string("\x00\xff", 2) + letters(70000)), text("caf\xc3\xa9"),
          closed(1000, "done")});

  FrameReader reader(kLimit);
  std::vector<Event> one_by_one;
  std::size_t next_end = 0;
  for (std::size_t i = 0; i < stream.size(); i++) {
    reader.feed(&stream[i], 1);
    std::vector<Event> events = drain(reader);
    if (next_end < event_ends.size() && i + 1 == event_ends[next_end]) {
      g_assert_cmpuint(events.size(), ==, 1);
      next_end++;
    } else if (!events.empty()) {
      g_error("an event after byte %zu, which ends no frame", i + 1);
    }
    one_by_one.insert(one_by_one.end(), events.begin(), events.end());
  }
  g_assert_cmpuint(next_end, ==, event_ends.size());
  expect("fed a byte at a time", one_by_one, at_once);
}

void test_several_frames_in_one_feed_come_in_order() {
  // Each frame with its own key: the reader must unmask each with its own.
  std::string stream = final_frame(Opcode::kText, "first", kKey) +
                       final_frame(Opcode::kBinary, "second", kOtherKey) +
                       final_frame(Opcode::kPing, "third", kKey) +
                       final_frame(Opcode::kText, "fourth", kOtherKey);
  expect("four frames", read_all(stream),
         {text("first"), binary("second"), ping("third"), text("fourth")});
}

void test_partial_frames_give_nothing() {
  FrameReader empty(kLimit);
  g_assert_false(empty.next().has_value());
  empty.feed("", 0);
  g_assert_false(empty.next().has_value());

  // Every proper prefix of a frame, from a fresh reader, in each length form.
  std::string payloads[] = {"short", letters(200)};
  for (const std::string &payload : payloads) {
    std::string bytes = final_frame(Opcode::kText, payload);
    for (std::size_t cut = 1; cut < bytes.size(); cut++) {
      FrameReader reader(kLimit);
      reader.feed(bytes.data(), cut);
      if (reader.next())
        g_error("a %zu-byte frame cut after %zu bytes gave an event", bytes.size(), cut);
    }
  }
  // The 64-bit form's header, a byte at a time, then all but the last payload byte.
  std::string payload = letters(65536);
  std::string bytes = final_frame(Opcode::kText, payload);
  FrameReader reader(kLimit);
  for (std::size_t i = 0; i < 14; i++) {
    reader.feed(&bytes[i], 1);
    g_assert_false(reader.next().has_value());
  }
  reader.feed(bytes.data() + 14, bytes.size() - 15);
  g_assert_false(reader.next().has_value());
  reader.feed(bytes.data() + bytes.size() - 1, 1);
  expect("its last byte in", drain(reader), {text(payload)});
}

void test_fragmented_text_is_joined() {
  std::string first = fragment(Opcode::kText, "Hel");
  std::string second = frame(op(Opcode::kContinuation), "lo, ");
  std::string last = frame(kFinal | op(Opcode::kContinuation), "world");
  FrameReader reader(kLimit);
  reader.feed(first.data(), first.size());
  g_assert_false(reader.next().has_value());
  reader.feed(second.data(), second.size());
  g_assert_false(reader.next().has_value());
  reader.feed(last.data(), last.size());
  expect("three fragments", drain(reader), {text("Hello, world")});

  // The next message is read on its own, not appended to the last one.
  std::string again =
      fragment(Opcode::kText, "new ") + frame(kFinal | op(Opcode::kContinuation), "message");
  reader.feed(again.data(), again.size());
  expect("the next message", drain(reader), {text("new message")});
}

void test_control_frames_between_fragments_come_between() {
  std::string stream = fragment(Opcode::kText, "ab") + final_frame(Opcode::kPing, "p1") +
                       frame(op(Opcode::kContinuation), "cd") + final_frame(Opcode::kPong, "p2") +
                       final_frame(Opcode::kClose, close_body(1001, "leaving")) +
                       frame(kFinal | op(Opcode::kContinuation), "ef");
  expect("ping, pong and close inside a message", read_all(stream),
         {ping("p1"), pong("p2"), closed(1001, "leaving"), text("abcdef")});

  // Fragments larger than the reader keeps between messages, with pings among them read one
  // call at a time: what was joined so far survives each event.
  std::string large = letters(5000);
  std::string fragments = fragment(Opcode::kBinary, large) + final_frame(Opcode::kPing, "1") +
                          frame(op(Opcode::kContinuation), large) +
                          final_frame(Opcode::kPing, "2") +
                          frame(kFinal | op(Opcode::kContinuation), large);
  expect("pings inside a 15000-byte message", read_all(fragments),
         {ping("1"), ping("2"), binary(large + large + large)});
}

void test_binary_messages_are_any_bytes() {
  std::string every_byte;
  for (int i = 0; i < 256; i++)
    every_byte.push_back(char(i));
  std::string not_utf8("\xff\xfe\x00\xc3", 4);
  std::string stream =
      final_frame(Opcode::kBinary, every_byte) + fragment(Opcode::kBinary, not_utf8) +
      frame(kFinal | op(Opcode::kContinuation), every_byte) + final_frame(Opcode::kBinary, "");
  expect("binary", read_all(stream),
         {binary(every_byte), binary(not_utf8 + every_byte), binary("")});
}

void test_ping_and_pong_carry_their_payloads() {
  std::string every_byte;
  for (int i = 0; i < 125; i++)
    every_byte.push_back(char(255 - i));
  std::string stream = final_frame(Opcode::kPing, "") + final_frame(Opcode::kPing, every_byte) +
                       final_frame(Opcode::kPong, "x") + final_frame(Opcode::kPong, every_byte);
  expect("pings and pongs", read_all(stream),
         {ping(""), ping(every_byte), pong("x"), pong(every_byte)});
}

// Close frames

void test_close_without_code_is_no_status() {
  expect("empty close", read_all(final_frame(Opcode::kClose, "")),
         {closed(close_code::kNoStatus, "")});
}

void test_close_with_code_and_reason() {
  std::string longest_reason = letters(123); // with the code, 125 bytes: the most allowed
  std::string stream = final_frame(Opcode::kClose, close_body(1000, "")) +
                       final_frame(Opcode::kClose, close_body(4001, "bye \xe2\x82\xac")) +
                       final_frame(Opcode::kClose, close_body(1008, longest_reason));
  expect("closes", read_all(stream),
         {closed(1000, ""), closed(4001, "bye \xe2\x82\xac"), closed(1008, longest_reason)});
}

void test_one_byte_close_is_refused() {
  // The byte after it in the stream would make 1000 of the code if it were read.
  expect("one-byte close", read_all(final_frame(Opcode::kClose, "\x03") + "\xe8"),
         {bad(close_code::kProtocolError)});
}

void test_close_codes_a_client_may_not_send_are_refused() {
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    std::string what = "close code " + std::to_string(code);
    g_assert_false(valid_close_code(code));
    expect(what.c_str(), read_all(final_frame(Opcode::kClose, close_body(code, "why"))),
           {bad(close_code::kProtocolError)});
  }
}

void test_close_codes_a_client_may_send_are_accepted() {
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 4000, 4999}) {
    std::string what = "close code " + std::to_string(code);
    g_assert_true(valid_close_code(code));
    expect(what.c_str(), read_all(final_frame(Opcode::kClose, close_body(code, "why"))),
           {closed(code, "why")});
  }
}

void test_close_reason_must_be_utf8() {
  expect("close reason \\xff", read_all(final_frame(Opcode::kClose, close_body(1000, "\xff"))),
         {bad(close_code::kInvalidData)});
  expect("close reason cut mid-character",
         read_all(final_frame(Opcode::kClose, close_body(1000, "caf\xc3"))),
         {bad(close_code::kInvalidData)});
}

// Refusals

void test_reserved_bits_are_refused() {
  for (std::uint8_t bit : {0x40, 0x20, 0x10}) {
    std::string what = "reserved bit " + std::to_string(bit);
    expect(what.c_str(), read_all(frame(kFinal | bit | op(Opcode::kText), "x")),
           {bad(close_code::kProtocolError)});
    expect(what.c_str(), read_all(frame(kFinal | bit | op(Opcode::kPing), "")),
           {bad(close_code::kProtocolError)});
  }
}

void test_unmasked_frame_is_refused_at_its_second_byte() {
  // Only the first two bytes of each: the rest of the header never comes.
  std::string headers[] = {header(kFinal | op(Opcode::kText), 5, false),
                           header(kFinal | op(Opcode::kBinary), 300, false),
                           header(kFinal | op(Opcode::kPing), 0, false)};
  for (const std::string &bytes : headers) {
    FrameReader reader(kLimit);
    reader.feed(bytes.data(), 1);
    g_assert_false(reader.next().has_value());
    reader.feed(bytes.data() + 1, 1);
    expect("two bytes of an unmasked frame", drain(reader), {bad(close_code::kProtocolError)});
  }
  // And whole, with its payload.
  std::string whole = header(kFinal | op(Opcode::kText), 5, false) + "hello";
  expect("an unmasked frame", read_all(whole), {bad(close_code::kProtocolError)});
}

void test_unknown_opcodes_are_refused() {
  for (std::uint8_t opcode : {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    std::string what = "opcode " + std::to_string(opcode);
    expect(what.c_str(), read_all(frame(kFinal | opcode, "x")), {bad(close_code::kProtocolError)});
  }
}

void test_fragmented_control_frame_is_refused() {
  for (Opcode opcode : {Opcode::kPing, Opcode::kPong, Opcode::kClose}) {
    std::string what = "non-final opcode " + std::to_string(op(opcode));
    expect(what.c_str(), read_all(fragment(opcode, "")), {bad(close_code::kProtocolError)});
  }
}

void test_control_frame_over_125_bytes_is_refused() {
  // Refused at its header: the payload never comes.
  for (Opcode opcode : {Opcode::kPing, Opcode::kPong, Opcode::kClose}) {
    std::string what = "opcode " + std::to_string(op(opcode)) + " with 126 bytes";
    expect(what.c_str(), read_all(header(kFinal | op(opcode), 126)),
           {bad(close_code::kProtocolError)});
  }
  // 125 is still a control frame.
  expect("ping of 125 bytes", read_all(final_frame(Opcode::kPing, letters(125))),
         {ping(letters(125))});
}

void test_continuation_with_nothing_to_continue_is_refused() {
  expect("continuation first", read_all(frame(kFinal | op(Opcode::kContinuation), "x")),
         {bad(close_code::kProtocolError)});
  expect("non-final continuation first", read_all(frame(op(Opcode::kContinuation), "x")),
         {bad(close_code::kProtocolError)});
  std::string after_whole = fragment(Opcode::kText, "a") +
                            frame(kFinal | op(Opcode::kContinuation), "b") +
                            frame(kFinal | op(Opcode::kContinuation), "c");
  expect("continuation after the final fragment", read_all(after_whole),
         {text("ab"), bad(close_code::kProtocolError)});
}

void test_new_message_inside_a_fragmented_one_is_refused() {
  expect("text inside text",
         read_all(fragment(Opcode::kText, "a") + final_frame(Opcode::kText, "b")),
         {bad(close_code::kProtocolError)});
  expect("binary inside text",
         read_all(fragment(Opcode::kText, "a") + fragment(Opcode::kBinary, "b")),
         {bad(close_code::kProtocolError)});
  expect("text inside binary",
         read_all(fragment(Opcode::kBinary, "a") + final_frame(Opcode::kText, "b")),
         {bad(close_code::kProtocolError)});
}

void test_text_that_is_not_utf8_is_refused() {
  const char *invalid[] = {
      "\xff",             // never in UTF-8
      "\x80",             // a continuation byte alone
      "abc\xc3",          // cut mid-character
      "\xc0\xaf",         // overlong '/'
      "\xed\xa0\x80",     // a UTF-16 surrogate
      "\xf4\x90\x80\x80", // past U+10FFFF
  };
  for (const char *payload : invalid) {
    std::string what = "text \"" + printable(payload) + "\"";
    expect(what.c_str(), read_all(final_frame(Opcode::kText, payload)),
           {bad(close_code::kInvalidData)});
  }
}

void test_utf8_is_checked_in_the_joined_message() {
  // A character split across fragments is fine: é, then a four-byte emoji in three pieces
  // with a ping among them.
  std::string split = fragment(Opcode::kText, "caf\xc3") +
                      frame(op(Opcode::kContinuation), "\xa9 \xf0\x9f") +
                      final_frame(Opcode::kPing, "") + frame(op(Opcode::kContinuation), "\x98") +
                      frame(kFinal | op(Opcode::kContinuation), "\x80");
  expect("characters split across fragments", read_all(split),
         {ping(""), text("caf\xc3\xa9 \xf0\x9f\x98\x80")});

  // A bad byte in a middle fragment is refused once the message is whole.
  std::string first = fragment(Opcode::kText, "ab") + frame(op(Opcode::kContinuation), "\xff");
  std::string last = frame(kFinal | op(Opcode::kContinuation), "cd");
  FrameReader reader(kLimit);
  reader.feed(first.data(), first.size());
  g_assert_false(reader.next().has_value());
  reader.feed(last.data(), last.size());
  expect("a bad byte in a middle fragment", drain(reader), {bad(close_code::kInvalidData)});

  // A character begun in one fragment and not finished in the next.
  std::string unfinished =
      fragment(Opcode::kText, "ab\xc3") + frame(kFinal | op(Opcode::kContinuation), "(");
  expect("a character left unfinished", read_all(unfinished), {bad(close_code::kInvalidData)});
}

void test_nul_character_is_utf8() {
  // U+0000 is one byte of valid UTF-8 (RFC 3629); a WebSocket text message may carry it.
  std::string with_nul("a\0b", 3);
  expect("text with U+0000", read_all(final_frame(Opcode::kText, with_nul)), {text(with_nul)});
  expect("close reason with U+0000",
         read_all(final_frame(Opcode::kClose, close_body(1000, with_nul))),
         {closed(1000, with_nul)});
}

// The size limit

void test_frame_over_the_limit_is_refused_at_its_header() {
  // Headers only: the refusal must not wait for payloads that never come.
  struct {
    std::uint8_t first;
    std::uint64_t length;
  } cases[] = {
      {kFinal | op(Opcode::kText), 1025},       // 16-bit length
      {kFinal | op(Opcode::kBinary), 1025},     //
      {op(Opcode::kText), 1025},                // a first fragment alone over the limit
      {kFinal | op(Opcode::kText), 65536},      // 64-bit length
      {kFinal | op(Opcode::kBinary), 1u << 31}, //
  };
  for (const auto &c : cases) {
    std::string what = std::to_string(c.length) + "-byte frame header, limit 1024";
    expect(what.c_str(), read_all(header(c.first, c.length), 1024), {bad(close_code::kTooBig)});
  }
  // At the limit, the header alone waits for its payload.
  FrameReader reader(1024);
  std::string at_limit = header(kFinal | op(Opcode::kText), 1024);
  reader.feed(at_limit.data(), at_limit.size());
  g_assert_false(reader.next().has_value());
}

void test_fragments_crossing_the_limit_are_refused_at_the_crossing_header() {
  FrameReader reader(1024);
  std::string first = fragment(Opcode::kText, letters(400)) +
                      final_frame(Opcode::kPing, letters(125)) +
                      frame(op(Opcode::kContinuation), letters(400));
  reader.feed(first.data(), first.size());
  expect("800 bytes in two fragments, and a ping", drain(reader), {ping(letters(125))});
  // 800 + 225 > 1024: refused with the header alone.
  std::string crossing = header(kFinal | op(Opcode::kContinuation), 225);
  reader.feed(crossing.data(), crossing.size());
  expect("a third fragment of 225 bytes", drain(reader), {bad(close_code::kTooBig)});
}

void test_message_of_exactly_the_limit_is_accepted() {
  std::string whole = final_frame(Opcode::kText, letters(1024));
  expect("one frame of 1024 bytes", read_all(whole, 1024), {text(letters(1024))});

  // Control frames among the fragments do not count towards the message.
  std::string fragments =
      fragment(Opcode::kBinary, letters(400)) + final_frame(Opcode::kPing, letters(125)) +
      frame(op(Opcode::kContinuation), letters(400)) + final_frame(Opcode::kPong, letters(125)) +
      frame(kFinal | op(Opcode::kContinuation), letters(224));
  expect(
      "fragments of 1024 bytes in all", read_all(fragments, 1024),
      {ping(letters(125)), pong(letters(125)), binary(letters(400) + letters(400) + letters(224))});

  // Each message has the whole limit: the count starts again after a final fragment.
  std::string two = fragment(Opcode::kText, letters(600)) +
                    frame(kFinal | op(Opcode::kContinuation), letters(400)) +
                    fragment(Opcode::kText, letters(600)) +
                    frame(kFinal | op(Opcode::kContinuation), letters(400));
  std::string joined = letters(600) + letters(400);
  expect("two messages of 1000 bytes", read_all(two, 1024), {text(joined), text(joined)});
}

// A masked frame header whose length is written in the 16-bit (126) or
// 64-bit (127) form, whatever the length: what header() never writes.
std::string header_in_form(std::uint8_t form, std::uint64_t length) {
  std::string bytes{char(kFinal | op(Opcode::kText)), char(kMaskBit | form)};
  for (int shift = form == 126 ? 8 : 56; shift >= 0; shift -= 8)
    bytes.push_back(char((length >> shift) & 0xff));
  bytes.append(kKey.begin(), kKey.end());
  return bytes;
}

void test_lengths_in_a_longer_form_than_needed_are_refused() {
  struct {
    std::uint8_t form;
    std::uint64_t length;
  } cases[] = {
      {126, 0}, {126, 125}, {127, 0}, {127, 125}, {127, 126}, {127, 0xffff},
  };
  for (const auto &c : cases) {
    std::string what = std::to_string(c.length) + " in the " + std::to_string(c.form) + " form";
    // The limit is far above the length: the form alone is refused.
    expect(what.c_str(), read_all(header_in_form(c.form, c.length), 1 << 20),
           {bad(close_code::kProtocolError)});
  }
  // The smallest length the 64-bit form may carry is read in it.
  std::string payload = letters(0x10000);
  std::string edge = header_in_form(127, payload.size());
  for (std::size_t i = 0; i < payload.size(); i++)
    edge.push_back(char(std::uint8_t(payload[i]) ^ kKey[i % 4]));
  expect("65536 in the 64-bit form", read_all(edge, 1 << 20), {text(payload)});
}

void test_64_bit_lengths_with_the_top_bit_set_are_refused() {
  // RFC 6455 5.2: "the most significant bit MUST be 0". Such a length is
  // malformed (1002), not merely too big (1009), whatever the limit.
  for (std::uint64_t length :
       {std::uint64_t(1) << 63, (std::uint64_t(1) << 63) + 1, ~std::uint64_t(0)}) {
    std::string what = std::to_string(length) + "-byte frame header";
    expect(what.c_str(), read_all(header_in_form(127, length), 1024),
           {bad(close_code::kProtocolError)});
  }
  // The largest length allowed is only too big.
  expect("2^63-1-byte frame header", read_all(header_in_form(127, ~std::uint64_t(0) >> 1), 1024),
         {bad(close_code::kTooBig)});
  // A fragment of the largest length after 1000 bytes joined is too big too
  // (with the top bit refused, their sum cannot wrap around 2^64).
  std::string stream = fragment(Opcode::kText, letters(1000)) +
                       header(op(Opcode::kContinuation), ~std::uint64_t(0) >> 1);
  expect("a fragment of 2^63-1 bytes after 1000", read_all(stream, 1024),
         {bad(close_code::kTooBig)});
}

// After a refusal

void test_refused_stays_refused() {
  FrameReader reader(kLimit);
  std::string bytes =
      final_frame(Opcode::kText, "fine") + frame(kFinal | 0x40 | op(Opcode::kText), "x");
  reader.feed(bytes.data(), bytes.size());
  std::vector<Event> events = drain(reader);
  expect("a frame, then reserved bits", events, {text("fine"), bad(close_code::kProtocolError)});
  const Event &refusal = events.back();
  std::string valid = final_frame(Opcode::kText, "more");
  for (int i = 0; i < 3; i++) {
    reader.feed(valid.data(), valid.size()); // ignored
    auto again = reader.next();
    g_assert_true(again.has_value());
    Event event = copy(*again);
    expect("after the refusal", {event}, {refusal});
    // The same explanation, word for word.
    g_assert_cmpstr(event.payload.c_str(), ==, refusal.payload.c_str());
  }
}

// Writing frames

void test_append_frame_writes_final_unmasked_frames() {
  struct {
    std::size_t length;
    std::string header;
  } cases[] = {
      {0, std::string("\x82\x00", 2)},
      {125, "\x82\x7d"},
      {126, std::string("\x82\x7e\x00\x7e", 4)},
      {65535, "\x82\x7e\xff\xff"},
      {65536, std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10)},
  };
  for (const auto &c : cases) {
    std::string payload = letters(c.length);
    std::string out = "before";
    append_frame(out, Opcode::kBinary, payload);
    std::string what = std::to_string(c.length) + "-byte frame";
    g_assert_cmpuint(out.size(), ==, 6 + c.header.size() + c.length);
    if (out.compare(0, 6, "before") != 0)
      g_error("%s: what was in the buffer is gone", what.c_str());
    if (out.compare(6, c.header.size(), c.header) != 0)
      g_error("%s: header %s, expected %s", what.c_str(),
              printable(std::string_view(out).substr(6, c.header.size())).c_str(),
              printable(c.header).c_str());
    if (out.compare(6 + c.header.size(), std::string::npos, payload) != 0)
      g_error("%s: the payload is not as given", what.c_str());
  }
  struct {
    Opcode opcode;
    char first;
  } opcodes[] = {{Opcode::kText, '\x81'},
                 {Opcode::kBinary, '\x82'},
                 {Opcode::kClose, '\x88'},
                 {Opcode::kPing, '\x89'},
                 {Opcode::kPong, '\x8a'}};
  for (const auto &o : opcodes) {
    std::string out;
    append_frame(out, o.opcode, "x");
    std::string expected = std::string(1, o.first) + "\x01x";
    g_assert_cmpmem(out.data(), out.size(), expected.data(), expected.size());
  }
}

void test_close_payload_puts_the_code_first() {
  std::string payload = close_payload(1000, "bye");
  g_assert_cmpmem(payload.data(), payload.size(),
                  "\x03\xe8"
                  "bye",
                  5);
  payload = close_payload(4999, "");
  g_assert_cmpmem(payload.data(), payload.size(), "\x13\x87", 2);
}

void test_close_payload_cuts_the_reason_between_characters() {
  struct {
    std::string reason;
    std::size_t kept; // bytes of the reason that fit
  } cases[] = {
      {letters(123), 123},                      // fits exactly
      {letters(200), 123},                      // cut at the limit
      {letters(121) + "\xc3\xa9", 123},         // ends with a whole é at the limit
      {letters(122) + "\xc3\xa9", 122},         // é would straddle the limit: left out
      {letters(121) + "\xe2\x82\xac", 121},     // € (three bytes) straddles
      {letters(120) + "\xf0\x9f\x98\x80", 120}, // a four-byte emoji straddles
  };
  for (const auto &c : cases) {
    std::string payload = close_payload(1001, c.reason);
    std::string expected = close_body(1001, c.reason.substr(0, c.kept));
    if (payload != expected)
      g_error("%zu-byte reason: payload \"%s\", expected \"%s\"", c.reason.size(),
              printable(payload).c_str(), printable(expected).c_str());
  }
  // Wholly multibyte reasons: é is two bytes, so the 123 bytes of room hold 61 of them.
  std::string accents;
  for (int i = 0; i < 100; i++)
    accents += "\xc3\xa9";
  std::string payload = close_payload(1000, accents);
  g_assert_cmpuint(payload.size(), ==, 2 + 122);
  g_assert_true(g_utf8_validate_len(payload.data() + 2, payload.size() - 2, nullptr));
}

// What the server writes reads back, once masked as a client masks it: the
// two sides agree on every length form.
void test_written_frames_read_back() {
  struct {
    Opcode opcode;
    std::size_t length;
    const char *kind;
  } cases[] = {
      {Opcode::kText, 0, "text"},         {Opcode::kText, 125, "text"},
      {Opcode::kText, 126, "text"},       {Opcode::kText, 65535, "text"},
      {Opcode::kBinary, 65536, "binary"}, {Opcode::kBinary, 70001, "binary"},
      {Opcode::kPing, 0, "ping"},         {Opcode::kPing, 125, "ping"},
      {Opcode::kPong, 7, "pong"},
  };
  for (const auto &c : cases) {
    std::string payload = letters(c.length);
    std::string written;
    append_frame(written, c.opcode, payload);
    std::string what = std::to_string(c.length) + "-byte " + c.kind + " written";
    expect(what.c_str(), read_all(masked_like_a_client(written)), {{c.kind, payload}});
  }
  std::string written;
  append_frame(written, Opcode::kClose, close_payload(1001, "going away \xe2\x82\xac"));
  expect("close written", read_all(masked_like_a_client(written)),
         {closed(1001, "going away \xe2\x82\xac")});
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/websocket-frames/read/text-unmasked-in-each-length-form",
                  test_text_frame_is_unmasked_in_each_length_form);
  g_test_add_func("/websocket-frames/read/byte-at-a-time-reads-the-same",
                  test_byte_at_a_time_reads_the_same);
  g_test_add_func("/websocket-frames/read/several-frames-in-one-feed-in-order",
                  test_several_frames_in_one_feed_come_in_order);
  g_test_add_func("/websocket-frames/read/partial-frames-give-nothing",
                  test_partial_frames_give_nothing);
  g_test_add_func("/websocket-frames/read/fragmented-text-is-joined",
                  test_fragmented_text_is_joined);
  g_test_add_func("/websocket-frames/read/control-frames-between-fragments",
                  test_control_frames_between_fragments_come_between);
  g_test_add_func("/websocket-frames/read/binary-is-any-bytes", test_binary_messages_are_any_bytes);
  g_test_add_func("/websocket-frames/read/ping-and-pong-payloads",
                  test_ping_and_pong_carry_their_payloads);
  g_test_add_func("/websocket-frames/close/empty-is-no-status",
                  test_close_without_code_is_no_status);
  g_test_add_func("/websocket-frames/close/code-and-reason", test_close_with_code_and_reason);
  g_test_add_func("/websocket-frames/close/one-byte-is-refused", test_one_byte_close_is_refused);
  g_test_add_func("/websocket-frames/close/codes-a-client-may-not-send-are-refused",
                  test_close_codes_a_client_may_not_send_are_refused);
  g_test_add_func("/websocket-frames/close/codes-a-client-may-send-are-accepted",
                  test_close_codes_a_client_may_send_are_accepted);
  g_test_add_func("/websocket-frames/close/reason-must-be-utf8", test_close_reason_must_be_utf8);
  g_test_add_func("/websocket-frames/refuse/reserved-bits", test_reserved_bits_are_refused);
  g_test_add_func("/websocket-frames/refuse/unmasked-at-second-byte",
                  test_unmasked_frame_is_refused_at_its_second_byte);
  g_test_add_func("/websocket-frames/refuse/unknown-opcodes", test_unknown_opcodes_are_refused);
  g_test_add_func("/websocket-frames/refuse/fragmented-control-frame",
                  test_fragmented_control_frame_is_refused);
  g_test_add_func("/websocket-frames/refuse/control-frame-over-125-bytes",
                  test_control_frame_over_125_bytes_is_refused);
  g_test_add_func("/websocket-frames/refuse/continuation-with-nothing-to-continue",
                  test_continuation_with_nothing_to_continue_is_refused);
  g_test_add_func("/websocket-frames/refuse/new-message-inside-fragmented-one",
                  test_new_message_inside_a_fragmented_one_is_refused);
  g_test_add_func("/websocket-frames/refuse/text-not-utf8", test_text_that_is_not_utf8_is_refused);
  g_test_add_func("/websocket-frames/limit/frame-over-limit-refused-at-header",
                  test_frame_over_the_limit_is_refused_at_its_header);
  g_test_add_func("/websocket-frames/limit/fragments-refused-at-crossing-header",
                  test_fragments_crossing_the_limit_are_refused_at_the_crossing_header);
  g_test_add_func("/websocket-frames/limit/exactly-the-limit-is-accepted",
                  test_message_of_exactly_the_limit_is_accepted);
  g_test_add_func("/websocket-frames/refuse/length-in-a-longer-form-than-needed",
                  test_lengths_in_a_longer_form_than_needed_are_refused);
  g_test_add_func("/websocket-frames/refuse/64-bit-length-with-top-bit-set",
                  test_64_bit_lengths_with_the_top_bit_set_are_refused);
  g_test_add_func("/websocket-frames/refuse/stays-refused", test_refused_stays_refused);
  g_test_add_func("/websocket-frames/write/final-unmasked-frames",
                  test_append_frame_writes_final_unmasked_frames);
  g_test_add_func("/websocket-frames/write/close-payload-code-first",
                  test_close_payload_puts_the_code_first);
  g_test_add_func("/websocket-frames/write/close-reason-cut-between-characters",
                  test_close_payload_cuts_the_reason_between_characters);
  g_test_add_func("/websocket-frames/write/written-frames-read-back",
                  test_written_frames_read_back);
  // Last: a suite's cases run in the order added.
  g_test_add_func("/websocket-frames/utf8/checked-in-the-joined-message",
                  test_utf8_is_checked_in_the_joined_message);
  g_test_add_func("/websocket-frames/utf8/nul-character-is-accepted", test_nul_character_is_utf8);
  return g_test_run();
}
