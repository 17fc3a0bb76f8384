// Two webrtccall elements call each other through our server, on loopback,
// with test sources; the tests check what is decoded on each side.
#include "call_endpoint.hpp"
#include "server_process.hpp"
#include "wait_deadline.hpp"
#include "ws_client.hpp"

#include <gio/gio.h>
#include <gst/gst.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <memory>

using namespace webrtccall::test;

namespace {

constexpr int kSetupMs = 30000; // a deadline, not a measure: generous for a loaded machine

// Compares a returned std::string: g_assert_cmpstr on .c_str() of a
// temporary reads freed memory (AddressSanitizer says so).
void expect_eq(const std::string &got, const char *want) {
  if (got != want)
    g_error("expected \"%s\", got \"%s\"", want, got.c_str());
}

EndpointOptions side(const ServerProcess &server, const char *user, const char *peer = "") {
  EndpointOptions o;
  o.server = server.url();
  o.user = user;
  o.peer = peer;
  return o;
}

void assert_audio_tone(CallEndpoint &endpoint, double expected_hz, const char *who) {
  endpoint.wait_audio_buffers(100, kSetupMs); // ~2 s of 20 ms Opus frames
  std::vector<gint16> samples;
  {
    std::lock_guard<std::mutex> guard(endpoint.audio.lock);
    samples = endpoint.audio.samples;
  }
  double hz = dominant_frequency(samples, 48000);
  if (std::abs(hz - expected_hz) > expected_hz * 0.05)
    g_error("%s hears %.1f Hz, expected %.0f Hz", who, hz, expected_hz);
}

// alice sends SMPTE bars and 440 Hz, bob blue and 880 Hz: each must see and
// hear the other's, at the size sent.
void assert_both_ways(CallEndpoint &alice, CallEndpoint &bob) {
  bob.wait_video_frames(30, kSetupMs);
  alice.wait_video_frames(30, kSetupMs);
  {
    std::lock_guard<std::mutex> guard(bob.video.lock);
    g_assert_cmpint(bob.video.width, ==, 320);
    g_assert_cmpint(bob.video.height, ==, 240);
    std::string why;
    if (!looks_like_smpte(bob.video.last_rgb, bob.video.width, bob.video.height, why))
      g_error("bob does not see alice's SMPTE bars: %s", why.c_str());
  }
  {
    std::lock_guard<std::mutex> guard(alice.video.lock);
    double r, g, b;
    mean_colour(alice.video.last_rgb, r, g, b);
    if (!(b > 200 && r < 40 && g < 40))
      g_error("alice does not see bob's blue: mean colour %.0f,%.0f,%.0f", r, g, b);
  }
  assert_audio_tone(bob, 440, "bob");
  assert_audio_tone(alice, 880, "alice");
}

// The `property` (of type T) of every element made by `factory` inside `call`.
template <typename T>
std::vector<T> property_of_each(GstElement *call, const char *factory, const char *property) {
  std::vector<T> values;
  GstIterator *it = gst_bin_iterate_recurse(GST_BIN(call));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto *element = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory *made_by = gst_element_get_factory(element);
    if (made_by && g_str_equal(GST_OBJECT_NAME(made_by), factory)) {
      T value{};
      g_object_get(element, property, &value, nullptr);
      values.push_back(value);
    }
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return values;
}

// The Ta of the libnice agent of each webrtcbin in `call`.
std::vector<guint> ice_pacing_of_each(GstElement *call) {
  std::vector<guint> values;
  for (GObject *ice : property_of_each<GObject *>(call, "webrtcbin", "ice-agent")) {
    GObject *agent = nullptr;
    g_object_get(ice, "agent", &agent, nullptr);
    guint ms = 0;
    g_object_get(agent, "stun-pacing-timer", &ms, nullptr);
    values.push_back(ms);
    g_object_unref(agent);
    g_object_unref(ice);
  }
  return values;
}

void test_video_and_audio_both_ways() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions a = side(server, "alice", "bob");
  a.video_pattern = "smpte";
  a.audio_frequency = 440;
  EndpointOptions b = side(server, "bob");
  b.video_pattern = "blue";
  b.audio_frequency = 880;
  b.properties = "lip-sync=false ice-pacing=40";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(a);
  alice.play();
  alice.wait_state("in-call", kSetupMs);
  bob.wait_state("in-call", kSetupMs);

