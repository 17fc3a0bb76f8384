#include "runner.hpp"

#include "process_probe.hpp"

#include <arpa/inet.h>
#include <glib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace webrtccall::loadgen {

namespace {

constexpr std::int64_t kSecondNs = 1000000000;
constexpr int kMaxEvents = 1024;
// At the end, how long clients may take to close cleanly.
constexpr double kCloseSeconds = 3;

std::int64_t ns(double seconds) {
  return std::int64_t(seconds * 1e9);
}

// ws://A.B.C.D:PORT/PATH; only IPv4 literals, as the generator binds IPv4
// source addresses.
bool parse_target(const std::string &url, Target &target) {
  g_autoptr(GUri) uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!uri || g_strcmp0(g_uri_get_scheme(uri), "ws") != 0 || !g_uri_get_host(uri) ||
      g_uri_get_port(uri) <= 0)
    return false;
  target.address.sin_family = AF_INET;
  target.address.sin_port = htons(guint16(g_uri_get_port(uri)));
  if (inet_pton(AF_INET, g_uri_get_host(uri), &target.address.sin_addr) != 1)
    return false;
  target.host_port = std::string(g_uri_get_host(uri)) + ":" + std::to_string(g_uri_get_port(uri));
  target.path = *g_uri_get_path(uri) ? g_uri_get_path(uri) : "/";
  return true;
}

// 127.0.1.1, 127.0.1.2, ... 127.0.1.254, 127.0.2.1, ...: all loopback, none
// the server's own 127.0.0.1.
std::vector<in_addr> source_addresses(unsigned count) {
  std::vector<in_addr> addresses(count);
  for (unsigned k = 0; k < count; k++)
    addresses[k].s_addr = htonl((127u << 24) | ((1 + k / 254) << 8) | (1 + k % 254));
  return addresses;
}

} // namespace

Runner::Runner(const Options &options) : options_(options) {}

Runner::~Runner() {
  fleet_.clients.clear(); // closes the sockets before the epoll set
  if (epoll_fd_ >= 0)
    close(epoll_fd_);
}

void Runner::progress(const char *format, ...) const {
  if (options_.quiet)
    return;
  va_list args;
  va_start(args, format);
  g_autofree char *text = g_strdup_vprintf(format, args);
  va_end(args);
  std::fprintf(stderr, "webrtccall-loadgen: [%6.1f s] %s\n", seconds_since_start(), text);
}

double Runner::seconds_since_start() const {
  return double(now_ns() - start_ns_) / 1e9;
}

