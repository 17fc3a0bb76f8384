#include "upstream_criticals.hpp"

#include <glib.h>

#include <cstring>
#include <mutex>

namespace webrtccall::test {

namespace {

// From GLib's g_return_if_fail in g_hash_table_foreach (ghash.c).
constexpr const char *kRtpSessionRace =
    "g_hash_table_foreach: assertion 'version == hash_table->version' failed";

bool is_rtpsession_race(const char *domain, const char *message) {
  return g_strcmp0(domain, "GLib") == 0 && message && std::strstr(message, kRtpSessionRace);
}

// g_test's own default log handler, which ours replaces and calls.
GLogFunc harness_log_handler = nullptr;

// g_test's own default log handler prints "Bail out!" on the TAP stream for
// every message of a fatal level before GLib asks the fatal handler below
// whether to abort: meson then ends the whole test as failed although the
// process goes on. The known race is written to stderr as a plain critical.
void log_without_bailing_out(const char *domain, GLogLevelFlags level, const char *message,
                             gpointer data) {
  if (is_rtpsession_race(domain, message)) {
    g_log_default_handler(domain, GLogLevelFlags(level & ~G_LOG_FLAG_FATAL), message, data);
    return;
  }
  harness_log_handler(domain, level, message, data);
}

gboolean is_fatal(const char *domain, GLogLevelFlags, const char *message, gpointer) {
  return !is_rtpsession_race(domain, message);
}

} // namespace

void tolerate_upstream_criticals() {
  static std::once_flag once;
  std::call_once(once, [] {
    harness_log_handler = g_log_set_default_handler(log_without_bailing_out, nullptr);
  });
  // Every time: g_test clears the fatal handler as each test case starts,
  // so one installed by an earlier case no longer counts.
  g_test_log_set_fatal_handler(is_fatal, nullptr);
}

} // namespace webrtccall::test
