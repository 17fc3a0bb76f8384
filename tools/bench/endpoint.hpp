// One webrtccall pipeline for the benchmarks: a live test picture (optionally
// stamped with its capture time, stamp.hpp) and tone, encoded and sent; the
// peer's video decoded by the element and timed: the first frame of each call,
// frames counted, and the stamp read after the sink's clock wait (what a
// display would show, and when). Unlike tests/lib/call_endpoint, nothing is
// copied or analysed per frame beyond that, so the cost measured is the call's.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace webrtccall::bench {

struct EndpointConfig {
  std::string server;
  std::string user;
  std::string ice_addresses; // empty: every interface
  int width = 640, height = 480, fps = 30;
  std::string codec = "vp8";   // vp8 or h264
  bool low_latency = false;    // the encoder without lookahead (docs/element.md's advice)
  int bitrate_kbps = 0;        // 0: the encoder's default
  std::string encoder_options; // more encoder properties, e.g. "cpu-used=8"
  int latency_ms = -1;         // the element's jitter buffer; -1: its default
  bool lip_sync = true;        // the element's lip-sync
  int ice_pacing_ms = -1;      // the element's ice-pacing; -1: its default
  bool stamp = false;          // draw and read capture timestamps
  bool motion = false;         // scroll the picture, so the encoder has work like a camera's
  bool audio = true;           // an Opus tone besides the video
  bool sink_sync = true;       // the sink waits for each frame's time, as a display would
  // The sinks' processing-deadline (ms): what they add to the pipeline's
  // latency for the work after their clock wait; -1: basesink's default, 20.
  int processing_deadline_ms = -1;
  // Set faststart-min-packets on every jitter buffer webrtcbin makes, so the
  // first frame need not wait out `latency` (rtpjitterbuffer's default); 0:
  // leave it. The element does this itself since 5485247 (with 2); this was
  // the experiment for docs/benchmarks.md that led to it.
  unsigned faststart_packets = 0;
};

class Endpoint {
public:
  using StateHook = std::function<void(const std::string &state, const std::string &reason)>;

  Endpoint(const EndpointConfig &config, StateHook on_state);
  ~Endpoint();
  Endpoint(const Endpoint &) = delete;

  void play();
  void call(const std::string &peer); // emits the element's call action
  void hangup();

  // Wall clock (ms since the epoch) of the last call() and of the first
  // decoded frame after it; 0 until they happen.
  std::atomic<double> call_ms{0};
  std::atomic<double> first_frame_ms{0};
  std::atomic<uint64_t> frames{0}; // decoded video frames, over the pipeline's life
  std::atomic<uint64_t> audio_buffers{0};

  // Glass-to-glass latencies (ms) read since the last take, and frames whose
  // stamp could not be read.
  std::vector<double> take_latencies(unsigned *unreadable = nullptr);

  GstElement *pipeline() const { return pipeline_; }

private:
  static void on_pad_added(GstElement *element, GstPad *pad, gpointer self);
  static gboolean on_bus(GstBus *bus, GstMessage *message, gpointer self);

  EndpointConfig config_;
  StateHook on_state_;
  GstElement *pipeline_;
  GstElement *call_; // owned by the pipeline
  guint bus_watch_ = 0;
  std::mutex lock_; // guards the fields below
  std::vector<double> latencies_;
  unsigned unreadable_ = 0;
  bool first_pending_ = false;
  friend struct EndpointProbes;
};

double wall_ms();

// Sets faststart-min-packets on every rtpjitterbuffer added anywhere in `bin`
// from now on (see EndpointConfig::faststart_packets).
void set_jitterbuffer_faststart(GstElement *bin, unsigned packets);

} // namespace webrtccall::bench
