// webrtcbin's get-stats reply, summed up into one webrtccall-stats
// structure: bitrate, loss, jitter and round-trip time each way.
#pragma once

#include <gst/gst.h>

#include <string>

namespace webrtccall {

class CallStats {
public:
  // Returns a new webrtccall-stats structure (caller owns it). Bitrates are
  // measured since the previous call of this method.
  GstStructure *summarize(const GstStructure *webrtc_stats, const std::string &peer);

private:
  guint64 bytes_sent_ = 0;
  guint64 bytes_received_ = 0;
  gint64 at_us_ = 0; // when the totals above were read; 0: never
};

} // namespace webrtccall
