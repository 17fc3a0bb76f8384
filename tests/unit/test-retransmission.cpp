// Which of the peer's streams the element asks to resend lost packets
// (gst/jitter_buffers.hpp): the SSRCs of m-lines with generic NACK; and how
// long it waits before asking again.
#include "jitter_buffers.hpp"

#include <gst/gst.h>

#include <set>
#include <string>

// jitter_buffers.cpp logs to the element's category, which the plugin defines.
GST_DEBUG_CATEGORY(gst_webrtc_call_debug);

using namespace webrtccall;

namespace {

// A browser's offer, cut down: audio without NACK, video with NACK and RTX
// (two SSRCs, the second the retransmissions'), and a rejected m-line.
const char *kOffer = "v=0\r\n"
                     "o=- 1 2 IN IP4 127.0.0.1\r\n"
                     "s=-\r\n"
                     "t=0 0\r\n"
                     "a=group:BUNDLE 0 1\r\n"
                     "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
                     "a=mid:0\r\n"
                     "a=rtpmap:111 opus/48000/2\r\n"
                     "a=rtcp-fb:111 transport-cc\r\n"
                     "a=ssrc:1111 cname:x\r\n"
                     "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
                     "a=mid:1\r\n"
                     "a=rtpmap:96 VP8/90000\r\n"
                     "a=rtcp-fb:96 nack\r\n"
                     "a=rtcp-fb:96 nack pli\r\n"
                     "a=rtpmap:97 rtx/90000\r\n"
                     "a=fmtp:97 apt=96\r\n"
                     "a=ssrc-group:FID 2222 3333\r\n"
                     "a=ssrc:2222 cname:x\r\n"
                     "a=ssrc:2222 msid:s v\r\n"
                     "a=ssrc:3333 cname:x\r\n"
                     "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n"
                     "a=mid:2\r\n"
                     "a=rtcp-fb:96 nack\r\n"
                     "a=ssrc:4444 cname:x\r\n";

std::set<guint32> parse(const std::string &sdp) {
  GstSDPMessage *message = nullptr;
  g_assert_cmpint(gst_sdp_message_new_from_text(sdp.c_str(), &message), ==, GST_SDP_OK);
  std::set<guint32> ssrcs = ssrcs_with_nack(message);
  gst_sdp_message_free(message);
  return ssrcs;
}

void test_video_with_nack_only() {
  std::set<guint32> ssrcs = parse(kOffer);
  g_assert_cmpuint(ssrcs.size(), ==, 2);
  g_assert_true(ssrcs.count(2222) && ssrcs.count(3333));
}

// "nack pli" asks for keyframes, not for packets: alone it is no reason to
// send NACKs. A wildcard payload type counts.
void test_pli_alone_is_not_nack_and_wildcard_is() {
  std::string pli_only = kOffer;
  pli_only.replace(pli_only.find("a=rtcp-fb:96 nack\r\n"), 19, "");
  g_assert_true(parse(pli_only).empty());
  std::string wildcard = pli_only;
  wildcard.replace(wildcard.find("a=rtcp-fb:96 nack pli"), 21, "a=rtcp-fb:* nack");
  g_assert_cmpuint(parse(wildcard).size(), ==, 2);
}

// Malformed ssrc lines are skipped, not misread.
void test_malformed_ssrcs_are_skipped() {
  std::string odd = kOffer;
  odd.replace(odd.find("a=ssrc:3333 cname:x"), 19, "a=ssrc:33x3 cname:x");
  odd.replace(odd.find("a=ssrc:2222 cname:x"), 19, "a=ssrc:99999999999 x");
  std::set<guint32> ssrcs = parse(odd);
  g_assert_cmpuint(ssrcs.size(), ==, 1);
  g_assert_true(ssrcs.count(2222)); // from its msid line
}

// How long a jitter buffer waits before asking again: browsers' 100 ms while
// the round trip is unknown, then the round trip and a quarter, never under
// 10 ms (loopback's reports give 0).
void test_asked_again_after_a_round_trip() {
  g_assert_cmpuint(JitterBufferSetup::retry_wait_ms(-1), ==, 100);
  g_assert_cmpuint(JitterBufferSetup::retry_wait_ms(0), ==, 10);
  g_assert_cmpuint(JitterBufferSetup::retry_wait_ms(7.9), ==, 10);
  g_assert_cmpuint(JitterBufferSetup::retry_wait_ms(200), ==, 250);
  g_assert_cmpuint(JitterBufferSetup::retry_wait_ms(200.5), ==, 251);
  g_assert_cmpuint(JitterBufferSetup::retry_wait_ms(1000), ==, 1250);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  GST_DEBUG_CATEGORY_INIT(gst_webrtc_call_debug, "webrtccall", 0, "webrtccall (test)");
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/retransmission/video-with-nack-only", test_video_with_nack_only);
  g_test_add_func("/retransmission/pli-alone-is-not-nack-and-wildcard-is",
                  test_pli_alone_is_not_nack_and_wildcard_is);
  g_test_add_func("/retransmission/malformed-ssrcs-are-skipped", test_malformed_ssrcs_are_skipped);
  g_test_add_func("/retransmission/asked-again-after-a-round-trip",
                  test_asked_again_after_a_round_trip);
  return g_test_run();
}
