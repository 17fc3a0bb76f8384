// Waiting on the default main context for what the code under test reports.
#pragma once

#include <glib.h>

namespace webrtccall::test {

// Runs the main loop until `done()` holds; fails naming `what` after
// `timeout_ms`. Wakes every 10 ms to look at the deadline.
template <class Predicate> void wait_until(Predicate done, int timeout_ms, const char *what) {
  gint64 deadline = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
  GSource *tick = g_timeout_source_new(10);
  g_source_set_callback(
      tick, +[](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
  g_source_attach(tick, nullptr);
  while (!done()) {
    if (g_get_monotonic_time() > deadline)
      g_error("waited %d ms for %s", timeout_ms, what);
    g_main_context_iteration(nullptr, TRUE);
  }
  g_source_destroy(tick);
  g_source_unref(tick);
}

// Runs the main loop for `ms`: for "nothing more happens" checks.
inline void run_for(int ms) {
  gint64 end = g_get_monotonic_time() + gint64(ms) * 1000;
  wait_until([end] { return g_get_monotonic_time() >= end; }, ms + 1000, "time to pass");
}

} // namespace webrtccall::test
