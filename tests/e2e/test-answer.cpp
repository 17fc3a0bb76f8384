// What the element answers to an offer shaped like Chromium's: the payload
// type it picks (H.264 by profile), and the m-lines it rejects with port 0,
// in place. A scripted caller sends the offer through our server and reads
// the answer; the element is real.
#include "call_endpoint.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

using namespace webrtccall::test;

namespace {

// Compares a returned std::string. g_assert_cmpstr on a temporary's .c_str()
// keeps the pointer past the temporary's end (the macro copies it into a local
// first), so it compares freed memory: AddressSanitizer reports it.
void expect_str(const std::string &got, const char *want) {
  g_assert_cmpstr(got.c_str(), ==, want);
}

constexpr int kAnswerMs = 30000; // a deadline, not a measure: generous for a loaded machine

// ICE and DTLS lines every m-line of the offer carries (one transport: BUNDLE).
const char *const kTransport =
    "c=IN IP4 0.0.0.0\r\na=ice-ufrag:Wq3e\r\na=ice-pwd:u9S2mZr0kJwQ0bT1qN0q7x1y\r\n"
    "a=ice-options:trickle\r\na=fingerprint:sha-256 "
    "4A:1D:7B:3C:58:1E:2F:90:AB:CD:EF:01:23:45:67:89:9A:BC:DE:F0:11:22:33:44:55:66:77:88:99:"
    "AA:BB:CC\r\na=setup:actpass\r\n";

std::string audio_mline(const char *mid) {
  return std::string("m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n") + kTransport +
         "a=mid:" + mid +
         "\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
         "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
         "a=sendrecv\r\na=msid:s1 a1\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
         "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
         "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n"
         "a=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n"
         "a=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\n"
         "a=rtpmap:126 telephone-event/8000\r\na=ssrc:1001 cname:c\r\n";
}

// Chromium's video m-line: VP8, VP9, H.264 in four profiles and both
// packetization modes, AV1, each with rtx, then red and ulpfec.
std::string video_mline(const char *mid) {
  std::string h264;
  const struct {
    int pt, rtx;
    const char *profile;
    int mode;
  } h264_formats[] = {{102, 103, "42001f", 1}, {104, 105, "42001f", 0}, {106, 107, "42e01f", 1},
                      {108, 109, "42e01f", 0}, {127, 125, "4d001f", 1}, {39, 40, "4d001f", 0},
                      {112, 113, "64001f", 1}};
  std::string formats = "96 97 98 99 100 101";
  for (const auto &f : h264_formats) {
    formats += " " + std::to_string(f.pt) + " " + std::to_string(f.rtx);
    h264 +=
        "a=rtpmap:" + std::to_string(f.pt) + " H264/90000\r\na=rtcp-fb:" + std::to_string(f.pt) +
        " nack\r\na=rtcp-fb:" + std::to_string(f.pt) +
        " nack pli\r\na=rtcp-fb:" + std::to_string(f.pt) +
        " transport-cc\r\na=fmtp:" + std::to_string(f.pt) +
        " level-asymmetry-allowed=1;packetization-mode=" + std::to_string(f.mode) +
        ";profile-level-id=" + f.profile + "\r\na=rtpmap:" + std::to_string(f.rtx) +
        " rtx/90000\r\na=fmtp:" + std::to_string(f.rtx) + " apt=" + std::to_string(f.pt) + "\r\n";
  }
  formats += " 45 46 116 117";
  return "m=video 9 UDP/TLS/RTP/SAVPF " + formats + "\r\n" + kTransport + "a=mid:" + mid +
         "\r\na=extmap:2 urn:ietf:params:rtp-hdrext:toffset\r\n"
         "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
         "a=extmap:4 urn:3gpp:video-orientation\r\n"
         "a=sendrecv\r\na=msid:s1 v1\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
         "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\n"
         "a=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
         "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
         "a=rtpmap:98 VP9/90000\r\na=rtcp-fb:98 nack\r\na=rtcp-fb:98 nack pli\r\n"
         "a=fmtp:98 profile-id=0\r\na=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\n"
         "a=rtpmap:100 VP9/90000\r\na=fmtp:100 profile-id=2\r\n"
         "a=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\n" +
         h264 +
         "a=rtpmap:45 AV1/90000\r\na=rtcp-fb:45 nack\r\na=rtpmap:46 rtx/90000\r\n"
         "a=fmtp:46 apt=45\r\na=rtpmap:116 red/90000\r\na=rtpmap:117 ulpfec/90000\r\n"
         "a=ssrc-group:FID 2001 2002\r\na=ssrc:2001 cname:c\r\na=ssrc:2002 cname:c\r\n";
}

// A video m-line with only codecs the element cannot play.
std::string av1_only_mline(const char *mid) {
  return std::string("m=video 9 UDP/TLS/RTP/SAVPF 45\r\n") + kTransport + "a=mid:" + mid +
         "\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:45 AV1/90000\r\n";
}

std::string data_channel_mline(const char *mid) {
  return std::string("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n") + kTransport +
         "a=mid:" + mid + "\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
}

std::string offer_sdp(const std::string &bundle, const std::string &mlines) {
  return "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "a=group:BUNDLE " +
         bundle + "\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS s1\r\n" + mlines;
}

using SdpPtr = std::unique_ptr<GstSDPMessage, decltype(&gst_sdp_message_free)>;

SdpPtr parse_sdp(const char *text) {
  GstSDPMessage *sdp = nullptr;
  if (gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK)
    g_error("the answer is not SDP: %s", text);
  return SdpPtr(sdp, gst_sdp_message_free);
}

// A callee that answers with what its pads carry, and a scripted caller.
struct Answering {
  ServerProcess server = ServerProcess::ours();
  std::unique_ptr<CallEndpoint> callee;
  WsClient caller{server.url()};