bool Runner::run(Summary &summary) {
  start_ns_ = now_ns();
  if (!parse_target(options_.url, target_)) {
    std::fprintf(stderr, "webrtccall-loadgen: --url %s: give ws://A.B.C.D:PORT/ (IPv4)\n",
                 options_.url.c_str());
    return false;
  }
  if (!parse_target(options_.peer_url, peer_target_)) {
    std::fprintf(stderr, "webrtccall-loadgen: --peer-url %s: give ws://A.B.C.D:PORT/ (IPv4)\n",
                 options_.peer_url.c_str());
    return false;
  }
  long open_files = raise_open_files_limit();
  if (open_files >= 0 && open_files < long(options_.clients) + 64) {
    std::fprintf(stderr,
                 "webrtccall-loadgen: %u clients need about %u open files; the limit is %ld "
                 "(ulimit -Hn)\n",
                 options_.clients, options_.clients + 64, open_files);
    return false;
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    std::perror("webrtccall-loadgen: epoll_create1");
    return false;
  }
  sources_ = source_addresses(options_.source_addresses);
  fleet_.clients.reserve(options_.clients);
  for (std::uint32_t i = 0; i < options_.clients; i++) {
    fleet_.clients.push_back(std::make_unique<Client>(i, *this));
    fleet_.names.push_back(options_.name_prefix + std::to_string(i));
  }
  logged_in_.assign(options_.clients, false);
  relay_ = std::make_unique<Relay>(fleet_, errors_, 0, options_.relay_clients / 2);
  setups_ = std::make_unique<Setups>(
      fleet_, errors_, options_.relay_clients, options_.setup_clients / 2,
      SetupOptions{options_.setup_candidates, options_.sdp_bytes, options_.setup_timeout});

  summary.url = options_.url;
  summary.peer_url = options_.peer_url;
  summary.clients = options_.clients;
  summary.relay_clients = options_.relay_clients;
  summary.setup_clients = options_.setup_clients;
  summary.source_addresses = options_.source_addresses;
  summary.open_files_limit = open_files;
  summary.relay_rate = options_.relay_rate;
  summary.setup_rate = options_.setup_rate;
  summary.setup_candidates = options_.setup_candidates;
  summary.sdp_bytes = options_.sdp_bytes;
  summary.server_pid = options_.server_pid;
  if (options_.server_pid)
    summary.server_rss_before_kib = process_rss_kib(options_.server_pid).value_or(-1);
  sample(true);

  std::int64_t connect_start = now_ns();
  bool connected = connect_all();
  summary.connect_seconds = double(now_ns() - connect_start) / 1e9;
  summary.logged_in = logged_in_count_;
  summary.tutorial = fleet_.tutorial;
  progress("%u of %u clients logged in in %.1f s (%s server)", logged_in_count_, options_.clients,
           summary.connect_seconds, fleet_.tutorial ? "the tutorial's" : "our");

  if (connected) {
    std::int64_t calls_start = now_ns();
    phase_ = Phase::kCalls;
    bool calls = establish_calls();
    summary.calls_seconds = double(now_ns() - calls_start) / 1e9;
    if (calls) {
      wait(options_.settle);
      if (options_.server_pid)
        summary.server_rss_loaded_kib = process_rss_kib(options_.server_pid).value_or(-1);
      run_traffic(summary);
    }
  }
  if (options_.server_pid)
    summary.server_rss_end_kib = process_rss_kib(options_.server_pid).value_or(-1);
  sample(true);
  close_all();

  summary.relay_sent = relay_->sent();
  summary.relay_received = relay_->received();
  summary.relay_out_of_order = relay_->out_of_order();
  summary.relay_max_backlog = relay_->max_backlog();
  summary.relay_latency = &relay_->latency();
  summary.setups_due = setups_->due();
  summary.setups_started = setups_->started();
  summary.setups_completed = setups_->completed();
  summary.setups_timed_out = setups_->timed_out();
  summary.setups_max_waiting = setups_->max_waiting();
  summary.setup_duration = &setups_->duration();
  summary.errors = &errors_;
  summary.ignored_texts = ignored_texts_;
  summary.generator_cpu_total_seconds = own_cpu().total();
  summary.wall_seconds = seconds_since_start();
  summary.samples = samples_;
  return true;
}

bool Runner::connect_all() {
  std::int64_t deadline = now_ns() + ns(options_.connect_timeout);
  std::int64_t next_report = now_ns() + 5 * kSecondNs;
  while (logged_in_count_ + failed_ < options_.clients) {
    while (started_ < options_.clients &&
           started_ - logged_in_count_ - failed_ < options_.connect_concurrency) {
      std::uint32_t i = started_++;
      // Pairs are clients 2k and 2k+1: the callee of each goes to --peer-url.
      fleet_.clients[i]->start(epoll_fd_, sources_[i % sources_.size()],
                               i % 2 ? peer_target_ : target_);
    }
    std::int64_t now = now_ns();
    if (now >= deadline) {
      errors_.add("connect-timeout", std::to_string(options_.clients - logged_in_count_ - failed_) +
                                         " clients not logged in after --connect-timeout");
      return false;
    }
    if (now >= next_report) {
      progress("%u of %u clients logged in", logged_in_count_, options_.clients);
      next_report = now + 5 * kSecondNs;
    }
    sample();
    poll(10);
  }
  return failed_ == 0;
}

bool Runner::establish_calls() {
  relay_->start_calls();
  std::int64_t deadline = now_ns() + 30 * kSecondNs;
  while (!relay_->calls_established() && errors_.total() == 0) {
    if (now_ns() >= deadline) {
      errors_.add("calls-timeout",
                  std::to_string(relay_->calls_pending()) + " relay calls not up after 30 s");
      return false;
    }
    poll(10);
  }
  return errors_.total() == 0;
}

void Runner::wait(double seconds) {
  std::int64_t end = now_ns() + ns(seconds);
  for (std::int64_t now = now_ns(); now < end; now = now_ns())
    poll(int(std::min<std::int64_t>(100, (end - now) / 1000000 + 1)));
}

