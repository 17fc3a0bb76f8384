// One side of a call for tests: a pipeline with test sources, encoders and a
// webrtccall element, whose received media ends in appsinks that count and
// keep what arrives. Every wait has a deadline and fails the test naming
// what it awaited.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace webrtccall::test {

struct EndpointOptions {
  std::string server; // ws://...
  std::string user;
  std::string peer; // empty: wait for a call
  bool send_video = true;
  bool send_audio = true;
  std::string video_pattern = "smpte"; // videotestsrc pattern
  std::string video_options;           // more videotestsrc properties, e.g. background-color
  int audio_frequency = 440;           // audiotestsrc sine, Hz
  int width = 320, height = 240;
  std::string video_encoder = "vp8enc deadline=1";
  std::string audio_encoder = "opusenc perfect-timestamp=true";
  std::string properties; // more webrtccall properties, e.g. "auto-answer=false"
  // Where ICE gathers; empty: every interface. Loopback by default, which
  // libnice skips unless told (environment-notes.md).
  std::string ice_addresses = "127.0.0.1";
  bool encoded = false; // decode=false: the appsinks get the encoded media as it is
};

// What arrived on one of the element's src pads.
struct Received {
  std::atomic<unsigned> buffers{0};
  std::atomic<bool> eos{false};
  std::mutex lock;              // guards the fields below
  std::string caps;             // of the last buffer's sample, as a string
  int width = 0, height = 0;    // video: of the last frame
  std::vector<guint8> last_rgb; // video: the last frame, packed RGB
  std::vector<gint16> samples;  // audio: mono S16 at 48 kHz, the first seconds
  gint64 last_frame_us = 0;     // video: when the last frame came (monotonic)
  gint64 longest_gap_us = 0;    // video: the longest wait between two frames; reset by readers
};

class CallEndpoint {
public:
  explicit CallEndpoint(const EndpointOptions &options);
  ~CallEndpoint(); // to NULL
  CallEndpoint(const CallEndpoint &) = delete;

  GstElement *pipeline() const { return pipeline_; }
  GstElement *call() const { return call_; }
  void play();
  void stop(); // to NULL

  // Waits for a webrtccall-state message with this state; returns its reason.
  std::string wait_state(const char *state, int timeout_ms);
  // Waits for a webrtccall-state message with this state and this reason.
  void wait_state_reason(const char *state, const char *reason, int timeout_ms);
  // Waits for an error (or a warning, with end-on-hangup=false) from the
  // element; returns its message and fills `reason` from the details.
  std::string wait_error(int timeout_ms, std::string *reason = nullptr, bool warning = false);
  void wait_eos(int timeout_ms);
  // Fails the test if an error is pending on the bus.
  void expect_no_error();
  void wait_video_frames(unsigned count, int timeout_ms);
  void wait_audio_buffers(unsigned count, int timeout_ms);
  GstStructure *wait_stats(int timeout_ms); // a webrtccall-stats structure, to free

  Received video;
  Received audio;
  std::atomic<unsigned> calls_seen{0}; // video src pads added over the pipeline's life
  std::vector<std::string> incoming_callers();

private:
  GstMessage *pop(int timeout_ms, GstMessageType types);
  static void on_pad_added(GstElement *element, GstPad *pad, gpointer self);
  static void on_pad_removed(GstElement *element, GstPad *pad, gpointer self);

  GstElement *pipeline_;
  GstElement *call_; // owned by the pipeline
  GstBus *bus_;
  std::mutex lock_;
  std::vector<std::string> callers_;
  std::vector<GstMessage *> backlog_; // popped while waiting for something else
  bool encoded_;
};

// The dominant frequency of `samples` at `rate` Hz, by zero crossings.
double dominant_frequency(const std::vector<gint16> &samples, int rate);

// True if `rgb` (packed, width x height) shows videotestsrc's SMPTE bars:
// the top half's seven bars in order, each within a tolerance.
bool looks_like_smpte(const std::vector<guint8> &rgb, int width, int height, std::string &why);

// The mean colour of the frame.
void mean_colour(const std::vector<guint8> &rgb, double &r, double &g, double &b);

} // namespace webrtccall::test
