#include "sink_input.hpp"

#include "debug.hpp"
#include "remove_element.hpp"

#include <gst/video/video.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <vector>

namespace webrtccall {

namespace {

struct IdleUnlink {
  std::mutex lock;
  std::condition_variable cond;
  bool done = false;
};

GstPadProbeReturn unlink_when_idle(GstPad *pad, GstPadProbeInfo *, gpointer data) {
  IdleUnlink &state = **static_cast<std::shared_ptr<IdleUnlink> *>(data);
  GstPad *peer = gst_pad_get_peer(pad);
  if (peer) {
    gst_pad_unlink(pad, peer);
    gst_object_unref(peer);
  }
  std::lock_guard<std::mutex> guard(state.lock);
  state.done = true;
  state.cond.notify_all();
  return GST_PAD_PROBE_REMOVE;
}

void free_idle_unlink(gpointer data) {
  delete static_cast<std::shared_ptr<IdleUnlink> *>(data);
}

} // namespace

SinkInput::SinkInput(GstBin *bin, MediaKind kind, GstPadTemplate *templ, const std::string &name)
    : bin_(bin), kind_(kind), name_(name) {
  queue_ = gst_element_factory_make("queue", nullptr);
  // Leaky: a stalled network drops old media instead of blocking the encoder.
  g_object_set(queue_, "leaky", 2 /* downstream */, "max-size-buffers", 0u, "max-size-bytes", 0u,
               "max-size-time", guint64(kQueueMs) * GST_MSECOND, nullptr);
  gst_bin_add(bin_, queue_);
  g_signal_connect(queue_, "overrun", G_CALLBACK(on_overrun), this);
  g_autoptr(GstPad) target = gst_element_get_static_pad(queue_, "sink");
  ghost_ = gst_ghost_pad_new_from_template(name.c_str(), target, templ);
  queue_src_ = adopt(gst_element_get_static_pad(queue_, "src"));
  gst_pad_add_probe(queue_src_.get(),
                    GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                    GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    gate, this, nullptr);
  gst_element_sync_state_with_parent(queue_);
}

SinkInput::~SinkInput() {
  disconnect();
  g_signal_handlers_disconnect_by_data(queue_, this);
  remove_element(bin_, queue_);
}

// The upstream thread, as the queue is about to drop its oldest buffers.
// Video frames refer to the ones before them, so whatever follows the gap
// would decode into a broken picture at the receiver, which cannot tell (the
// payloader numbers packets after the queue) and so does not ask for a
// keyframe: until the encoder's next scheduled one, seconds away. The gate
// drops the rest of the picture instead and asks for a keyframe at once.
void SinkInput::on_overrun(GstElement *, gpointer data) {
  auto *self = static_cast<SinkInput *>(data);
  if (self->kind_ != MediaKind::kVideo)
    return;
  if (!self->resync_.exchange(true))
    GST_INFO_OBJECT(self->bin_, "%s: the queue overran and drops video: waiting for a keyframe",
                    self->name_.c_str());
}

void SinkInput::set_on_eos(std::function<void()> on_eos) {
  std::lock_guard<std::mutex> guard(lock_);
  on_eos_ = std::move(on_eos);
}

GstPadProbeReturn SinkInput::gate(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *self = static_cast<SinkInput *>(data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps(event, &caps);
      std::lock_guard<std::mutex> guard(self->lock_);
      self->codec_ = codec_for_media_caps(caps);
      self->caps_.reset(gst_caps_ref(caps));
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START ||
               GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
      self->eos_ = false; // a new stream, or a restart: this pad carries media again
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
      // EOS ends the call; webrtcbin never sees it, so a later call can
      // still use the other pads.
      self->eos_ = true;
      std::function<void()> on_eos;
      {
        std::lock_guard<std::mutex> guard(self->lock_);
        on_eos = self->on_eos_;
      }
      if (on_eos)
        on_eos();
      return GST_PAD_PROBE_DROP;
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buffer = (info->type & GST_PAD_PROBE_TYPE_BUFFER)
                          ? GST_PAD_PROBE_INFO_BUFFER(info)
                          : gst_buffer_list_get(GST_PAD_PROBE_INFO_BUFFER_LIST(info), 0);
  bool keyframe = buffer && !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  if (self->resync_) {
    if (!keyframe) {
      // Between calls open() asks for the keyframe; the peer sees no gap.
      if (self->open_)
        self->request_resync_keyframe();
      return GST_PAD_PROBE_DROP;
    }
    self->resync_ = false;
    self->resync_asked_at_us_ = 0;
  }
  if (self->open_)
    return GST_PAD_PROBE_OK;
  if (self->priming_ && keyframe)
    return self->hold();
  return GST_PAD_PROBE_DROP;
}

// The queue's thread, with the keyframe prime() asked for: waits for open()
// and lets it through then, or drops it on disconnect() or after kHoldMs.
// Meanwhile what follows it waits in the queue, so that the picture goes on
// from the keyframe without a gap (kHoldMs < kQueueMs). An encoder's backlog
// (a process's first call) can overrun the queue all the same; the gate then
// waits for the next keyframe (on_overrun).
GstPadProbeReturn SinkInput::hold() {
  std::unique_lock<std::mutex> guard(hold_lock_);
  if (!priming_ || !linked_)
    return open_ ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  priming_ = false; // one keyframe per prime()
  holding_ = true;
  GST_DEBUG_OBJECT(bin_, "%s: holding the call's first keyframe", name_.c_str());
  // The call's, not whichever the input serves when the wait ends: a call
  // that ends and a next one that connects meanwhile must not get it.
  const unsigned call = calls_ended_;
  bool released = hold_cond_.wait_for(guard, std::chrono::milliseconds(kHoldMs),
                                      [&] { return open_.load() || calls_ended_ != call; });
  if (calls_ended_ != call)
    return GST_PAD_PROBE_DROP; // disconnect() has cleared holding_
  holding_ = false;
  if (released)
    GST_DEBUG_OBJECT(bin_, "%s: the call's first keyframe goes", name_.c_str());
  else
    GST_INFO_OBJECT(bin_, "%s: the call's path was not up within %u ms: keyframe dropped",
                    name_.c_str(), kHoldMs);
  return open_ ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

const Codec *SinkInput::codec() {
  {
    std::lock_guard<std::mutex> guard(lock_);
    if (codec_)
      return codec_;
  }
  // No data yet: ask upstream what it can make. An encoder answers with its
  // fixed media type; anything ambiguous waits for the caps event.
  g_autoptr(GstCaps) caps = gst_pad_peer_query_caps(ghost_, nullptr);
  if (!caps || gst_caps_is_any(caps) || gst_caps_is_empty(caps))
    return nullptr;
  const Codec *first = codec_for_media_caps(caps);
  for (guint i = 1; first && i < gst_caps_get_size(caps); i++) {
    g_autoptr(GstCaps) one = gst_caps_copy_nth(caps, i);
    if (codec_for_media_caps(one) != first)
      return nullptr;
  }
  return first;
}

bool SinkInput::has_stream_caps() {
  std::lock_guard<std::mutex> guard(lock_);
  return caps_ != nullptr;
}

GstCaps *SinkInput::caps() {
  {
    std::lock_guard<std::mutex> guard(lock_);
    if (caps_)
      return gst_caps_ref(caps_.get());
  }
  GstCaps *caps = gst_pad_peer_query_caps(ghost_, nullptr);
  if (caps && (gst_caps_is_any(caps) || gst_caps_is_empty(caps)))
    gst_clear_caps(&caps);
  return caps;
}

void SinkInput::connect(GstPad *payloader_sink) {
  if (gst_pad_link(queue_src_.get(), payloader_sink) != GST_PAD_LINK_OK) {
    GST_WARNING_OBJECT(bin_, "%s: cannot link to the payloader", name_.c_str());
    return;
  }
  {
    std::lock_guard<std::mutex> guard(hold_lock_);
    linked_ = true;
  }
  // The stream's sticky events would reach the new payloader with the next
  // buffer, up to a frame away (33 ms at 30 fps), and webrtcbin waits for the
  // payloader's caps (they carry the SSRC) before the offer or answer can be
  // made. Sent now, the payloader has them at once. Only what starts a
  // stream: never the EOS of one that ended. If the queue's thread pushes
  // them too meanwhile, the payloader gets the same events twice, harmlessly.
  std::vector<GstEvent *> events;
  gst_pad_sticky_events_foreach(
      queue_src_.get(),
      [](GstPad *, GstEvent **event, gpointer data) -> gboolean {
        switch (GST_EVENT_TYPE(*event)) {
        case GST_EVENT_STREAM_START:
        case GST_EVENT_CAPS:
        case GST_EVENT_SEGMENT:
          static_cast<std::vector<GstEvent *> *>(data)->push_back(gst_event_ref(*event));
          break;
        default:
          break;
        }
        return TRUE;
      },
      &events);
  for (GstEvent *event : events)
    gst_pad_send_event(payloader_sink, event);
  GST_DEBUG_OBJECT(bin_, "%s: %zu sticky events sent to the new payloader", name_.c_str(),
                   events.size());
}

void SinkInput::request_keyframe() {
  GST_DEBUG_OBJECT(bin_, "%s: asking the encoder for a keyframe", name_.c_str());
  gst_pad_send_event(queue_src_.get(),
                     gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
}

// The queue's thread, waiting for a keyframe after an overrun: asks for one
// at once, and again every kQueueMs until it comes. A keyframe asked for
// reaches the gate within the queue's length unless the queue dropped it
// too (a CPU too busy to keep up overruns it again and again) or the
// encoder never made it; the next scheduled one is seconds away (128 frames
// at vp8enc's defaults). No faster: each keyframe costs the encoder more,
// on a CPU that already cannot keep up.
void SinkInput::request_resync_keyframe() {
  gint64 now = g_get_monotonic_time();
  if (resync_asked_at_us_ != 0 && now - resync_asked_at_us_ < gint64(kQueueMs) * 1000)
    return;
  resync_asked_at_us_ = now;
  request_keyframe();
}

void SinkInput::prime() {
  if (kind_ != MediaKind::kVideo)
    return;
  {
    std::lock_guard<std::mutex> guard(hold_lock_);
    if (open_ || !linked_ || priming_ || holding_)
      return; // no call yet, already open, or a keyframe on its way or held
    priming_ = true;
  }
  request_keyframe();
}

void SinkInput::open() {
  bool keyframe_coming;
  {
    std::lock_guard<std::mutex> guard(hold_lock_);
    open_ = true;
    // Held now, or asked for and not here yet: it goes through as it comes.
    keyframe_coming = holding_ || priming_;
    priming_ = false;
    hold_cond_.notify_all();
  }
  // The receiver can show nothing until a keyframe: ask the encoder for one
  // now rather than wait for its next scheduled keyframe or the peer's PLI.
  if (kind_ == MediaKind::kVideo && !keyframe_coming)
    request_keyframe();
}

void SinkInput::disconnect() {
  {
    std::lock_guard<std::mutex> guard(hold_lock_);
    open_ = false;
    linked_ = false;
    // A keyframe held now is dropped, and is not the next call's.
    priming_ = holding_ = false;
    calls_ended_++;
    hold_cond_.notify_all();
  }
  g_autoptr(GstPad) peer = gst_pad_get_peer(queue_src_.get());
  if (!peer)
    return;
  // webrtcbin 1.22 puts a clocksync on each of its sink pads, which holds
  // every push while the pipeline is PAUSED: the queue would not go idle
  // before the wait below gave up (the element stopping from PAUSED did wait
  // 2 s per input, under the sanitizers). That includes a pipeline on its
  // way down, whose children are PAUSED before the element is. The push held
  // there comes back FLUSHING when the call's webrtcbin stops, which stops
  // the queue until the element next starts, as it would have after the wait.
  GST_OBJECT_LOCK(bin_);
  bool flowing =
      GST_STATE(bin_) == GST_STATE_PLAYING && GST_STATE_TARGET(bin_) == GST_STATE_PLAYING;
  GST_OBJECT_UNLOCK(bin_);
  if (!flowing) {
    gst_pad_unlink(queue_src_.get(), peer);
    return;
  }
  // Unlink only between buffers: a buffer caught half-way into a payloader
  // that is then shut down would come back FLUSHING and stop the queue for
  // good. The probe may run on the queue's thread after a timeout here, so
  // the state it signals is shared.
  auto state = std::make_shared<IdleUnlink>();
  gulong probe = gst_pad_add_probe(queue_src_.get(), GST_PAD_PROBE_TYPE_IDLE, unlink_when_idle,
                                   new std::shared_ptr<IdleUnlink>(state), free_idle_unlink);
  std::unique_lock<std::mutex> guard(state->lock);
  if (state->cond.wait_for(guard, std::chrono::seconds(2), [&] { return state->done; }))
    return;
  guard.unlock();
  GST_WARNING_OBJECT(bin_, "%s: the queue stayed busy for 2 s; unlinking anyway", name_.c_str());
  gst_pad_remove_probe(queue_src_.get(), probe);
  gst_pad_unlink(queue_src_.get(), peer);
}

} // namespace webrtccall
