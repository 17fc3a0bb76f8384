// A jitter buffer starts on the first picture's burst of packets
// (gst/jitter_buffers.hpp, start_on_first_burst), even when its thread is
// slow to take the stream's first events out of its queue: a real
// rtpjitterbuffer, fed one keyframe's packets at once and nothing after,
// with an appsink behind it.
#include "jitter_buffers.hpp"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

// jitter_buffers.cpp logs to the element's category, which the plugin defines.
GST_DEBUG_CATEGORY(gst_webrtc_call_debug);

using namespace webrtccall;

namespace {

// Far longer than any start on packets: a stream that waited for it shows.
constexpr guint kLatencyMs = 1000;
// How long the jitter buffer's thread takes at most to pass the
// stream-start event on, as a thread without a CPU would; the caps and the
// segment stay queued behind it meanwhile. Under start_on_first_burst's
// 20 ms cap, with room for the rest.
constexpr auto kSlowThread = std::chrono::milliseconds(10);

GstBuffer *rtp_packet(guint16 seqnum, bool last) {
  GstBuffer *buffer = gst_rtp_buffer_new_allocate(100, 0, 0);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  g_assert_true(gst_rtp_buffer_map(buffer, GST_MAP_WRITE, &rtp));
  gst_rtp_buffer_set_payload_type(&rtp, 96);
  gst_rtp_buffer_set_seq(&rtp, seqnum);
  gst_rtp_buffer_set_timestamp(&rtp, 90000); // one picture: one timestamp
  gst_rtp_buffer_set_ssrc(&rtp, 1234);
  gst_rtp_buffer_set_marker(&rtp, last);
  gst_rtp_buffer_unmap(&rtp);
  return buffer;
}

// The jitter buffer's thread, held on the stream-start event until the
// burst is in or kSlowThread has passed, whichever is first.
struct SlowThread {
  std::mutex lock;
  std::condition_variable cond;
  bool burst_in = false;
};

// Milliseconds from the burst to the jitter buffer's first packet out.
double first_packet_out_ms(bool start_on_burst) {
  GstElement *pipeline = gst_parse_launch(
      "rtpjitterbuffer name=jb faststart-min-packets=2 ! appsink name=sink sync=false", nullptr);
  g_assert_nonnull(pipeline);
  GstElement *jitterbuffer = gst_bin_get_by_name(GST_BIN(pipeline), "jb");
  g_object_set(jitterbuffer, "latency", kLatencyMs, nullptr);
  if (start_on_burst)
    start_on_first_burst(jitterbuffer);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  g_autoptr(GstPad) sink_pad = gst_element_get_static_pad(sink, "sink");
  SlowThread slow;
  gst_pad_add_probe(
      sink_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      +[](GstPad *, GstPadProbeInfo *info, gpointer data) {
        if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_STREAM_START) {
          auto &slow = *static_cast<SlowThread *>(data);
          std::unique_lock<std::mutex> guard(slow.lock);
          slow.cond.wait_for(guard, kSlowThread, [&] { return slow.burst_in; });
        }
        return GST_PAD_PROBE_OK;
      },
      &slow, nullptr);
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);

  // What a receiving thread sends a new jitter buffer: the stream's events,
  // then the packets, in one go.
  g_autoptr(GstPad) jb_sink = gst_element_get_static_pad(jitterbuffer, "sink");
  g_assert_true(gst_pad_send_event(jb_sink, gst_event_new_stream_start("burst")));
  g_autoptr(GstCaps) caps = gst_caps_from_string(
      "application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96");
  g_assert_true(gst_pad_send_event(jb_sink, gst_event_new_caps(caps)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  g_assert_true(gst_pad_send_event(jb_sink, gst_event_new_segment(&segment)));
  gint64 start = g_get_monotonic_time();
  for (guint16 i = 0; i < 4; i++)
    g_assert_cmpint(gst_pad_chain(jb_sink, rtp_packet(100 + i, i == 3)), ==, GST_FLOW_OK);
  {
    std::lock_guard<std::mutex> guard(slow.lock);
    slow.burst_in = true;
    slow.cond.notify_all();
  }
  GstSample *sample =
      gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 2 * kLatencyMs * GST_MSECOND);
  double elapsed_ms = double(g_get_monotonic_time() - start) / 1000.0;
  g_assert_nonnull(sample);
  gst_sample_unref(sample);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(jitterbuffer);
  gst_object_unref(pipeline);
  return elapsed_ms;
}

// The burst starts the stream: well before the latency, which is when it
// starts without the fix (asserted too, so that the rig shows the race).
void test_burst_starts_the_stream() {
  double with = first_packet_out_ms(true);
  g_test_message("first packet out after %.1f ms with start_on_first_burst", with);
  g_assert_cmpfloat(with, <, kLatencyMs / 2);
}

void test_without_it_the_stream_waits_for_the_latency() {
  double without = first_packet_out_ms(false);
  g_test_message("first packet out after %.1f ms without", without);
  g_assert_cmpfloat(without, >=, kLatencyMs / 2);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  GST_DEBUG_CATEGORY_INIT(gst_webrtc_call_debug, "webrtccall", 0, "webrtccall (test)");
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/jitter-buffer-start/burst-starts-the-stream", test_burst_starts_the_stream);
  g_test_add_func("/jitter-buffer-start/without-it-the-stream-waits-for-the-latency",
                  test_without_it_the_stream_waits_for_the_latency);
  return g_test_run();
}
