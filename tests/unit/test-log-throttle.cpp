// The server's throttle for log lines a client can repeat at will
// (signaling/server/log_throttle.hpp): one a second, the next counting those
// left out.
#include "log_throttle.hpp"

#include <glib.h>

#include <string>

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

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/log-throttle/one-line-a-second", test_one_line_a_second);
  g_test_add_func("/log-throttle/first-line-at-time-zero", test_first_line_at_time_zero);
  g_test_add_func("/log-throttle/left-out-note", test_left_out_note);
  return g_test_run();
}