  assert_both_ways(alice, bob);

  GstStructure *stats = alice.wait_stats(5000);
  guint64 rx = 0, tx = 0;
  gst_structure_get_uint64(stats, "rx-bitrate", &rx);
  gst_structure_get_uint64(stats, "tx-bitrate", &tx);
  gst_structure_free(stats);
  // Stats keep coming; a later one has both directions measured, over a whole
  // window in the call. Under the sanitizers (wait_scale()) the first windows
  // may hold the slowed-down start: as many more samples, as for any wait.
  std::string local_type, remote_type;
  int samples = int(6 * wait_scale());
  for (int i = 0; i < samples && (rx <= 50000 || tx <= 50000 || local_type.empty()); i++) {
    stats = alice.wait_stats(5000);
    gst_structure_get_uint64(stats, "rx-bitrate", &rx);
    gst_structure_get_uint64(stats, "tx-bitrate", &tx);
    local_type = gst_structure_get_string(stats, "local-candidate-type");
    remote_type = gst_structure_get_string(stats, "remote-candidate-type");
    gst_structure_free(stats);
  }
  g_assert_cmpuint(rx, >, 50000);
  g_assert_cmpuint(tx, >, 50000);
  // On loopback, host candidates meet directly.
  expect_eq(local_type, "host");
  expect_eq(remote_type, "host");
  // Nothing is lost here, so what the element does on loss (docs/element.md)
  // is checked where it is set: the peer's video is asked for again (its
  // jitter buffer sends NACKs; not the audio's, which negotiated none), and
  // its depayloader asks for a keyframe when that fails. (A run under the
  // sanitizers found three jitter buffers here, not two: only that both kinds
  // are there is asserted.)
  std::vector<gboolean> nack =
      property_of_each<gboolean>(alice.call(), "rtpjitterbuffer", "do-retransmission");
  g_assert_cmpuint(std::count(nack.begin(), nack.end(), true), >=, 1);
  g_assert_cmpuint(std::count(nack.begin(), nack.end(), false), >=, 1);
  // Those that ask wait a round trip before asking again: browsers' 100 ms
  // until the peer's reports give it, then the round trip and a quarter, at
  // least 10 ms; not rtpjitterbuffer's own -1 (40 ms, then a too short
  // estimate). The round trip here is what RTCP measures through both
  // pipelines as the call starts: a few ms, over 100 under the sanitizers.
  std::vector<gint> retry_waits =
      property_of_each<gint>(alice.call(), "rtpjitterbuffer", "rtx-min-retry-timeout");
  g_assert_cmpuint(std::count_if(retry_waits.begin(), retry_waits.end(),
                                 [](gint ms) { return ms >= 10 && ms <= 1000; }),
                   ==, std::count(nack.begin(), nack.end(), true));
  std::vector<gboolean> keyframes =
      property_of_each<gboolean>(alice.call(), "rtpvp8depay", "request-keyframe");
  g_assert_cmpuint(keyframes.size(), ==, 1);
  g_assert_true(keyframes[0]);
  // Lip-sync (rtpbin's, on by default) stays on for alice; bob turned it
  // off, so rtpbin ignores every offset it finds and none of his streams is
  // delayed to another's timing, whatever sender reports have come.
  std::vector<gint64> max_offsets =
      property_of_each<gint64>(alice.call(), "rtpbin", "max-ts-offset");
  g_assert_cmpuint(max_offsets.size(), ==, 1);
  g_assert_cmpint(max_offsets[0], >, 1);
  max_offsets = property_of_each<gint64>(bob.call(), "rtpbin", "max-ts-offset");
  g_assert_cmpuint(max_offsets.size(), ==, 1);
  g_assert_cmpint(max_offsets[0], ==, 1);
  for (gint64 offset : property_of_each<gint64>(bob.call(), "rtpjitterbuffer", "ts-offset"))
    g_assert_cmpint(offset, ==, 0);
  // ICE pacing: alice proposed her 5 ms (the default) in her offer, bob his 40
  // in his answer; both paced their checks at the higher.
  for (CallEndpoint *side : {&alice, &bob}) {
    std::vector<guint> pacing = ice_pacing_of_each(side->call());
    g_assert_cmpuint(pacing.size(), ==, 1);
    g_assert_cmpuint(pacing[0], ==, 40);
  }

