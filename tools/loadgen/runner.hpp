// One run of the generator, phase by phase: connect and log in every client
// (a bounded number at a time), put the relay pairs in calls, settle, send
// the traffic, drain what is still on its way, close, and summarize. A single
// thread and one epoll set: the cost per event does not grow with the number
// of clients, so the generator stays cheaper than the servers it drives.
#pragma once

#include "client.hpp"
#include "error_log.hpp"
#include "fleet.hpp"
#include "options.hpp"
#include "relay.hpp"
#include "setups.hpp"
#include "summary.hpp"

#include <glib.h>
#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace webrtccall::loadgen {

class Runner : public ClientOwner {
public:
  explicit Runner(const Options &options);
  ~Runner() override;

  // Runs every phase and fills the summary; false (with the reason printed)
  // if the run could not even begin.
  bool run(Summary &summary);

private:
  enum class Phase { kConnecting, kCalls, kTraffic, kClosing };

  void on_open(Client &client) override;
  void on_text(Client &client, std::string_view text, std::int64_t received_ns) override;
  void on_closed(Client &client, const std::string &problem) override;

  bool connect_all();
  bool establish_calls();
  void wait(double seconds);
  void run_traffic(Summary &summary);
  void drain();
  void close_all();
  void poll(int timeout_ms);
  void sample(bool force = false);
  void progress(const char *format, ...) const G_GNUC_PRINTF(2, 3);
  void on_login_reply(std::uint32_t client, std::string_view text);
  bool closes_first(std::uint32_t client) const;
  double seconds_since_start() const;

  Options options_;
  Target target_;
  Target peer_target_; // the callees' (--peer-url)
  std::vector<in_addr> sources_;
  int epoll_fd_ = -1;
  Phase phase_ = Phase::kConnecting;
  std::int64_t start_ns_ = 0;

  Fleet fleet_;
  ErrorLog errors_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<Setups> setups_;
  std::vector<bool> logged_in_;
  std::uint32_t started_ = 0, logged_in_count_ = 0, failed_ = 0, closed_ = 0;
  bool login_reply_seen_ = false;
  std::uint64_t ignored_texts_ = 0;

  std::int64_t next_sample_ns_ = 0;
  std::vector<Sample> samples_;
};

} // namespace webrtccall::loadgen
