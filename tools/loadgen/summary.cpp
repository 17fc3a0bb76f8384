#include "summary.hpp"

#include <json-glib/json-glib.h>

#include <cmath>

namespace webrtccall::loadgen {

namespace {

double round_to(double value, int digits) {
  double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

class Writer {
public:
  Writer() : builder_(json_builder_new()) { json_builder_begin_object(builder_); }
  ~Writer() { g_object_unref(builder_); }

  void begin(const char *name) {
    json_builder_set_member_name(builder_, name);
    json_builder_begin_object(builder_);
  }
  void end() { json_builder_end_object(builder_); }
  void integer(const char *name, std::int64_t value) {
    json_builder_set_member_name(builder_, name);
    json_builder_add_int_value(builder_, value);
  }
  void number(const char *name, double value, int digits = 3) {
    json_builder_set_member_name(builder_, name);
    json_builder_add_double_value(builder_, round_to(value, digits));
  }
  void text(const char *name, const std::string &value) {
    json_builder_set_member_name(builder_, name);
    json_builder_add_string_value(builder_, value.c_str());
  }
  void boolean(const char *name, bool value) {
    json_builder_set_member_name(builder_, name);
    json_builder_add_boolean_value(builder_, value);
  }
  // Percentiles in microseconds.
  void latencies(const char *name, const Histogram &histogram) {
    begin(name);
    integer("count", std::int64_t(histogram.count()));
    number("mean", histogram.mean() / 1e3, 1);
    number("p50", double(histogram.percentile(0.50)) / 1e3, 1);
    number("p90", double(histogram.percentile(0.90)) / 1e3, 1);
    number("p99", double(histogram.percentile(0.99)) / 1e3, 1);
    number("p999", double(histogram.percentile(0.999)) / 1e3, 1);
    number("max", double(histogram.max()) / 1e3, 1);
    end();
  }
  void samples(const std::vector<Sample> &samples) {
    json_builder_set_member_name(builder_, "samples");
    json_builder_begin_array(builder_);
    for (const Sample &s : samples) {
      json_builder_begin_object(builder_);
      number("t", s.seconds, 2);
      integer("server_rss_kib", s.server_rss_kib);
      number("server_cpu_s", s.server_cpu_seconds, 2);
      number("generator_cpu_s", s.generator_cpu_seconds, 2);
      integer("relay_received", std::int64_t(s.relay_received));
      integer("setups_completed", std::int64_t(s.setups_completed));
      json_builder_end_object(builder_);
    }
    json_builder_end_array(builder_);
  }
  void errors(const ErrorLog &log) {
    begin("errors");
    integer("total", std::int64_t(log.total()));
    begin("by_kind");
    for (const auto &[kind, count] : log.by_kind())
      integer(kind.c_str(), std::int64_t(count));
    end();
    json_builder_set_member_name(builder_, "examples");
    json_builder_begin_array(builder_);
    for (const auto &example : log.examples())
      json_builder_add_string_value(builder_, example.c_str());
    json_builder_end_array(builder_);
    end();
  }

  std::string finish() {
    json_builder_end_object(builder_);
    g_autoptr(JsonNode) root = json_builder_get_root(builder_);
    g_autoptr(JsonGenerator) generator = json_generator_new();
    json_generator_set_pretty(generator, TRUE);
    json_generator_set_root(generator, root);
    g_autofree char *text = json_generator_to_data(generator, nullptr);
    return std::string(text) + "\n";
  }

private:
  JsonBuilder *builder_;
};

double per_second(std::uint64_t count, double seconds) {
  return seconds > 0 ? double(count) / seconds : 0;
}

} // namespace

bool Summary::ok() const {
  return logged_in == clients && errors->total() == 0 && relay_received == relay_sent &&
         relay_out_of_order == 0 && setups_completed == setups_started &&
         setups_started == setups_due;
}

std::string summary_json(const Summary &s) {
  Writer w;
  w.boolean("ok", s.ok());
  w.text("url", s.url);
  w.text("peer_url", s.peer_url);
  w.text("server", s.tutorial ? "tutorial" : "ours");

  w.begin("clients");
  w.integer("requested", s.clients);
  w.integer("logged_in", s.logged_in);
  w.integer("relay", s.relay_clients);
  w.integer("setup", s.setup_clients);
  w.integer("idle", std::int64_t(s.clients) - s.relay_clients - s.setup_clients);
  w.integer("source_addresses", s.source_addresses);
  w.integer("open_files_limit", s.open_files_limit);
  w.number("connect_seconds", s.connect_seconds);
  w.number("logins_per_second", per_second(s.logged_in, s.connect_seconds), 1);
  w.number("calls_seconds", s.calls_seconds);
  w.end();

  w.begin("traffic");
  w.number("seconds", s.traffic_seconds);
  w.number("window_seconds", s.window_seconds);
  w.number("start", s.traffic_start);
  w.number("end", s.traffic_end);
  w.end();

  w.begin("relay");
  w.number("offered_rate", s.relay_rate, 1);
  w.integer("sent", std::int64_t(s.relay_sent));
  w.integer("received", std::int64_t(s.relay_received));
  w.integer("lost", std::int64_t(s.relay_sent - s.relay_received));
  w.integer("out_of_order", std::int64_t(s.relay_out_of_order));
  w.number("window_send_rate", per_second(s.window_sent, s.window_seconds), 1);
  w.number("window_receive_rate", per_second(s.window_received, s.window_seconds), 1);
  w.integer("max_send_backlog", std::int64_t(s.relay_max_backlog));
  w.latencies("latency_us", *s.relay_latency);
  w.end();

  w.begin("setups");
  w.number("rate", s.setup_rate, 2);
  w.integer("candidates_per_side", s.setup_candidates);
  w.integer("sdp_bytes", s.sdp_bytes);
  w.integer("due", std::int64_t(s.setups_due));
  w.integer("started", std::int64_t(s.setups_started));
  w.integer("completed", std::int64_t(s.setups_completed));
  w.integer("timed_out", std::int64_t(s.setups_timed_out));
  w.integer("max_waiting_for_pair", std::int64_t(s.setups_max_waiting));
  w.latencies("duration_us", *s.setup_duration);
  w.end();

  w.errors(*s.errors);
  w.integer("ignored_non_json", std::int64_t(s.ignored_texts));

  w.begin("server_process");
  w.integer("pid", s.server_pid);
  w.integer("rss_before_kib", s.server_rss_before_kib);
  w.integer("rss_loaded_kib", s.server_rss_loaded_kib);
  w.integer("rss_end_kib", s.server_rss_end_kib);
  if (s.server_rss_before_kib >= 0 && s.server_rss_loaded_kib >= 0 && s.logged_in > 0)
    w.number("rss_per_client_kib",
             double(s.server_rss_loaded_kib - s.server_rss_before_kib) / s.logged_in, 2);
  w.number("cpu_window_seconds", s.server_cpu_window_seconds, 2);
  if (s.server_cpu_window_seconds >= 0 && s.window_seconds > 0)
    w.number("cpu_window_percent", 100 * s.server_cpu_window_seconds / s.window_seconds, 1);
  if (s.server_wait_window_seconds >= 0 && s.window_seconds > 0)
    w.number("runqueue_wait_window_percent", 100 * s.server_wait_window_seconds / s.window_seconds,
             1);
  w.end();

  w.begin("generator");
  w.number("cpu_window_user_seconds", s.generator_cpu_window_user, 2);
  w.number("cpu_window_system_seconds", s.generator_cpu_window_system, 2);
  if (s.window_seconds > 0)
    w.number("cpu_window_percent",
             100 * (s.generator_cpu_window_user + s.generator_cpu_window_system) / s.window_seconds,
             1);
  if (s.window_seconds > 0)
    w.number("runqueue_wait_window_percent",
             100 * s.generator_wait_window_seconds / s.window_seconds, 1);
  w.number("cpu_total_seconds", s.generator_cpu_total_seconds, 2);
  w.number("wall_seconds", s.wall_seconds, 2);
  w.end();

  w.samples(s.samples);
  return w.finish();
}

} // namespace webrtccall::loadgen
