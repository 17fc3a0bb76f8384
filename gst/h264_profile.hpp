// H.264's profile-level-id (RFC 6184, 8.1): which decoder a stream needs.
// SDP names a profile as three hex bytes (profile_idc, constraint flags,
// level_idc); GStreamer caps name it as strings (profile=main, level=3.1).
// Browsers match H.264 payload types by profile, so an offer must say the
// profile the sink pad really carries, and an answer must pick an offered
// payload type whose decoder can take our stream.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <optional>
#include <string>

namespace webrtccall::h264 {

// The profile families that matter for picking a payload type.
enum class Profile { kConstrainedBaseline, kBaseline, kMain, kConstrainedHigh, kHigh, kOther };

struct ProfileLevelId {
  std::uint8_t profile_idc = 0x42;
  std::uint8_t constraints = 0xe0; // constraint_set0..5 flags, high bits first
  std::uint8_t level_idc = 0x1f;   // 3.1

  Profile profile() const;
  std::string to_string() const; // six lower-case hex digits, as in SDP
};

// "42e01f" -> bytes; nullopt if it is not six hex digits.
std::optional<ProfileLevelId> parse(const char *hex);

// The profile-level-id of encoded `caps` (video/x-h264 with `profile` and
// `level` fields). Constrained Baseline and level 3.1, what every browser
// decodes, where the caps do not say.
ProfileLevelId of_stream(const GstCaps *caps);

// Whether a decoder for `offered` also decodes a stream of `stream`: a
// Constrained Baseline stream is valid Baseline, Main and High, and so on.
bool decodes(const ProfileLevelId &offered, const ProfileLevelId &stream);

} // namespace webrtccall::h264
