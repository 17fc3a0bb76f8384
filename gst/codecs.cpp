#include "codecs.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace webrtccall {

const char *to_string(MediaKind kind) {
  return kind == MediaKind::kVideo ? "video" : "audio";
}

const std::vector<Codec> &all_codecs() {
  // Payload types as Chrome numbers them, so element-to-browser SDP reads familiar.
  static const std::vector<Codec> codecs = {
      {MediaKind::kVideo,
       "VP8",
       90000,
       nullptr,
       "video/x-vp8",
       "rtpvp8pay",
       "rtpvp8depay",
       nullptr,
       {"vp8dec"},
       96,
       nullptr},
      {MediaKind::kVideo,
       "VP9",
       90000,
       nullptr,
       "video/x-vp9",
       "rtpvp9pay",
       "rtpvp9depay",
       nullptr,
       {"vp9dec"},
       98,
       nullptr},
      // Packetization mode 1 (FU-A and STAP-A) is what rtph264pay sends and
      // browsers prefer. The profile-level-id here is the receive-only
      // default; a sender says the profile its sink pad carries (h264_profile).
      {MediaKind::kVideo,
       "H264",
       90000,
       nullptr,
       "video/x-h264",
       "rtph264pay",
       "rtph264depay",
       "h264parse",
       {"avdec_h264", "openh264dec"},
       102,
       "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1"},
      {MediaKind::kAudio,
       "OPUS",
       48000,
       "2",
       "audio/x-opus",
       "rtpopuspay",
       "rtpopusdepay",
       nullptr,
       {"opusdec"},
       111,
       "minptime=10;useinbandfec=1"},
      // G.711 keeps its static payload types; 8 kHz mono, as RTP defines it.
      {MediaKind::kAudio,
       "PCMU",
       8000,
       nullptr,
       "audio/x-mulaw",
       "rtppcmupay",
       "rtppcmudepay",
       nullptr,
       {"mulawdec"},
       0,
       nullptr},
      {MediaKind::kAudio,
       "PCMA",
       8000,
       nullptr,
       "audio/x-alaw",
       "rtppcmapay",
       "rtppcmadepay",
       nullptr,
       {"alawdec"},
       8,
       nullptr},
  };
  return codecs;
}

const Codec *codec_for_media_caps(const GstCaps *caps) {
  if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return nullptr;
  const char *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  for (const auto &codec : all_codecs())
    if (std::strcmp(codec.media_type, name) == 0)
      return &codec;
  return nullptr;
}

const Codec *codec_by_name(const char *encoding_name) {
  if (!encoding_name)
    return nullptr;
  for (const auto &codec : all_codecs())
    if (g_ascii_strcasecmp(codec.encoding_name, encoding_name) == 0)
      return &codec;
  return nullptr;
}

const Codec *codec_for_rtp_caps(const GstCaps *caps) {
  if (!caps || gst_caps_is_empty(caps))
    return nullptr;
  return codec_by_name(gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name"));
}

namespace {

bool installed(const char *factory_name) {
  GstElementFactory *factory = gst_element_factory_find(factory_name);
  if (factory)
    gst_object_unref(factory);
  return factory != nullptr;
}

} // namespace

const char *installed_decoder(const Codec &codec) {
  for (const char *name : codec.decoders)
    if (installed(name))
      return name;
  return nullptr;
}

bool can_receive(const Codec &codec, bool decode) {
  return installed(codec.depayloader) && (!codec.parser || installed(codec.parser)) &&
         (!decode || installed_decoder(codec));
}

int twcc_extension_id(const GstCaps *caps) {
  if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return 0;
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  for (int i = 0; i < gst_structure_n_fields(s); i++) {
    const char *name = gst_structure_nth_field_name(s, i);
    if (g_str_has_prefix(name, "extmap-") &&
        g_strcmp0(gst_structure_get_string(s, name), kTwccUri) == 0)
      return std::atoi(name + 7);
  }
  return 0;
}

GstCaps *rtp_caps_for(const Codec &codec, int pt) {
  GstCaps *caps =
      gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, to_string(codec.kind),
                          "encoding-name", G_TYPE_STRING, codec.encoding_name, "payload",
                          G_TYPE_INT, pt, "clock-rate", G_TYPE_INT, codec.clock_rate, nullptr);
  GstStructure *s = gst_caps_get_structure(caps, 0);
  if (codec.encoding_params)
    gst_structure_set(s, "encoding-params", G_TYPE_STRING, codec.encoding_params, nullptr);
  if (codec.kind == MediaKind::kVideo)
    gst_structure_set(s, "rtcp-fb-nack", G_TYPE_BOOLEAN, TRUE, "rtcp-fb-nack-pli", G_TYPE_BOOLEAN,
                      TRUE, "rtcp-fb-ccm-fir", G_TYPE_BOOLEAN, TRUE, nullptr);
  std::string twcc = "extmap-" + std::to_string(kTwccOfferId);
  gst_structure_set(s, twcc.c_str(), G_TYPE_STRING, kTwccUri, nullptr);
  if (codec.fmtp) {
    g_auto(GStrv) pairs = g_strsplit(codec.fmtp, ";", -1);
    for (char **pair = pairs; *pair; pair++) {
      g_auto(GStrv) kv = g_strsplit(*pair, "=", 2);
      if (kv[0] && kv[1])
        gst_structure_set(s, kv[0], G_TYPE_STRING, kv[1], nullptr);
    }
  }
  return caps;
}

