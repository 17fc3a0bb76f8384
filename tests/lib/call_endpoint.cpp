#include "call_endpoint.hpp"

#include "upstream_criticals.hpp"
#include "wait_deadline.hpp"

#include <gst/app/gstappsink.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace webrtccall::test {

namespace {

constexpr unsigned kMaxSamples = 48000 * 4;

GstFlowReturn on_video_sample(GstAppSink *sink, gpointer data) {
  auto *received = static_cast<Received *>(data);
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_OK;
  GstStructure *s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
  int width = 0, height = 0;
  gst_structure_get_int(s, "width", &width);
  gst_structure_get_int(s, "height", &height);
  GstMapInfo map;
  GstBuffer *buffer = gst_sample_get_buffer(sample);
  gint64 now = g_get_monotonic_time();
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    std::lock_guard<std::mutex> guard(received->lock);
    if (received->last_frame_us)
      received->longest_gap_us = std::max(received->longest_gap_us, now - received->last_frame_us);
    received->last_frame_us = now;
    received->width = width;
    received->height = height;
    // RGB rows are padded to 4 bytes; keep them packed.
    size_t row = size_t(width) * 3, stride = GST_ROUND_UP_4(row);
    if (height > 0 && map.size >= stride * size_t(height - 1) + row) {
      received->last_rgb.resize(row * height);
      for (int y = 0; y < height; y++)
        std::memcpy(&received->last_rgb[row * y], map.data + stride * y, row);
    }
    gst_buffer_unmap(buffer, &map);
  }
  received->buffers++;
  return GST_FLOW_OK;
}

GstFlowReturn on_audio_sample(GstAppSink *sink, gpointer data) {
  auto *received = static_cast<Received *>(data);
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_OK;
  GstMapInfo map;
  GstBuffer *buffer = gst_sample_get_buffer(sample);
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    std::lock_guard<std::mutex> guard(received->lock);
    auto *samples = reinterpret_cast<const gint16 *>(map.data);
    for (size_t i = 0; i < map.size / 2 && received->samples.size() < kMaxSamples; i++)
      received->samples.push_back(samples[i]);
    gst_buffer_unmap(buffer, &map);
  }
  received->buffers++;
  return GST_FLOW_OK;
}

// decode=false: count buffers and keep the caps they came with.
GstFlowReturn on_encoded_sample(GstAppSink *sink, gpointer data) {
  auto *received = static_cast<Received *>(data);
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_OK;
  g_autofree char *caps = gst_caps_to_string(gst_sample_get_caps(sample));
  {
    std::lock_guard<std::mutex> guard(received->lock);
    received->caps = caps;
  }
  received->buffers++;
  return GST_FLOW_OK;
}

void on_eos(GstAppSink *, gpointer data) {
  static_cast<Received *>(data)->eos = true;
}

} // namespace

CallEndpoint::CallEndpoint(const EndpointOptions &o) : encoded_(o.encoded) {
  tolerate_upstream_criticals();
  std::string description = "webrtccall name=call server=" + o.server + " user=" + o.user +
                            " stats-interval=500 " + o.properties +
                            (o.encoded ? " decode=false" : "");
  if (!o.ice_addresses.empty())
    description += " ice-addresses=" + o.ice_addresses;
  if (!o.peer.empty())
    description += " peer=" + o.peer;
  if (o.send_video)
    description += " videotestsrc is-live=true pattern=" + o.video_pattern + " " + o.video_options +
                   " ! video/x-raw,width=" + std::to_string(o.width) +
                   ",height=" + std::to_string(o.height) + ",framerate=30/1 ! " + o.video_encoder +
                   " ! call.video_sink_0";
  if (o.send_audio)
    description +=
        " audiotestsrc is-live=true wave=sine freq=" + std::to_string(o.audio_frequency) + " ! " +
        o.audio_encoder + " ! call.audio_sink_0";
  g_autoptr(GError) error = nullptr;
  pipeline_ = gst_parse_launch(description.c_str(), &error);
  if (!pipeline_ || error)
    g_error("cannot build %s: %s", description.c_str(), error ? error->message : "?");
  // A description of one element parses to that element, not a pipeline.
  if (!GST_IS_PIPELINE(pipeline_)) {
    GstElement *only = pipeline_;
    pipeline_ = gst_pipeline_new(nullptr);
    gst_bin_add(GST_BIN(pipeline_), only);
  }
  call_ = gst_bin_get_by_name(GST_BIN(pipeline_), "call");
  gst_object_unref(call_); // the pipeline keeps it
  bus_ = gst_element_get_bus(pipeline_);
  g_signal_connect(call_, "pad-added", G_CALLBACK(on_pad_added), this);
  g_signal_connect(call_, "pad-removed", G_CALLBACK(on_pad_removed), this);
  g_signal_connect(call_, "incoming-call", G_CALLBACK(+[](GstElement *, char *caller, gpointer d) {
                     auto *self = static_cast<CallEndpoint *>(d);
                     std::lock_guard<std::mutex> guard(self->lock_);
                     self->callers_.push_back(caller);
                   }),
                   this);
}

