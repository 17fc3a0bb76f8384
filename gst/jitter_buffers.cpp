#include "jitter_buffers.hpp"

#include "debug.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>

namespace webrtccall {

namespace {

// `value` of an rtcp-fb attribute: "<pt or *> nack", with nothing after
// (that would be "nack pli", a keyframe request, not a retransmission one).
bool is_generic_nack(const char *value) {
  const char *space = value ? std::strchr(value, ' ') : nullptr;
  return space && std::strcmp(space + 1, "nack") == 0;
}

bool has_generic_nack(const GstSDPMedia *media) {
  for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++) {
    const GstSDPAttribute *attribute = gst_sdp_media_get_attribute(media, i);
    if (g_strcmp0(attribute->key, "rtcp-fb") == 0 && is_generic_nack(attribute->value))
      return true;
  }
  return false;
}

// How long a jitter buffer's first packet waits for the events ahead of it.
// Its thread takes them out in well under a millisecond when it gets a CPU;
// past this the fast start would be missed anyway, waiting or not.
constexpr auto kEventsOutWait = std::chrono::milliseconds(20);

// Shared by a jitter buffer's two probes, which may outlive each other.
struct EventsOut {
  std::mutex lock;
  std::condition_variable cond;
  bool out = false;
};

using SharedEventsOut = std::shared_ptr<EventsOut>;

void free_events_out(gpointer data) {
  delete static_cast<SharedEventsOut *>(data);
}

} // namespace

void start_on_first_burst(GstElement *jitterbuffer) {
  g_autoptr(GstPad) sink = gst_element_get_static_pad(jitterbuffer, "sink");
  g_autoptr(GstPad) src = gst_element_get_static_pad(jitterbuffer, "src");
  if (!sink || !src)
    return;
  auto state = std::make_shared<EventsOut>();
  // The jitter buffer's thread: the segment is the last of the stream's
  // first events.
  gst_pad_add_probe(
      src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      +[](GstPad *, GstPadProbeInfo *info, gpointer data) {
        if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_SEGMENT)
          return GST_PAD_PROBE_OK;
        EventsOut &events = **static_cast<SharedEventsOut *>(data);
        std::lock_guard<std::mutex> guard(events.lock);
        events.out = true;
        events.cond.notify_all();
        return GST_PAD_PROBE_REMOVE;
      },
      new SharedEventsOut(state), free_events_out);
  // The receiving thread, with the first packet: the events went into the
  // queue as it was pushed, just before this runs.
  gst_pad_add_probe(
      sink, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
      +[](GstPad *, GstPadProbeInfo *, gpointer data) {
        EventsOut &events = **static_cast<SharedEventsOut *>(data);
        std::unique_lock<std::mutex> guard(events.lock);
        events.cond.wait_for(guard, kEventsOutWait, [&] { return events.out; });
        return GST_PAD_PROBE_REMOVE;
      },
      new SharedEventsOut(state), free_events_out);
}

std::set<guint32> ssrcs_with_nack(const GstSDPMessage *description) {
  std::set<guint32> ssrcs;
  for (guint m = 0; m < gst_sdp_message_medias_len(description); m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media(description, m);
    if (gst_sdp_media_get_port(media) == 0 || !has_generic_nack(media))
      continue;
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++) {
      const GstSDPAttribute *attribute = gst_sdp_media_get_attribute(media, i);
      if (g_strcmp0(attribute->key, "ssrc") != 0 || !attribute->value)
        continue;
      char *end = nullptr;
      unsigned long ssrc = std::strtoul(attribute->value, &end, 10);
      if (end != attribute->value && (*end == ' ' || *end == '\0') && ssrc <= G_MAXUINT32)
        ssrcs.insert(guint32(ssrc));
    }
  }
  return ssrcs;
}

// Browsers' wait before the round trip is known (libwebrtc's NACK module).
constexpr guint kRetryWaitUnknownRttMs = 100;
// Never asking again sooner than this, however short the round trip: on
// loopback the reports give 0 ms.
constexpr guint kRetryWaitMinMs = 10;

guint JitterBufferSetup::retry_wait_ms(double rtt_ms) {
  if (rtt_ms < 0)
    return kRetryWaitUnknownRttMs;
  // A quarter over the round trip: the answer's own jitter, and the peer's
  // time to send it.
  return std::max(kRetryWaitMinMs, guint(std::ceil(rtt_ms * 1.25)));
}