  // alice hangs up: both end, and both pipelines reach EOS.
  g_signal_emit_by_name(alice.call(), "hangup");
  expect_eq(alice.wait_state("ended", 5000), "hangup");
  expect_eq(bob.wait_state("ended", 5000), "remote-hangup");
  alice.wait_eos(5000);
  bob.wait_eos(5000);
}

void test_callee_hangs_up() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint bob(side(server, "bob"));
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  bob.wait_video_frames(10, kSetupMs);
  alice.wait_video_frames(10, kSetupMs);
  g_signal_emit_by_name(bob.call(), "hangup");
  expect_eq(alice.wait_state("ended", 5000), "remote-hangup");
  alice.wait_eos(5000);
  bob.wait_eos(5000);
  g_assert_true(alice.video.eos && alice.audio.eos);
}

// A peer's pipeline set to NULL mid-call: the other side's call ends.
void test_peer_stopped_mid_call() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint bob(side(server, "bob"));
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  auto alice = std::make_unique<CallEndpoint>(side(server, "alice", "bob"));
  alice->play();
  bob.wait_video_frames(10, kSetupMs);
  alice.reset(); // to NULL and gone
  bob.wait_state("ended", 5000);
  bob.wait_eos(5000);
}

void test_audio_only() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.send_video = false;
  b.audio_frequency = 660;
  EndpointOptions a = side(server, "alice", "bob");
  a.send_video = false;
  a.audio_frequency = 330;
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(a);
  alice.play();
  assert_audio_tone(bob, 330, "bob");
  assert_audio_tone(alice, 660, "alice");
  g_assert_cmpuint(alice.video.buffers, ==, 0);
  g_assert_cmpuint(bob.video.buffers, ==, 0);
}

// bob has no sink pads: he only watches and listens.
void test_receive_only() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.send_video = false;
  b.send_audio = false;
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  bob.wait_video_frames(30, kSetupMs);
  assert_audio_tone(bob, 440, "bob");
  std::string why;
  {
    std::lock_guard<std::mutex> guard(bob.video.lock);
    g_assert_true(looks_like_smpte(bob.video.last_rgb, bob.video.width, bob.video.height, why));
  }
  g_assert_cmpuint(alice.video.buffers, ==, 0);
}

void test_callee_logs_in_after_caller() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  alice.wait_state("calling", kSetupMs);
  g_usleep(1500 * 1000); // bob is late on purpose
  CallEndpoint bob(side(server, "bob"));
  bob.play();
  bob.wait_video_frames(10, kSetupMs);
  alice.wait_video_frames(10, kSetupMs);
}

void test_answer_when_asked() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.properties = "auto-answer=false";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  bob.wait_state("ringing", kSetupMs);
  // incoming-call comes on the element's thread, just after the state message.
  gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
  while (bob.incoming_callers().empty() && g_get_monotonic_time() < deadline)
    g_usleep(10000);
  auto callers = bob.incoming_callers();
  g_assert_cmpuint(callers.size(), ==, 1);
  g_assert_cmpstr(callers[0].c_str(), ==, "alice");
  g_autofree char *remote = nullptr;
  g_object_get(bob.call(), "remote-user", &remote, nullptr);
  g_assert_cmpstr(remote, ==, "alice");
  g_assert_cmpuint(bob.video.buffers, ==, 0);
  g_signal_emit_by_name(bob.call(), "answer");
  bob.wait_video_frames(10, kSetupMs);
  alice.wait_video_frames(10, kSetupMs);
}

void test_reject() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.properties = "auto-answer=false";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  bob.wait_state("ringing", kSetupMs);
  g_signal_emit_by_name(bob.call(), "reject");
  std::string reason;
  std::string message = alice.wait_error(5000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "declined");
  g_assert_true(message.find("bob declined") != std::string::npos);
  expect_eq(bob.wait_state("logged-in", 5000), "rejected");
}

// The callee cannot take the call (no common video codec): the caller is
// told so, not that it was declined.
void test_callee_that_cannot_take_the_call() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.video_encoder = "x264enc tune=zerolatency speed-preset=ultrafast ! "
                    "video/x-h264,profile=constrained-baseline";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  EndpointOptions a = side(server, "alice", "bob");
  a.video_encoder = "capsfilter caps=video/x-raw,format=I420 ! vp9enc deadline=1 lag-in-frames=0";
  CallEndpoint alice(a);
  alice.play();
  std::string reason;
  bob.wait_error(kSetupMs, &reason);
  expect_eq(reason, "no-common-codec");
  std::string message = alice.wait_error(5000, &reason);
  expect_eq(reason, "peer-failed");
  g_assert_true(message.find("bob could not take the call") != std::string::npos);
}