CallEndpoint::~CallEndpoint() {
  stop();
  for (GstMessage *message : backlog_)
    gst_message_unref(message);
  gst_object_unref(bus_);
  gst_object_unref(pipeline_);
}

void CallEndpoint::play() {
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    g_error("the pipeline refused to play");
}

void CallEndpoint::stop() {
  gst_element_set_state(pipeline_, GST_STATE_NULL);
}

std::vector<std::string> CallEndpoint::incoming_callers() {
  std::lock_guard<std::mutex> guard(lock_);
  return callers_;
}

// A streaming thread: link the new src pad to an analysing branch.
void CallEndpoint::on_pad_added(GstElement *, GstPad *pad, gpointer data) {
  auto *self = static_cast<CallEndpoint *>(data);
  g_autofree char *name = gst_pad_get_name(pad);
  bool is_video = g_str_has_prefix(name, "video");
  const char *branch_description =
      self->encoded_ ? "appsink name=sink sync=false"
      : is_video     ? "videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false"
                     : "audioconvert ! audioresample ! "
                       "audio/x-raw,format=S16LE,channels=1,rate=48000 ! appsink name=sink sync=false";
  g_autoptr(GError) error = nullptr;
  GstElement *branch = gst_parse_bin_from_description(branch_description, TRUE, &error);
  gst_object_set_name(GST_OBJECT(branch), (std::string("branch-") + name).c_str());
  g_object_set_data(G_OBJECT(pad), "branch", branch);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(branch), "sink");
  Received *received = is_video ? &self->video : &self->audio;
  GstAppSinkCallbacks callbacks = {};
  callbacks.eos = on_eos;
  callbacks.new_sample = self->encoded_ ? on_encoded_sample
                         : is_video     ? on_video_sample
                                        : on_audio_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, received, nullptr);
  gst_object_unref(sink);
  gst_bin_add(GST_BIN(self->pipeline_), branch);
  gst_element_sync_state_with_parent(branch);
  g_autoptr(GstPad) sinkpad = gst_element_get_static_pad(branch, "sink");
  if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK)
    g_error("cannot link %s", name);
  if (is_video)
    self->calls_seen++;
}

// end-on-hangup=false removes src pads at the end of a call: drop their branches.
void CallEndpoint::on_pad_removed(GstElement *, GstPad *pad, gpointer data) {
  auto *self = static_cast<CallEndpoint *>(data);
  auto *branch = static_cast<GstElement *>(g_object_get_data(G_OBJECT(pad), "branch"));
  if (!branch)
    return;
  gst_element_set_locked_state(branch, TRUE);
  gst_element_set_state(branch, GST_STATE_NULL);
  gst_bin_remove(GST_BIN(self->pipeline_), branch);
}

GstMessage *CallEndpoint::pop(int timeout_ms, GstMessageType types) {
  std::lock_guard<std::mutex> guard(lock_);
  for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
    if (GST_MESSAGE_TYPE(*it) & types) {
      GstMessage *message = *it;
      backlog_.erase(it);
      return message;
    }
  }
  gint64 deadline = wait_deadline(timeout_ms);
  for (;;) {
    gint64 left = deadline - g_get_monotonic_time();
    if (left <= 0)
      return nullptr;
    GstMessage *message = gst_bus_timed_pop(bus_, left * GST_USECOND);
    if (!message)
      return nullptr;
    if (GST_MESSAGE_TYPE(message) & types)
      return message;
    // Keep what a later wait may want; drop the rest.
    if (GST_MESSAGE_TYPE(message) &
        (GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_EOS | GST_MESSAGE_ELEMENT))
      backlog_.push_back(message);
    else
      gst_message_unref(message);
  }
}

