#include "client_log.hpp"

#include <cstdarg>

namespace webrtccall::server {

void ClientLog::message(ClientLine kind, const char *format, ...) {
  auto left_out = throttles_[std::size_t(kind)].admit(g_get_monotonic_time());
  if (!left_out)
    return;
  va_list args;
  va_start(args, format);
  g_autofree char *text = g_strdup_vprintf(format, args);
  va_end(args);
  g_message("%s%s", text, LogThrottle::left_out_note(*left_out).c_str());
}

} // namespace webrtccall::server
