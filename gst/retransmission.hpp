// Asking the peer to resend lost video (NACK), which webrtcbin 1.22 means to
// do and does not.
//
// webrtcbin turns retransmission requests on per jitter buffer, from its
// rtpbin's new-jitterbuffer signal, after the do-nack of the jitter buffer's
// transceiver. In 1.22 it sets the property once for every transceiver of
// the bundle, each time with that transceiver's do-nack, so the last one
// wins: with a video and an audio m-line (do-nack on video only, as browsers
// negotiate it) no jitter buffer asks for anything, every lost packet stalls
// its stream for the whole latency, and the peer's RTX goes unused (seen in
// its debug log: "setting do-nack=true ... webrtctransceiver0", then
// "do-nack=false ... webrtctransceiver1", for the same SSRC).
//
// RetransmissionRequests decides from the peer's description instead: the
// SSRCs it announces on m-lines that negotiated generic NACK
// (`a=rtcp-fb:<pt> nack` or `* nack`), and turns do-retransmission on for
// their jitter buffers, after webrtcbin's own handler has run.
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <memory>
#include <mutex>
#include <set>

namespace webrtccall {

// The SSRCs `description` announces (`a=ssrc`) on m-lines with generic NACK.
std::set<guint32> ssrcs_with_nack(const GstSDPMessage *description);

class RetransmissionRequests {
public:
  // Connects to the new-jitterbuffer signal of `webrtcbin`'s rtpbin; call it
  // once webrtcbin exists, before any media. False if there is no rtpbin.
  bool watch(GstElement *webrtcbin);
  // The peer's description, set or replaced: which of its streams to ask for.
  void set_remote(const GstSDPMessage *description);

private:
  struct Shared {
    std::mutex lock;
    std::set<guint32> ssrcs;
  };
  // Read on streaming threads, through the signal's own reference.
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

} // namespace webrtccall
