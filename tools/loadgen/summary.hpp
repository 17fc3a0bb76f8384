// What a run measured, and its JSON form (the generator's report).
#pragma once

#include "error_log.hpp"
#include "histogram.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace webrtccall::loadgen {

// The server and the generator at one moment; `seconds` from the generator's start.
struct Sample {
  double seconds = 0;
  long server_rss_kib = -1;
  double server_cpu_seconds = -1;
  double generator_cpu_seconds = 0;
  std::uint64_t relay_received = 0;
  std::uint64_t setups_completed = 0;
};

struct Summary {
  std::string url;
  std::string peer_url; // the callees' server
  bool tutorial = false;
  unsigned clients = 0, logged_in = 0, relay_clients = 0, setup_clients = 0;
  unsigned source_addresses = 0;
  long open_files_limit = 0;
  double connect_seconds = 0, calls_seconds = 0;

  double traffic_seconds = 0, window_seconds = 0; // the window: traffic after the warm-up
  double traffic_start = 0, traffic_end = 0;      // seconds from the generator's start

  double relay_rate = 0;
  std::uint64_t relay_sent = 0, relay_received = 0, relay_out_of_order = 0, relay_max_backlog = 0;
  std::uint64_t window_sent = 0, window_received = 0;
  const Histogram *relay_latency = nullptr;

  double setup_rate = 0;
  unsigned setup_candidates = 0, sdp_bytes = 0;
  std::uint64_t setups_due = 0, setups_started = 0, setups_completed = 0, setups_timed_out = 0,
                setups_max_waiting = 0;
  const Histogram *setup_duration = nullptr;

  const ErrorLog *errors = nullptr;
  std::uint64_t ignored_texts = 0; // not JSON: the tutorial's "Hello world"

  pid_t server_pid = 0;
  long server_rss_before_kib = -1, server_rss_loaded_kib = -1, server_rss_end_kib = -1;
  double server_cpu_window_seconds = -1;
  // Ready to run but waiting for a CPU: taken by other processes.
  double server_wait_window_seconds = -1, generator_wait_window_seconds = 0;
  double generator_cpu_window_user = 0, generator_cpu_window_system = 0;
  double generator_cpu_total_seconds = 0, wall_seconds = 0;
  std::vector<Sample> samples;

  bool ok() const;
};

std::string summary_json(const Summary &summary);

} // namespace webrtccall::loadgen
