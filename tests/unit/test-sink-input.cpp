// The element's sink pad input (gst/sink_input.cpp), built from its source: what a call's
// payloader gets when it is linked, and the call's first keyframe, asked for while the call's
// path is set up and held until it is up. An appsrc stands for the encoder, an appsink for the
// payloader. Every wait has only a deadline; the one time asserted is that a disconnect does
// not wait out its own 2 s timeout.
#include "sink_input.hpp"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

GST_DEBUG_CATEGORY(gst_webrtc_call_debug);

using webrtccall::MediaKind;
using webrtccall::SinkInput;

namespace {

constexpr gint64 kDeadlineUs = 10 * G_USEC_PER_SEC; // a deadline, not a measure

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "video_sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("video/x-vp8"));

// appsrc (the encoder) -> [bin: ghost pad -> queue -> gate] -> appsink (the payloader).
struct Rig {
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *source = gst_element_factory_make("appsrc", nullptr);
  GstElement *bin = gst_bin_new("call");
  GstElement *payloader = gst_element_factory_make("appsink", nullptr);
  std::unique_ptr<SinkInput> input;
  GstElement *queue = nullptr; // the input's, in the bin
  std::atomic<unsigned> keyframe_requests{0};
  std::atomic<unsigned> entered{0};  // buffers into the queue
  std::atomic<unsigned> overruns{0}; // the queue full, dropping its oldest
  unsigned pushed = 0;

  Rig() {
    g_assert_nonnull(source);
    g_assert_nonnull(payloader);
    g_autoptr(GstCaps) caps = gst_caps_from_string("video/x-vp8,width=64,height=48,framerate=30/1");
    g_object_set(source, "caps", caps, "format", GST_FORMAT_TIME, "is-live", TRUE, nullptr);
    g_object_set(payloader, "sync", FALSE, "async", FALSE, nullptr);
    gst_bin_add_many(GST_BIN(pipeline), source, bin, nullptr);
    gst_bin_add(GST_BIN(bin), payloader); // a call's payloader is the element's child too
    GstPadTemplate *templ = gst_static_pad_template_get(&sink_template);
    input = std::make_unique<SinkInput>(GST_BIN(bin), MediaKind::kVideo, templ, "video_sink_0");
    gst_object_unref(templ);
    gst_pad_set_active(input->ghost(), TRUE);
    gst_element_add_pad(bin, input->ghost());
    GstIterator *it = gst_bin_iterate_elements(GST_BIN(bin));
    GValue item = G_VALUE_INIT;
    while (!queue && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
      auto *child = GST_ELEMENT(g_value_get_object(&item)); // the bin keeps it
      if (child != payloader)
        queue = child;
      g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    g_assert_nonnull(queue);
    g_autoptr(GstPad) into_queue = gst_element_get_static_pad(queue, "sink");
    gst_pad_add_probe(
        into_queue, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer data) {
          ++*static_cast<std::atomic<unsigned> *>(data);
          return GST_PAD_PROBE_OK;
        },
        &entered, nullptr);
    g_signal_connect(queue, "overrun", G_CALLBACK(+[](GstElement *, gpointer data) {
                       ++*static_cast<std::atomic<unsigned> *>(data);
                     }),
                     &overruns);
    g_autoptr(GstPad) out = gst_element_get_static_pad(source, "src");
    g_assert_cmpint(gst_pad_link(out, input->ghost()), ==, GST_PAD_LINK_OK);
    // Count the keyframe requests that reach the encoder.
    gst_pad_add_probe(
        out, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
        [](GstPad *, GstPadProbeInfo *info, gpointer data) {
          if (gst_video_event_is_force_key_unit(GST_PAD_PROBE_INFO_EVENT(info)))
            ++*static_cast<std::atomic<unsigned> *>(data);
          return GST_PAD_PROBE_OK;
        },
        &keyframe_requests, nullptr);
    g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=,
                    GST_STATE_CHANGE_FAILURE);
  }

  ~Rig() {
    g_signal_handlers_disconnect_by_data(queue, &overruns);
    input.reset();
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }

  GstPad *payloader_sink() { return gst_element_get_static_pad(payloader, "sink"); }

