// Three webrtccall-signaling instances sharing one real redis-server act as
// one server: names unique across them, calls between users on different
// instances, global presence; an instance killed mid-call, Redis restarted,
// a name taken over while an instance was cut off.
#include "instance.hpp"
#include "redis_server.hpp"
#include "ws_client.hpp"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <csignal>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace webrtccall::test;

namespace {

struct Cluster {
  RedisServer redis;
  std::vector<std::unique_ptr<Instance>> instances;

  Cluster() {
    for (int i = 0; i < 3; i++)
      instances.push_back(std::make_unique<Instance>(redis.url()));
  }
  Instance &operator[](int i) { return *instances[i]; }
};

// A client on instance `i`, logged in as `name`.
std::unique_ptr<WsClient> user(Instance &instance, const std::string &name) {
  auto client = std::make_unique<WsClient>(instance.url());
  client->send_json(("{\"type\":\"login\",\"name\":\"" + name + "\"}").c_str());
  Json reply = client->expect_type("login");
  if (!reply.boolean("success"))
    g_error("login as %s on instance %s failed: %s\n%s", name.c_str(), instance.id().c_str(),
            reply.text().c_str(), instance.log().c_str());
  return client;
}

// A login reply (the login must be refused).
Json refused_login(Instance &instance, const std::string &name) {
  WsClient client(instance.url());
  client.send_json(("{\"type\":\"login\",\"name\":\"" + name + "\"}").c_str());
  Json reply = client.expect_type("login");
  if (reply.boolean("success"))
    g_error("login as %s on instance %s was accepted", name.c_str(), instance.id().c_str());
  return reply;
}

// g_assert_cmpstr on a temporary's c_str() would read freed memory (the
// temporary dies within the macro's first statement): compare std::strings.
void assert_equal(const std::string &got, const std::string &expected) {
  if (got != expected)
    g_error("got \"%s\", expected \"%s\"", got.c_str(), expected.c_str());
}

// A field of the next message, which must have this type; copied out, since
// a Json's strings live only as long as it does.
std::string next_field(WsClient &client, const char *type, const char *field,
                       int timeout_ms = 3000) {
  Json message = client.expect_type(type, timeout_ms);
  return message.str(field);
}

std::string refusal_code(Instance &instance, const std::string &name) {
  Json reply = refused_login(instance, name);
  return reply.str("code");
}

std::set<std::string> users_of(const Json &presence) {
  g_autoptr(JsonParser) parser = json_parser_new();
  json_parser_load_from_data(parser, presence.text().c_str(), -1, nullptr);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  std::set<std::string> users;
  JsonArray *array = json_object_get_array_member(root, "users");
  for (guint i = 0; i < json_array_get_length(array); i++)
    users.insert(json_array_get_string_element(array, i));
  return users;
}

// Subscribes `client` to presence and waits until it knows exactly
// `expected` (news of logins on other instances may still be on its way).
void expect_presence(WsClient &client, const std::set<std::string> &expected) {
  client.send_json(R"({"type":"presence"})");
  // A client already subscribed may get news before the list: older than it.
  std::set<std::string> users;
  for (;;) {
    Json reply = client.expect_type("presence");
    if (reply.has("users")) {
      users = users_of(reply);
      break;
    }
  }
  gint64 deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
  while (users != expected) {
    if (g_get_monotonic_time() > deadline)
      g_error("presence never came to the expected users");
    Json change = client.expect_type("presence", 3000);
    if (*change.str("joined"))
      users.insert(change.str("joined"));
    if (*change.str("left"))
      users.erase(change.str("left"));
  }
}

// The key Redis holds for a user's name: the instance id, or "(nil)".
std::string holder(Cluster &cluster, const std::string &name) {
  return cluster.redis.command({"GET", "webrtccall:user:" + name});
}

// Waits for Redis to say `name` is held by `instance` ("(nil)": by nobody).
void wait_holder(Cluster &cluster, const std::string &name, const std::string &instance,
                 int timeout_ms) {
  gint64 deadline = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
  while (holder(cluster, name) != instance) {
    if (g_get_monotonic_time() > deadline)
      g_error("\"%s\" is held by %s, not %s, after %d ms", name.c_str(),
              holder(cluster, name).c_str(), instance.c_str(), timeout_ms);
    g_usleep(20000); // polling Redis: nothing tells the test
  }
}

void names_are_unique_across_instances() {
  Cluster c;
  auto alice = user(c[0], "alice");
  assert_equal(holder(c, "alice"), c[0].id());
  for (int i : {0, 1, 2}) {
    Json reply = refused_login(c[i], "alice");
    g_assert_cmpstr(reply.str("code"), ==, "name-taken");
  }
  auto bob = user(c[1], "bob");
  // Logging out releases the name at once, not when its claim would expire.
  alice->close_cleanly();
  wait_holder(c, "alice", "(nil)", 2000);
  auto alice_again = user(c[2], "alice");
  assert_equal(holder(c, "alice"), c[2].id());
  // Claims expire unless renewed: their time to live is set.
  long long ttl = std::stoll(c.redis.command({"PTTL", "webrtccall:user:alice"}));
  g_assert_cmpint(ttl, >, 0);
  g_assert_cmpint(ttl, <=, 10000);
}

void presence_is_global() {
  Cluster c;
  auto alice = user(c[0], "alice");
  auto bob = user(c[1], "bob");
  auto carol = user(c[2], "carol");
  expect_presence(*carol, {"alice", "bob", "carol"});
  auto dave = user(c[0], "dave");
  Json joined = carol->expect_type("presence");
  g_assert_cmpstr(joined.str("joined"), ==, "dave");
  dave->close_cleanly();
  Json left = carol->expect_type("presence");
  g_assert_cmpstr(left.str("left"), ==, "dave");
  // A logout on carol's own instance, seen from another one.
  expect_presence(*alice, {"alice", "bob", "carol"});
  carol->close_abruptly();
  Json gone = alice->expect_type("presence");
  g_assert_cmpstr(gone.str("left"), ==, "carol");
}

void call_between_instances() {
  Cluster c;
  auto alice = user(c[0], "alice");
  auto bob = user(c[1], "bob");
  auto carol = user(c[2], "carol");
  expect_presence(*alice, {"alice", "bob", "carol"});

  alice->send_text(offer_json("bob", "v=0 alice"));
  Json offer = bob->expect_type("offer");
  g_assert_cmpstr(offer.str("name"), ==, "alice");
  g_assert_cmpstr(json_object_get_string_member(offer.object("offer"), "sdp"), ==, "v=0 alice");
  // A third user elsewhere cannot call either of them meanwhile.
  carol->send_text(offer_json("bob"));
  assert_equal(next_field(*carol, "error", "code"), "busy");
  carol->send_text(candidate_json("alice"));
  assert_equal(next_field(*carol, "error", "code"), "not-in-call");

  // Candidates both ways while pending, then the answer: each sender's
  // messages arrive in the order sent.
  constexpr int kCandidates = 50;
  for (int i = 0; i < kCandidates; i++) {
    alice->send_text(candidate_json("bob", i));
    bob->send_text(candidate_json("alice", i));
  }
  bob->send_text(answer_json("alice", "v=0 bob"));
  for (int i = 0; i < kCandidates; i++) {
    Json at_bob = bob->expect_type("candidate");
    g_assert_cmpstr(at_bob.str("name"), ==, "alice");
    g_assert_cmpint(json_object_get_int_member(at_bob.object("candidate"), "sdpMLineIndex"), ==, i);
    Json at_alice = alice->expect_type("candidate");
    g_assert_cmpint(json_object_get_int_member(at_alice.object("candidate"), "sdpMLineIndex"), ==,
                    i);
  }
  Json answer = alice->expect_type("answer");
  g_assert_cmpstr(answer.str("name"), ==, "bob");

  // Renegotiation from the callee's side.
  bob->send_text(offer_json("alice", "v=0 again"));
  alice->expect_type("offer");
  alice->send_text(answer_json("bob"));
  bob->expect_type("answer");

  alice->send_json(R"({"type":"leave","name":"bob","reason":"hangup"})");
  Json leave = bob->expect_type("leave");
  g_assert_cmpstr(leave.str("name"), ==, "alice");
  g_assert_cmpstr(leave.str("reason"), ==, "hangup");
  // Over on both sides: messages outside the call are refused.
  bob->send_text(candidate_json("alice"));
  assert_equal(next_field(*bob, "error", "code"), "not-in-call");

  // Another call; this time the callee's connection dies.
  carol->send_text(offer_json("alice"));
  alice->expect_type("offer");
  alice->send_text(answer_json("carol"));
  carol->expect_type("answer");
  alice->close_abruptly();
  Json gone = carol->expect_type("leave", 5000);
  g_assert_cmpstr(gone.str("name"), ==, "alice");
  g_assert_cmpstr(gone.str("reason"), ==, "gone");
  for (int i : {0, 1, 2})
    g_assert_true(c[i].log().find("-CRITICAL **") == std::string::npos);
}

void offer_right_after_a_login_elsewhere() {
  Cluster c;
  auto alice = user(c[0], "alice");
  // The news of each login is still on its way to alice's instance when she
  // calls: the instance asks Redis instead of refusing the callee as unknown.
  for (int i = 0; i < 20; i++) {
    std::string name = "callee" + std::to_string(i);
    auto callee = user(c[1 + i % 2], name);
    alice->send_text(offer_json(name));
    assert_equal(next_field(*callee, "offer", "name"), "alice");
    callee->send_json(R"({"type":"leave","name":"alice","reason":"rejected"})");
    assert_equal(next_field(*alice, "leave", "reason"), "rejected");
  }
}

void offline_and_busy_users_elsewhere() {
  Cluster c;
  auto alice = user(c[0], "alice");
  auto bob = user(c[1], "bob");
  alice->send_text(offer_json("nobody"));
  Json unknown = alice->expect_type("error");
  g_assert_cmpstr(unknown.str("code"), ==, "unknown-user");
  // bob rings on his instance; a caller from a third one hears busy.
  auto carol = user(c[2], "carol");
  expect_presence(*carol, {"alice", "bob", "carol"});
  alice->send_text(offer_json("bob"));
  bob->expect_type("offer");
  carol->send_text(offer_json("bob"));
  Json busy = carol->expect_type("error");
  g_assert_cmpstr(busy.str("code"), ==, "busy");
  g_assert_cmpstr(busy.str("name"), ==, "bob");
  // The refusal left carol free to call someone else.
  auto dave = user(c[0], "dave");
  expect_presence(*carol, {"alice", "bob", "carol", "dave"});
  carol->send_text(offer_json("dave"));
  assert_equal(next_field(*dave, "offer", "name"), "carol");
  // bob declines alice.
  bob->send_json(R"({"type":"leave","name":"alice","reason":"rejected"})");
  assert_equal(next_field(*alice, "leave", "reason"), "rejected");
}

void killed_instance_releases_its_users() {
  Cluster c;
  auto alice = user(c[0], "alice");
  auto bob = user(c[1], "bob");
  auto carol = user(c[2], "carol");
  expect_presence(*carol, {"alice", "bob", "carol"});
  expect_presence(*alice, {"alice", "bob", "carol"});
  establish(*alice, "bob", *bob, "alice");

  gint64 killed = g_get_monotonic_time();
  c[1].kill();
  // Its peer hears that bob is gone, within 10 s.
  Json leave = alice->expect_type("leave", 10000);
  g_assert_cmpstr(leave.str("name"), ==, "bob");
  g_assert_cmpstr(leave.str("reason"), ==, "gone");
  gint64 heard_ms = (g_get_monotonic_time() - killed) / 1000;
  g_assert_cmpint(heard_ms, <, 10000);
  // Everyone's presence loses bob.
  for (WsClient *client : {alice.get(), carol.get()})
    assert_equal(next_field(*client, "presence", "left", 2000), "bob");
  // The name is free again within 10 s (its claim expired).
  wait_holder(c, "bob", "(nil)", int(10000 - (g_get_monotonic_time() - killed) / 1000));
  auto bob_again = user(c[2], "bob");
  g_test_message("leave after %" G_GINT64_FORMAT " ms, name free after %" G_GINT64_FORMAT " ms",
                 heard_ms, (g_get_monotonic_time() - killed) / 1000);
  // And alice can call him there, once her instance has the news.
  assert_equal(next_field(*alice, "presence", "joined"), "bob");
  establish(*alice, "bob", *bob_again, "alice");
}

void redis_restart_keeps_names_and_calls() {
  Cluster c;
  auto alice = user(c[0], "alice");
  auto bob = user(c[1], "bob");
  establish(*alice, "bob", *bob, "alice");

  c.redis.stop();
  for (int i : {0, 1, 2})
    c[i].wait_redis(false, 5000);
  // Without Redis no instance can tell whether a name is free.
  Json refused = refused_login(c[2], "carol");
  g_assert_cmpstr(refused.str("code"), ==, "unavailable");

  c.redis.start(); // empty: every claim is gone
  for (int i : {0, 1, 2})
    c[i].wait_redis(true, 5000);
  // The instances claim their users' names again...
  wait_holder(c, "alice", c[0].id(), 3000);
  wait_holder(c, "bob", c[1].id(), 3000);
  // ...so a later login under either name is refused, anywhere.
  for (int i : {0, 1, 2}) {
    assert_equal(refusal_code(c[i], "alice"), "name-taken");
    assert_equal(refusal_code(c[i], "bob"), "name-taken");
  }
  // The call goes on through the new Redis, both ways.
  alice->send_text(candidate_json("bob", 7));
  Json candidate = bob->expect_type("candidate");
  g_assert_cmpint(json_object_get_int_member(candidate.object("candidate"), "sdpMLineIndex"), ==,
                  7);
  bob->send_text(candidate_json("alice", 8));
  alice->expect_type("candidate");
  // Presence on the third instance knows both again.
  auto carol = user(c[2], "carol");
  expect_presence(*carol, {"alice", "bob", "carol"});
  alice->send_json(R"({"type":"leave"})");
  assert_equal(next_field(*bob, "leave", "reason"), "hangup");
}

void name_claimed_elsewhere_closes_the_user() {
  Cluster c;
  auto alice = user(c[0], "alice");
  auto bob = user(c[1], "bob");
  establish(*alice, "bob", *bob, "alice");
  // What happens when, while instance 0 was cut off from a restarted Redis,
  // another instance took alice's name: the claim that got there first keeps
  // the name. Here the test is that other instance.
  c.redis.command({"SET", "webrtccall:user:alice", "elsewhere", "PX", "60000"});
  // At its next renewal (every 2 s) instance 0 finds the name taken: it
  // closes alice's connection and ends her call.
  int code = alice->expect_closed("alice closed by her instance", 5000);
  g_assert_cmpint(code, ==, 1008);
  Json leave = bob->expect_type("leave", 2000);
  g_assert_cmpstr(leave.str("name"), ==, "alice");
  g_assert_cmpstr(leave.str("reason"), ==, "gone");
  // The name stays with its new holder.
  assert_equal(holder(c, "alice"), "elsewhere");
}

void stalled_instance_is_told_of_its_ended_calls() {
  Cluster c;
  auto alice = user(c[0], "alice");
  auto bob = user(c[1], "bob");
  establish(*alice, "bob", *bob, "alice");
  // bob's instance stops answering (stopped, as a process that hangs or a
  // machine cut off from Redis would): the others take it for gone...
  c[1].signal(SIGSTOP);
  Json leave = alice->expect_type("leave", 10000);
  g_assert_cmpstr(leave.str("reason"), ==, "gone");
  // ...and its claims expire (6 s) while it sleeps on.
  wait_holder(c, "bob", "(nil)", 5000);
  c[1].signal(SIGCONT);
  // Back, it hears from alice's instance that her call with bob was ended.
  Json told = bob->expect_type("leave", 5000);
  g_assert_cmpstr(told.str("name"), ==, "alice");
  g_assert_cmpstr(told.str("reason"), ==, "gone");
  // It claims bob's name again, the others learn it, and they can call again.
  wait_holder(c, "bob", c[1].id(), 5000);
  establish(*alice, "bob", *bob, "alice");
}

void stopped_instance_says_goodbye() {
  Cluster c;
  auto alice = user(c[0], "alice");
  auto bob = user(c[1], "bob");
  establish(*alice, "bob", *bob, "alice");
  g_assert_cmpint(c[1].stop(SIGTERM), ==, 0);
  // At once, not after the 5 s of silence: the instance said so as it stopped.
  Json leave = alice->expect_type("leave", 2000);
  g_assert_cmpstr(leave.str("reason"), ==, "gone");
  assert_equal(holder(c, "bob"), "(nil)");
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/cluster/login/names-unique-across-instances",
                  names_are_unique_across_instances);
  g_test_add_func("/cluster/presence/global", presence_is_global);
  g_test_add_func("/cluster/call/between-instances", call_between_instances);
  g_test_add_func("/cluster/call/offer-right-after-a-login-elsewhere",
                  offer_right_after_a_login_elsewhere);
  g_test_add_func("/cluster/call/offline-and-busy-users-elsewhere",
                  offline_and_busy_users_elsewhere);
  g_test_add_func("/cluster/failure/killed-instance-releases-its-users",
                  killed_instance_releases_its_users);
  g_test_add_func("/cluster/failure/stopped-instance-says-goodbye", stopped_instance_says_goodbye);
  g_test_add_func("/cluster/failure/stalled-instance-told-of-ended-calls",
                  stalled_instance_is_told_of_its_ended_calls);
  g_test_add_func("/cluster/failure/redis-restart-keeps-names-and-calls",
                  redis_restart_keeps_names_and_calls);
  g_test_add_func("/cluster/failure/name-claimed-elsewhere-closes-the-user",
                  name_claimed_elsewhere_closes_the_user);
  return g_test_run();
}