void JitterBufferSetup::on_new_jitter_buffer(Shared &shared, GstElement *jitterbuffer, guint ssrc) {
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(jitterbuffer), "faststart-min-packets")) {
    g_object_set(jitterbuffer, "faststart-min-packets", 2u, nullptr);
    start_on_first_burst(jitterbuffer);
  }
  std::lock_guard<std::mutex> guard(shared.lock);
  if (!shared.ssrcs.count(ssrc))
    return;
  g_object_set(jitterbuffer, "do-retransmission", TRUE, "rtx-min-retry-timeout",
               gint(shared.retry_ms), nullptr);
  shared.retransmitting.push_back(std::make_unique<WeakJitterBuffer>(jitterbuffer));
}

// An RTCP packet came from the peer's `ssrc`; when it had a report block on
// one of our streams, rtpsession worked the round trip out of it.
void JitterBufferSetup::on_report(Shared &shared, GstElement *rtpbin, guint session, guint ssrc) {
  GObject *rtp_session = nullptr;
  g_signal_emit_by_name(rtpbin, "get-internal-session", session, &rtp_session);
  if (!rtp_session)
    return;
  GObject *source = nullptr;
  g_signal_emit_by_name(rtp_session, "get-source-by-ssrc", ssrc, &source);
  g_object_unref(rtp_session);
  if (!source)
    return;
  GstStructure *stats = nullptr;
  g_object_get(source, "stats", &stats, nullptr);
  g_object_unref(source);
  gboolean have_report_block = FALSE;
  guint round_trip = 0;  // 1/65536 s, as in RTCP
  guint last_report = 0; // LSR: when our last sender report they had was sent
  // A block written before the peer had any sender report of ours has an
  // LSR of 0, and rtpsession then gives a round trip of 0: not a measure.
  bool known =
      stats &&
      gst_structure_get(stats, "have-rb", G_TYPE_BOOLEAN, &have_report_block, "rb-round-trip",
                        G_TYPE_UINT, &round_trip, "rb-lsr", G_TYPE_UINT, &last_report, nullptr) &&
      have_report_block && last_report != 0;
  if (stats)
    gst_structure_free(stats);
  if (!known)
    return;
  double rtt_ms = round_trip * 1000.0 / 65536;
  guint wait_ms = retry_wait_ms(rtt_ms);
  std::lock_guard<std::mutex> guard(shared.lock);
  if (wait_ms == shared.retry_ms)
    return;
  GST_DEBUG_OBJECT(rtpbin, "round trip %.1f ms: lost packets asked for again after %u ms", rtt_ms,
                   wait_ms);
  shared.retry_ms = wait_ms;
  auto &buffers = shared.retransmitting;
  for (auto it = buffers.begin(); it != buffers.end();) {
    if (GstElement *jitterbuffer = (*it)->get()) {
      g_object_set(jitterbuffer, "rtx-min-retry-timeout", gint(wait_ms), nullptr);
      gst_object_unref(jitterbuffer);
      ++it;
    } else {
      it = buffers.erase(it);
    }
  }
}

bool JitterBufferSetup::watch(GstElement *webrtcbin, bool lip_sync) {
  GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtcbin), "rtpbin");
  if (!rtpbin)
    return false;
  // rtpbin has no switch for lip-sync, but ignores any offset larger than
  // max-ts-offset (when it is not 0): at 1 ns, every offset is ignored.
  if (!lip_sync && g_object_class_find_property(G_OBJECT_GET_CLASS(rtpbin), "max-ts-offset"))
    g_object_set(rtpbin, "max-ts-offset", gint64(1), nullptr);
  using SharedRef = std::shared_ptr<Shared>;
  auto free_shared = [](gpointer data, GClosure *) { delete static_cast<SharedRef *>(data); };
  // Connected after webrtcbin's own handler (made with webrtcbin), so it has
  // the last word.
  g_signal_connect_data(
      rtpbin, "new-jitterbuffer",
      G_CALLBACK(+[](GstElement *, GstElement *jitterbuffer, guint, guint ssrc, gpointer data) {
        on_new_jitter_buffer(**static_cast<SharedRef *>(data), jitterbuffer, ssrc);
      }),
      new SharedRef(shared_), free_shared, GConnectFlags(0));
  g_signal_connect_data(
      rtpbin, "on-ssrc-active",
      G_CALLBACK(+[](GstElement *rtpbin, guint session, guint ssrc, gpointer data) {
        on_report(**static_cast<SharedRef *>(data), rtpbin, session, ssrc);
      }),
      new SharedRef(shared_), free_shared, GConnectFlags(0));
  gst_object_unref(rtpbin);
  return true;
}

void JitterBufferSetup::set_remote(const GstSDPMessage *description) {
  std::set<guint32> ssrcs = ssrcs_with_nack(description);
  std::lock_guard<std::mutex> guard(shared_->lock);
  shared_->ssrcs.swap(ssrcs);
}

} // namespace webrtccall