  // A frame; `pts_ms` tells frames apart.
  void push(unsigned pts_ms, bool keyframe) {
    GstBuffer *buffer = gst_buffer_new_allocate(nullptr, 100, nullptr);
    GST_BUFFER_PTS(buffer) = pts_ms * GST_MSECOND;
    GST_BUFFER_DURATION(buffer) = 33 * GST_MSECOND;
    if (!keyframe)
      GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(source), buffer), ==, GST_FLOW_OK);
    pushed++;
  }

  // Waits until the queue has handed everything pushed so far to the gate, which drops, holds
  // or passes it; `idle`: and until the gate is done with it (not when it holds a keyframe).
  void drain(bool idle = true) {
    gint64 deadline = g_get_monotonic_time() + kDeadlineUs;
    while (entered.load() < pushed) {
      if (g_get_monotonic_time() > deadline)
        g_error("%u of %u buffers reached the queue", entered.load(), pushed);
      g_usleep(1000);
    }
    for (;;) {
      guint level = 0;
      g_object_get(queue, "current-level-buffers", &level, nullptr);
      if (level == 0)
        break;
      if (g_get_monotonic_time() > deadline)
        g_error("the queue kept %u buffers", level);
      g_usleep(1000);
    }
    if (!idle)
      return;
    // An idle probe runs once no buffer is being pushed out of the queue.
    std::atomic<bool> done{false};
    g_autoptr(GstPad) out = gst_element_get_static_pad(queue, "src");
    gst_pad_add_probe(
        out, GST_PAD_PROBE_TYPE_IDLE,
        [](GstPad *, GstPadProbeInfo *, gpointer data) {
          static_cast<std::atomic<bool> *>(data)->store(true);
          return GST_PAD_PROBE_REMOVE;
        },
        &done, nullptr);
    while (!done.load()) {
      if (g_get_monotonic_time() > deadline)
        g_error("the queue's src pad stayed busy");
      g_usleep(1000);
    }
  }

  // With a payloader that takes one buffer and then blocks (max-buffers=1), linked and
  // open: a keyframe goes through, the queue's thread then waits with the next frame in the
  // payloader, and three more come, 300 ms behind it. The queue keeps 200 ms, so it drops
  // the oldest (66) to take the last: a gap. Returns once it has overrun.
  void stall_until_the_queue_overruns() {
    push(0, true);
    drain();
    push(33, false);
    drain(false); // out of the queue: its thread waits with it in the payloader
    push(66, false);
    push(300, false);
    push(333, false);
    gint64 deadline = g_get_monotonic_time() + kDeadlineUs;
    while (overruns.load() == 0) {
      if (g_get_monotonic_time() > deadline)
        g_error("the queue never overran");
      g_usleep(1000);
    }
  }

  // The PTS (ms) of the next buffer the payloader gets.
  unsigned pull() {
    g_autoptr(GstSample) sample =
        gst_app_sink_try_pull_sample(GST_APP_SINK(payloader), kDeadlineUs * GST_USECOND);
    if (!sample)
      g_error("the payloader got nothing");
    return unsigned(GST_BUFFER_PTS(gst_sample_get_buffer(sample)) / GST_MSECOND);
  }
};

