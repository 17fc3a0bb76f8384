// Which offered payload type a sink pad's stream can go out as, and what our
// own offer says about it. The codec name is not enough: H.264 and VP9
// streams come in profiles, and a browser cannot decode every profile (it
// showed a magenta field for VP9 profile 3 answered as profile 0). The
// profile is read from the pad's caps, as the encoder states it.
#pragma once

#include "codecs.hpp"
#include "sink_input.hpp"

#include <gst/gst.h>

#include <string>
#include <vector>

namespace webrtccall {

// Whether `codec` streams come in profiles a peer may not decode (H.264,
// VP9): negotiating them needs the stream's caps, not just its codec.
bool has_profiles(const Codec &codec);

// The RTP caps `input` is offered with, as payload type `pt`: the codec's
// own, plus the profile the pad carries (H.264 profile-level-id, VP9
// profile-id). Transfer full.
GstCaps *sender_caps(SinkInput &input, const Codec &codec, int pt);

// The offered payload type to send `input` as: for H.264 the first with our
// exact profile, else the first whose decoder takes our stream; for VP9 the
// first of our profile; for the rest the first of the codec. nullptr: none.
const OfferedCodec *pick_offered(SinkInput &input, const std::vector<OfferedCodec> &offered);

// The stream for an error message: "VP8", "VP9 profile 3", "H264 in
// profile-level-id 640028".
std::string describe_stream(SinkInput &input);

// What to do when the peer offers our codec, but in no profile our stream
// fits; "" when the codec has no profiles.
std::string profile_advice(const Codec &codec);

} // namespace webrtccall