  explicit Answering(const char *video_encoder) {
    EndpointOptions o;
    o.server = server.url();
    o.user = "bob";
    o.video_encoder = video_encoder;
    callee = std::make_unique<CallEndpoint>(o);
    callee->play();
    callee->wait_state("logged-in", kAnswerMs);
    caller.login("chromium");
  }

  SdpPtr answer(const std::string &sdp) {
    caller.send_text(offer_json("bob", sdp));
    Json answer = caller.expect_type("answer", kAnswerMs);
    JsonObject *description = answer.object("answer");
    g_assert_nonnull(description);
    return parse_sdp(json_object_get_string_member(description, "sdp"));
  }
};

const GstSDPMedia *media(const SdpPtr &sdp, guint index) {
  g_assert_cmpuint(gst_sdp_message_medias_len(sdp.get()), >, index);
  return gst_sdp_message_get_media(sdp.get(), index);
}

// The one format an accepted m-line answers with, and its fmtp value.
std::string only_format(const GstSDPMedia *m) {
  g_assert_cmpuint(gst_sdp_media_get_port(m), !=, 0);
  // rtx formats may follow the codec's
  return gst_sdp_media_get_format(m, 0);
}

std::string fmtp_of(const GstSDPMedia *m, const std::string &pt) {
  for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
    if (g_strcmp0(a->key, "fmtp") == 0 && g_str_has_prefix(a->value, (pt + " ").c_str()))
      return a->value + pt.size() + 1;
  }
  return {};
}

// Port 0, the offer's mid, one format, and none of the offer's other lines.
void expect_rejected(const GstSDPMedia *m, const char *mid) {
  g_assert_cmpuint(gst_sdp_media_get_port(m), ==, 0);
  g_assert_cmpstr(gst_sdp_media_get_attribute_val(m, "mid"), ==, mid);
  g_assert_cmpuint(gst_sdp_media_formats_len(m), ==, 1);
  for (const char *gone : {"extmap", "rtcp-fb", "ssrc", "msid", "sctp-port", "sendrecv"})
    g_assert_null(gst_sdp_media_get_attribute_val(m, gone));
}

