#include "limits.hpp"

#include <glib.h>

namespace webrtccall::protocol {

std::optional<std::string> name_problem(std::string_view name) {
  if (name.empty())
    return "is empty";
  // g_utf8_validate calls NUL invalid UTF-8; it is a control character.
  if (name.find('\0') != std::string_view::npos)
    return "contains a control character";
  if (!g_utf8_validate(name.data(), static_cast<gssize>(name.size()), nullptr))
    return "is not valid UTF-8";
  std::size_t chars = 0;
  for (const char *p = name.data(); p < name.data() + name.size(); p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    // Cc (C0, DEL, C1) plus the invisible format characters that let one name
    // pass for another (zero-width space, bidi overrides).
    if (g_unichar_iscntrl(c) || g_unichar_type(c) == G_UNICODE_FORMAT)
      return "contains a control character";
    if (++chars > kMaxNameChars)
      return "is longer than " + std::to_string(kMaxNameChars) + " characters";
  }
  gunichar first = g_utf8_get_char(name.data());
  gunichar last = g_utf8_get_char(g_utf8_find_prev_char(name.data(), name.data() + name.size()));
  if (g_unichar_isspace(first) || g_unichar_isspace(last))
    return "starts or ends with white space";
  return std::nullopt;
}

} // namespace webrtccall::protocol
