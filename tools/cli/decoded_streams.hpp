// Routes what a decodebin finds (in a media file, or in the peer's stream):
// the first stream of one kind goes on to a target pad; the others are
// dropped at their pad. Unlinked, they would stop the demuxer or depayloader
// upstream (not-linked); a sink for them would count towards the pipeline's
// EOS.
#pragma once

#include <gst/gst.h>

namespace webrtccall::cli {

// `media_prefix`: "video/" or "audio/". Holds a reference on `target`.
void route_decoded_streams(GstElement *decodebin, GstPad *target, const char *media_prefix);

} // namespace webrtccall::cli
