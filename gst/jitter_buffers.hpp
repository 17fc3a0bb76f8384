// How the element sets up each jitter buffer of a call, from its rtpbin's
// new-jitterbuffer signal, after webrtcbin's own handler: one place for all.
//
// Starting early: rtpjitterbuffer holds a stream's first packet for its whole
// latency (200 ms by default) before letting anything out; starting once two
// packets in a row have come instead took the first picture from 368 to
// 175 ms in tools/bench (docs/benchmarks.md). The latency still absorbs
// jitter after.
//
// Asking the peer to resend lost video (NACK), which webrtcbin 1.22 means to
// do and does not. webrtcbin turns retransmission requests on per jitter
// buffer, after the do-nack of the jitter buffer's transceiver. In 1.22 it
// sets the property once for every transceiver of the bundle, each time with
// that transceiver's do-nack, so the last one wins: with a video and an
// audio m-line (do-nack on video only, as browsers negotiate it) no jitter
// buffer asks for anything, every lost packet stalls its stream for the
// whole latency, and the peer's RTX goes unused (seen in its debug log:
// "setting do-nack=true ... webrtctransceiver0", then "do-nack=false ...
// webrtctransceiver1", for the same SSRC). The setup decides from the peer's
// description instead: the SSRCs it announces on m-lines that negotiated
// generic NACK (`a=rtcp-fb:<pt> nack` or `* nack`) get do-retransmission.
//
// Starting on the first picture's packets. rtpjitterbuffer (1.22, and as of
// 2026 upstream) looks for its fast start only as a packet arrives, and
// only when a packet heads its queue. A stream's first events (stream-start,
// caps, segment) go into that queue just before its first packet, and the
// jitter buffer's own thread takes them out: the packets of a keyframe come
// in one burst, often all before that thread has, and the stream then waited
// for the next frame's first packet (up to a frame interval) or, with none,
// its whole latency. Traced in tools/bench/trace-call.mjs: 6-23 ms of the
// first picture in four calls of six. The first packet now waits, up to
// 20 ms (kEventsOutWait), for those events to leave, so the burst's second
// packet starts the stream.
//
// Asking again once per round trip. A request or its answer may be lost too,
// so a jitter buffer asks again while the packet can still be played. In
// 1.22 it waits 40 ms before the first answer, then for its own estimate of
// the round trip, measured from its latest request: with requests every
// 40 ms the answer always comes soon after the latest, the estimate stays
// short and so do the waits. At 200 ms round trip and 5% loss
// (tests/net/test-hostile-network.py) it asked 8 times for each lost video
// packet, and the peer sent each packet that often. The setup waits at
// least a round trip instead, as browsers do: 100 ms until the peer's
// reports give the round trip (its RTCP report blocks on our streams, read
// from rtpbin's session as each report comes), then the round trip and a
// quarter. A peer on webrtcbin 1.22 may give it late or never: while its
// jitter buffers keep asking for packets, its rtpsession sends only early
// (feedback) RTCP, which carries no report blocks (seen at 5% loss: one
// regular report in 25 s, then 85 early ones; the first report's block often
// predates our first sender report, so has no round trip). Browsers report
// on schedule.
//
// Lip-sync, or not. rtpbin plays the peer's audio and video in step: from
// the peer's RTCP sender reports it delays whichever stream is ahead (the
// jitter buffer's ts-offset). The offset it finds at the start of a call
// stays for the call, and put 3-24 ms on the video in half the calls of the
// glass-to-glass benchmark (docs/benchmarks.md, run 12). Without lip-sync each
// stream plays as soon as its jitter buffer lets it: the lowest delay, for
// uses where a few tens of ms between sound and picture do not matter.
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <memory>
#include <mutex>
#include <set>
#include <vector>

namespace webrtccall {

// Holds the first packet `jitterbuffer` gets until the events queued ahead of
// it have gone out (above); for jitter buffers made outside a call's rtpbin
// too. Call before it gets anything.
void start_on_first_burst(GstElement *jitterbuffer);

// The SSRCs `description` announces (`a=ssrc`) on m-lines with generic NACK.
std::set<guint32> ssrcs_with_nack(const GstSDPMessage *description);

class JitterBufferSetup {
public:
  // Connects to the new-jitterbuffer signal of `webrtcbin`'s rtpbin and
  // turns its lip-sync on or off; call it once webrtcbin exists, before any
  // media. False if there is no rtpbin.
  bool watch(GstElement *webrtcbin, bool lip_sync);
  // The peer's description, set or replaced: which of its streams to ask for.
  void set_remote(const GstSDPMessage *description);

  // How long a jitter buffer waits before asking again for a packet it asked
  // for (milliseconds), given the round trip; `rtt_ms` < 0: not known yet.
  static guint retry_wait_ms(double rtt_ms);

private:
  // A jitter buffer, without keeping it alive after rtpbin lets it go.
  class WeakJitterBuffer {
  public:
    explicit WeakJitterBuffer(GstElement *jitterbuffer) { g_weak_ref_init(&ref_, jitterbuffer); }
    ~WeakJitterBuffer() { g_weak_ref_clear(&ref_); }
    WeakJitterBuffer(const WeakJitterBuffer &) = delete;
    WeakJitterBuffer &operator=(const WeakJitterBuffer &) = delete;
    // A new reference, or nullptr once it is gone.
    GstElement *get() { return static_cast<GstElement *>(g_weak_ref_get(&ref_)); }

  private:
    GWeakRef ref_;
  };

  struct Shared {
    std::mutex lock;
    std::set<guint32> ssrcs;
    // The jitter buffers that ask for lost packets, and how long they wait
    // before asking again.
    std::vector<std::unique_ptr<WeakJitterBuffer>> retransmitting;
    guint retry_ms = JitterBufferSetup::retry_wait_ms(-1);
  };

  static void on_new_jitter_buffer(Shared &shared, GstElement *jitterbuffer, guint ssrc);
  static void on_report(Shared &shared, GstElement *rtpbin, guint session, guint ssrc);

  // Read on streaming threads, through the signal's own reference.
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

} // namespace webrtccall
