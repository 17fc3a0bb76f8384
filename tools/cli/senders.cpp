#include "senders.hpp"

#include "decoded_streams.hpp"

#include <algorithm>
#include <string>

namespace webrtccall::cli {

namespace {

constexpr int kFramerate = 30;
constexpr int kKeyframeInterval = 2 * kFramerate; // a late decoder or recorder waits 2 s at most

// A rule of thumb for real-time VP8/H.264: 0.1 bit per pixel, 920 kbit/s at
// 640x480; kept within what a home connection carries.
int video_bitrate(const Options &o) {
  return std::clamp(o.width * o.height * kFramerate / 10, 100'000, 4'000'000);
}

// Low-latency settings (docs/element.md): no frame lookahead, real-time speed.
std::string video_encoder(const Options &o) {
  std::string bitrate = std::to_string(video_bitrate(o));
  std::string keyframes = std::to_string(kKeyframeInterval);
  switch (o.codec) {
  case VideoCodec::kVP8:
    return "vp8enc deadline=1 lag-in-frames=0 error-resilient=partitions keyframe-max-dist=" +
           keyframes + " target-bitrate=" + bitrate;
  case VideoCodec::kVP9:
    return "vp9enc deadline=1 lag-in-frames=0 cpu-used=8 row-mt=true keyframe-max-dist=" +
           keyframes + " target-bitrate=" + bitrate;
  case VideoCodec::kH264:
    // Constrained Baseline: what every browser decodes (docs/element.md).
    return "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=" + keyframes +
           " bitrate=" + std::to_string(video_bitrate(o) / 1000) +
           " ! capsfilter caps=video/x-h264,profile=constrained-baseline";
  }
  return {};
}

std::string audio_encoder(const Options &o) {
  switch (o.audio_codec) {
  case AudioCodec::kOpus:
    return "opusenc perfect-timestamp=true"; // browsers want gapless timestamps
  case AudioCodec::kPCMU:
    return "audio/x-raw,rate=8000,channels=1 ! mulawenc"; // G.711 is 8 kHz mono
  case AudioCodec::kPCMA:
    return "audio/x-raw,rate=8000,channels=1 ! alawenc";
  }
  return {};
}

// The encoder's element and the Debian package that has it, for the message
// when it is missing.
bool check_encoder(const char *factory, const char *package, SendError &error) {
  g_autoptr(GstElementFactory) found = gst_element_factory_find(factory);
  if (found)
    return true;
  error.text = std::string("the ") + factory + " encoder is missing: install " + package +
               ", or choose another codec.";
  return false;
}

bool check_encoders(const Options &o, SendError &error) {
  if (o.video.kind != SourceChoice::Kind::kNone) {
    bool ok = o.codec == VideoCodec::kH264
                  ? check_encoder("x264enc", "gstreamer1.0-plugins-ugly", error)
                  : check_encoder(o.codec == VideoCodec::kVP8 ? "vp8enc" : "vp9enc",
                                  "gstreamer1.0-plugins-good", error);
    if (!ok)
      return false;
  }
  if (o.audio.kind != SourceChoice::Kind::kNone) {
    const char *factory = o.audio_codec == AudioCodec::kOpus   ? "opusenc"
                          : o.audio_codec == AudioCodec::kPCMU ? "mulawenc"
                                                               : "alawenc";
    if (!check_encoder(factory,
                       o.audio_codec == AudioCodec::kOpus ? "gstreamer1.0-plugins-base"
                                                          : "gstreamer1.0-plugins-good",
                       error))
      return false;
  }
  return true;
}

// Owns an element made with a floating reference until a bin takes its own.
GObjectPtr<GstElement> made_element(GstElement *floating) {
  return adopt(floating ? GST_ELEMENT(gst_object_ref_sink(floating)) : nullptr);
}

// One sending branch: a source (`head` in the launch syntax, or `device`, or
// `file`), then `tail`, into `pad_template` of the call element.
struct Branch {
  std::string head;
  GObjectPtr<GstElement> device; // the camera or microphone, when it is the source
  std::string file;              // a media file, when it is the source
  std::string tail;
};

bool add_file_source(GstBin *pipeline, GstElement *tail, const Branch &branch, const char *kind,
                     SendError &error) {
  GstElement *file = gst_element_factory_make("filesrc", nullptr);
  GstElement *decoder = gst_element_factory_make("decodebin", nullptr);
  if (!file || !decoder) {
    error.text =
        "cannot read media files: filesrc or decodebin is missing (gstreamer1.0-plugins-base)";
    return false;
  }
  g_object_set(file, "location", branch.file.c_str(), nullptr);
  gst_bin_add_many(pipeline, file, decoder, nullptr); // owned by the pipeline
  gst_element_link(file, decoder);
  g_autoptr(GstPad) tail_sink = gst_element_get_static_pad(tail, "sink");
  route_decoded_streams(decoder, tail_sink, kind);
  return true;
}

bool add_branch(GstBin *pipeline, GstElement *call, const char *pad_template, Branch &&branch,
                const char *what, SendError &error) {
  std::string description = branch.head.empty() ? branch.tail : branch.head + " ! " + branch.tail;
  g_autoptr(GError) parse_error = nullptr;
  GstElement *bin = gst_parse_bin_from_description(description.c_str(), TRUE, &parse_error);
  if (!bin) {
    error.text = std::string("cannot build the ") + what + " sender: " + parse_error->message;
    return false;
  }
  gst_bin_add(pipeline, bin); // owned by the pipeline
  if (!branch.file.empty() &&
      !add_file_source(pipeline, bin, branch, g_str_equal(what, "video") ? "video/" : "audio/",
                       error))
    return false;
  if (branch.device) {
    gst_bin_add(pipeline, branch.device.get()); // the pipeline takes a reference
    if (!gst_element_link(branch.device.get(), bin)) {
      error.text = std::string("cannot link the ") + what + " device to its converter";
      return false;
    }
  }
  // A request pad comes with a reference for the caller (transfer full) besides the element's:
  // kept, the pad outlives the element (LeakSanitizer found it).
  g_autoptr(GstPad) sink = gst_element_request_pad_simple(call, pad_template);
  g_autoptr(GstPad) src = gst_element_get_static_pad(bin, "src");
  if (!sink || !src || gst_pad_link(src, sink) != GST_PAD_LINK_OK) {
    error.text = std::string("cannot link the ") + what + " sender to the webrtccall element";
    return false;
  }
  return true;
}

bool video_branch(const Options &o, const Devices &devices, Branch &branch, std::string &label,
                  SendError &error) {
  std::string size = std::to_string(o.width) + "x" + std::to_string(o.height);
  std::string raw =
      "video/x-raw,width=" + std::to_string(o.width) + ",height=" + std::to_string(o.height);
  // Cameras: the size asked for, raw or JPEG, else whatever they give.
  std::string camera_caps =
      "capsfilter caps=\"" + raw + ";image/jpeg,width=" + std::to_string(o.width) +
      ",height=" + std::to_string(o.height) + ";video/x-raw;image/jpeg\" ! decodebin ! ";
  branch.tail = "videoconvert ! videoscale ! videorate ! " + raw +
                ",format=I420,pixel-aspect-ratio=1/1,framerate=" + std::to_string(kFramerate) +
                "/1 ! queue leaky=downstream max-size-buffers=2 max-size-bytes=0 max-size-time=0 "
                "! " +
                video_encoder(o);
  std::string from;
  GstDevice *camera = nullptr;
  switch (o.video.kind) {
  case SourceChoice::Kind::kNone:
    return true;
  case SourceChoice::Kind::kAuto:
    if (!devices.cameras.empty())
      camera = devices.cameras.front().get();
    break;
  case SourceChoice::Kind::kDevice:
    camera = find_device(devices.cameras, o.video.value);
    if (!camera && g_str_has_prefix(o.video.value.c_str(), "/dev/video") &&
        g_file_test(o.video.value.c_str(), G_FILE_TEST_EXISTS)) {
      // No v4l2 device provider (or it skipped the node): open it directly.
      // A node that is not there is bad usage, said below, not a device
      // that fails once the call's pipeline starts.
      branch.head = "v4l2src device=" + o.video.value;
      branch.tail = camera_caps + branch.tail;
      from = "the camera " + o.video.value;
    } else if (!camera) {
      error.text = "--video: no camera or file named \"" + o.video.value +
                   "\"; webrtccall-cli --list-devices lists the cameras.";
      error.bad_usage = true;
      return false;
    }
    break;
  case SourceChoice::Kind::kFile:
    // Played once, in real time (clocksync): a file is not a live source.
    branch.file = o.video.value;
    branch.tail = "clocksync ! " + branch.tail;
    from = "the file " + o.video.value;
    break;
  case SourceChoice::Kind::kTest:
    break;
  }
  if (camera) {
    branch.device = made_element(gst_device_create_element(camera, nullptr));
    if (!branch.device) {
      error.text = "cannot open the camera " + describe(camera) + ".";
      return false;
    }
    branch.tail = camera_caps + branch.tail;
    from = "the camera " + describe(camera);
  } else if (branch.head.empty() && branch.file.empty()) {
    branch.head = "videotestsrc is-live=true pattern=smpte";
    from = "the test pattern";
  }
  label = std::string(codec_name(o.codec)) + " " + size + " from " + from;
  return true;
}

bool audio_branch(const Options &o, const Devices &devices, Branch &branch, std::string &label,
                  SendError &error) {
  branch.tail = "audioconvert ! audioresample ! queue leaky=downstream max-size-time=200000000 "
                "max-size-buffers=0 max-size-bytes=0 ! " +
                audio_encoder(o);
  std::string from;
  switch (o.audio.kind) {
  case SourceChoice::Kind::kNone:
    return true;
  case SourceChoice::Kind::kAuto:
    // The system's default microphone, but only when there is one: on a
    // machine without, autoaudiosrc would give silence or fail.
    if (!devices.microphones.empty()) {
      branch.head = "autoaudiosrc";
      from = "the microphone";
    }
    break;
  case SourceChoice::Kind::kDevice: {
    GstDevice *microphone = find_device(devices.microphones, o.audio.value);
    if (!microphone) {
      error.text = "--audio: no microphone or file named \"" + o.audio.value +
                   "\"; webrtccall-cli --list-devices lists the microphones.";
      error.bad_usage = true;
      return false;
    }
    branch.device = made_element(gst_device_create_element(microphone, nullptr));
    if (!branch.device) {
      error.text = "cannot open the microphone " + describe(microphone) + ".";
      return false;
    }
    from = "the microphone " + describe(microphone);
    break;
  }
  case SourceChoice::Kind::kFile:
    branch.file = o.audio.value;
    branch.tail = "clocksync ! " + branch.tail;
    from = "the file " + o.audio.value;
    break;
  case SourceChoice::Kind::kTest:
    break;
  }
  if (branch.head.empty() && !branch.device && branch.file.empty()) {
    branch.head = "audiotestsrc is-live=true wave=sine freq=440";
    from = "a 440 Hz test tone";
  }
  label = std::string(codec_name(o.audio_codec)) + " from " + from;
  return true;
}

} // namespace

bool add_senders(GstBin *pipeline, GstElement *call, const Options &options, const Devices &devices,
                 SentMedia &sent, SendError &error) {
  if (!check_encoders(options, error))
    return false;
  Branch video, audio;
  if (!video_branch(options, devices, video, sent.video, error))
    return false;
  if (!audio_branch(options, devices, audio, sent.audio, error))
    return false;
  if (!sent.video.empty() &&
      !add_branch(pipeline, call, "video_sink_%u", std::move(video), "video", error))
    return false;
  return sent.audio.empty() ||
         add_branch(pipeline, call, "audio_sink_%u", std::move(audio), "audio", error);
}

} // namespace webrtccall::cli