// A sending m-line states its stream's SSRC, and the RTX stream paired with
// it (video: the element resends lost packets on request): a browser drops
// a stream whose SSRC it was told wrong.
void expect_ssrcs_and_rtx(const GstSDPMedia *m) {
  g_assert_nonnull(gst_sdp_media_get_attribute_val(m, "ssrc"));
  const char *group = gst_sdp_media_get_attribute_val(m, "ssrc-group");
  g_assert_nonnull(group);
  unsigned primary = 0, rtx = 0;
  g_assert_cmpint(std::sscanf(group, "FID %u %u", &primary, &rtx), ==, 2);
  g_assert_cmpuint(primary, !=, 0);
  g_assert_cmpuint(rtx, !=, 0);
  bool rtx_format = false;
  for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
    rtx_format = rtx_format || (g_strcmp0(a->key, "rtpmap") == 0 && std::strstr(a->value, "rtx/"));
  }
  g_assert_true(rtx_format);
}

std::string bundle_group(const SdpPtr &sdp) {
  for (guint i = 0; i < gst_sdp_message_attributes_len(sdp.get()); i++) {
    const GstSDPAttribute *a = gst_sdp_message_get_attribute(sdp.get(), i);
    if (g_strcmp0(a->key, "group") == 0)
      return a->value;
  }
  return {};
}

constexpr const char *kX264 = "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30";

// A Constrained Baseline stream goes out as the offer's Constrained Baseline
// payload type in packetization mode 1 (106), whose profile-level-id the
// answer repeats: Chromium matches H.264 by it.
void test_h264_constrained_baseline() {
  Answering call((std::string(kX264) + " ! video/x-h264,profile=constrained-baseline").c_str());
  SdpPtr answer = call.answer(offer_sdp("0 1", audio_mline("0") + video_mline("1")));
  std::string pt = only_format(media(answer, 1));
  g_assert_cmpstr(pt.c_str(), ==, "106");
  expect_ssrcs_and_rtx(media(answer, 1));
  std::string fmtp = fmtp_of(media(answer, 1), pt);
  g_assert_true(fmtp.find("profile-level-id=42e01f") != std::string::npos);
  g_assert_true(fmtp.find("packetization-mode=1") != std::string::npos);
  expect_str(only_format(media(answer, 0)), "111");
}

// A High profile stream needs the offer's High payload type (112).
void test_h264_high() {
  Answering call((std::string(kX264) + " ! video/x-h264,profile=high").c_str());
  SdpPtr answer = call.answer(offer_sdp("0 1", audio_mline("0") + video_mline("1")));
  std::string pt = only_format(media(answer, 1));
  g_assert_cmpstr(pt.c_str(), ==, "112");
  g_assert_true(fmtp_of(media(answer, 1), pt).find("profile-level-id=64001f") != std::string::npos);
}

// A High profile stream cannot go out as Constrained Baseline: the call
// fails saying so, instead of sending what the peer may not decode.
void test_h264_profile_not_offered() {
  Answering call((std::string(kX264) + " ! video/x-h264,profile=high").c_str());
  std::string video = video_mline("1");
  // Keep only the Constrained Baseline payload types of Chromium's list.
  for (const char *profile : {"42001f", "4d001f", "64001f"}) {
    std::string needle = std::string("profile-level-id=") + profile;
    for (std::size_t at; (at = video.find(needle)) != std::string::npos;)
      video.replace(at, needle.size(), "profile-level-id=42e01f");
  }
  call.caller.send_text(offer_json("bob", offer_sdp("0 1", audio_mline("0") + video)));
  std::string reason;
  std::string message = call.callee->wait_error(kAnswerMs, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "no-common-codec");
  g_assert_true(message.find("profile-level-id 6400") != std::string::npos);
  g_assert_true(message.find("constrained-baseline") != std::string::npos);
}