// Nobody answers the ringing call in time: the caller hears it was missed.
void test_missed_call() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.properties = "auto-answer=false call-timeout=1";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  bob.wait_state("ringing", kSetupMs);
  std::string reason;
  alice.wait_error(5000, &reason);
  expect_eq(reason, "no-answer");
  expect_eq(bob.wait_state("logged-in", 5000), "no-answer");
}

// Without end-on-hangup the element stays logged in and takes the next call.
void test_second_call_in_same_pipeline() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.properties = "end-on-hangup=false";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  for (int call = 1; call <= 2; call++) {
    unsigned before = bob.video.buffers;
    CallEndpoint alice(side(server, "alice", "bob"));
    alice.play();
    bob.wait_video_frames(before + 10, kSetupMs);
    alice.wait_video_frames(10, kSetupMs);
    g_signal_emit_by_name(alice.call(), "hangup");
    expect_eq(bob.wait_state("logged-in", 5000), "remote-hangup");
    g_assert_cmpuint(bob.calls_seen, ==, unsigned(call));
  }
  bob.expect_no_error();
}

// decode=false: the peer's media comes out encoded, for recording or forwarding.
void test_encoded_output() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.encoded = true;
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  bob.wait_video_frames(30, kSetupMs);
  bob.wait_audio_buffers(50, kSetupMs);
  std::lock_guard<std::mutex> video(bob.video.lock);
  std::lock_guard<std::mutex> audio(bob.audio.lock);
  g_assert_true(g_str_has_prefix(bob.video.caps.c_str(), "video/x-vp8"));
  g_assert_true(g_str_has_prefix(bob.audio.caps.c_str(), "audio/x-opus"));
}

// Each codec, both ways, with the content checked: VP9 video, G.711 audio.
void codec_call(const char *video_encoder, const char *audio_encoder) {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions a = side(server, "alice", "bob");
  EndpointOptions b = side(server, "bob");
  a.video_encoder = b.video_encoder = video_encoder;
  a.audio_encoder = b.audio_encoder = audio_encoder;
  b.video_pattern = "blue";
  b.audio_frequency = 880;
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(a);
  alice.play();
  assert_both_ways(alice, bob);
}

void test_vp9_and_pcmu() {
  codec_call("vp9enc deadline=1 lag-in-frames=0",
             "audioconvert ! audioresample ! audio/x-raw,rate=8000,channels=1 ! mulawenc");
}

void test_vp9_and_pcma() {
  codec_call("vp9enc deadline=1 lag-in-frames=0",
             "audioconvert ! audioresample ! audio/x-raw,rate=8000,channels=1 ! alawenc");
}

// x264enc as browsers' H.264 decoders want it: no B-frames or lookahead
// (zerolatency), a keyframe every second.
constexpr const char *kX264 = "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30";

void test_h264_and_opus() {
  codec_call((std::string(kX264) + " ! video/x-h264,profile=constrained-baseline").c_str(),
             "opusenc");
}

// openh264enc writes Constrained Baseline too, with its own SPS.
void test_openh264_and_opus() {
  codec_call("openh264enc complexity=low ! video/x-h264,profile=constrained-baseline", "opusenc");
}

// Both call each other at once: one call, not two busy signals.
void test_crossed_calls_become_one() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint alice(side(server, "alice", "bob"));
  CallEndpoint bob(side(server, "bob", "alice"));
  alice.play();
  bob.play();
  alice.wait_video_frames(10, kSetupMs);
  bob.wait_video_frames(10, kSetupMs);
  alice.expect_no_error();
  bob.expect_no_error();
}

// --- calls that cannot happen

void test_server_unreachable() {
  EndpointOptions o;
  o.server = "ws://127.0.0.1:1";
  o.user = "alice";
  o.peer = "bob";
  o.properties = "reconnect-timeout=1";
  CallEndpoint alice(o);
  gint64 start = g_get_monotonic_time();
  alice.play();
  std::string reason;
  std::string message = alice.wait_error(10000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "server-unreachable");
  g_assert_true(message.find("Cannot reach the signaling server at ws://127.0.0.1:1") == 0);
  g_assert_cmpint((g_get_monotonic_time() - start) / 1000, >=, 900); // it retried
}