// A payloader linked for a call gets the stream's caps at once, not with the next frame: the
// offer can state its SSRC without waiting for one.
void test_connect_hands_over_caps() {
  Rig rig;
  rig.push(0, true); // dropped: no call; its caps stay on the queue
  rig.drain();
  g_autoptr(GstPad) sink = rig.payloader_sink();
  g_assert_false(gst_pad_has_current_caps(sink));
  rig.input->connect(sink);
  g_assert_true(gst_pad_has_current_caps(sink));
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps(sink);
  g_assert_true(gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/x-vp8"));
  GstEvent *segment = gst_pad_get_sticky_event(sink, GST_EVENT_SEGMENT, 0);
  g_assert_nonnull(segment);
  gst_event_unref(segment);
}

// Without prime(), open() asks the encoder for a keyframe; what came before it is dropped.
void test_open_asks_for_a_keyframe() {
  Rig rig;
  g_autoptr(GstPad) sink = rig.payloader_sink();
  rig.input->connect(sink);
  rig.push(0, true);
  rig.drain();
  g_assert_cmpuint(rig.keyframe_requests, ==, 0);
  rig.input->open();
  g_assert_cmpuint(rig.keyframe_requests, ==, 1);
  rig.push(33, true);
  g_assert_cmpuint(rig.pull(), ==, 33);
}

// prime() asks for the keyframe while the call's path is set up, and the gate holds it (and
// the queue what follows) until open(), which then asks for no other: the call's first frame
// is the one made meanwhile, followed by the rest in order.
void test_primed_keyframe_goes_first_at_open() {
  Rig rig;
  g_autoptr(GstPad) sink = rig.payloader_sink();
  rig.input->connect(sink);
  rig.push(0, false); // a delta before the keyframe: dropped
  rig.drain();
  rig.input->prime();
  g_assert_cmpuint(rig.keyframe_requests, ==, 1);
  rig.input->prime(); // one on its way: no second request
  g_assert_cmpuint(rig.keyframe_requests, ==, 1);
  rig.push(33, true);
  rig.drain(false); // held
  rig.push(66, false);
  rig.push(100, false);
  rig.input->open();
  g_assert_cmpuint(rig.pull(), ==, 33);
  g_assert_cmpuint(rig.pull(), ==, 66);
  g_assert_cmpuint(rig.pull(), ==, 100);
  g_assert_cmpuint(rig.keyframe_requests, ==, 1);
}

// A keyframe asked for by prime() that has not come by open() goes through when it comes,
// after the deltas ahead of it, and open() asks for no other.
void test_open_before_the_primed_keyframe_came() {
  Rig rig;
  g_autoptr(GstPad) sink = rig.payloader_sink();
  rig.input->connect(sink);
  rig.input->prime();
  rig.input->open();
  g_assert_cmpuint(rig.keyframe_requests, ==, 1);
  rig.push(0, false);
  rig.push(33, true);
  g_assert_cmpuint(rig.pull(), ==, 0);
  g_assert_cmpuint(rig.pull(), ==, 33);
  g_assert_cmpuint(rig.keyframe_requests, ==, 1);
}

// A path that is not up within the hold drops the keyframe, and what follows it, so that the
// queue never leaks frames of a picture it let start; open() then asks for a new one.
void test_held_keyframe_dropped_when_the_path_is_late() {
  Rig rig;
  g_autoptr(GstPad) sink = rig.payloader_sink();
  rig.input->connect(sink);
  rig.input->prime();
  rig.push(0, true);
  rig.push(33, false);
  rig.drain(); // the queue emptied: the hold has ended
  rig.input->open();
  g_assert_cmpuint(rig.keyframe_requests, ==, 2);
  rig.push(66, false); // not yet the new keyframe
  rig.push(100, true);
  g_assert_cmpuint(rig.pull(), ==, 66);
  g_assert_cmpuint(rig.pull(), ==, 100);
}

// The element primes once a call's senders are linked and again when the ICE checks begin: the
// second asks for nothing while the first keyframe is held, and asks anew once it was dropped
// (a callee that took its time to answer).
void test_prime_again_after_the_hold_ended() {
  Rig rig;
  g_autoptr(GstPad) sink = rig.payloader_sink();
  rig.input->connect(sink);
  rig.input->prime();
  rig.push(0, true);
  rig.drain(false); // held
  rig.input->prime();
  g_assert_cmpuint(rig.keyframe_requests, ==, 1);
  rig.push(16, false); // waits in the queue until the hold ends
  rig.drain();         // the hold ended without open(): both dropped
  rig.input->prime();
  g_assert_cmpuint(rig.keyframe_requests, ==, 2);
  rig.push(33, true);
  rig.drain(false); // held
  rig.input->open();
  g_assert_cmpuint(rig.pull(), ==, 33);
  g_assert_cmpuint(rig.keyframe_requests, ==, 2);
}

// Frames the queue dropped because the call's path stalled (a payloader that takes nothing
// here): what follows the gap would decode into a broken picture that the receiver cannot tell
// from a good one, since the payloader numbers packets after the gap. It is dropped until a
// keyframe, asked for at once. (The same holds for frames dropped behind a held keyframe.)
void test_frames_lost_in_the_queue_wait_for_a_keyframe() {
  Rig rig;
  g_object_set(rig.payloader, "max-buffers", 1u, nullptr);
  g_autoptr(GstPad) sink = rig.payloader_sink();
  rig.input->connect(sink);
  rig.input->open();
  rig.stall_until_the_queue_overruns();
  g_assert_cmpuint(rig.pull(), ==, 0);
  g_assert_cmpuint(rig.pull(), ==, 33); // through before the gap
  rig.push(366, false);                 // nothing after it until the keyframe
  rig.push(400, true);
  g_assert_cmpuint(rig.pull(), ==, 400);
  g_assert_cmpuint(rig.keyframe_requests, ==, 2); // open()'s, and the one after the gap
  rig.push(433, false);                           // and on from it
  g_assert_cmpuint(rig.pull(), ==, 433);
}

// The keyframe asked for after a gap is itself dropped by the queue, overrun again while the
// gate waits for it (a CPU too busy to keep up): it is asked for again once the queue's length
// (200 ms) has passed without it, instead of the picture waiting for the encoder's next
// scheduled keyframe, seconds away. The queue's thread is held inside the first request (an
// upstream event probe on the encoder's pad) while the queue overruns.
void test_keyframe_lost_in_the_queue_is_asked_for_again() {
  Rig rig;
  g_object_set(rig.payloader, "max-buffers", 1u, nullptr); // takes one, then blocks the queue
  struct Held {
    std::mutex lock;
    std::condition_variable cond;
    bool hold = false, holding = false;
  } held;
  g_autoptr(GstPad) encoder_src = gst_element_get_static_pad(rig.source, "src");
  gst_pad_add_probe(
      encoder_src, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
      [](GstPad *, GstPadProbeInfo *info, gpointer data) {
        auto &held = *static_cast<Held *>(data);
        if (!gst_video_event_is_force_key_unit(GST_PAD_PROBE_INFO_EVENT(info)))
          return GST_PAD_PROBE_OK;
        std::unique_lock<std::mutex> guard(held.lock);
        held.holding = held.hold;
        held.cond.notify_all();
        held.cond.wait(guard, [&] { return !held.hold; });
        held.holding = false;
        return GST_PAD_PROBE_OK;
      },
      &held, nullptr);
  g_autoptr(GstPad) sink = rig.payloader_sink();
  rig.input->connect(sink);
  rig.input->open(); // request 1
  {
    std::lock_guard<std::mutex> guard(held.lock);
    held.hold = true;
  }
  rig.stall_until_the_queue_overruns();
  g_assert_cmpuint(rig.pull(), ==, 0);
  {
    // The gate asks for a keyframe at 300 (request 2), and is held there.
    std::unique_lock<std::mutex> guard(held.lock);
    g_assert_true(held.cond.wait_for(guard, std::chrono::microseconds(kDeadlineUs),
                                     [&] { return held.holding; }));
  }
  g_assert_cmpuint(rig.keyframe_requests, ==, 2);
  rig.push(500, true); // the keyframe asked for
  for (unsigned pts = 533; pts <= 833; pts += 33)
    rig.push(pts, false); // 300 ms after it: the queue dropped it
  gint64 deadline = g_get_monotonic_time() + kDeadlineUs;
  while (rig.entered.load() < rig.pushed) {
    if (g_get_monotonic_time() > deadline)
      g_error("%u of %u buffers reached the queue", rig.entered.load(), rig.pushed);
    g_usleep(1000);
  }
  {
    std::lock_guard<std::mutex> guard(held.lock);
    held.hold = false;
    held.cond.notify_all();
  }
  // Frames at 30 a second, as an encoder makes them, until one is dropped 200 ms after the
  // second request and comes with the third.
  unsigned pts = 866;
  while (rig.keyframe_requests.load() < 3) {
    if (g_get_monotonic_time() > deadline)
      g_error("the lost keyframe was not asked for again");
    rig.push(pts += 33, false);
    g_usleep(33000);
  }
  g_assert_cmpuint(rig.keyframe_requests, ==, 3);
  rig.push(pts += 33, true);
  g_assert_cmpuint(rig.pull(), ==, 33);
  g_assert_cmpuint(rig.pull(), ==, pts); // the deltas between went nowhere
}

// A call that ends while its first keyframe is held: it goes nowhere, and the next call
// starts as the first did.
void test_disconnect_drops_the_held_keyframe() {
  Rig rig;
  g_autoptr(GstPad) sink = rig.payloader_sink();
  rig.input->connect(sink);
  rig.input->prime();
  rig.push(0, true);
  rig.drain(false); // held
  rig.input->disconnect();
  g_autoptr(GstPad) peer = gst_pad_get_peer(sink);
  g_assert_null(peer);
  // The next call.
  rig.input->connect(sink);
  rig.input->prime();
  g_assert_cmpuint(rig.keyframe_requests, ==, 2);
  rig.push(33, true);
  rig.drain(false); // held
  rig.input->open();
  g_assert_cmpuint(rig.pull(), ==, 33);
}

// webrtcbin 1.22 puts a clocksync on each sink pad, and in a PAUSED pipeline it holds the
// push of whatever reaches it. Stopping the element from PAUSED disconnects the input with a
// buffer held there: it must not wait out the 2 s meant for a queue between buffers.
void test_disconnect_while_paused_does_not_wait() {
  Rig rig;
  GstElement *clocksync = gst_element_factory_make("clocksync", nullptr);
  g_assert_nonnull(clocksync);
  g_object_set(clocksync, "sync", TRUE, nullptr);
  gst_bin_add(GST_BIN(rig.bin), clocksync);
  g_autoptr(GstPad) synced = gst_element_get_static_pad(clocksync, "src");
  g_autoptr(GstPad) payloader = rig.payloader_sink();
  g_assert_cmpint(gst_pad_link(synced, payloader), ==, GST_PAD_LINK_OK);
  gst_element_sync_state_with_parent(clocksync);
  g_autoptr(GstPad) sink = gst_element_get_static_pad(clocksync, "sink");
  rig.input->connect(sink);
  rig.input->open();
  rig.push(60000, true); // due in a minute: held in clocksync's wait
  gint64 deadline = g_get_monotonic_time() + kDeadlineUs;
  for (guint level = 1; rig.entered.load() < 1 || level > 0;) {
    g_object_get(rig.queue, "current-level-buffers", &level, nullptr);
    if (g_get_monotonic_time() > deadline)
      g_error("the buffer never left the queue");
    g_usleep(1000);
  }
  gst_element_set_state(rig.pipeline, GST_STATE_PAUSED);
  gst_element_get_state(rig.pipeline, nullptr, nullptr, kDeadlineUs * GST_USECOND);

  gint64 start = g_get_monotonic_time();
  rig.input->disconnect();
  g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC); // the old wait: 2 s
  g_autoptr(GstPad) out = gst_element_get_static_pad(rig.queue, "src");
  g_assert_false(gst_pad_is_linked(out));
  // As the call's webrtcbin stops after the disconnect, the held push comes back.
  gst_element_set_locked_state(clocksync, TRUE);
  gst_element_set_state(clocksync, GST_STATE_NULL);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  GST_DEBUG_CATEGORY_INIT(gst_webrtc_call_debug, "webrtccall", 0, "webrtccall (test)");
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/sink-input/connect-hands-over-caps", test_connect_hands_over_caps);
  g_test_add_func("/sink-input/open-asks-for-a-keyframe", test_open_asks_for_a_keyframe);
  g_test_add_func("/sink-input/primed-keyframe-goes-first-at-open",
                  test_primed_keyframe_goes_first_at_open);
  g_test_add_func("/sink-input/open-before-the-primed-keyframe-came",
                  test_open_before_the_primed_keyframe_came);
  g_test_add_func("/sink-input/held-keyframe-dropped-when-the-path-is-late",
                  test_held_keyframe_dropped_when_the_path_is_late);
  g_test_add_func("/sink-input/prime-again-after-the-hold-ended",
                  test_prime_again_after_the_hold_ended);
  g_test_add_func("/sink-input/frames-lost-in-the-queue-wait-for-a-keyframe",
                  test_frames_lost_in_the_queue_wait_for_a_keyframe);
  g_test_add_func("/sink-input/keyframe-lost-in-the-queue-is-asked-for-again",
                  test_keyframe_lost_in_the_queue_is_asked_for_again);
  g_test_add_func("/sink-input/disconnect-drops-the-held-keyframe",
                  test_disconnect_drops_the_held_keyframe);
  g_test_add_func("/sink-input/disconnect-while-paused-does-not-wait",
                  test_disconnect_while_paused_does_not_wait);
  return g_test_run();
}
