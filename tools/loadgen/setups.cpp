#include "setups.hpp"

#include <algorithm>
#include <cmath>

namespace webrtccall::loadgen {

Setups::Setups(Fleet &fleet, ErrorLog &errors, std::uint32_t first, std::uint32_t pairs,
               const SetupOptions &options)
    : fleet_(fleet), errors_(errors), first_(first), options_(options),
      offer_sdp_(synthetic_sdp_json(options.sdp_bytes, false)),
      answer_sdp_(synthetic_sdp_json(options.sdp_bytes, true)) {
  pairs_.reserve(pairs);
  for (std::uint32_t k = 0; k < pairs; k++) {
    pairs_.push_back(Pair{first + 2 * k});
    idle_.push_back(k);
  }
}

void Setups::begin(std::int64_t start_ns, double rate) {
  start_ns_ = start_ns;
  rate_ = rate;
}

void Setups::run_due(std::int64_t now) {
  if (rate_ > 0)
    due_ = std::max(due_, std::uint64_t(std::floor(double(now - start_ns_) * rate_ / 1e9)));
  max_waiting_ = std::max(max_waiting_, due_ - started_);
  while (started_ < due_ && !idle_.empty()) {
    std::uint32_t index = idle_.front();
    idle_.pop_front();
    start(pairs_[index], now);
  }
}

void Setups::start(Pair &pair, std::int64_t now) {
  pair.stage = Stage::kRunning;
  pair.started_ns = now;
  pair.caller_has_answer = pair.leave_sent = false;
  pair.caller_candidates = pair.callee_candidates = 0;
  started_++;
  in_flight_++;
  fleet_.send(pair.caller, offer_text(fleet_.names[pair.caller + 1], offer_sdp_));
}

void Setups::check_timeouts(std::int64_t now) {
  auto limit = std::int64_t(options_.timeout_seconds * 1e9);
  for (Pair &pair : pairs_) {
    if (pair.stage != Stage::kRunning || now - pair.started_ns < limit)
      continue;
    timed_out_++;
    std::string where = !pair.caller_has_answer ? "no answer"
                        : !pair.leave_sent      ? "candidates missing at the caller"
                                                : "no leave at the callee";
    fail(pair, "setup-timeout", fleet_.names[pair.caller] + ": " + where);
  }
}

void Setups::send_candidates(Pair &pair, std::uint32_t from, const std::string &to) {
  for (unsigned i = 0; i < options_.candidates; i++)
    fleet_.send(from, candidate_text(to, pair.sequence++, now_ns()));
}

// The caller leaves once it has the answer and all the callee's candidates:
// a candidate still on its way when the call ends would be refused.
void Setups::maybe_leave(Pair &pair) {
  if (pair.leave_sent || !pair.caller_has_answer || pair.caller_candidates < options_.candidates)
    return;
  pair.leave_sent = true;
  fleet_.send(pair.caller, leave_text(fleet_.names[pair.caller + 1]));
}

void Setups::fail(Pair &pair, const std::string &kind, std::string_view detail) {
  errors_.add(kind, detail);
  // Its state is unknown now: it takes no more set-ups.
  if (pair.stage == Stage::kRunning)
    in_flight_--;
  pair.stage = Stage::kBroken;
}

void Setups::on_message(std::uint32_t client, std::string_view type, std::string_view text,
                        std::int64_t received_ns) {
  std::uint32_t index = (client - first_) / 2;
  Pair &pair = pairs_[index];
  bool at_caller = client == pair.caller;
  const std::string &peer = fleet_.names[at_caller ? pair.caller + 1 : pair.caller];
  auto unexpected = [&](const char *kind) {
    fail(pair, kind, fleet_.names[client] + " got " + std::string(text));
  };
  if (pair.stage != Stage::kRunning) {
    if (pair.stage == Stage::kIdle)
      unexpected("setup-unexpected-message");
    return;
  }
  if (!from_peer(fleet_, text, peer)) {
    unexpected("setup-wrong-sender");
    return;
  }
  if (!at_caller && type == "offer") {
    fleet_.send(client, answer_text(peer, answer_sdp_));
    send_candidates(pair, client, peer); // after the answer, as protocol.md asks
  } else if (at_caller && type == "answer" && !pair.caller_has_answer) {
    pair.caller_has_answer = true;
    send_candidates(pair, client, peer);
    maybe_leave(pair);
  } else if (type == "candidate") {
    unsigned &count = at_caller ? pair.caller_candidates : pair.callee_candidates;
    if (++count > options_.candidates)
      return unexpected("setup-extra-candidate");
    if (at_caller)
      maybe_leave(pair);
  } else if (!at_caller && type == "leave") {
    if (pair.callee_candidates < options_.candidates)
      return unexpected("setup-leave-before-candidates");
    pair.stage = Stage::kIdle;
    in_flight_--;
    completed_++;
    duration_.record(received_ns - pair.started_ns);
    idle_.push_back(index);
  } else {
    unexpected("setup-unexpected-message");
  }
}

} // namespace webrtccall::loadgen
