#include "endpoint.hpp"
#include "stamp.hpp"

#include <gst/video/video.h>

#include <utility>

namespace webrtccall::bench {

double wall_ms() {
  return g_get_real_time() / 1000.0;
}

void set_jitterbuffer_faststart(GstElement *bin, unsigned packets) {
  g_signal_connect(bin, "deep-element-added",
                   G_CALLBACK(+[](GstBin *, GstBin *, GstElement *element, gpointer data) {
                     GstElementFactory *factory = gst_element_get_factory(element);
                     if (factory && g_str_equal(GST_OBJECT_NAME(factory), "rtpjitterbuffer"))
                       g_object_set(element, "faststart-min-packets", GPOINTER_TO_UINT(data),
                                    nullptr);
                   }),
                   GUINT_TO_POINTER(packets));
}

namespace {

std::string encoder_description(const EndpointConfig &c) {
  if (c.codec == "h264") {
    // As element-peer and docs/element.md: no B-frames, Constrained Baseline.
    std::string e = "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60";
    if (c.bitrate_kbps)
      e += " bitrate=" + std::to_string(c.bitrate_kbps);
    return e + " " + c.encoder_options + " ! video/x-h264,profile=constrained-baseline";
  }
  // README.md's line is `vp8enc deadline=1`; docs/element.md advises
  // lag-in-frames=0 for low delay.
  std::string e = "vp8enc deadline=1";
  if (c.low_latency)
    e += " lag-in-frames=0";
  if (c.bitrate_kbps)
    e += " target-bitrate=" + std::to_string(c.bitrate_kbps * 1000);
  return e + " " + c.encoder_options;
}

} // namespace

struct EndpointProbes {
  // Runs on the source's streaming thread: the capture time goes into the frame.
  static GstPadProbeReturn stamp(GstPad *pad, GstPadProbeInfo *info, gpointer) {
    GstBuffer *buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
    GST_PAD_PROBE_INFO_DATA(info) = buffer;
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
    GstVideoInfo vinfo;
    GstVideoFrame frame;
    if (caps && gst_video_info_from_caps(&vinfo, caps) &&
        gst_video_frame_map(&frame, &vinfo, buffer, GST_MAP_READWRITE)) {
      draw_stamp(&frame, stamp_now());
      gst_video_frame_unmap(&frame);
    }
    return GST_PAD_PROBE_OK;
  }

  // On the element's video src pad: the first decoded frame of the call.
  static GstPadProbeReturn decoded(GstPad *, GstPadProbeInfo *, gpointer data) {
    auto *self = static_cast<Endpoint *>(data);
    self->frames++;
    std::lock_guard<std::mutex> guard(self->lock_);
    if (self->first_pending_) {
      self->first_pending_ = false;
      self->first_frame_ms = wall_ms();
    }
    return GST_PAD_PROBE_OK;
  }