static std::string describe_error(GstMessage *message) {
  g_autoptr(GError) error = nullptr;
  g_autofree char *debug = nullptr;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
    gst_message_parse_error(message, &error, &debug);
  else
    gst_message_parse_warning(message, &error, &debug);
  return std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(message))) + ": " + error->message + " (" +
         (debug ? debug : "") + ")";
}

std::string CallEndpoint::wait_state(const char *state, int timeout_ms) {
  gint64 deadline = wait_deadline(timeout_ms);
  std::vector<GstMessage *> others;
  std::string seen;
  for (;;) {
    int left = int((deadline - g_get_monotonic_time()) / 1000);
    GstMessage *message =
        pop(left > 0 ? left : 0, GstMessageType(GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR));
    if (!message)
      g_error("waited %d ms for state %s; states seen: %s", timeout_ms, state, seen.c_str());
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      std::string text = describe_error(message);
      g_error("waiting for state %s: error %s", state, text.c_str());
    }
    const GstStructure *s = gst_message_get_structure(message);
    if (gst_structure_has_name(s, "webrtccall-state")) {
      const char *got = gst_structure_get_string(s, "state");
      seen += std::string(got) + " ";
      if (g_strcmp0(got, state) == 0) {
        std::string reason = gst_structure_get_string(s, "reason");
        gst_message_unref(message);
        std::lock_guard<std::mutex> guard(lock_);
        backlog_.insert(backlog_.begin(), others.begin(), others.end());
        return reason;
      }
      gst_message_unref(message);
    } else {
      others.push_back(message); // stats: keep for wait_stats
    }
  }
}

void CallEndpoint::wait_state_reason(const char *state, const char *reason, int timeout_ms) {
  gint64 deadline = wait_deadline(timeout_ms);
  std::string seen;
  for (;;) {
    int left = int((deadline - g_get_monotonic_time()) / 1000);
    if (left <= 0)
      g_error("waited %d ms for state %s with reason %s; reasons seen: %s", timeout_ms, state,
              reason, seen.c_str());
    std::string got = wait_state(state, left);
    if (got == reason)
      return;
    seen += "'" + got + "' ";
  }
}

std::string CallEndpoint::wait_error(int timeout_ms, std::string *reason, bool warning) {
  GstMessageType type = warning ? GST_MESSAGE_WARNING : GST_MESSAGE_ERROR;
  gint64 deadline = wait_deadline(timeout_ms);
  for (;;) {
    int left = int((deadline - g_get_monotonic_time()) / 1000);
    GstMessage *message = pop(left > 0 ? left : 0, type);
    if (!message)
      g_error("waited %d ms for an %s", timeout_ms, warning ? "warning" : "error");
    if (GST_MESSAGE_SRC(message) != GST_OBJECT(call_)) {
      std::string text = describe_error(message);
      g_error("expected the element's %s, got %s", warning ? "warning" : "error", text.c_str());
    }
    g_autoptr(GError) error = nullptr;
    const GstStructure *details = nullptr;
    if (warning) {
      gst_message_parse_warning(message, &error, nullptr);
      gst_message_parse_warning_details(message, &details);
    } else {
      gst_message_parse_error(message, &error, nullptr);
      gst_message_parse_error_details(message, &details);
    }
    if (reason)
      *reason = details && gst_structure_get_string(details, "reason")
                    ? gst_structure_get_string(details, "reason")
                    : "";
    std::string text = error->message;
    gst_message_unref(message);
    return text;
  }
}

void CallEndpoint::wait_eos(int timeout_ms) {
  GstMessage *message = pop(timeout_ms, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (!message)
    g_error("waited %d ms for EOS", timeout_ms);
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    std::string text = describe_error(message);
    g_error("waiting for EOS: %s", text.c_str());
  }
  gst_message_unref(message);
}

