// The machine's cameras, microphones and speakers, as GStreamer's device
// monitor finds them, and whether there is a display to show video on.
#pragma once

#include "common/gobject_ptr.hpp"

#include <gst/gst.h>

#include <string>
#include <vector>

namespace webrtccall::cli {

using DevicePtr = GObjectPtr<GstDevice>;

struct Devices {
  std::vector<DevicePtr> cameras;     // Video/Source
  std::vector<DevicePtr> microphones; // Audio/Source
  std::vector<DevicePtr> speakers;    // Audio/Sink
};

// Asks every device provider once (v4l2, PulseAudio, ...). Providers that
// cannot start (no sound server, say) just add nothing.
Devices find_devices();

// The device whose name (as listed) or path (/dev/video0, a PulseAudio
// source name) is `wanted`; nullptr if none.
GstDevice *find_device(const std::vector<DevicePtr> &devices, const std::string &wanted);

// "Name (path)", for listings and progress lines.
std::string describe(GstDevice *device);

// The video sink that opens this session's display (Wayland or X11), or ""
// when there is none. Tried one by one rather than with autovideosink: it
// goes on to dfbvideosink, which crashes (DirectFB) when the display named by
// DISPLAY cannot be opened.
std::string find_video_sink();

// --list-devices.
void print_devices(const Devices &devices);

} // namespace webrtccall::cli
