// What this endpoint sends: for video and for audio, a source (test, device
// or file) converted and encoded as the options say, linked to a sink pad of
// the webrtccall element.
#pragma once

#include "devices.hpp"
#include "options.hpp"

#include <gst/gst.h>

#include <string>

namespace webrtccall::cli {

// For the terminal: "VP8 640x480 from the test pattern", empty when not sent.
struct SentMedia {
  std::string video;
  std::string audio;
};

struct SendError {
  std::string text;       // what is missing (a device, a plugin) and what to do
  bool bad_usage = false; // the command line named a device that is not there
};

// Adds the sending branches to `pipeline`, linked to `call`. False with
// `error` set when they cannot be built.
bool add_senders(GstBin *pipeline, GstElement *call, const Options &options, const Devices &devices,
                 SentMedia &sent, SendError &error);

} // namespace webrtccall::cli