void Runner::run_traffic(Summary &summary) {
  phase_ = Phase::kTraffic;
  progress("traffic for %.0f s: %.0f relayed candidates a second across %u clients, %.1f "
           "set-ups a second across %u, %u idle",
           options_.duration, options_.relay_rate, options_.relay_clients, options_.setup_rate,
           options_.setup_clients,
           options_.clients - options_.relay_clients - options_.setup_clients);
  std::int64_t start = now_ns();
  std::int64_t window_start = start + ns(options_.warmup);
  std::int64_t end = start + ns(options_.duration);
  relay_->begin(start, options_.relay_rate, window_start);
  setups_->begin(start, options_.setup_rate);
  summary.traffic_start = double(start - start_ns_) / 1e9;

  bool in_window = false;
  std::uint64_t sent_at_window = 0, received_at_window = 0;
  CpuTimes own_at_window;
  double server_at_window = -1, server_wait_at_window = -1, own_wait_at_window = 0;
  std::int64_t next_timeout_check = start;
  std::int64_t next_report = start + 10 * kSecondNs;
  for (std::int64_t now = start; now < end; now = now_ns()) {
    if (!in_window && now >= window_start) {
      in_window = true;
      sent_at_window = relay_->sent();
      received_at_window = relay_->received();
      own_at_window = own_cpu();
      own_wait_at_window = runqueue_wait_seconds(0).value_or(0);
      if (options_.server_pid)
        server_wait_at_window = runqueue_wait_seconds(options_.server_pid).value_or(-1);
      if (options_.server_pid)
        server_at_window = process_cpu(options_.server_pid).value_or(CpuTimes{-1, 0}).total();
    }
    relay_->send_due(now);
    setups_->run_due(now);
    if (now >= next_timeout_check) {
      setups_->check_timeouts(now);
      next_timeout_check = now + kSecondNs / 10;
    }
    if (now >= next_report) {
      progress("%.0f s: %" G_GUINT64_FORMAT " relayed, %" G_GUINT64_FORMAT
               " set-ups done, %" G_GUINT64_FORMAT " errors",
               double(now - start) / 1e9, relay_->received(), setups_->completed(),
               errors_.total());
      next_report = now + 10 * kSecondNs;
    }
    sample();
    poll(1); // the schedule's tick: sends fall due by the millisecond
  }
  std::int64_t stop = now_ns();
  CpuTimes own = own_cpu();
  summary.traffic_end = double(stop - start_ns_) / 1e9;
  summary.traffic_seconds = double(stop - start) / 1e9;
  summary.window_seconds = double(stop - window_start) / 1e9;
  summary.window_sent = relay_->sent() - sent_at_window;
  summary.window_received = relay_->received() - received_at_window;
  summary.generator_cpu_window_user = own.user_seconds - own_at_window.user_seconds;
  summary.generator_cpu_window_system = own.system_seconds - own_at_window.system_seconds;
  summary.generator_wait_window_seconds = runqueue_wait_seconds(0).value_or(0) - own_wait_at_window;
  if (options_.server_pid && server_wait_at_window >= 0) {
    auto wait = runqueue_wait_seconds(options_.server_pid);
    if (wait)
      summary.server_wait_window_seconds = *wait - server_wait_at_window;
  }
  if (options_.server_pid && server_at_window >= 0) {
    auto server = process_cpu(options_.server_pid);
    if (server)
      summary.server_cpu_window_seconds = server->total() - server_at_window;
  }
  drain();
}

// Waits for what was sent to arrive, and for the set-ups under way or still
// waiting for a pair to finish.
void Runner::drain() {
  setups_->stop_schedule();
  std::int64_t deadline = now_ns() + ns(options_.drain_timeout);
  while (relay_->received() < relay_->sent() || setups_->in_flight() > 0 ||
         setups_->waiting() > 0) {
    std::int64_t now = now_ns();
    setups_->run_due(now);
    setups_->check_timeouts(now);
    if (now >= deadline)
      break;
    sample();
    poll(10);
  }
}

// Whether a client closes in the first round. The tutorial's server crashes
// when a user closes whose peer has gone (its close handler reads the peer's
// entry without checking it, docs/protocol.md): so callers, who may still
// name their callee, go first, and each callee only after the server has
// told it, with a leave, that its caller is gone. Ours takes any order.
bool Runner::closes_first(std::uint32_t client) const {
  if (!fleet_.tutorial)
    return true;
  bool paired = client < options_.relay_clients + options_.setup_clients;
  return !paired || client % 2 == 0;
}

