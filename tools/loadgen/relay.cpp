#include "relay.hpp"

#include <algorithm>
#include <cmath>

namespace webrtccall::loadgen {

namespace {
// The SDP of the calls that carry relay traffic is not what is measured.
constexpr std::size_t kRelayCallSdpBytes = 600;
} // namespace

Relay::Relay(Fleet &fleet, ErrorLog &errors, std::uint32_t first, std::uint32_t pairs)
    : fleet_(fleet), errors_(errors), first_(first),
      offer_sdp_(synthetic_sdp_json(kRelayCallSdpBytes, false)),
      answer_sdp_(synthetic_sdp_json(kRelayCallSdpBytes, true)) {
  pairs_.reserve(pairs);
  for (std::uint32_t k = 0; k < pairs; k++)
    pairs_.push_back(Pair{first + 2 * k});
}

void Relay::start_calls() {
  for (const Pair &pair : pairs_)
    fleet_.send(pair.caller, offer_text(fleet_.names[pair.caller + 1], offer_sdp_));
}

void Relay::begin(std::int64_t start_ns, double rate, std::int64_t measure_from_ns) {
  start_ns_ = start_ns;
  rate_ = rate;
  measure_from_ns_ = measure_from_ns;
}

void Relay::send_due(std::int64_t now) {
  if (rate_ <= 0 || pairs_.empty())
    return;
  auto due = std::uint64_t(std::floor(double(now - start_ns_) * rate_ / 1e9));
  if (due <= sent_)
    return;
  max_backlog_ = std::max(max_backlog_, due - sent_);
  std::uint64_t directions = 2 * pairs_.size();
  while (sent_ < due) {
    std::uint64_t direction = next_sender_++ % directions;
    Pair &pair = pairs_[direction / 2];
    int side = int(direction % 2);
    std::uint32_t from = pair.caller + std::uint32_t(side);
    std::uint32_t to = pair.caller + std::uint32_t(1 - side);
    // The send time is read per message, so time spent in earlier sends of
    // this tick is not counted as relay latency.
    fleet_.send(from, candidate_text(fleet_.names[to], pair.next_sequence[side]++, now_ns()));
    sent_++;
  }
}

void Relay::on_message(std::uint32_t client, std::string_view type, std::string_view text,
                       std::int64_t received_ns) {
  Pair &pair = pairs_[(client - first_) / 2];
  int side = int(client - pair.caller); // 0: the caller received it
  const std::string &peer = fleet_.names[pair.caller + std::uint32_t(1 - side)];
  auto fail = [&](const std::string &kind) {
    errors_.add(kind, fleet_.names[client] + " got " + std::string(text));
  };
  if (!from_peer(fleet_, text, peer)) {
    fail("relay-wrong-sender");
    return;
  }
  if (type == "offer" && side == 1 && !pair.established) {
    fleet_.send(client, answer_text(peer, answer_sdp_));
    return;
  }
  if (type == "answer" && side == 0 && !pair.established) {
    // The server has taken the answer: the call is established.
    pair.established = true;
    established_++;
    return;
  }
  if (type != "candidate") {
    fail("relay-unexpected-" + std::string(type));
    return;
  }
  auto stamp = relay_stamp(text);
  if (!stamp) {
    fail("relay-unstamped");
    return;
  }
  // The peer sent from the other side: it fills expected[side].
  std::uint64_t &expected = pair.expected[side];
  if (stamp->sequence != expected)
    out_of_order_++;
  expected = std::max(expected, stamp->sequence + 1);
  received_++;
  if (stamp->sent_ns >= measure_from_ns_)
    latency_.record(received_ns - stamp->sent_ns);
}

} // namespace webrtccall::loadgen
