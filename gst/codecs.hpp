// The codecs the element can send and receive, and how each maps between
// GStreamer caps, RTP and SDP. One table, so adding a codec is one entry.
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <string>
#include <vector>

namespace webrtccall {

enum class MediaKind { kVideo, kAudio };

const char *to_string(MediaKind kind); // "video" / "audio", as in SDP and RTP caps

struct Codec {
  MediaKind kind;
  const char *encoding_name; // RTP/SDP name, upper case
  int clock_rate;
  const char *encoding_params; // channels for audio ("2" for Opus), or nullptr
  const char *media_type;      // encoded caps name on sink pads, e.g. video/x-vp8
  const char *payloader;
  const char *depayloader;
  const char *parser; // after the depayloader, or nullptr
  // For decode=true, in order of preference: the first one installed is used.
  std::vector<const char *> decoders;
  int default_payload_type;
  const char *fmtp; // extra RTP caps fields as "key=value;..." (SDP fmtp), or nullptr
};

const std::vector<Codec> &all_codecs();

// The codec whose encoded media type is `caps`' first structure, or nullptr.
const Codec *codec_for_media_caps(const GstCaps *caps);
// The codec named in RTP caps (encoding-name), or nullptr.
const Codec *codec_for_rtp_caps(const GstCaps *caps);
const Codec *codec_by_name(const char *encoding_name);

// The first of `codec`'s decoders that is installed, or nullptr.
const char *installed_decoder(const Codec &codec);

// Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc):
// a sequence number on every packet of the bundle, which the receiver
// reports back so that the sender can estimate the bandwidth. Browsers
// size their stream from it; without it Chromium guessed ~600 kbit/s.
inline constexpr const char *kTwccUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
// The header extension id our own offers give it.
inline constexpr int kTwccOfferId = 3;

// The id `caps` give the TWCC header extension (an "extmap-N" field), or 0.
int twcc_extension_id(const GstCaps *caps);

// Whether the elements to play `codec` are installed: its depayloader, and
// a decoder if `decode`.
bool can_receive(const Codec &codec, bool decode);

// application/x-rtp caps for `codec` with payload type `pt`, with the RTCP
// feedback browsers expect (NACK, PLI, FIR) on video: what the transceiver
// offers or answers.
GstCaps *rtp_caps_for(const Codec &codec, int pt);

// A codec offered in an SDP m-line.
struct OfferedCodec {
  const Codec *codec;
  int payload_type;
  GstCaps *caps; // from the m-line, owned (unref with gst_caps_unref)
};

// The codecs of `media` that we know, in the offer's order of preference.
std::vector<OfferedCodec> offered_codecs(const GstSDPMedia *media);
void free_offered(std::vector<OfferedCodec> &codecs);

// The m-line kind of `media`, if it is audio or video.
bool media_kind_of(const GstSDPMedia *media, MediaKind &kind);

} // namespace webrtccall