void test_name_taken() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint first(side(server, "alice"));
  first.play();
  first.wait_state("logged-in", kSetupMs);
  CallEndpoint second(side(server, "alice"));
  second.play();
  std::string reason;
  std::string message = second.wait_error(5000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "name-taken");
  g_assert_true(message.find("Choose another user name") != std::string::npos);
}

void test_peer_offline() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions a = side(server, "alice", "nobody");
  a.properties = "call-timeout=2";
  CallEndpoint alice(a);
  alice.play();
  std::string reason;
  std::string message = alice.wait_error(8000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "peer-offline");
  g_assert_true(message.find("nobody did not come online within 2 s") == 0);
}

void test_busy() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint bob(side(server, "bob"));
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  bob.wait_video_frames(5, kSetupMs);
  CallEndpoint carol(side(server, "carol", "bob"));
  carol.play();
  std::string reason;
  carol.wait_error(8000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "busy");
  bob.expect_no_error();
}

void test_no_answer() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.properties = "auto-answer=false call-timeout=0";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  EndpointOptions a = side(server, "alice", "bob");
  a.properties = "call-timeout=2";
  CallEndpoint alice(a);
  alice.play();
  bob.wait_state("ringing", kSetupMs);
  std::string reason;
  std::string message = alice.wait_error(8000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "no-answer");
  g_assert_true(message.find("bob did not answer within 2 s") == 0);
  // bob hears the caller give up.
  expect_eq(bob.wait_state("logged-in", 5000), "cancelled");
}

// A caller (a scripted peer) offers only H.264 video; bob sends VP8.
void test_no_common_codec() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint bob(side(server, "bob"));
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  WsClient mallory(server.url());
  mallory.login("mallory");
  const char *sdp =
      "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
      "a=sendrecv\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
      "a=fingerprint:sha-256 "
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:"
      "BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=rtpmap:102 H264/90000\r\n"
      "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id="
      "42e01f\r\n";
  mallory.send_text(offer_json("bob", sdp));
  std::string reason;
  std::string message = bob.wait_error(8000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "no-common-codec");
  g_assert_true(message.find("VP8") != std::string::npos);
  g_assert_true(message.find("H264") != std::string::npos);
  Json leave = mallory.expect_type("leave", 5000);
  g_assert_cmpstr(leave.str("name"), ==, "bob");
}

// With end-on-hangup=false a failed call is a warning and the element stays logged in.
void test_failure_is_warning_without_end_on_hangup() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions a = side(server, "alice", "nobody");
  a.properties = "call-timeout=1 end-on-hangup=false";
  CallEndpoint alice(a);
  alice.play();
  std::string reason;
  alice.wait_error(6000, &reason, true);
  g_assert_cmpstr(reason.c_str(), ==, "peer-offline");
  alice.wait_state("logged-in", 3000);
  alice.expect_no_error();
  // It can still take a call.
  CallEndpoint bob(side(server, "bob", "alice"));
  bob.play();
  alice.wait_video_frames(10, kSetupMs);
}

// A caller (a scripted peer) whose only candidate leads nowhere: ICE fails.
void test_ice_failed() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint bob(side(server, "bob"));
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  WsClient mallory(server.url());
  mallory.login("mallory");
  std::string common = "c=IN IP4 0.0.0.0\r\na=sendrecv\r\na=rtcp-mux\r\n"
                       "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                       "a=fingerprint:sha-256 "
                       "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:"
                       "88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\n";
  std::string sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                    "a=group:BUNDLE 0 1\r\n"
                    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
                    common + "a=mid:0\r\na=rtpmap:96 VP8/90000\r\n" +
                    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + common +
                    "a=mid:1\r\na=rtpmap:111 opus/48000/2\r\n";
  mallory.send_text(offer_json("bob", sdp));
  mallory.expect_type("answer", kSetupMs);
  // Nothing listens on the discard port.
  mallory.send_text(R"({"type":"candidate","name":"bob","candidate":{"candidate":)"
                    R"("candidate:1 1 UDP 2122260223 127.0.0.1 9 typ host","sdpMid":"0",)"
                    R"("sdpMLineIndex":0}})");
  std::string reason;
  std::string message = bob.wait_error(60000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "ice-failed");
  g_assert_true(message.find("ICE failed") != std::string::npos);
}

