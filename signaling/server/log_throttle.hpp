// At most one log line a second for an event a client can repeat at will:
// the first is written, the rest of that second are counted, and the next
// line written says how many were left out (client_log.hpp uses one for each
// kind of line). A burst's count is said only with the next line of its
// kind, which may come much later or never: the first line of the burst
// shows that it began.
#pragma once

#include <glib.h>

#include <optional>
#include <string>

namespace webrtccall::server {

class LogThrottle {
public:
  // If a line may be written at `now_us` (monotonic): how many were left out
  // since the last one written. Nothing if this one is to be left out.
  std::optional<guint64> admit(gint64 now_us) {
    if (written_ && now_us - last_us_ < G_USEC_PER_SEC) {
      left_out_++;
      return std::nullopt;
    }
    written_ = true;
    last_us_ = now_us;
    guint64 left_out = left_out_;
    left_out_ = 0;
    return left_out;
  }

  // " (N more like it since the last line)", or "" when none were left out:
  // the end of the line admit() let through.
  static std::string left_out_note(guint64 left_out) {
    if (left_out == 0)
      return {};
    return " (" + std::to_string(left_out) + " more like it since the last line)";
  }

private:
  bool written_ = false;
  gint64 last_us_ = 0;
  guint64 left_out_ = 0;
};

} // namespace webrtccall::server
