#include "codec_match.hpp"

#include "h264_profile.hpp"

#include <cstring>

namespace webrtccall {

namespace {

bool is(const Codec &codec, const char *name) {
  return std::strcmp(codec.encoding_name, name) == 0;
}

// VP9's profile (0 to 3) as the encoder's caps state it; 0, what every
// browser decodes, when they do not.
std::string vp9_profile(SinkInput &input) {
  g_autoptr(GstCaps) media = input.caps();
  const char *profile = nullptr;
  if (media && !gst_caps_is_empty(media) && !gst_caps_is_any(media))
    profile = gst_structure_get_string(gst_caps_get_structure(media, 0), "profile");
  return profile && std::strlen(profile) == 1 && g_ascii_isdigit(*profile) ? profile : "0";
}

h264::ProfileLevelId h264_profile(SinkInput &input) {
  g_autoptr(GstCaps) media = input.caps();
  return h264::of_stream(media);
}

// Whether `input` can be sent as the offered payload type. For H.264 also
// packetization mode 1 (all rtph264pay sends), and a profile equal to ours
// (`exact`) or one whose decoder takes our stream.
bool can_send_as(SinkInput &input, const OfferedCodec &offered, bool exact) {
  if (offered.codec != input.codec())
    return false;
  const GstStructure *s = gst_caps_get_structure(offered.caps, 0);
  if (is(*offered.codec, "VP9")) {
    // RFC 9628: no profile-id means profile 0.
    const char *theirs = gst_structure_get_string(s, "profile-id");
    return vp9_profile(input) == (theirs ? theirs : "0");
  }
  if (!is(*offered.codec, "H264"))
    return true;
  if (g_strcmp0(gst_structure_get_string(s, "packetization-mode"), "1") != 0)
    return false;
  // No profile-level-id means Constrained Baseline to browsers (and our default).
  auto theirs = h264::parse(gst_structure_get_string(s, "profile-level-id"));
  if (gst_structure_has_field(s, "profile-level-id") && !theirs)
    return false;
  h264::ProfileLevelId ours = h264_profile(input);
  h264::ProfileLevelId offered_id = theirs.value_or(h264::ProfileLevelId{});
  return exact ? offered_id.profile() == ours.profile() : h264::decodes(offered_id, ours);
}

} // namespace

bool has_profiles(const Codec &codec) {
  return is(codec, "H264") || is(codec, "VP9");
}

GstCaps *sender_caps(SinkInput &input, const Codec &codec, int pt) {
  GstCaps *caps = rtp_caps_for(codec, pt);
  if (is(codec, "H264")) {
    std::string profile = h264_profile(input).to_string();
    gst_caps_set_simple(caps, "profile-level-id", G_TYPE_STRING, profile.c_str(), nullptr);
  } else if (is(codec, "VP9")) {
    gst_caps_set_simple(caps, "profile-id", G_TYPE_STRING, vp9_profile(input).c_str(), nullptr);
  }
  return caps;
}

const OfferedCodec *pick_offered(SinkInput &input, const std::vector<OfferedCodec> &offered) {
  for (bool exact : {true, false})
    for (const auto &candidate : offered)
      if (can_send_as(input, candidate, exact))
        return &candidate;
  return nullptr;
}

std::string describe_stream(SinkInput &input) {
  const Codec &codec = *input.codec();
  if (is(codec, "H264"))
    return "H264 in profile-level-id " + h264_profile(input).to_string();
  if (is(codec, "VP9"))
    return "VP9 profile " + vp9_profile(input);
  return codec.encoding_name;
}

std::string profile_advice(const Codec &codec) {
  if (is(codec, "H264"))
    return "Encode a profile the peer offers, e.g. with video/x-h264,profile=constrained-baseline "
           "after the encoder.";
  if (is(codec, "VP9"))
    return "Encode VP9 profile 0, which every browser decodes: put video/x-raw,format=I420 "
           "before vp9enc.";
  return {};
}

} // namespace webrtccall
