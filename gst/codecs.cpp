#include "codecs.hpp"

#include <cstdlib>
#include <cstring>

namespace webrtccall {

const char *to_string(MediaKind kind) {
  return kind == MediaKind::kVideo ? "video" : "audio";
}

const std::vector<Codec> &all_codecs() {
  // Payload types as Chrome numbers them, so element-to-browser SDP reads familiar.
  static const std::vector<Codec> codecs = {
      {MediaKind::kVideo, "VP8", 90000, nullptr, "video/x-vp8", "rtpvp8pay", "rtpvp8depay", nullptr,
       "vp8dec", 96, nullptr},
      {MediaKind::kVideo, "VP9", 90000, nullptr, "video/x-vp9", "rtpvp9pay", "rtpvp9depay", nullptr,
       "vp9dec", 98, nullptr},
      {MediaKind::kAudio, "OPUS", 48000, "2", "audio/x-opus", "rtpopuspay", "rtpopusdepay", nullptr,
       "opusdec", 111, "minptime=10;useinbandfec=1"},
      // G.711 keeps its static payload types; 8 kHz mono, as RTP defines it.
      {MediaKind::kAudio, "PCMU", 8000, nullptr, "audio/x-mulaw", "rtppcmupay", "rtppcmudepay",
       nullptr, "mulawdec", 0, nullptr},
      {MediaKind::kAudio, "PCMA", 8000, nullptr, "audio/x-alaw", "rtppcmapay", "rtppcmadepay",
       nullptr, "alawdec", 8, nullptr},
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
