// Two webrtccall elements logged in to different instances of a cluster
// (--redis, one real redis-server) call each other: media both ways, a
// hang-up, and the callee's instance killed mid-call.
#include "call_endpoint.hpp"
#include "instance.hpp"
#include "redis_server.hpp"

#include <gst/gst.h>

#include <memory>
#include <string>

using namespace webrtccall::test;

namespace {

constexpr int kSetupMs = 15000; // a call's set-up, generous for a loaded machine

void expect_eq(const std::string &got, const char *want) {
  if (got != want)
    g_error("expected \"%s\", got \"%s\"", want, got.c_str());
}

EndpointOptions side(const Instance &instance, const char *user, const char *peer = "") {
  EndpointOptions o;
  o.server = instance.url();
  o.user = user;
  o.peer = peer;
  return o;
}

struct Pair {
  RedisServer redis;
  Instance first{redis.url()};
  Instance second{redis.url()};
};

void elements_call_across_instances() {
  Pair cluster;
  EndpointOptions b = side(cluster.second, "bob");
  b.video_pattern = "blue";
  b.audio_frequency = 880;
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);

  CallEndpoint alice(side(cluster.first, "alice", "bob"));
  alice.play();
  alice.wait_state("in-call", kSetupMs);
  bob.wait_state("in-call", kSetupMs);
  bob.wait_video_frames(30, kSetupMs);
  alice.wait_video_frames(30, kSetupMs);
  {
    std::lock_guard<std::mutex> guard(bob.video.lock);
    std::string why;
    if (!looks_like_smpte(bob.video.last_rgb, bob.video.width, bob.video.height, why))
      g_error("bob does not see alice's SMPTE bars: %s", why.c_str());
  }
  {
    std::lock_guard<std::mutex> guard(alice.video.lock);
    double r, g, bl;
    mean_colour(alice.video.last_rgb, r, g, bl);
    if (!(bl > 200 && r < 40 && g < 40))
      g_error("alice does not see bob's blue: mean colour %.0f,%.0f,%.0f", r, g, bl);
  }
  alice.wait_audio_buffers(50, kSetupMs);
  bob.wait_audio_buffers(50, kSetupMs);
  double hz = 0;
  {
    std::lock_guard<std::mutex> guard(alice.audio.lock);
    hz = dominant_frequency(alice.audio.samples, 48000);
  }
  if (std::abs(hz - 880) > 44)
    g_error("alice hears %.1f Hz, not bob's 880 Hz", hz);

  g_signal_emit_by_name(alice.call(), "hangup");
  expect_eq(alice.wait_state("ended", 5000), "hangup");
  expect_eq(bob.wait_state("ended", 5000), "remote-hangup");
}

void callee_instance_killed_mid_call() {
  Pair cluster;
  CallEndpoint bob(side(cluster.second, "bob"));
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(cluster.first, "alice", "bob"));
  alice.play();
  alice.wait_video_frames(10, kSetupMs);
  gint64 killed = g_get_monotonic_time();
  cluster.second.kill();
  // Within 10 s alice's instance decides bob's is gone, and so is bob.
  expect_eq(alice.wait_state("ended", 10000), "peer-gone");
  g_assert_cmpint((g_get_monotonic_time() - killed) / 1000, <, 10000);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/cluster-call/elements-across-instances", elements_call_across_instances);
  g_test_add_func("/cluster-call/callee-instance-killed", callee_instance_killed_mid_call);
  return g_test_run();
}
