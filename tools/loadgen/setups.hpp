// Call set-ups at a given rate, each a whole signaling exchange between a
// caller and a callee: offer, answer, candidates both ways, leave. A set-up
// is complete when the callee has had the caller's candidates and then its
// leave; one that is not complete within the timeout is an error. Pairs take
// set-ups in turn, one at a time each; a set-up that falls due while every
// pair is busy waits for the first to be free (a slow server makes them wait).
#pragma once

#include "error_log.hpp"
#include "fleet.hpp"
#include "histogram.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace webrtccall::loadgen {

struct SetupOptions {
  unsigned candidates = 2;      // sent by each side
  std::size_t sdp_bytes = 2500; // of offer and answer
  double timeout_seconds = 10;
};

class Setups {
public:
  // Clients [first, first + 2 * pairs) make the pairs (first + 2k calls first + 2k + 1).
  Setups(Fleet &fleet, ErrorLog &errors, std::uint32_t first, std::uint32_t pairs,
         const SetupOptions &options);

  // Starts set-ups from `start_ns` on at `rate` a second.
  void begin(std::int64_t start_ns, double rate);
  // Starts the set-ups due by `now`, as far as pairs are free.
  void run_due(std::int64_t now);
  // No more set-ups fall due; those waiting still start.
  void stop_schedule() { rate_ = 0; }
  // Fails the set-ups past their time.
  void check_timeouts(std::int64_t now);

  bool owns(std::uint32_t client) const {
    return client >= first_ && client < first_ + 2 * pairs_.size();
  }
  void on_message(std::uint32_t client, std::string_view type, std::string_view text,
                  std::int64_t received_ns);

  std::uint64_t due() const { return due_; }
  std::uint64_t started() const { return started_; }
  std::uint64_t completed() const { return completed_; }
  std::uint64_t timed_out() const { return timed_out_; }
  // Set-ups due but not started, waiting for a pair to be free.
  std::uint64_t waiting() const { return due_ - started_; }
  // The most that ever waited at once: more than a few means the server was
  // too slow to finish set-ups at the rate asked for.
  std::uint64_t max_waiting() const { return max_waiting_; }
  std::uint32_t in_flight() const { return in_flight_; }
  const Histogram &duration() const { return duration_; } // offer sent to leave received

private:
  enum class Stage { kIdle, kRunning, kBroken };
  struct Pair {
    std::uint32_t caller;
    Stage stage = Stage::kIdle;
    std::int64_t started_ns = 0;
    bool caller_has_answer = false;
    bool leave_sent = false;
    unsigned caller_candidates = 0; // received from the callee
    unsigned callee_candidates = 0; // received from the caller
    std::uint64_t sequence = 0;
  };

  void start(Pair &pair, std::int64_t now);
  void send_candidates(Pair &pair, std::uint32_t from, const std::string &to);
  void maybe_leave(Pair &pair);
  void fail(Pair &pair, const std::string &kind, std::string_view detail);

  Fleet &fleet_;
  ErrorLog &errors_;
  std::uint32_t first_;
  SetupOptions options_;
  std::vector<Pair> pairs_;
  std::deque<std::uint32_t> idle_; // pair indices, oldest first
  std::string offer_sdp_, answer_sdp_;

  std::int64_t start_ns_ = 0;
  double rate_ = 0;
  std::uint64_t due_ = 0, started_ = 0, completed_ = 0, timed_out_ = 0, max_waiting_ = 0;
  std::uint32_t in_flight_ = 0;
  Histogram duration_;
};

} // namespace webrtccall::loadgen
