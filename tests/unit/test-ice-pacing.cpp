// ICE pacing (gst/ice_pacing.cpp): the a=ice-pacing the element proposes and
// reads in descriptions (RFC 8839), and Ta set on a real webrtcbin's libnice
// agent.
#include "ice_pacing.hpp"

#include <gst/gst.h>

#include <string>

using namespace webrtccall;

namespace {

GstSDPMessage *parsed(const std::string &text) {
  GstSDPMessage *message = nullptr;
  g_assert_cmpint(gst_sdp_message_new_from_text(text.c_str(), &message), ==, GST_SDP_OK);
  return message;
}

std::string session(const std::string &attributes) {
  return "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + attributes +
         "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
         "a=rtpmap:96 VP8/90000\r\n";
}

guint proposal_in(const std::string &attributes) {
  GstSDPMessage *message = parsed(session(attributes));
  guint ms = proposed_ice_pacing(message);
  gst_sdp_message_free(message);
  return ms;
}

void test_proposal_is_one_session_attribute() {
  GstSDPMessage *message = parsed(session("a=ice-pacing:50\r\n"));
  propose_ice_pacing(message, 5);
  g_autofree char *text = gst_sdp_message_as_text(message);
  // Replaced, not added: one proposal, ours, before the m-line.
  std::string sdp = text;
  g_assert_cmpuint(sdp.find("a=ice-pacing:5\r\n"), <, sdp.find("m=video"));
  g_assert_cmpuint(sdp.find("a=ice-pacing:"), ==, sdp.rfind("a=ice-pacing:"));
  g_assert_cmpuint(proposed_ice_pacing(message), ==, 5);
  gst_sdp_message_free(message);
}

void test_proposals_read() {
  g_assert_cmpuint(proposal_in("a=ice-pacing:5\r\n"), ==, 5);
  g_assert_cmpuint(proposal_in("a=ice-pacing:50\r\n"), ==, 50);
  g_assert_cmpuint(proposal_in("a=ice-pacing:1000\r\n"), ==, 1000);
  // None, below RFC 8445's 5 ms, too long to wait for, or not a number: no proposal.
  g_assert_cmpuint(proposal_in(""), ==, 0);
  g_assert_cmpuint(proposal_in("a=ice-pacing:4\r\n"), ==, 0);
  g_assert_cmpuint(proposal_in("a=ice-pacing:0\r\n"), ==, 0);
  g_assert_cmpuint(proposal_in("a=ice-pacing:1001\r\n"), ==, 0);
  g_assert_cmpuint(proposal_in("a=ice-pacing:99999999999999999999\r\n"), ==, 0);
  g_assert_cmpuint(proposal_in("a=ice-pacing:-5\r\n"), ==, 0);
  g_assert_cmpuint(proposal_in("a=ice-pacing:5ms\r\n"), ==, 0);
  g_assert_cmpuint(proposal_in("a=ice-pacing\r\n"), ==, 0);
}

void test_set_on_webrtcbin() {
  GstElement *webrtcbin = gst_element_factory_make("webrtcbin", nullptr);
  g_assert_nonnull(webrtcbin);
  gst_object_ref_sink(webrtcbin);
  // libnice's default, before.
  g_assert_cmpuint(ice_pacing_of(webrtcbin), ==, 20);
  g_assert_true(set_ice_pacing(webrtcbin, 5));
  g_assert_cmpuint(ice_pacing_of(webrtcbin), ==, 5);
  gst_object_unref(webrtcbin);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/ice-pacing/proposal-is-one-session-attribute",
                  test_proposal_is_one_session_attribute);
  g_test_add_func("/ice-pacing/proposals-read", test_proposals_read);
  g_test_add_func("/ice-pacing/set-on-webrtcbin", test_set_on_webrtcbin);
  return g_test_run();
}