void CallEndpoint::expect_no_error() {
  GstMessage *message = pop(0, GST_MESSAGE_ERROR);
  if (message) {
    std::string text = describe_error(message);
    g_error("unexpected error: %s", text.c_str());
  }
}

void CallEndpoint::wait_video_frames(unsigned count, int timeout_ms) {
  gint64 deadline = wait_deadline(timeout_ms);
  while (video.buffers < count) {
    expect_no_error();
    if (g_get_monotonic_time() > deadline)
      g_error("waited %d ms for %u video frames; %u came", timeout_ms, count, video.buffers.load());
    g_usleep(10000); // appsink callbacks count on streaming threads
  }
}

void CallEndpoint::wait_audio_buffers(unsigned count, int timeout_ms) {
  gint64 deadline = wait_deadline(timeout_ms);
  while (audio.buffers < count) {
    expect_no_error();
    if (g_get_monotonic_time() > deadline)
      g_error("waited %d ms for %u audio buffers; %u came", timeout_ms, count,
              audio.buffers.load());
    g_usleep(10000);
  }
}

GstStructure *CallEndpoint::wait_stats(int timeout_ms) {
  gint64 deadline = wait_deadline(timeout_ms);
  for (;;) {
    int left = int((deadline - g_get_monotonic_time()) / 1000);
    GstMessage *message = pop(left > 0 ? left : 0, GST_MESSAGE_ELEMENT);
    if (!message)
      g_error("waited %d ms for webrtccall-stats", timeout_ms);
    const GstStructure *s = gst_message_get_structure(message);
    if (gst_structure_has_name(s, "webrtccall-stats")) {
      GstStructure *copy = gst_structure_copy(s);
      gst_message_unref(message);
      return copy;
    }
    gst_message_unref(message);
  }
}

double dominant_frequency(const std::vector<gint16> &samples, int rate) {
  // Skip the start: decoders ramp in.
  size_t start = std::min<size_t>(samples.size(), rate / 10);
  unsigned crossings = 0;
  for (size_t i = start + 1; i < samples.size(); i++)
    if ((samples[i - 1] < 0) != (samples[i] < 0))
      crossings++;
  double seconds = double(samples.size() - start) / rate;
  return seconds > 0 ? crossings / 2.0 / seconds : 0;
}

void mean_colour(const std::vector<guint8> &rgb, double &r, double &g, double &b) {
  r = g = b = 0;
  size_t pixels = rgb.size() / 3;
  for (size_t i = 0; i < pixels; i++) {
    r += rgb[i * 3];
    g += rgb[i * 3 + 1];
    b += rgb[i * 3 + 2];
  }
  if (pixels) {
    r /= double(pixels);
    g /= double(pixels);
    b /= double(pixels);
  }
}

bool looks_like_smpte(const std::vector<guint8> &rgb, int width, int height, std::string &why) {
  // videotestsrc's SMPTE top bars (full level in 1.22): white, yellow, cyan,
  // green, magenta, red, blue.
  static const int kBars[7][3] = {{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
                                  {255, 0, 255},   {255, 0, 0},   {0, 0, 255}};
  if (width <= 0 || height <= 0 || rgb.size() < size_t(width) * height * 3) {
    why = "no frame";
    return false;
  }
  int y = height / 3; // inside the top bars
  for (int bar = 0; bar < 7; bar++) {
    int x = (2 * bar + 1) * width / 14; // the bar's centre
    double sum[3] = {0, 0, 0};
    int n = 0;
    for (int dy = -2; dy <= 2; dy++)
      for (int dx = -2; dx <= 2; dx++, n++)
        for (int c = 0; c < 3; c++)
          sum[c] += rgb[(size_t(y + dy) * width + (x + dx)) * 3 + c];
    for (int c = 0; c < 3; c++) {
      double value = sum[c] / n;
      if (std::fabs(value - kBars[bar][c]) > 40) {
        why = "bar " + std::to_string(bar) + " channel " + std::to_string(c) + " is " +
              std::to_string(int(value)) + ", expected " + std::to_string(kBars[bar][c]);
        return false;
      }
    }
  }
  return true;
}

} // namespace webrtccall::test
