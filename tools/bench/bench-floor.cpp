// The floor for call set-up: two webrtcbins in one pipeline exchanging offer,
// answer and candidates directly, with no server, no element and no network
// beyond loopback. Each call is a fresh pipeline with the same media as the
// element's benchmark (640x480 VP8 from README.md's encoder line and an Opus
// tone, both ways; the same jitter-buffer latency), timed from create-offer
// to the first decoded frame on each side.
//
//   webrtccall-bench-floor [--calls 20] [--latency 200] [--low-latency] [--faststart PACKETS]
//                          [--fresh] [--ice-pacing MS]
//
// Prints one JSON line per call: {"call":I,"caller_ms":X,"callee_ms":Y}, the
// first being the process's first call (DTLS certificate made then).
//
// webrtcbin holds what reaches its sink pads until the call's path is up, so
// the first picture each side shows is the encoder's first keyframe, made
// when the pipeline started, 0.3 s before the call: stale by the time it is
// shown. --fresh sends what the element sends instead: each side drops its
// encoded video until its connection is up, then asks the encoder for a
// keyframe, so the first picture is captured after the path is up.
#include "endpoint.hpp"

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <cstdio>
#include <string>

using namespace webrtccall::bench;

namespace {

struct Side {
  GstElement *webrtc = nullptr; // owned by the pipeline
  GstElement *other = nullptr;
  std::atomic<double> first_frame_ms{0};
  GstPad *video_out = nullptr;     // the encoder's src pad (--fresh)
  std::atomic<bool> sending{true}; // --fresh: false until the connection is up
};

// --fresh: the encoder's output goes nowhere until the connection is up.
GstPadProbeReturn gate_video(GstPad *, GstPadProbeInfo *, gpointer data) {
  return static_cast<Side *>(data)->sending ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

// --fresh, webrtcbin's thread: the path is up; a keyframe now, as the element asks.
void on_connection_state(GObject *webrtc, GParamSpec *, gpointer data) {
  auto *side = static_cast<Side *>(data);
  GstWebRTCPeerConnectionState state;
  g_object_get(webrtc, "connection-state", &state, nullptr);
  if (state != GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED || side->sending.exchange(true))
    return;
  gst_pad_send_event(side->video_out,
                     gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
}

GstPadProbeReturn on_decoded(GstPad *, GstPadProbeInfo *, gpointer data) {
  auto *side = static_cast<Side *>(data);
  double zero = 0;
  side->first_frame_ms.compare_exchange_strong(zero, wall_ms());
  return GST_PAD_PROBE_OK;
}

// webrtcbin's thread: hand the candidate straight to the other side.
void on_candidate(GstElement *, guint mline, char *candidate, gpointer data) {
  auto *side = static_cast<Side *>(data);
  g_signal_emit_by_name(side->other, "add-ice-candidate", mline, candidate);
}

// A streaming thread: depayload and decode what arrives, as the element does.
void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer data) {
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const char *encoding = gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name");
  bool video = encoding && g_ascii_strcasecmp(encoding, "VP8") == 0;
  const char *description = video ? "rtpvp8depay ! vp8dec name=dec ! fakesink sync=true"
                                  : "rtpopusdepay ! opusdec ! fakesink sync=true";
  GstElement *branch = gst_parse_bin_from_description(description, TRUE, nullptr);
  if (video) {
    GstElement *dec = gst_bin_get_by_name(GST_BIN(branch), "dec");
    g_autoptr(GstPad) src = gst_element_get_static_pad(dec, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_decoded, data, nullptr);
    gst_object_unref(dec);
  }
  GstElement *pipeline = GST_ELEMENT(gst_element_get_parent(webrtc));
  gst_bin_add(GST_BIN(pipeline), branch);
  gst_element_sync_state_with_parent(branch);
  g_autoptr(GstPad) sink = gst_element_get_static_pad(branch, "sink");
  gst_pad_link(pad, sink);
  gst_object_unref(pipeline);
}

const GstStructure *wait_reply(GstPromise *promise, const char *what) {
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
    g_error("%s: no reply", what);
  const GstStructure *reply = gst_promise_get_reply(promise);
  if (reply && gst_structure_has_field(reply, "error"))
    g_error("%s failed", what);
  return reply;
}

GstWebRTCSessionDescription *describe(GstElement *webrtc, const char *action, const char *field) {
  GstPromise *promise = gst_promise_new();
  g_signal_emit_by_name(webrtc, action, nullptr, promise);
  GstWebRTCSessionDescription *description = nullptr;
  gst_structure_get(wait_reply(promise, action), field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                    &description, nullptr);
  gst_promise_unref(promise);
  return description;
}

void apply(GstElement *webrtc, const char *action, GstWebRTCSessionDescription *description) {
  GstPromise *promise = gst_promise_new();
  g_signal_emit_by_name(webrtc, action, description, promise);
  wait_reply(promise, action);
  gst_promise_unref(promise);
}

// Loopback only, as the element's benchmark (ice-addresses=127.0.0.1), and no
// UPnP, which libnice turns on by default (environment-notes.md). ICE checks
// paced at `pacing_ms` when not 0 (the element's ice-pacing), else libnice's.
void restrict_ice(GstElement *webrtc, int pacing_ms) {
  GObject *ice = nullptr;
  g_object_get(webrtc, "ice-agent", &ice, nullptr);
  gboolean added = FALSE;
  g_signal_emit_by_name(ice, "add-local-ip-address", "127.0.0.1", &added);
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent")) {
    GObject *agent = nullptr;
    g_object_get(ice, "agent", &agent, nullptr);
    if (agent) {
      g_object_set(agent, "upnp", FALSE, nullptr);
      if (pacing_ms > 0)
        g_object_set(agent, "stun-pacing-timer", guint(pacing_ms), nullptr);
      g_object_unref(agent);
    }
  }
  g_object_unref(ice);
}

std::string side_description(const char *name, const std::string &encoder, int latency) {
  std::string n = name;
  return "webrtcbin name=" + n + " bundle-policy=max-bundle latency=" + std::to_string(latency) +
         " videotestsrc is-live=true pattern=smpte ! "
         "video/x-raw,format=I420,width=640,height=480,framerate=30/1 ! " +
         encoder + " name=" + n + "enc ! rtpvp8pay picture-id-mode=15-bit ! " +
         "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! " + n +
         ". audiotestsrc is-live=true wave=sine ! opusenc perfect-timestamp=true ! rtpopuspay ! "
         "application/x-rtp,media=audio,encoding-name=OPUS,payload=97,clock-rate=48000 ! " +
         n + ". ";
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  int calls = 20, latency = 200;
  gboolean low_latency = FALSE, fresh = FALSE;
  int faststart = 0, ice_pacing = 0;
  GOptionEntry entries[] = {
      {"calls", 0, 0, G_OPTION_ARG_INT, &calls, "Calls to time", "N"},
      {"latency", 0, 0, G_OPTION_ARG_INT, &latency, "webrtcbin's latency", "MS"},
      {"low-latency", 0, 0, G_OPTION_ARG_NONE, &low_latency, "vp8enc lag-in-frames=0", nullptr},
      {"faststart", 0, 0, G_OPTION_ARG_INT, &faststart,
       "faststart-min-packets on the jitter buffers", "PACKETS"},
      {"ice-pacing", 0, 0, G_OPTION_ARG_INT, &ice_pacing,
       "ms between ICE checks (libnice's Ta), as the element's ice-pacing; default libnice's",
       "MS"},
      {"fresh", 0, 0, G_OPTION_ARG_NONE, &fresh,
       "Send video only once connected, from a keyframe asked for then, as the element does",
       nullptr},
      {}};
  g_autoptr(GOptionContext) context = g_option_context_new("- call set-up floor");
  g_option_context_add_main_entries(context, entries, nullptr);
  if (!g_option_context_parse(context, &argc, &argv, nullptr))
    return 2;
  std::string encoder = low_latency ? "vp8enc deadline=1 lag-in-frames=0" : "vp8enc deadline=1";

  for (int i = 0; i < calls; i++) {
    std::string d =
        side_description("a", encoder, latency) + side_description("b", encoder, latency);
    GstElement *pipeline = gst_parse_launch(d.c_str(), nullptr);
    if (faststart > 0)
      set_jitterbuffer_faststart(pipeline, unsigned(faststart));
    Side a, b;
    a.webrtc = gst_bin_get_by_name(GST_BIN(pipeline), "a");
    b.webrtc = gst_bin_get_by_name(GST_BIN(pipeline), "b");
    a.other = b.webrtc;
    b.other = a.webrtc;
    for (Side *side : {&a, &b}) {
      restrict_ice(side->webrtc, ice_pacing);
      g_signal_connect(side->webrtc, "on-ice-candidate", G_CALLBACK(on_candidate), side);
      g_signal_connect(side->webrtc, "pad-added", G_CALLBACK(on_pad_added), side);
      if (fresh) {
        g_autofree char *name = gst_object_get_name(GST_OBJECT(side->webrtc));
        std::string encoder_name = std::string(name) + "enc";
        GstElement *encoder = gst_bin_get_by_name(GST_BIN(pipeline), encoder_name.c_str());
        side->video_out = gst_element_get_static_pad(encoder, "src");
        gst_object_unref(encoder);
        side->sending = false;
        gst_pad_add_probe(side->video_out, GST_PAD_PROBE_TYPE_BUFFER, gate_video, side, nullptr);
        g_signal_connect(side->webrtc, "notify::connection-state", G_CALLBACK(on_connection_state),
                         side);
      }
    }
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    // The element's sources run before a call is placed; let these start too.
    g_usleep(300 * 1000);

    double start = wall_ms();
    GstWebRTCSessionDescription *offer = describe(a.webrtc, "create-offer", "offer");
    apply(a.webrtc, "set-local-description", offer);
    apply(b.webrtc, "set-remote-description", offer);
    GstWebRTCSessionDescription *answer = describe(b.webrtc, "create-answer", "answer");
    apply(b.webrtc, "set-local-description", answer);
    apply(a.webrtc, "set-remote-description", answer);
    gst_webrtc_session_description_free(offer);
    gst_webrtc_session_description_free(answer);

    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while ((a.first_frame_ms == 0 || b.first_frame_ms == 0) && g_get_monotonic_time() < deadline)
      g_usleep(1000); // the probes keep the times; this only waits for both
    auto since = [start](double t) { return t ? t - start : -1; };
    std::printf("{\"call\":%d,\"caller_ms\":%.1f,\"callee_ms\":%.1f}\n", i, since(a.first_frame_ms),
                since(b.first_frame_ms));
    std::fflush(stdout);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(a.webrtc);
    gst_object_unref(b.webrtc);
    for (Side *side : {&a, &b})
      if (side->video_out)
        gst_object_unref(side->video_out);
    gst_object_unref(pipeline);
  }
  return 0;
}