// VP9 goes out as the offered payload type of its profile: Chromium offers
// profile 0 as 98 and profile 2 as 100.
void test_vp9_profile_0() {
  Answering call("capsfilter caps=video/x-raw,format=I420 ! vp9enc deadline=1 lag-in-frames=0");
  SdpPtr answer = call.answer(offer_sdp("0 1", audio_mline("0") + video_mline("1")));
  std::string pt = only_format(media(answer, 1));
  g_assert_cmpstr(pt.c_str(), ==, "98");
  expect_ssrcs_and_rtx(media(answer, 1));
}

void test_vp9_profile_2() {
  Answering call(
      "capsfilter caps=video/x-raw,format=I420_10LE ! vp9enc deadline=1 lag-in-frames=0");
  SdpPtr answer = call.answer(offer_sdp("0 1", audio_mline("0") + video_mline("1")));
  std::string pt = only_format(media(answer, 1));
  g_assert_cmpstr(pt.c_str(), ==, "100");
}

// vp9enc fed 4:4:4 makes profile 3, which Chromium does not offer: the call
// fails saying how to make profile 0, instead of sending what the browser
// shows as a magenta field.
void test_vp9_profile_3_is_refused() {
  Answering call(
      "capsfilter caps=video/x-raw,format=Y444_12LE ! vp9enc deadline=1 lag-in-frames=0");
  call.caller.send_text(offer_json("bob", offer_sdp("0 1", audio_mline("0") + video_mline("1"))));
  std::string reason;
  std::string message = call.callee->wait_error(kAnswerMs, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "no-common-codec");
  g_assert_true(message.find("VP9 profile 3") != std::string::npos);
  g_assert_true(message.find("format=I420") != std::string::npos);
}

// VP8 keeps the offer's payload type (96), among all of Chromium's codecs.
void test_vp8_among_many() {
  Answering call("vp8enc deadline=1");
  SdpPtr answer = call.answer(offer_sdp("0 1", audio_mline("0") + video_mline("1")));
  expect_str(only_format(media(answer, 1)), "96");
  expect_ssrcs_and_rtx(media(answer, 1));
  // Of the offered header extensions, transport-wide congestion control,
  // with the offer's id, and nothing the element does not implement.
  for (guint index : {0u, 1u}) {
    const GstSDPMedia *m = media(answer, index);
    g_assert_cmpstr(gst_sdp_media_get_attribute_val_n(m, "extmap", 0), ==,
                    "3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01");
    g_assert_null(gst_sdp_media_get_attribute_val_n(m, "extmap", 1));
  }
}

// A data channel and an AV1-only m-line are rejected in place; the rest is
// answered in the offer's order and bundled without them.
void test_rejects_in_place() {
  Answering call("vp8enc deadline=1");
  SdpPtr answer = call.answer(offer_sdp("0 1 2 3", video_mline("0") + data_channel_mline("1") +
                                                       audio_mline("2") + av1_only_mline("3")));
  g_assert_cmpuint(gst_sdp_message_medias_len(answer.get()), ==, 4);
  g_assert_cmpstr(gst_sdp_media_get_attribute_val(media(answer, 0), "mid"), ==, "0");
  expect_str(only_format(media(answer, 0)), "96");
  expect_rejected(media(answer, 1), "1");
  g_assert_cmpstr(gst_sdp_media_get_attribute_val(media(answer, 2), "mid"), ==, "2");
  expect_str(only_format(media(answer, 2)), "111");
  expect_rejected(media(answer, 3), "3");
  std::string group = bundle_group(answer);
  g_assert_cmpstr(group.c_str(), ==, "BUNDLE 0 2");
  // The call goes on: candidates come for the bundled transport.
  Json candidate = call.caller.expect_type("candidate", kAnswerMs);
  JsonObject *init = candidate.object("candidate");
  g_assert_nonnull(init);
  g_assert_cmpint(json_object_get_int_member(init, "sdpMLineIndex"), ==, 0);
}