void Runner::close_all() {
  phase_ = Phase::kClosing;
  for (std::uint32_t i = 0; i < fleet_.clients.size(); i++)
    if (closes_first(i))
      fleet_.clients[i]->close(1000);
  std::int64_t deadline = now_ns() + ns(kCloseSeconds);
  bool second_round = false;
  while (closed_ < started_ && now_ns() < deadline) {
    // Callees that never hear a leave (their pair never called) go after a
    // second; by then every caller's close has reached the server.
    if (!second_round && now_ns() >= deadline - ns(kCloseSeconds - 1)) {
      second_round = true;
      for (auto &client : fleet_.clients)
        client->close(1000);
    }
    poll(10);
  }
  for (auto &client : fleet_.clients)
    if (client->state() != Client::State::kClosed && client->state() != Client::State::kNew)
      client->force_close("did not close within " + std::to_string(int(kCloseSeconds)) + " s");
}

void Runner::poll(int timeout_ms) {
  epoll_event events[kMaxEvents];
  int count = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < count; i++)
    static_cast<Client *>(events[i].data.ptr)->handle_events(events[i].events);
}

void Runner::sample(bool force) {
  std::int64_t now = now_ns();
  if (!force && now < next_sample_ns_)
    return;
  next_sample_ns_ = now + ns(options_.sample_interval);
  Sample s;
  s.seconds = double(now - start_ns_) / 1e9;
  if (options_.server_pid) {
    s.server_rss_kib = process_rss_kib(options_.server_pid).value_or(-1);
    s.server_cpu_seconds = process_cpu(options_.server_pid).value_or(CpuTimes{-1, 0}).total();
  }
  s.generator_cpu_seconds = own_cpu().total();
  if (relay_) {
    s.relay_received = relay_->received();
    s.setups_completed = setups_->completed();
  }
  samples_.push_back(s);
}

void Runner::on_open(Client &client) {
  fleet_.send(client.index(), login_text(fleet_.names[client.index()]));
}

void Runner::on_login_reply(std::uint32_t client, std::string_view text) {
  if (!true_member(text, "success")) {
    errors_.add("login-refused", fleet_.names[client] + " got " + std::string(text));
    fleet_.clients[client]->force_close("login refused");
    return;
  }
  // A reply without "protocol" comes from a version 1 server (protocol.md).
  bool tutorial = !has_member(text, "protocol");
  if (!login_reply_seen_) {
    login_reply_seen_ = true;
    fleet_.tutorial = tutorial;
  } else if (tutorial != fleet_.tutorial) {
    errors_.add("login-mixed-versions", std::string(text));
  }
  logged_in_[client] = true;
  logged_in_count_++;
}

void Runner::on_text(Client &client, std::string_view text, std::int64_t received_ns) {
  std::uint32_t i = client.index();
  if (text.empty() || text.front() != '{') {
    ignored_texts_++; // the tutorial's server greets with "Hello world"
    return;
  }
  auto type = string_member(text, "type");
  if (!type) {
    errors_.add("no-type", fleet_.names[i] + " got " + std::string(text));
    return;
  }
  if (*type == "error") {
    // The tutorial's server has no codes (and never errs at what we send).
    auto code = string_member(text, "code");
    errors_.add("error:" + std::string(code ? *code : "no-code"),
                fleet_.names[i] + " got " + std::string(text));
    return;
  }
  if (!logged_in_[i]) {
    if (*type == "login")
      on_login_reply(i, text);
    else
      errors_.add("before-login-" + std::string(*type),
                  fleet_.names[i] + " got " + std::string(text));
    return;
  }
  if (phase_ == Phase::kClosing) {
    // The server telling a callee its caller has gone: its turn to close.
    if (*type == "leave")
      client.close(1000);
    return;
  }
  if (relay_->owns(i))
    relay_->on_message(i, *type, text, received_ns);
  else if (setups_->owns(i))
    setups_->on_message(i, *type, text, received_ns);
  else
    errors_.add("idle-got-" + std::string(*type), fleet_.names[i] + " got " + std::string(text));
}

void Runner::on_closed(Client &client, const std::string &problem) {
  std::uint32_t i = client.index();
  closed_++;
  if (!logged_in_[i] && phase_ == Phase::kConnecting) {
    failed_++;
    errors_.add("connect", fleet_.names[i] + ": " + (problem.empty() ? "closed" : problem));
    return;
  }
  if (!problem.empty())
    errors_.add("closed", fleet_.names[i] + ": " + problem);
}

} // namespace webrtccall::loadgen