bool media_kind_of(const GstSDPMedia *media, MediaKind &kind) {
  const char *name = gst_sdp_media_get_media(media);
  if (g_strcmp0(name, "video") == 0)
    kind = MediaKind::kVideo;
  else if (g_strcmp0(name, "audio") == 0)
    kind = MediaKind::kAudio;
  else
    return false;
  return true;
}

namespace {

// The value of `key` in the m-line's a=fmtp for payload type `pt`, or "".
std::string fmtp_value(const GstSDPMedia *media, int pt, const char *key) {
  std::string prefix = std::to_string(pt) + " ";
  for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++) {
    const GstSDPAttribute *attribute = gst_sdp_media_get_attribute(media, i);
    if (g_strcmp0(attribute->key, "fmtp") != 0 || !attribute->value ||
        !g_str_has_prefix(attribute->value, prefix.c_str()))
      continue;
    g_auto(GStrv) params = g_strsplit(attribute->value + prefix.size(), ";", -1);
    for (char **param = params; *param; param++) {
      g_auto(GStrv) kv = g_strsplit(g_strstrip(*param), "=", 2);
      if (kv[0] && kv[1] && g_ascii_strcasecmp(kv[0], key) == 0)
        return kv[1];
    }
  }
  return {};
}

} // namespace

std::vector<OfferedCodec> offered_codecs(const GstSDPMedia *media) {
  std::vector<OfferedCodec> result;
  MediaKind kind;
  if (!media_kind_of(media, kind))
    return result;
  for (guint i = 0; i < gst_sdp_media_formats_len(media); i++) {
    int pt = std::atoi(gst_sdp_media_get_format(media, i));
    GstCaps *caps = gst_sdp_media_get_caps_from_media(media, pt);
    if (!caps)
      continue;
    const Codec *codec =
        codec_by_name(gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name"));
    if (!codec || codec->kind != kind) {
      gst_caps_unref(caps);
      continue;
    }
    GstStructure *s = gst_caps_get_structure(caps, 0);
    gst_structure_set_name(s, "application/x-rtp");
    gst_structure_set(s, "media", G_TYPE_STRING, to_string(kind), nullptr);
    // GStreamer 1.22 turns an H.264 profile-level-id with level asymmetry
    // into a bare `profile` (gst_sdp_media_caps_adjust_h264), which it writes
    // back as level-asymmetry-allowed=1 alone. Put the id back: the payload
    // type is picked by it, and an answer without it means Constrained
    // Baseline to a browser whatever was offered.
    std::string profile_level_id = fmtp_value(media, pt, "profile-level-id");
    if (!profile_level_id.empty() && !gst_structure_has_field(s, "profile-level-id"))
      gst_structure_set(s, "profile-level-id", G_TYPE_STRING, profile_level_id.c_str(), nullptr);
    // The answer keeps TWCC, with the offer's id, when the offer has it.
    for (guint a = 0; a < gst_sdp_media_attributes_len(media); a++) {
      const GstSDPAttribute *attribute = gst_sdp_media_get_attribute(media, a);
      int id = 0;
      char uri[128] = "";
      if (g_strcmp0(attribute->key, "extmap") == 0 && attribute->value &&
          std::sscanf(attribute->value, "%d %127s", &id, uri) == 2 &&
          std::strcmp(uri, kTwccUri) == 0)
        gst_structure_set(s, ("extmap-" + std::to_string(id)).c_str(), G_TYPE_STRING, kTwccUri,
                          nullptr);
    }
    result.push_back({codec, pt, caps});
  }
  return result;
}

void free_offered(std::vector<OfferedCodec> &codecs) {
  for (auto &offered : codecs)
    gst_caps_unref(offered.caps);
  codecs.clear();
}

} // namespace webrtccall
