// One request sink pad of the element: encoded media in, through a queue,
// to whichever call is current. Between calls its buffers are dropped, so
// upstream keeps running and never sees an error.
//
//   video_sink_0 (ghost) -> queue -> [gate] -> per-call payloader -> webrtcbin
#pragma once

#include "codecs.hpp"
#include "common/gobject_ptr.hpp"

#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace webrtccall {

class SinkInput {
public:
  // Creates the queue inside `bin` and the ghost pad (not yet added to it).
  SinkInput(GstBin *bin, MediaKind kind, GstPadTemplate *templ, const std::string &name);
  ~SinkInput(); // removes the queue; the caller removes the ghost pad
  SinkInput(const SinkInput &) = delete;
  SinkInput &operator=(const SinkInput &) = delete;

  GstPad *ghost() const { return ghost_; }
  MediaKind kind() const { return kind_; }
  const std::string &name() const { return name_; }

  // What upstream sends: from the caps event if one came, else from a caps
  // query (an encoder's template says what it makes). nullptr: not known.
  const Codec *codec();
  // The encoded caps behind codec(), for what the codec table cannot say
  // (H.264's profile). Transfer full; nullptr if not known.
  GstCaps *caps();
  // Whether the stream's own caps (a caps event) have come.
  bool has_stream_caps();

  // Links the queue to a call's payloader; buffers still drop until open().
  void connect(GstPad *payloader_sink);
  // Asks the encoder for a keyframe while the call's media path is being set
  // up (ICE and DTLS), and holds it at the gate, up to kHoldMs, for open():
  // the call's first picture then leaves the moment the path is up, instead
  // of a frame interval and an encoding later. Video only. While a keyframe
  // is on its way or held, another prime() does nothing; one not let through
  // in time is dropped, and the next prime() or open() asks again.
  void prime();
  // Lets buffers through, starting with a fresh keyframe: the one prime()
  // asked for, else one asked for now. Called once the call's media path is
  // up: before that webrtcbin 1.22 holds pushes on its sink pads, and a push
  // held there would come back FLUSHING at teardown and stop the queue for
  // good.
  void open();
  // Stops buffers and unlinks once the queue's thread is between buffers.
  void disconnect();

  bool at_eos() const { return eos_.load(); }
  // Called on the streaming thread when EOS arrives (the call hangs up on EOS).
  void set_on_eos(std::function<void()> on_eos);

private:
  static GstPadProbeReturn gate(GstPad *pad, GstPadProbeInfo *info, gpointer self);
  static void on_overrun(GstElement *queue, gpointer self);
  GstPadProbeReturn hold();
  void request_keyframe();
  void request_resync_keyframe();

  // What the queue keeps before it drops its oldest (a stalled path), and
  // how long the gate holds a call's first keyframe, with what follows it
  // waiting in the queue: the hold must end before the queue drops any.
  static constexpr unsigned kQueueMs = 200;
  static constexpr unsigned kHoldMs = 150;
  static_assert(kHoldMs < kQueueMs);

  GstBin *bin_; // the element; outlives us
  MediaKind kind_;
  std::string name_;
  GstElement *queue_; // owned by the bin
  GstPad *ghost_;     // owned by the element once added
  GObjectPtr<GstPad> queue_src_;
  std::atomic<bool> open_{false};
  // prime() and hold(): guarded by hold_lock_ (open_ is written under it too).
  std::mutex hold_lock_;
  std::condition_variable hold_cond_;
  bool linked_ = false;              // connect()ed to a call's payloader
  std::atomic<bool> priming_{false}; // a keyframe was asked for, to be held
  bool holding_ = false;             // the queue's thread holds it now
  unsigned calls_ended_ = 0;         // disconnect()s so far
  // The queue dropped video (on_overrun): the gate drops frames until a
  // keyframe, asked for while a call is open (request_resync_keyframe; when
  // last, on the queue's thread only).
  std::atomic<bool> resync_{false};
  gint64 resync_asked_at_us_ = 0;
  std::atomic<bool> eos_{false};
  std::mutex lock_; // guards codec_, caps_ and on_eos_
  const Codec *codec_ = nullptr;
  std::unique_ptr<GstCaps, decltype(&gst_caps_unref)> caps_{nullptr, gst_caps_unref};
  std::function<void()> on_eos_;
};

} // namespace webrtccall
