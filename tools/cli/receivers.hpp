// What the peer sends, from the webrtccall element's src pads. The element
// runs with decode=false, so each stream arrives encoded: it is decoded here
// only to be shown (`video_sink`) or played (autoaudiosink), goes to a
// fakesink when there is nowhere to show or play it, and is recorded as it
// came with --record.
#pragma once

#include "recorder.hpp"

#include <gst/gst.h>

#include <string>
#include <utility>

namespace webrtccall::cli {

// Posted on the bus (an application message) each time a received stream's
// format is known or changes: "kind" ("video" or "audio"), "caps" (GstCaps).
constexpr const char *kReceivedFormatMessage = "webrtccall-cli-received-format";

class Receivers {
public:
  // `video_sink`: a sink factory that opens the display, or "" to show
  // nothing. `recorder` may be null (no --record); it outlives the
  // pipeline's streaming.
  Receivers(GstBin *pipeline, std::string video_sink, bool play_audio, Recorder *recorder)
      : pipeline_(pipeline), video_sink_(std::move(video_sink)), play_audio_(play_audio),
        recorder_(recorder) {}

  // The element's pad-added, on a streaming thread: the stream must be linked
  // before this returns, or its first buffer fails as not-linked.
  static void on_pad_added(GstElement *call, GstPad *pad, gpointer self);

private:
  void add(GstPad *src);
  GstElement *make_player(MediaKind kind);

  GstBin *pipeline_; // owns every element added here
  std::string video_sink_;
  bool play_audio_;
  Recorder *recorder_;
};

} // namespace webrtccall::cli