  // fakesink's handoff, after its clock wait: the frame as a display would show it.
  static void shown(GstElement *, GstBuffer *buffer, GstPad *pad, gpointer data) {
    auto *self = static_cast<Endpoint *>(data);
    uint32_t now = stamp_now();
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
    GstVideoInfo vinfo;
    GstVideoFrame frame;
    if (!caps || !gst_video_info_from_caps(&vinfo, caps) ||
        !gst_video_frame_map(&frame, &vinfo, buffer, GST_MAP_READ))
      return;
    auto stamp = read_stamp(&frame);
    gst_video_frame_unmap(&frame);
    std::lock_guard<std::mutex> guard(self->lock_);
    int64_t age = stamp ? stamp_age_us(*stamp, now) : -1;
    if (age < 0 || age > 10 * G_USEC_PER_SEC)
      self->unreadable_++;
    else
      self->latencies_.push_back(age / 1000.0);
  }
};

Endpoint::Endpoint(const EndpointConfig &c, StateHook on_state)
    : config_(c), on_state_(std::move(on_state)) {
  std::string d = "webrtccall name=call server=" + c.server + " user=" + c.user +
                  " stats-interval=0 end-on-hangup=false";
  if (!c.ice_addresses.empty())
    d += " ice-addresses=" + c.ice_addresses;
  if (c.latency_ms >= 0)
    d += " latency=" + std::to_string(c.latency_ms);
  if (!c.lip_sync)
    d += " lip-sync=false";
  if (c.ice_pacing_ms >= 0)
    d += " ice-pacing=" + std::to_string(c.ice_pacing_ms);
  std::string raw = "video/x-raw,format=I420,width=" + std::to_string(c.width) +
                    ",height=" + std::to_string(c.height) + ",framerate=" + std::to_string(c.fps) +
                    "/1";
  d += " videotestsrc is-live=true pattern=smpte";
  if (c.motion)
    d += " horizontal-speed=4";
  d += " ! capsfilter name=raw caps=\"" + raw + "\" ! " + encoder_description(c) +
       " ! call.video_sink_0";
  if (c.audio)
    d += " audiotestsrc is-live=true wave=sine freq=440 ! opusenc perfect-timestamp=true ! "
         "call.audio_sink_0";
  g_autoptr(GError) error = nullptr;
  pipeline_ = gst_parse_launch(d.c_str(), &error);
  if (!pipeline_ || error)
    g_error("cannot build %s: %s", d.c_str(), error ? error->message : "?");
  call_ = gst_bin_get_by_name(GST_BIN(pipeline_), "call");
  gst_object_unref(call_); // the pipeline keeps it
  if (c.stamp) {
    GstElement *raw_caps = gst_bin_get_by_name(GST_BIN(pipeline_), "raw");
    g_autoptr(GstPad) pad = gst_element_get_static_pad(raw_caps, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, EndpointProbes::stamp, nullptr, nullptr);
    gst_object_unref(raw_caps);
  }
  g_signal_connect(call_, "pad-added", G_CALLBACK(on_pad_added), this);
  if (c.faststart_packets)
    set_jitterbuffer_faststart(pipeline_, c.faststart_packets);
  g_autoptr(GstBus) bus = gst_element_get_bus(pipeline_);
  bus_watch_ = gst_bus_add_watch(bus, on_bus, this);
}

Endpoint::~Endpoint() {
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  g_source_remove(bus_watch_);
  gst_object_unref(pipeline_);
}

void Endpoint::play() {
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    g_error("%s: the pipeline refused to play", config_.user.c_str());
}

void Endpoint::call(const std::string &peer) {
  {
    std::lock_guard<std::mutex> guard(lock_);
    first_pending_ = true;
    first_frame_ms = 0;
  }
  call_ms = wall_ms();
  g_signal_emit_by_name(call_, "call", peer.c_str());
}

void Endpoint::hangup() {
  g_signal_emit_by_name(call_, "hangup");
}

std::vector<double> Endpoint::take_latencies(unsigned *unreadable) {
  std::lock_guard<std::mutex> guard(lock_);
  if (unreadable)
    *unreadable = unreadable_;
  unreadable_ = 0;
  return std::exchange(latencies_, {});
}

// A streaming thread: a sink for the new src pad.
void Endpoint::on_pad_added(GstElement *, GstPad *pad, gpointer data) {
  auto *self = static_cast<Endpoint *>(data);
  g_autofree char *name = gst_pad_get_name(pad);
  bool video = g_str_has_prefix(name, "video");
  if (video) {
    std::lock_guard<std::mutex> guard(self->lock_);
    // The callee's first frame counts from when its call began: from the
    // pad's arrival, at the latest (it has no call() of its own).
    if (self->call_ms == 0 || !self->first_pending_) {
      self->first_pending_ = true;
      self->first_frame_ms = 0;
    }
  }
  if (video)
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, EndpointProbes::decoded, self, nullptr);
  std::string sync = self->config_.sink_sync ? "true" : "false";
  // Both sinks: the pipeline's latency is the largest any sink needs.
  if (self->config_.processing_deadline_ms >= 0)
    sync += " processing-deadline=" +
            std::to_string(guint64(self->config_.processing_deadline_ms) * GST_MSECOND);
  std::string description =
      video ? (self->config_.stamp ? "videoconvert ! video/x-raw,format=I420 ! fakesink name=sink "
                                     "signal-handoffs=true sync=" +
                                         sync
                                   : "fakesink name=sink sync=" + sync)
            : "fakesink name=sink sync=" + sync;
  g_autoptr(GError) error = nullptr;
  GstElement *branch = gst_parse_bin_from_description(description.c_str(), TRUE, &error);
  if (!branch)
    g_error("cannot build %s: %s", description.c_str(), error->message);
  if (video && self->config_.stamp) {
    GstElement *sink = gst_bin_get_by_name(GST_BIN(branch), "sink");
    g_signal_connect(sink, "handoff", G_CALLBACK(EndpointProbes::shown), self);
    gst_object_unref(sink);
  }
  if (!video) {
    GstElement *sink = gst_bin_get_by_name(GST_BIN(branch), "sink");
    g_autoptr(GstPad) sinkpad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(
        sinkpad, GST_PAD_PROBE_TYPE_BUFFER,
        +[](GstPad *, GstPadProbeInfo *, gpointer d) {
          static_cast<Endpoint *>(d)->audio_buffers++;
          return GST_PAD_PROBE_OK;
        },
        self, nullptr);
    gst_object_unref(sink);
  }
  gst_bin_add(GST_BIN(self->pipeline_), branch);
  gst_element_sync_state_with_parent(branch);
  g_autoptr(GstPad) sinkpad = gst_element_get_static_pad(branch, "sink");
  if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK)
    g_error("cannot link %s", name);
  // end-on-hangup=false removes the pad at the call's end; its branch goes with it.
  g_signal_connect(pad, "unlinked", G_CALLBACK(+[](GstPad *, GstPad *peer, gpointer) {
                     GstElement *old = GST_ELEMENT(gst_object_get_parent(GST_OBJECT(peer)));
                     if (!old)
                       return;
                     gst_element_call_async(
                         old,
                         [](GstElement *branch, gpointer) {
                           gst_element_set_locked_state(branch, TRUE);
                           gst_element_set_state(branch, GST_STATE_NULL);
                           if (GstObject *parent = gst_object_get_parent(GST_OBJECT(branch))) {
                             gst_bin_remove(GST_BIN(parent), branch);
                             gst_object_unref(parent);
                           }
                         },
                         nullptr, nullptr);
                     gst_object_unref(old);
                   }),
                   nullptr);
}

