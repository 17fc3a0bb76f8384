// The signaling messages the generator sends (docs/protocol.md), written
// straight into text, and the few fields it reads from what the servers send.
//
// The reading side is not a JSON parser: it finds a member by its quoted key
// in the compact JSON that both servers write (json-glib's generator, Node's
// JSON.stringify), which is enough for the replies and relays whose shapes
// the generator knows, at a fraction of a parser's cost. The SDP we send has
// no quotes, so no key can be found inside it by mistake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace webrtccall::loadgen {

std::string login_text(std::string_view name);
// `sdp_json` is already a JSON string body (escaped, without quotes).
std::string offer_text(std::string_view to, std::string_view sdp_json);
std::string answer_text(std::string_view to, std::string_view sdp_json);
std::string leave_text(std::string_view to);
// A host candidate whose ufrag carries the sender's sequence number and the
// monotonic time it was sent, for the receiver to measure the relay.
std::string candidate_text(std::string_view to, std::uint64_t sequence, std::int64_t sent_ns);

// A synthetic SDP of about `bytes` bytes, shaped as a browser's audio and
// video offer, as a JSON string body.
std::string synthetic_sdp_json(std::size_t bytes, bool answer);

// The value of the first string member `key`, unescaped parts left as they
// are; nullopt when there is none.
std::optional<std::string_view> string_member(std::string_view text, std::string_view key);
// Whether the first member `key` is the literal true.
bool true_member(std::string_view text, std::string_view key);
bool has_member(std::string_view text, std::string_view key);

struct RelayStamp {
  std::uint64_t sequence = 0;
  std::int64_t sent_ns = 0;
};
// The stamp candidate_text() put in a candidate, if this text has one.
std::optional<RelayStamp> relay_stamp(std::string_view text);

} // namespace webrtccall::loadgen
