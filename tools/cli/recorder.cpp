#include "recorder.hpp"

#include <utility>

namespace webrtccall::cli {

namespace {

// How long the first track waits for the other kind: the peer's audio and
// video start together, so anything later than this is not coming.
constexpr guint kSettleMs = 2000;

// A recorder queue holds what waits for the other track; beyond this a stalled
// track (a frozen camera) drops old data instead of stalling the playback
// that shares the stream.
constexpr guint64 kQueueNs = 5 * GST_SECOND;

// Drops video until its first keyframe: the file must decode from its first
// frame. Before a keyframe rtpvp8depay's caps lack the size, which
// matroskamux requires, so those caps go too.
struct KeyframeGate {
  bool open = false;
  bool needs_size = false; // no parser follows to supply width and height
};

GstPadProbeReturn gate_probe(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *gate = static_cast<KeyframeGate *>(data);
  if (gate->open)
    return GST_PAD_PROBE_OK;
  if (auto *buffer = GST_PAD_PROBE_INFO_BUFFER(info); buffer && GST_IS_BUFFER(buffer)) {
    if (GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT))
      return GST_PAD_PROBE_DROP;
    gate->open = true;
    return GST_PAD_PROBE_OK;
  }
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (gate->needs_size && event && GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    GstCaps *caps = nullptr;
    gst_event_parse_caps(event, &caps);
    const GstStructure *s = gst_caps_get_structure(caps, 0);
    if (!gst_structure_has_field(s, "width") || !gst_structure_has_field(s, "height"))
      return GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

// What goes between the stream and the muxer, by codec: a parser where the
// depayloader's caps lack what Matroska needs (the size for VP9; for H.264
// in-band parameter sets, avc3, so a mid-call size change is allowed).
std::string chain_description(const char *media_type) {
  std::string queue = "queue leaky=downstream max-size-buffers=0 max-size-bytes=0 max-size-time=" +
                      std::to_string(kQueueNs);
  if (g_str_equal(media_type, "video/x-vp9"))
    return queue + " ! vp9parse";
  if (g_str_equal(media_type, "video/x-h264"))
    return queue + " ! h264parse ! capsfilter caps=video/x-h264,stream-format=avc3,alignment=au";
  return queue;
}

} // namespace

Recorder::Recorder(GstBin *pipeline, std::string path)
    : pipeline_(pipeline), path_(std::move(path)) {}

Recorder::~Recorder() {
  if (settle_timer_)
    g_source_remove(settle_timer_);
  for (Track *t : {&video_, &audio_})
    if (t->mux_pad)
      gst_object_unref(t->mux_pad);
}

void Recorder::start_locked() {
  mux_ = gst_element_factory_make("matroskamux", "recorder-mux");
  GstElement *file = gst_element_factory_make("filesink", "recorder-file");
  // The file starts at 0 s however far into the call the first frame came.
  g_object_set(mux_, "offset-to-zero", TRUE, nullptr);
  // async=false: a sink added to a playing pipeline must not send it back to
  // PAUSED to preroll.
  g_object_set(file, "location", path_.c_str(), "async", FALSE, nullptr);
  gst_bin_add_many(pipeline_, mux_, file, nullptr); // owned by the pipeline
  gst_element_link(mux_, file);
  video_.mux_pad = gst_element_request_pad_simple(mux_, "video_%u");
  audio_.mux_pad = gst_element_request_pad_simple(mux_, "audio_%u");
  gst_element_sync_state_with_parent(file);
  gst_element_sync_state_with_parent(mux_);
  settle_timer_ = g_timeout_add(kSettleMs, on_settle, this);
}

bool Recorder::add(MediaKind kind, GstPad *src, const GstCaps *caps) {
  std::lock_guard<std::mutex> guard(lock_);
  const char *what = kind == MediaKind::kVideo ? "video" : "audio";
  Track &t = track(kind);
  if (t.taken)
    return false;
  if (settled_) {
    g_message("the peer's %s began after the recording had started: it is not recorded", what);
    return false;
  }
  if (!caps || gst_caps_is_empty(caps)) {
    g_message("the peer's %s has no caps: it is not recorded", what);
    return false;
  }
  if (!mux_)
    start_locked();
  const char *media_type = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  g_autoptr(GError) error = nullptr;
  GstElement *chain =
      gst_parse_bin_from_description(chain_description(media_type).c_str(), TRUE, &error);
  if (!chain) {
    g_message("cannot record the peer's %s: %s", what, error->message);
    return false;
  }
  gst_bin_add(pipeline_, chain); // owned by the pipeline
  g_autoptr(GstPad) chain_src = gst_element_get_static_pad(chain, "src");
  g_autoptr(GstPad) chain_sink = gst_element_get_static_pad(chain, "sink");
  if (gst_pad_link(chain_src, t.mux_pad) != GST_PAD_LINK_OK) {
    g_message("matroskamux does not take the peer's %s (%s): it is not recorded", what, media_type);
    gst_bin_remove(pipeline_, chain);
    return false;
  }
  if (kind == MediaKind::kVideo) {
    auto *gate = new KeyframeGate;
    gate->needs_size = g_str_equal(media_type, "video/x-vp8");
    gst_pad_add_probe(
        chain_sink,
        GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
        gate_probe, gate, [](gpointer data) { delete static_cast<KeyframeGate *>(data); });
  }
  // The peer's stream ending before the other kind came: nothing more will.
  gst_pad_add_probe(
      chain_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      [](GstPad *, GstPadProbeInfo *info, gpointer self) {
        if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
          static_cast<Recorder *>(self)->settle();
        return GST_PAD_PROBE_OK;
      },
      this, nullptr);
  gst_element_sync_state_with_parent(chain);
  if (gst_pad_link(src, chain_sink) != GST_PAD_LINK_OK) {
    g_message("cannot link the peer's %s to the recording", what);
    return false;
  }
  t.taken = true;
  if (video_.taken && audio_.taken)
    settled_ = true;
  return true;
}

gboolean Recorder::on_settle(gpointer self) {
  auto *recorder = static_cast<Recorder *>(self);
  {
    std::lock_guard<std::mutex> guard(recorder->lock_);
    recorder->settle_timer_ = 0;
  }
  recorder->settle();
  return G_SOURCE_REMOVE;
}

// The main loop (the timer) or a streaming thread (EOS). A track that never
// got caps writes nothing into the file, so ending it leaves the others.
void Recorder::settle() {
  std::lock_guard<std::mutex> guard(lock_);
  settled_ = true;
  for (Track *t : {&video_, &audio_}) {
    if (t->mux_pad && !t->taken) {
      t->taken = true;
      gst_pad_send_event(t->mux_pad, gst_event_new_eos());
    }
  }
}

bool Recorder::started() const {
  std::lock_guard<std::mutex> guard(lock_);
  return mux_ != nullptr;
}

std::string Recorder::contents() const {
  std::lock_guard<std::mutex> guard(lock_);
  // An ended track is taken too: the mux pad's caps tell which got media.
  auto has_caps = [](const Track &t) {
    if (!t.mux_pad)
      return false;
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(t.mux_pad);
    return caps != nullptr;
  };
  bool video = has_caps(video_), audio = has_caps(audio_);
  if (video && audio)
    return "video and audio";
  return video ? "video" : audio ? "audio" : "nothing";
}

} // namespace webrtccall::cli
