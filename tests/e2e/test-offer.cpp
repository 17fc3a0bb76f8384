// What the element offers once its sink pads' streams have reached webrtcbin:
// every sending m-line states its SSRC (a browser drops a stream it was told
// the wrong SSRC of), whether the stream came long before the call, comes
// while the element waits for it, or never comes (the offer then goes all the
// same, with a warning). A scripted callee reads the offer through our
// server; the element is real.
#include "call_endpoint.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace webrtccall::test;

namespace {

constexpr int kWaitMs = 30000; // a deadline, not a measure: generous for a loaded machine

using SdpPtr = std::unique_ptr<GstSDPMessage, decltype(&gst_sdp_message_free)>;

// The next offer `callee` receives; what comes before it (presence) is skipped.
SdpPtr next_offer(WsClient &callee) {
  for (;;) {
    Json message = callee.expect_json("an offer", kWaitMs);
    if (std::strcmp(message.str("type"), "offer") != 0)
      continue;
    JsonObject *description = message.object("offer");
    g_assert_nonnull(description);
    const char *text = json_object_get_string_member(description, "sdp");
    GstSDPMessage *sdp = nullptr;
    if (gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK)
      g_error("the offer is not SDP: %s", text);
    return SdpPtr(sdp, gst_sdp_message_free);
  }
}

const GstSDPMedia *first_media(const SdpPtr &sdp, const char *kind) {
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp.get()); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media(sdp.get(), i);
    if (g_strcmp0(gst_sdp_media_get_media(m), kind) == 0)
      return m;
  }
  g_error("the offer has no %s m-line", kind);
}

// The SSRC of the video stream and of its retransmissions, as the offer states
// them (0: not stated; webrtcbin writes "FID 0 ..." when it did not know it).
unsigned video_ssrc(const SdpPtr &offer) {
  const GstSDPMedia *video = first_media(offer, "video");
  const char *group = gst_sdp_media_get_attribute_val(video, "ssrc-group");
  unsigned primary = 0, rtx = 0;
  if (!group || std::sscanf(group, "FID %u %u", &primary, &rtx) != 2)
    return 0;
  if (!gst_sdp_media_get_attribute_val(video, "ssrc"))
    return 0;
  return primary;
}

EndpointOptions caller(const ServerProcess &server, const char *video_encoder) {
  EndpointOptions o;
  o.server = server.url();
  o.user = "alice";
  o.peer = "bob";
  o.video_encoder = video_encoder;
  o.send_audio = false; // the video's stream alone decides when the offer goes
  return o;
}

GstElement *by_name(CallEndpoint &endpoint, const char *name) {
  GstElement *element = gst_bin_get_by_name(GST_BIN(endpoint.pipeline()), name);
  g_assert_nonnull(element);
  return element;
}

// The source sent its first frame before the call and nothing since (a
// stalled camera, a slide show): the offer states the video's SSRC all the
// same. The element hands a new call's payloader the stream's caps when it
// links it, instead of with the next frame, which here never comes.
void test_ssrc_without_another_frame() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint alice(caller(server, "vp8enc deadline=1 lag-in-frames=0 name=encoder"));
  // The encoder gets the source's first frame only, and encodes it.
  std::atomic<unsigned> raw{0}, encoded{0};
  {
    g_autoptr(GstElement) encoder = by_name(alice, "encoder");
    g_autoptr(GstPad) in = gst_element_get_static_pad(encoder, "sink");
    gst_pad_add_probe(
        in, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer data) {
          return ++*static_cast<std::atomic<unsigned> *>(data) == 1 ? GST_PAD_PROBE_OK
                                                                    : GST_PAD_PROBE_DROP;
        },
        &raw, nullptr);
    g_autoptr(GstPad) out = gst_element_get_static_pad(encoder, "src");
    gst_pad_add_probe(
        out, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer data) {
          ++*static_cast<std::atomic<unsigned> *>(data);
          return GST_PAD_PROBE_OK;
        },
        &encoded, nullptr);
  }
  alice.play();
  alice.wait_state("logged-in", kWaitMs);
  for (gint64 deadline = g_get_monotonic_time() + kWaitMs * gint64(1000); encoded.load() == 0;) {
    if (g_get_monotonic_time() > deadline)
      g_error("the encoder made no frame in %d ms", kWaitMs);
    g_usleep(10000);
  }
  // bob logs in: alice, who waits for him, calls.
  WsClient bob(server.url());
  bob.login("bob");
  SdpPtr offer = next_offer(bob);
  g_assert_cmpuint(video_ssrc(offer), !=, 0);
  alice.expect_no_error();
}

