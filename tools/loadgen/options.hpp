// The generator's command line (docs/loadgen.md has the whole story).
#pragma once

#include <string>
#include <sys/types.h>

namespace webrtccall::loadgen {

struct Options {
  std::string url;                    // ws://IPv4:PORT/PATH
  std::string peer_url;               // where the second client of each pair connects; "": url
  unsigned clients = 0;               // in all; 0: the relay and set-up clients only
  unsigned relay_clients = 0;         // even: they make relay pairs
  double relay_rate = 0;              // candidates a second, all pairs together
  double setup_rate = 0;              // call set-ups a second
  unsigned setup_clients = 0;         // even; 0: two per set-up a second, at least two
  unsigned setup_candidates = 2;      // candidates each side sends per set-up
  unsigned sdp_bytes = 2500;          // size of a set-up's offer and answer SDP
  double duration = 10;               // seconds of traffic
  double warmup = 1;                  // first seconds left out of latencies and rates
  double settle = 1;                  // pause before traffic, once everyone is in (memory is read)
  unsigned source_addresses = 0;      // 127.0.x.y addresses to connect from; 0: one per 128 clients
  unsigned connect_concurrency = 200; // connections and logins under way at once
  double connect_timeout = 120;
  double drain_timeout = 5; // after the traffic, for what is still on its way
  double setup_timeout = 10;
  pid_t server_pid = 0; // to sample its memory and CPU
  double sample_interval = 1;
  std::string output = "-"; // the JSON report; "-": standard output
  std::string name_prefix;  // of user names; default lg<pid>-
  bool quiet = false;       // no progress lines on standard error
};

// Parses argv; on a bad command line prints why and returns false.
bool parse_options(int argc, char **argv, Options &options);

} // namespace webrtccall::loadgen
