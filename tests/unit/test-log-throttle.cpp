// The server's throttle for log lines a client can repeat at will
// (signaling/server/log_throttle.hpp): one a second, the next counting those
// left out; and ClientLog, which keeps one for each kind of line
// (client_log.hpp).
#include "client_log.hpp"
#include "log_throttle.hpp"

#include <glib.h>

#include <string>
#include <vector>

using webrtccall::server::ClientLine;
using webrtccall::server::ClientLog;
using webrtccall::server::LogThrottle;

namespace {

constexpr gint64 kSecond = G_USEC_PER_SEC;

void expect_written(LogThrottle &throttle, gint64 at_us, guint64 left_out) {
  auto admitted = throttle.admit(at_us);
  if (!admitted)
    g_error("at %" G_GINT64_FORMAT " us: left out, expected written", at_us);
  g_assert_cmpuint(*admitted, ==, left_out);
}

void expect_left_out(LogThrottle &throttle, gint64 at_us) {
  if (throttle.admit(at_us))
    g_error("at %" G_GINT64_FORMAT " us: written, expected left out", at_us);
}

void test_one_line_a_second() {
  LogThrottle throttle;
  gint64 start = 5 * kSecond;
  expect_written(throttle, start, 0); // the first line is always written
  for (int i = 1; i <= 1000; i++)     // a thousand more in the same second
    expect_left_out(throttle, start + i * 999);
  expect_written(throttle, start + kSecond, 1000); // the next second's first says so
  expect_left_out(throttle, start + kSecond + 1);
  // A quiet spell: the next line is written at once, counting the one left out.
  expect_written(throttle, start + 60 * kSecond, 1);
  expect_written(throttle, start + 62 * kSecond, 0);
}

void test_first_line_at_time_zero() {
  // A monotonic clock may read small values; the first line still goes out.
  LogThrottle throttle;
  expect_written(throttle, 0, 0);
  expect_left_out(throttle, 1);
}

void test_left_out_note() {
  // Kept in variables: g_assert_cmpstr would read a temporary's string after its end.
  std::string none = LogThrottle::left_out_note(0);
  std::string some = LogThrottle::left_out_note(1746);
  g_assert_cmpstr(none.c_str(), ==, "");
  g_assert_cmpstr(some.c_str(), ==, " (1746 more like it since the last line)");
}

// The messages logged, as GLib's writer got them.
std::vector<std::string> logged;

GLogWriterOutput keep_message(GLogLevelFlags level, const GLogField *fields, gsize count,
                              gpointer) {
  if (level & G_LOG_LEVEL_MESSAGE)
    for (gsize i = 0; i < count; i++)
      if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
        logged.emplace_back(static_cast<const char *>(fields[i].value));
  return G_LOG_WRITER_HANDLED;
}

void test_each_kind_has_its_own_throttle() {
  logged.clear();
  ClientLog log;
  for (int i = 0; i < 100; i++)
    log.message(ClientLine::kConnectionOverCap, "refused connection %d", i);
  // Another kind in the same second is written: a flood of one hides no other.
  log.message(ClientLine::kLoginRefused, "login refused for %s", "alice");
  g_assert_cmpuint(logged.size(), ==, 2);
  g_assert_cmpstr(logged[0].c_str(), ==, "refused connection 0");
  g_assert_cmpstr(logged[1].c_str(), ==, "login refused for alice");
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/log-throttle/one-line-a-second", test_one_line_a_second);
  g_test_add_func("/log-throttle/first-line-at-time-zero", test_first_line_at_time_zero);
  g_test_add_func("/log-throttle/left-out-note", test_left_out_note);
  g_log_set_writer_func(keep_message, nullptr, nullptr);
  g_test_add_func("/log-throttle/client-log/each-kind-has-its-own-throttle",
                  test_each_kind_has_its_own_throttle);
  return g_test_run();
}