// The element set to NULL at every moment of a call's set-up: never a crash
// or a hang, and the peer is always left ready for the next call.
void test_stopped_at_every_moment_of_setup() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.properties = "end-on-hangup=false";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  for (int delay_ms : {0, 20, 50, 100, 200, 400, 800}) {
    {
      CallEndpoint alice(side(server, "alice", "bob"));
      alice.play();
      g_usleep(gint64(delay_ms) * 1000);
    } // alice goes to NULL here, wherever the call was
    // bob's element is back to waiting for a call, logged in.
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    gint state = -1;
    for (;;) {
      g_object_get(bob.call(), "call-state", &state, nullptr);
      if (state == 2 /* logged-in */)
        break;
      if (g_get_monotonic_time() > deadline)
        g_error("bob did not get back to logged-in after alice stopped at %d ms (state %d)",
                delay_ms, state);
      g_usleep(20 * 1000);
    }
  }
  bob.expect_no_error();
  // And the next call works.
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  alice.wait_video_frames(10, kSetupMs);
}

// The server dies during a call: media goes on, and stopping is still clean.
void test_server_gone_mid_call() {
  auto server = std::make_unique<ServerProcess>(ServerProcess::ours());
  CallEndpoint bob(side(*server, "bob"));
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(*server, "alice", "bob"));
  alice.play();
  bob.wait_video_frames(10, kSetupMs);
  server->stop(SIGKILL, 5000);
  unsigned before = bob.video.buffers;
  bob.wait_video_frames(before + 30, 5000); // peer to peer: no server needed
  gint64 start = g_get_monotonic_time();
  alice.stop();
  bob.stop();
  g_assert_cmpint((g_get_monotonic_time() - start) / 1000, <, 5000);
}

// Stopping while a call is being placed hangs up quietly: no error.
void test_stop_while_calling_is_quiet() {
  ServerProcess server = ServerProcess::ours();
  CallEndpoint alice(side(server, "alice", "nobody"));
  alice.play();
  alice.wait_state("calling", kSetupMs);
  // READY, not NULL: at NULL the bus is flushed and an error would go unseen.
  gst_element_set_state(alice.pipeline(), GST_STATE_READY);
  alice.expect_no_error();
}

// EOS (gst-launch-1.0 -e) while a call rings declines it and ends the pipeline.
void test_eos_while_ringing_declines_and_ends() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.properties = "auto-answer=false";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", "bob"));
  alice.play();
  bob.wait_state("ringing", kSetupMs);
  gst_element_send_event(bob.pipeline(), gst_event_new_eos());
  std::string reason;
  alice.wait_error(5000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "declined");
  bob.wait_error(5000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "stopped");
}

// A peer frozen with SIGSTOP keeps its signaling socket open (the server's
// keepalive is far longer than this test), so only the media can tell: the
// call ends within media-timeout, plus a second of checking.
void test_frozen_peer_ends_the_call() {
  ServerProcess server = ServerProcess::ours();
  EndpointOptions b = side(server, "bob");
  b.properties = "media-timeout=3";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  std::string launch = "gst-launch-1.0 -q webrtccall name=call server=" + server.url() +
                       " user=alice peer=bob ice-addresses=127.0.0.1 "
                       "videotestsrc is-live=true ! vp8enc deadline=1 ! call.video_sink_0 "
                       "audiotestsrc is-live=true ! opusenc ! call.audio_sink_0 "
                       "call.video_src_0 ! fakesink call.audio_src_0 ! fakesink";
  g_auto(GStrv) argv = nullptr;
  g_assert_true(g_shell_parse_argv(launch.c_str(), nullptr, &argv, nullptr));
  g_autoptr(GError) error = nullptr;
  g_autoptr(GSubprocess) alice = g_subprocess_newv(
      argv, GSubprocessFlags(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE),
      &error);
  g_assert_nonnull(alice);
  bob.wait_video_frames(10, kSetupMs);
  g_subprocess_send_signal(alice, SIGSTOP);
  gint64 frozen = g_get_monotonic_time();
  expect_eq(bob.wait_state("ended", 10000), "media-timeout");
  gint64 waited_ms = (g_get_monotonic_time() - frozen) / 1000;
  g_assert_cmpint(waited_ms, >=, 2500);
  g_assert_cmpint(waited_ms, <=, 5000); // media-timeout + 2 s
  bob.wait_eos(5000);
  g_subprocess_send_signal(alice, SIGCONT);
  g_subprocess_force_exit(alice);
  g_subprocess_wait(alice, nullptr, nullptr);
}