// The source starts only once the call has begun (the valve opens when the
// call's payloader is made): the element waits for the stream, then offers
// with its SSRC.
void test_offer_waits_for_a_late_stream() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint alice(caller(server, "valve name=gate drop=true ! vp8enc deadline=1"));
  g_autoptr(GstElement) gate = by_name(alice, "gate");
  g_signal_connect(alice.call(), "element-added",
                   G_CALLBACK(+[](GstBin *, GstElement *element, gpointer gate) {
                     GstElementFactory *factory = gst_element_get_factory(element);
                     if (factory && g_str_equal(GST_OBJECT_NAME(factory), "rtpvp8pay"))
                       g_object_set(gate, "drop", FALSE, nullptr);
                   }),
                   gate);
  alice.play();
  alice.wait_state("logged-in", kWaitMs);
  WsClient bob(server.url());
  bob.login("bob");
  SdpPtr offer = next_offer(bob);
  g_assert_cmpuint(video_ssrc(offer), !=, 0);
  alice.expect_no_error();
}

// A sink pad that never carries a stream (its source is stuck): the call is
// not held up for ever. After a bounded wait the offer goes without that
// stream's SSRC, and the element warns, naming the pad.
void test_no_stream_warns_and_offers() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint alice(caller(server, "valve drop=true ! vp8enc deadline=1"));
  alice.play();
  alice.wait_state("logged-in", kWaitMs);
  WsClient bob(server.url());
  bob.login("bob");
  SdpPtr offer = next_offer(bob);
  g_assert_nonnull(first_media(offer, "video"));
  std::string reason;
  std::string message = alice.wait_error(kWaitMs, &reason, true);
  g_assert_cmpstr(reason.c_str(), ==, "no-stream");
  g_assert_true(message.find("video_sink_0") != std::string::npos);
  g_assert_true(message.find("offer") != std::string::npos);
}

// The candidates `callee` gets after the offer, until none has come for 1 s.
std::vector<std::string> candidates_after_offer(WsClient &callee) {
  std::vector<std::string> found;
  while (std::optional<Frame> frame = callee.receive(1000)) {
    Json message(frame->payload);
    if (std::strcmp(message.str("type"), "candidate") != 0)
      continue;
    JsonObject *candidate = message.object("candidate");
    g_assert_nonnull(candidate);
    found.emplace_back(json_object_get_string_member(candidate, "candidate"));
  }
  return found;
}

unsigned count_containing(const std::vector<std::string> &candidates, const char *text) {
  unsigned n = 0;
  for (const auto &candidate : candidates)
    n += candidate.find(text) != std::string::npos;
  return n;
}

// ice-tcp=false: the element offers UDP candidates only, so that no call of
// it runs over TCP, where media stalls behind any lost packet. At the
// default it offers TCP candidates as well (RFC 6544's "tcptype").
void test_ice_tcp_off_gathers_udp_only() {
  for (bool ice_tcp : {true, false}) {
    ServerProcess server = ServerProcess::ours();
    EndpointOptions o = caller(server, "vp8enc deadline=1");
    o.properties = ice_tcp ? "" : "ice-tcp=false";
    CallEndpoint alice(o);
    alice.play();
    alice.wait_state("logged-in", kWaitMs);
    WsClient bob(server.url());
    bob.login("bob");
    next_offer(bob);
    std::vector<std::string> candidates = candidates_after_offer(bob);
    g_assert_cmpuint(count_containing(candidates, " UDP "), >, 0);
    if (ice_tcp)
      g_assert_cmpuint(count_containing(candidates, " TCP "), >, 0);
    else
      g_assert_cmpuint(count_containing(candidates, " TCP "), ==, 0);
  }
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/offer/ssrc-without-another-frame", test_ssrc_without_another_frame);
  g_test_add_func("/offer/waits-for-a-late-stream", test_offer_waits_for_a_late_stream);
  g_test_add_func("/offer/no-stream-warns-and-offers", test_no_stream_warns_and_offers);
  g_test_add_func("/offer/ice-tcp-off-gathers-udp-only", test_ice_tcp_off_gathers_udp_only);
  return g_test_run();
}
