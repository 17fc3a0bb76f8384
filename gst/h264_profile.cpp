#include "h264_profile.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace webrtccall::h264 {

namespace {

// constraint_set flags as they sit in the second byte.
constexpr std::uint8_t kSet0 = 0x80, kSet1 = 0x40, kSet4 = 0x08, kSet5 = 0x04;

struct NamedProfile {
  const char *caps_name; // GStreamer's `profile` caps field
  std::uint8_t profile_idc;
  std::uint8_t constraints;
};

// The profiles GStreamer's H.264 caps name and browsers know.
constexpr NamedProfile kNamedProfiles[] = {
    {"constrained-baseline", 0x42, 0xe0},
    {"baseline", 0x42, 0x00},
    {"main", 0x4d, 0x00},
    {"constrained-high", 0x64, kSet4 | kSet5},
    {"high", 0x64, 0x00},
    {"progressive-high", 0x64, kSet4},
};

// level_idc is ten times the level ("3.1" -> 31); level 1b is coded as 11
// with constraint_set3 in Baseline, but as 9 elsewhere: both decode as 1.1.
std::uint8_t level_idc_of(const char *level) {
  if (std::strcmp(level, "1b") == 0)
    return 11;
  char *end = nullptr;
  double value = std::strtod(level, &end);
  if (end == level || value <= 0 || value > 25)
    return 0;
  return std::uint8_t(value * 10 + 0.5);
}

} // namespace

Profile ProfileLevelId::profile() const {
  // As libwebrtc classifies them (h264_profile_level_id.cc): what a decoder
  // must support follows from profile_idc and the constraint flags together.
  switch (profile_idc) {
  case 0x42:
    return constraints & kSet1 ? Profile::kConstrainedBaseline : Profile::kBaseline;
  case 0x4d:
    return constraints & kSet0 ? Profile::kConstrainedBaseline : Profile::kMain;
  case 0x58:
    if ((constraints & (kSet0 | kSet1)) == (kSet0 | kSet1))
      return Profile::kConstrainedBaseline;
    return constraints & kSet0 ? Profile::kBaseline : Profile::kOther;
  case 0x64:
    return (constraints & (kSet4 | kSet5)) == (kSet4 | kSet5) ? Profile::kConstrainedHigh
                                                              : Profile::kHigh;
  default:
    return Profile::kOther;
  }
}

std::string ProfileLevelId::to_string() const {
  char text[7];
  std::snprintf(text, sizeof text, "%02x%02x%02x", profile_idc, constraints, level_idc);
  return text;
}

std::optional<ProfileLevelId> parse(const char *hex) {
  if (!hex || std::strlen(hex) != 6)
    return std::nullopt;
  for (const char *c = hex; *c; c++)
    if (!g_ascii_isxdigit(*c))
      return std::nullopt;
  unsigned long value = std::strtoul(hex, nullptr, 16);
  ProfileLevelId id;
  id.profile_idc = std::uint8_t(value >> 16);
  id.constraints = std::uint8_t(value >> 8);
  id.level_idc = std::uint8_t(value);
  return id;
}

ProfileLevelId of_stream(const GstCaps *caps) {
  ProfileLevelId id; // Constrained Baseline 3.1
  if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return id;
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  if (const char *profile = gst_structure_get_string(s, "profile")) {
    for (const auto &named : kNamedProfiles)
      if (std::strcmp(named.caps_name, profile) == 0) {
        id.profile_idc = named.profile_idc;
        id.constraints = named.constraints;
      }
  }
  if (const char *level = gst_structure_get_string(s, "level"))
    if (std::uint8_t idc = level_idc_of(level))
      id.level_idc = idc;
  return id;
}

bool decodes(const ProfileLevelId &offered, const ProfileLevelId &stream) {
  // Levels are left out: browsers decode streams above the level they
  // signal, and refusing a call over it would help nobody.
  Profile theirs = offered.profile(), ours = stream.profile();
  if (ours == Profile::kOther || theirs == Profile::kOther)
    return offered.profile_idc == stream.profile_idc;
  if (theirs == ours)
    return true;
  switch (ours) {
  case Profile::kConstrainedBaseline:
    return true; // a subset of every other family
  case Profile::kMain:
  case Profile::kConstrainedHigh:
    return theirs == Profile::kHigh;
  default:
    return false; // Baseline's FMO/ASO are in no other profile; High is the top
  }
}

} // namespace webrtccall::h264
