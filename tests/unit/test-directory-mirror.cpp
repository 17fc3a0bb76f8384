// What instances say to each other through Redis (cluster_wire), and one
// instance's picture of the others' users (DirectoryMirror): news, moves,
// snapshots that race with news, instances that go silent, a Redis restart.
#include "cluster_wire.hpp"
#include "directory_mirror.hpp"

#include <glib.h>

#include <string>

using namespace webrtccall::protocol;
using namespace webrtccall::server;

namespace {

constexpr gint64 kSecond = G_USEC_PER_SEC;

std::string describe(const std::vector<DirectoryMirror::Change> &changes) {
  std::string text;
  for (const auto &change : changes)
    text += (text.empty() ? "" : " ") + std::string(change.joined ? "+" : "-") + change.user.name +
            "@" + change.user.instance;
  return text;
}

// Compares as std::string: g_assert_cmpstr on a temporary's c_str() reads
// freed memory (the temporary dies inside the macro's first statement).
void expect(const std::vector<DirectoryMirror::Change> &changes, const char *expected) {
  std::string got = describe(changes);
  if (got != expected)
    g_error("expected changes \"%s\", got \"%s\"", expected, got.c_str());
}

void cluster_messages_round_trip() {
  ClusterMessage offer{"alice", "a1", "bob",
                       ClientMessage{Offer{"bob", {"offer", "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"}}}};
  std::string text = encode_cluster_message(offer);
  g_assert_true(text.rfind("m\nalice\na1\nbob\n{", 0) == 0);
  auto decoded = decode_cluster_message(text);
  g_assert_true(decoded.has_value());
  g_assert_cmpstr(decoded->from.c_str(), ==, "alice");
  g_assert_cmpstr(decoded->from_instance.c_str(), ==, "a1");
  g_assert_cmpstr(decoded->to.c_str(), ==, "bob");
  const auto &message = std::get<ClientMessage>(decoded->body);
  g_assert_cmpstr(std::get<Offer>(message).offer.sdp.c_str(), ==,
                  "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"); // line feeds in the JSON are fine

  ClusterMessage refusal{"bob", "b1", "alice", Error{"\"bob\" is busy", ErrorCode::kBusy, "bob"}};
  decoded = decode_cluster_message(encode_cluster_message(refusal));
  g_assert_true(decoded.has_value());
  const auto &error = std::get<Error>(decoded->body);
  g_assert_true(error.code == ErrorCode::kBusy);
  g_assert_cmpstr(error.name.c_str(), ==, "bob");
}

void malformed_cluster_messages_are_refused() {
  const char *bad[] = {
      "",
      "m\nalice\na1\nbob",                                        // no message
      "x\nalice\na1\nbob\n{\"type\":\"leave\"}",                  // unknown kind
      "m\n\na1\nbob\n{\"type\":\"leave\"}",                       // no sender
      "m\nalice\n\nbob\n{\"type\":\"leave\"}",                    // no instance
      "m\nalice\na1\nbob\nnot json",                              // not JSON
      "m\nalice\na1\nbob\n{\"type\":\"login\",\"name\":\"bob\"}", // a login never travels
      "m\nalice\na1\nbob\n{\"type\":\"presence\"}",               // nor presence
      "r\nbob\nb1\nalice\n{\"type\":\"leave\"}",                  // a refusal is an error
      "m\n alice\na1\nbob\n{\"type\":\"leave\"}",                 // not a valid name
  };
  for (const char *text : bad)
    if (decode_cluster_message(text))
      g_error("accepted %s", text);
}

void presence_events_round_trip() {
  for (const auto &event : {PresenceEvent{PresenceEvent::Kind::kJoin, "a1", "alice", 0},
                            PresenceEvent{PresenceEvent::Kind::kLeft, "a1", "alice", 0},
                            PresenceEvent{PresenceEvent::Kind::kAlive, "a1", "", 42}}) {
    auto decoded = decode_presence_event(encode_presence_event(event));
    g_assert_true(decoded.has_value());
    g_assert_true(decoded->kind == event.kind);
    g_assert_cmpstr(decoded->instance.c_str(), ==, event.instance.c_str());
    g_assert_cmpstr(decoded->name.c_str(), ==, event.name.c_str());
    g_assert_cmpuint(decoded->users, ==, event.users);
  }
  // What the Lua scripts write is what the decoder reads.
  g_assert_true(decode_presence_event("join\na1\nalice")->name == "alice");
  for (const char *bad : {"join\na1", "join\n\nalice", "alive\na1\nmany", "alive\na1\n-1",
                          "hello\na1\nalice", "left\na1\n"})
    if (decode_presence_event(bad))
      g_error("accepted %s", bad);
}

void news_is_applied() {
  DirectoryMirror mirror("me");
  expect(mirror.joined({"alice", "a1"}, 0), "+alice@a1");
  expect(mirror.joined({"alice", "a1"}, 0), ""); // again: nothing
  expect(mirror.joined({"mine", "me"}, 0), "");  // our own
  g_assert_true(mirror.locate("alice") == std::optional<std::string>("a1"));
  g_assert_false(mirror.locate("mine").has_value());
  // A left from an instance that does not hold the name is stale.
  expect(mirror.left({"alice", "b1"}, 0), "");
  // alice moved: her old instance's news was lost or is late.
  expect(mirror.joined({"alice", "b1"}, 0), "-alice@a1 +alice@b1");
  expect(mirror.left({"alice", "a1"}, 0), "");
  expect(mirror.left({"alice", "b1"}, 0), "-alice@b1");
  g_assert_cmpuint(mirror.size(), ==, 0);
}

void silent_instances_go_with_their_users() {
  DirectoryMirror mirror("me");
  mirror.joined({"alice", "a1"}, 0);
  mirror.joined({"bob", "b1"}, 0);
  mirror.alive("a1", 1, 4 * kSecond);
  auto gone = mirror.expire(6 * kSecond, 5 * kSecond);
  g_assert_cmpuint(gone.size(), ==, 1);
  g_assert_cmpstr(gone[0].instance.c_str(), ==, "b1");
  expect(gone[0].left, "-bob@b1");
  g_assert_false(mirror.locate("bob").has_value());
  g_assert_true(mirror.locate("alice").has_value());
  // b1 was only cut off: when it speaks again, that is news, once.
  g_assert_true(mirror.take_returned().empty());
  mirror.alive("b1", 1, 7 * kSecond);
  g_assert_true(mirror.take_returned() == std::vector<std::string>{"b1"});
  mirror.alive("b1", 1, 8 * kSecond);
  g_assert_true(mirror.take_returned().empty());
  // Cut off ourselves, we heard nobody: that silence does not count.
  mirror.forgive_silence(20 * kSecond);
  g_assert_cmpuint(mirror.expire(24 * kSecond, 5 * kSecond).size(), ==, 0);
  g_assert_cmpuint(mirror.expire(26 * kSecond, 5 * kSecond).size(), ==, 2);
}

void snapshot_merges_with_news() {
  DirectoryMirror mirror("me");
  mirror.joined({"alice", "a1"}, 0);
  mirror.joined({"stale", "a1"}, 0); // its left was lost
  mirror.joined({"bob", "b1"}, 0);
  mirror.alive("a1", 2, 0);
  mirror.alive("b1", 1, 0);
  mirror.begin_snapshot();
  // News while Redis answers: newer than the snapshot for these names.
  mirror.joined({"carol", "c1"}, 0);
  mirror.left({"bob", "b1"}, 0);
  std::map<std::string, std::string> claims{
      {"alice", "a1"}, {"bob", "b1"}, {"dave", "d1"}, {"mine", "me"}};
  auto changes = mirror.finish_snapshot(claims, 0);
  // stale goes; dave comes; bob's left and carol's join stand; ours is not news.
  expect(changes, "-stale@a1 +dave@d1");
  g_assert_true(mirror.locate("carol").has_value());
  g_assert_false(mirror.locate("bob").has_value());
  g_assert_false(mirror.locate("mine").has_value());
}

void snapshot_after_a_redis_restart_forgets_nobody_too_soon() {
  DirectoryMirror mirror("me");
  mirror.joined({"alice", "a1"}, 0);
  mirror.alive("a1", 1, 0);
  // Redis restarted, empty; we are back before a1 is.
  mirror.forgive_silence(kSecond);
  mirror.begin_snapshot();
  auto changes = mirror.finish_snapshot({}, kSecond);
  expect(changes, ""); // a1 has not claimed again yet
  g_assert_true(mirror.locate("alice").has_value());
  // Once a1 has spoken on the new Redis, its claims are there to be seen.
  mirror.alive("a1", 0, 2 * kSecond);
  mirror.begin_snapshot();
  expect(mirror.finish_snapshot({}, 2 * kSecond), "-alice@a1");
}

void heartbeat_counts_call_for_a_snapshot() {
  DirectoryMirror mirror("me");
  mirror.joined({"alice", "a1"}, 0);
  g_assert_false(mirror.alive("a1", 1, 0));
  g_assert_false(mirror.alive("a1", 2, 0)); // a join may be crossing the heartbeat
  g_assert_true(mirror.alive("a1", 2, 0));  // twice: the picture is wrong
  mirror.begin_snapshot();
  mirror.finish_snapshot({{"alice", "a1"}, {"bob", "a1"}}, 0);
  g_assert_false(mirror.alive("a1", 2, 0));
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/cluster-wire/messages-round-trip", cluster_messages_round_trip);
  g_test_add_func("/cluster-wire/malformed-messages-refused",
                  malformed_cluster_messages_are_refused);
  g_test_add_func("/cluster-wire/presence-events-round-trip", presence_events_round_trip);
  g_test_add_func("/directory-mirror/news-is-applied", news_is_applied);
  g_test_add_func("/directory-mirror/silent-instances-go", silent_instances_go_with_their_users);
  g_test_add_func("/directory-mirror/snapshot-merges-with-news", snapshot_merges_with_news);
  g_test_add_func("/directory-mirror/snapshot-after-redis-restart",
                  snapshot_after_a_redis_restart_forgets_nobody_too_soon);
  g_test_add_func("/directory-mirror/heartbeat-counts-call-for-snapshot",
                  heartbeat_counts_call_for_a_snapshot);
  return g_test_run();
}
