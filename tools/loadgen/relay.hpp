// Relay traffic: pairs of clients in established calls send each other
// candidates at a given total rate. Each candidate carries its sender's
// sequence number and send time; the receiver measures the relay latency and
// checks that nothing was lost, duplicated or reordered.
#pragma once

#include "error_log.hpp"
#include "fleet.hpp"
#include "histogram.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace webrtccall::loadgen {

class Relay {
public:
  // Clients [first, first + 2 * pairs) make the pairs (first + 2k calls first + 2k + 1).
  Relay(Fleet &fleet, ErrorLog &errors, std::uint32_t first, std::uint32_t pairs);

  // Every pair's caller offers; the callee answers when the offer arrives.
  void start_calls();
  bool calls_established() const { return established_ == pairs_.size(); }
  std::uint32_t calls_pending() const { return std::uint32_t(pairs_.size()) - established_; }

  // Sends what `rate` messages a second since `start_ns` make due by `now`,
  // each from the next sender in turn. Latency is measured for messages sent
  // from `measure_from_ns` on.
  void begin(std::int64_t start_ns, double rate, std::int64_t measure_from_ns);
  void send_due(std::int64_t now);

  bool owns(std::uint32_t client) const {
    return client >= first_ && client < first_ + 2 * pairs_.size();
  }
  void on_message(std::uint32_t client, std::string_view type, std::string_view text,
                  std::int64_t received_ns);

  std::uint64_t sent() const { return sent_; }
  std::uint64_t received() const { return received_; }
  std::uint64_t out_of_order() const { return out_of_order_; }
  const Histogram &latency() const { return latency_; }
  // The largest number of messages that were overdue at one tick: how far
  // the generator itself fell behind its schedule.
  std::uint64_t max_backlog() const { return max_backlog_; }

private:
  struct Pair {
    std::uint32_t caller;
    bool established = false;
    std::uint64_t next_sequence[2] = {0, 0}; // by sending side: 0 caller, 1 callee
    std::uint64_t expected[2] = {0, 0};      // next sequence each side expects to receive
  };

  Fleet &fleet_;
  ErrorLog &errors_;
  std::uint32_t first_;
  std::vector<Pair> pairs_;
  std::uint32_t established_ = 0;
  std::string offer_sdp_, answer_sdp_;

  std::int64_t start_ns_ = 0;
  std::int64_t measure_from_ns_ = 0;
  double rate_ = 0;
  std::uint64_t next_sender_ = 0; // round robin over 2 * pairs directions
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t out_of_order_ = 0;
  std::uint64_t max_backlog_ = 0;
  Histogram latency_;
};

} // namespace webrtccall::loadgen
