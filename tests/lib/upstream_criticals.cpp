#include "upstream_criticals.hpp"

#include <glib.h>

#include <cstring>
#include <mutex>

namespace webrtccall::test {

namespace {

// From GLib's g_return_if_fail in g_hash_table_foreach (ghash.c).
constexpr const char *kRtpSessionRace =
    "g_hash_table_foreach: assertion 'version == hash_table->version' failed";

gboolean is_fatal(const char *domain, GLogLevelFlags, const char *message, gpointer) {
  return !(g_strcmp0(domain, "GLib") == 0 && message && std::strstr(message, kRtpSessionRace));
}

} // namespace

void tolerate_upstream_criticals() {
  static std::once_flag once;
  std::call_once(once, [] { g_test_log_set_fatal_handler(is_fatal, nullptr); });
}

} // namespace webrtccall::test