// The server is killed mid-call and started again: the media goes on, both
// elements log in again and say so, and the callee takes the next call.
void test_server_restarted_mid_call() {
  auto server = std::make_unique<ServerProcess>(ServerProcess::ours());
  std::string port = server->url().substr(server->url().rfind(':') + 1);
  port.pop_back(); // the trailing '/'
  EndpointOptions b = side(*server, "bob");
  b.properties = "end-on-hangup=false media-timeout=3";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  {
    CallEndpoint alice(side(*server, "alice", "bob"));
    alice.play();
    bob.wait_video_frames(10, kSetupMs);
    server->stop(SIGKILL, 5000);
    bob.wait_state_reason("in-call", "server-lost", 5000);
    unsigned before = bob.video.buffers;
    bob.wait_video_frames(before + 15, 5000); // peer to peer, no server needed
    server = std::make_unique<ServerProcess>(ServerProcess::ours({"--port", port}));
    bob.wait_state_reason("in-call", "reconnected", 10000);
    alice.wait_state_reason("in-call", "server-lost", 10000);
    alice.wait_state_reason("in-call", "reconnected", 10000);
  } // alice goes; the new server never knew of the call, so bob notices by media-timeout
  bob.wait_state_reason("logged-in", "media-timeout", 10000);
  CallEndpoint carol(side(*server, "carol", "bob"));
  carol.play();
  unsigned before = bob.video.buffers;
  bob.wait_video_frames(before + 10, kSetupMs);
}

// The server goes away while alice waits for bob to come online: once it is
// back, alice's call is placed again and reaches bob.
void test_server_restarted_while_calling() {
  auto server = std::make_unique<ServerProcess>(ServerProcess::ours());
  std::string port = server->url().substr(server->url().rfind(':') + 1);
  port.pop_back();
  CallEndpoint alice(side(*server, "alice", "bob"));
  alice.play();
  alice.wait_state("calling", kSetupMs);
  server->stop(SIGKILL, 5000);
  alice.wait_state_reason("connecting", "server-lost", 5000);
  server = std::make_unique<ServerProcess>(ServerProcess::ours({"--port", port}));
  alice.wait_state("calling", 10000);
  CallEndpoint bob(side(*server, "bob"));
  bob.play();
  bob.wait_video_frames(10, kSetupMs);
  alice.wait_video_frames(10, kSetupMs);
}

// --- the tutorial's own server.js: no presence, no names on relayed
// answers and candidates, silent drops, and crashes on some close orders.

bool tutorial_available() {
  if (g_getenv("TUTORIAL_SERVER_JS"))
    return true;
  g_test_skip("the tutorial's server is not set up (configure with -Dinterop-tests=enabled)");
  return false;
}

// The server lived through it all: a new client still logs in.
void assert_tutorial_alive(ServerProcess &server) {
  g_usleep(300 * 1000); // its close handlers run after our sockets are gone
  if (!server.running())
    g_error("the tutorial's server died:\n%s", server.log().c_str());
  WsClient probe(server.url());
  probe.login("probe");
}

void tutorial_call(bool caller_hangs_up, bool callee_first) {
  if (!tutorial_available())
    return;
  ServerProcess server = ServerProcess::tutorial();
  {
    auto bob = std::make_unique<CallEndpoint>(side(server, "bob"));
    auto alice = std::make_unique<CallEndpoint>(side(server, "alice", "bob"));
    if (callee_first) {
      bob->play();
      bob->wait_state("logged-in", kSetupMs);
      alice->play();
    } else {
      alice->play();
      alice->wait_state("calling", kSetupMs);
      g_usleep(1500 * 1000); // bob is late: alice's first offers go nowhere
      bob->play();
    }
    bob->wait_video_frames(10, kSetupMs);
    alice->wait_video_frames(10, kSetupMs);
    CallEndpoint &hanger = caller_hangs_up ? *alice : *bob;
    CallEndpoint &other = caller_hangs_up ? *bob : *alice;
    g_signal_emit_by_name(hanger.call(), "hangup");
    expect_eq(other.wait_state("ended", 5000), "remote-hangup");
    other.wait_eos(5000);
    // The order that kills the tutorial's server when a client is careless:
    // the side that did not hang up closes first.
    if (caller_hangs_up)
      bob.reset();
    else
      alice.reset();
  }
  assert_tutorial_alive(server);
}

