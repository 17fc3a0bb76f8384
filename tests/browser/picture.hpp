// What picture an element received from a browser, in the terms of the
// browser rig's fake cameras (lib/media.mjs, lib/checks.mjs): alice's SMPTE
// bars or bob's orange field.
#pragma once

#include <glib.h>

#include <string>
#include <vector>

namespace webrtccall::test {

struct PictureCheck {
  std::string pattern; // "smpte", "orange", "none" (no frame yet) or "other"
  std::string why;     // for "other": what was seen instead
};

// `rgb` is packed RGB, width x height.
PictureCheck check_picture(const std::vector<guint8> &rgb, int width, int height);

} // namespace webrtccall::test
