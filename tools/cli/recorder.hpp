// --record: the peer's media, as it arrived (still encoded: the element runs
// with decode=false), in one Matroska file.
//
// Matroska writes its track list once, before the first frame, and the
// peer's audio and video pads appear one after the other. So the muxer asks
// for one video and one audio track at the first pad, waits up to
// kSettleMs for the other kind, then ends the track that did not come (EOS
// on a pad without caps writes no track). A stream that arrives later is not
// recorded. Video enters at its first keyframe, so the file decodes from its
// first frame; the end of the call (EOS) finalises the file.
#pragma once

#include <gst/gst.h>

#include <mutex>
#include <string>

namespace webrtccall::cli {

enum class MediaKind { kVideo, kAudio };

class Recorder {
public:
  Recorder(GstBin *pipeline, std::string path);
  ~Recorder();
  Recorder(const Recorder &) = delete;
  Recorder &operator=(const Recorder &) = delete;

  // A streaming thread: records what `src` carries (the peer's `kind`,
  // encoded as `caps` says) unless that kind is recorded already or too late.
  // Links `src` and returns true when it does.
  bool add(MediaKind kind, GstPad *src, const GstCaps *caps);

  // Whether anything went into the file, and what ("video and audio").
  bool started() const;
  std::string contents() const;
  const std::string &path() const { return path_; }

private:
  struct Track {
    GstPad *mux_pad = nullptr; // requested from the muxer; released by it
    bool taken = false;        // a stream feeds it, or it was ended: no stream may join
  };
  void start_locked();
  void settle(); // main thread: the tracks that did not come end now
  static gboolean on_settle(gpointer self);
  Track &track(MediaKind kind) { return kind == MediaKind::kVideo ? video_ : audio_; }

  GstBin *pipeline_; // owns every element added here
  std::string path_;
  mutable std::mutex lock_;   // guards everything below: streaming threads add streams
  GstElement *mux_ = nullptr; // owned by the pipeline
  Track video_, audio_;
  bool settled_ = false;
  guint settle_timer_ = 0;
};

} // namespace webrtccall::cli