void test_tutorial_caller_hangs_up() {
  tutorial_call(true, true);
}
void test_tutorial_callee_hangs_up() {
  tutorial_call(false, true);
}
void test_tutorial_caller_first() {
  tutorial_call(true, false);
}

// The tutorial's server drops an offer to nobody: call-timeout ends it.
void test_tutorial_unknown_user_times_out() {
  if (!tutorial_available())
    return;
  ServerProcess server = ServerProcess::tutorial();
  {
    EndpointOptions a = side(server, "alice", "nobody");
    a.properties = "call-timeout=2";
    CallEndpoint alice(a);
    alice.play();
    std::string reason;
    std::string message = alice.wait_error(8000, &reason);
    g_assert_cmpstr(reason.c_str(), ==, "no-answer");
    g_assert_true(message.find("nobody did not answer within 2 s") == 0);
  }
  assert_tutorial_alive(server);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/call/video-and-audio-both-ways", test_video_and_audio_both_ways);
  g_test_add_func("/call/callee-hangs-up", test_callee_hangs_up);
  g_test_add_func("/call/peer-stopped-mid-call", test_peer_stopped_mid_call);
  g_test_add_func("/call/audio-only", test_audio_only);
  g_test_add_func("/call/receive-only", test_receive_only);
  g_test_add_func("/call/callee-logs-in-after-caller", test_callee_logs_in_after_caller);
  g_test_add_func("/call/answer-when-asked", test_answer_when_asked);
  g_test_add_func("/call/reject", test_reject);
  g_test_add_func("/call/second-call-in-same-pipeline", test_second_call_in_same_pipeline);
  g_test_add_func("/call/encoded-output", test_encoded_output);
  g_test_add_func("/call/crossed-calls-become-one", test_crossed_calls_become_one);
  g_test_add_func("/call/codec/vp9-and-pcmu", test_vp9_and_pcmu);
  g_test_add_func("/call/codec/vp9-and-pcma", test_vp9_and_pcma);
  g_test_add_func("/call/codec/h264-and-opus", test_h264_and_opus);
  g_test_add_func("/call/codec/openh264-and-opus", test_openh264_and_opus);
  g_test_add_func("/call/error/server-unreachable", test_server_unreachable);
  g_test_add_func("/call/error/name-taken", test_name_taken);
  g_test_add_func("/call/error/peer-offline", test_peer_offline);
  g_test_add_func("/call/error/busy", test_busy);
  g_test_add_func("/call/error/no-answer", test_no_answer);
  g_test_add_func("/call/error/no-common-codec", test_no_common_codec);
  g_test_add_func("/call/error/callee-cannot-take-the-call", test_callee_that_cannot_take_the_call);
  g_test_add_func("/call/missed", test_missed_call);
  g_test_add_func("/call/error/warning-without-end-on-hangup",
                  test_failure_is_warning_without_end_on_hangup);
  g_test_add_func("/call/error/ice-failed", test_ice_failed);
  g_test_add_func("/call/state/stopped-at-every-moment-of-setup",
                  test_stopped_at_every_moment_of_setup);
  g_test_add_func("/call/state/server-gone-mid-call", test_server_gone_mid_call);
  g_test_add_func("/call/state/stop-while-calling-is-quiet", test_stop_while_calling_is_quiet);
  g_test_add_func("/call/state/eos-while-ringing", test_eos_while_ringing_declines_and_ends);
  g_test_add_func("/call/state/frozen-peer-ends-the-call", test_frozen_peer_ends_the_call);
  g_test_add_func("/call/state/server-restarted-mid-call", test_server_restarted_mid_call);
  g_test_add_func("/call/state/server-restarted-while-calling",
                  test_server_restarted_while_calling);
  g_test_add_func("/call/tutorial-server/caller-hangs-up", test_tutorial_caller_hangs_up);
  g_test_add_func("/call/tutorial-server/callee-hangs-up", test_tutorial_callee_hangs_up);
  g_test_add_func("/call/tutorial-server/caller-first", test_tutorial_caller_first);
  g_test_add_func("/call/tutorial-server/unknown-user-times-out",
                  test_tutorial_unknown_user_times_out);
  return g_test_run();
}
