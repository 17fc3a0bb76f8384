// Deadlines for the tests' waits on something that must happen (a message, a
// frame, a state). Under the sanitizers everything runs several times slower,
// so their run sets WEBRTCCALL_TEST_WAIT_SCALE (tests/sanitizers/meson.build)
// and these deadlines stretch. Bounds a test asserts on a measured time are
// never scaled: they are not deadlines.
#pragma once

#include <glib.h>

#include <cstdlib>

namespace webrtccall::test {

inline double wait_scale() {
  static const double scale = [] {
    const char *value = g_getenv("WEBRTCCALL_TEST_WAIT_SCALE");
    double parsed = value ? std::atof(value) : 1.0;
    return parsed >= 1.0 ? parsed : 1.0;
  }();
  return scale;
}

// The monotonic time `timeout_ms` from now, scaled.
inline gint64 wait_deadline(int timeout_ms) {
  return g_get_monotonic_time() + gint64(timeout_ms * wait_scale()) * 1000;
}

} // namespace webrtccall::test