gboolean Endpoint::on_bus(GstBus *, GstMessage *message, gpointer data) {
  auto *self = static_cast<Endpoint *>(data);
  switch (GST_MESSAGE_TYPE(message)) {
  case GST_MESSAGE_LATENCY:
    // What gst-launch-1.0 does: sinks that sync need the pipeline's latency
    // redistributed once the call's jitter buffer joins.
    gst_bin_recalculate_latency(GST_BIN(self->pipeline_));
    break;
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(message);
    if (gst_structure_has_name(s, "webrtccall-state") && self->on_state_) {
      const char *state = gst_structure_get_string(s, "state");
      const char *reason = gst_structure_get_string(s, "reason");
      self->on_state_(state ? state : "", reason ? reason : "");
    }
    break;
  }
  case GST_MESSAGE_ERROR:
  case GST_MESSAGE_WARNING: {
    g_autoptr(GError) error = nullptr;
    g_autofree char *debug = nullptr;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
      gst_message_parse_error(message, &error, &debug);
    else
      gst_message_parse_warning(message, &error, &debug);
    g_printerr("%s: %s: %s (%s)\n", self->config_.user.c_str(), GST_MESSAGE_TYPE_NAME(message),
               error->message, debug ? debug : "");
    if (self->on_state_ && GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
      self->on_state_("error", error->message);
    break;
  }
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

} // namespace webrtccall::bench
