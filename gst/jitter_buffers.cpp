#include "jitter_buffers.hpp"

#include <chrono>
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

bool JitterBufferSetup::watch(GstElement *webrtcbin, bool lip_sync) {
  GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtcbin), "rtpbin");
  if (!rtpbin)
    return false;
  // rtpbin has no switch for lip-sync, but ignores any offset larger than
  // max-ts-offset (when it is not 0): at 1 ns, every offset is ignored.
  if (!lip_sync && g_object_class_find_property(G_OBJECT_GET_CLASS(rtpbin), "max-ts-offset"))
    g_object_set(rtpbin, "max-ts-offset", gint64(1), nullptr);
  // Connected after webrtcbin's own handler (made with webrtcbin), so it has
  // the last word.
  g_signal_connect_data(
      rtpbin, "new-jitterbuffer",
      G_CALLBACK(+[](GstElement *, GstElement *jitterbuffer, guint, guint ssrc, gpointer data) {
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(jitterbuffer),
                                         "faststart-min-packets")) {
          g_object_set(jitterbuffer, "faststart-min-packets", 2u, nullptr);
          start_on_first_burst(jitterbuffer);
        }
        Shared &shared = **static_cast<std::shared_ptr<Shared> *>(data);
        std::lock_guard<std::mutex> guard(shared.lock);
        if (shared.ssrcs.count(ssrc))
          g_object_set(jitterbuffer, "do-retransmission", TRUE, nullptr);
      }),
      new std::shared_ptr<Shared>(shared_),
      [](gpointer data, GClosure *) { delete static_cast<std::shared_ptr<Shared> *>(data); },
      GConnectFlags(0));
  gst_object_unref(rtpbin);
  return true;
}

void JitterBufferSetup::set_remote(const GstSDPMessage *description) {
  std::set<guint32> ssrcs = ssrcs_with_nack(description);
  std::lock_guard<std::mutex> guard(shared_->lock);
  shared_->ssrcs.swap(ssrcs);
}

} // namespace webrtccall