// The m-line that tags the offer's BUNDLE group carries the bundled
// transport in webrtcbin 1.22, so when it has nothing the element can play
// it is answered inactive instead of port 0, and stays in the group.
void test_unplayable_bundle_tag_is_inactive() {
  Answering call("vp8enc deadline=1");
  SdpPtr answer =
      call.answer(offer_sdp("0 1 2", av1_only_mline("0") + video_mline("1") + audio_mline("2")));
  g_assert_cmpuint(gst_sdp_message_medias_len(answer.get()), ==, 3);
  const GstSDPMedia *tag = media(answer, 0);
  g_assert_cmpuint(gst_sdp_media_get_port(tag), !=, 0);
  g_assert_nonnull(gst_sdp_media_get_attribute_val(tag, "inactive"));
  g_assert_null(gst_sdp_media_get_attribute_val(tag, "recvonly"));
  expect_str(only_format(media(answer, 1)), "96");
  expect_str(only_format(media(answer, 2)), "111");
  std::string group = bundle_group(answer);
  g_assert_cmpstr(group.c_str(), ==, "BUNDLE 0 1 2");
  Json candidate = call.caller.expect_type("candidate", kAnswerMs);
  JsonObject *init = candidate.object("candidate");
  g_assert_nonnull(init);
  g_assert_cmpint(json_object_get_int_member(init, "sdpMLineIndex"), ==, 0);
}

// aiortc gives each bundled m-line ICE credentials of its own, which
// webrtcbin 1.22 refuses as they are: the element answers all the same.
void test_bundled_credentials_differ() {
  Answering call("vp8enc deadline=1");
  std::string video = video_mline("1");
  std::string ufrag = "a=ice-ufrag:Wq3e", other = "a=ice-ufrag:Zz9y";
  video.replace(video.find(ufrag), ufrag.size(), other);
  SdpPtr answer = call.answer(offer_sdp("0 1", audio_mline("0") + video));
  expect_str(only_format(media(answer, 0)), "111");
  expect_str(only_format(media(answer, 1)), "96");
}

// An offer that is not SDP fails the call, says why, and leaves the
// element ready for the next one.
void test_offer_that_is_not_sdp() {
  Answering call("vp8enc deadline=1");
  call.caller.send_text(offer_json("bob", "this is not SDP"));
  std::string reason;
  std::string message = call.callee->wait_error(kAnswerMs, &reason);
  expect_str(reason, "negotiation-failed");
  g_assert_true(message.find("not valid SDP") != std::string::npos);
  Json leave = call.caller.expect_type("leave", kAnswerMs);
  expect_str(leave.str("name"), "bob");
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/answer/vp9/profile-0", test_vp9_profile_0);
  g_test_add_func("/answer/vp9/profile-2", test_vp9_profile_2);
  g_test_add_func("/answer/vp9/profile-3-is-refused", test_vp9_profile_3_is_refused);
  g_test_add_func("/answer/h264/constrained-baseline", test_h264_constrained_baseline);
  g_test_add_func("/answer/h264/high", test_h264_high);
  g_test_add_func("/answer/h264/profile-not-offered", test_h264_profile_not_offered);
  g_test_add_func("/answer/vp8-among-many", test_vp8_among_many);
  g_test_add_func("/answer/rejects-in-place", test_rejects_in_place);
  g_test_add_func("/answer/offer-that-is-not-sdp", test_offer_that_is_not_sdp);
  g_test_add_func("/answer/bundled-credentials-differ", test_bundled_credentials_differ);
  g_test_add_func("/answer/unplayable-bundle-tag-is-inactive",
                  test_unplayable_bundle_tag_is_inactive);
  return g_test_run();
}
