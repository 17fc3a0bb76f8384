// Whether the per-message debug lines (every message received and sent, with
// --verbose or G_MESSAGES_DEBUG) would be shown.
//
// GLib formats a g_debug() line, and reads the environment, before it decides
// to drop it: with the whole message as an argument, that was 8% of the
// server's time per relayed message with debug output off.
#pragma once

#include <glib.h>

namespace webrtccall::server {

inline bool message_debug_enabled() {
  static const bool from_environment =
      !g_log_writer_default_would_drop(G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN);
  return from_environment || g_log_get_debug_enabled();
}

} // namespace webrtccall::server
