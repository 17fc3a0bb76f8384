// The router's rules across instances, without Redis: three routers joined
// by a directory that keeps claims in a map and messages between instances in
// a queue the test delivers when it chooses, so it can hold messages in
// flight (offers that cross, a user gone before an offer arrives, a lost
// leave). The real directory and transport are tested in tests/cluster.
#include "directory.hpp"
#include "protocol/serialize.hpp"
#include "router.hpp"

#include <glib.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace webrtccall::protocol;
using namespace webrtccall::server;

namespace {

constexpr ConnectionId kAlice = 1, kBob = 2, kCarol = 3, kDave = 4;

struct Cluster;

class FakeDirectory final : public Directory {
public:
  FakeDirectory(Cluster &cluster, std::string id) : cluster_(cluster), id_(std::move(id)) {}
  void set_listener(DirectoryListener *listener) override { listener_ = listener; }
  const std::string &instance() const override { return id_; }
  void claim(const std::string &name) override;
  void release(const std::string &name) override;
  std::optional<std::string> locate(const std::string &name) const override;
  std::vector<std::string> remote_names() const override;
  void send(const std::string &instance, const ClusterMessage &message) override;
  bool lookup(const std::string &name) override;

  DirectoryListener *listener() { return listener_; }
  std::deque<std::string> held_claims; // claims waiting for answer_claims()
  bool hold_claims = false;

private:
  Cluster &cluster_;
  std::string id_;
  DirectoryListener *listener_ = nullptr;
};

class RecordingOutbox : public Outbox {
public:
  void send(ConnectionId to, const ServerMessage &message) override {
    sent.emplace_back(to, serialize(message));
  }
  void close(ConnectionId connection, const std::string &) override {
    closed.push_back(connection);
  }
  std::deque<std::pair<ConnectionId, std::string>> sent;
  std::vector<ConnectionId> closed;
};

// One server instance: its outbox, its directory, its router.
struct Instance {
  Instance(Cluster &cluster, const std::string &id)
      : directory(cluster, id), router(outbox, RouterOptions{true, {}, {}, {}}, &directory) {}

  RecordingOutbox outbox;
  FakeDirectory directory;
  Router router;

  const std::string &id() { return directory.instance(); }

  void log_in(ConnectionId id, const std::string &name) {
    router.received(id, Login{name, {}, {}});
    std::string reply = next(id);
    if (reply.find(R"({"type":"login","success":true)") != 0)
      g_error("%s: login as %s refused: %s", this->id().c_str(), name.c_str(), reply.c_str());
    const std::string key = R"("resume":")";
    std::size_t start = reply.find(key) + key.size();
    resume_tokens[id] = reply.substr(start, reply.find('"', start) - start);
  }

  std::map<ConnectionId, std::string> resume_tokens;

  // The next message this instance sent must go to `to`; returns its text.
  std::string next(ConnectionId to) {
    if (outbox.sent.empty())
      g_error("%s: expected a message to connection %" G_GUINT64_FORMAT ", nothing was sent",
              id().c_str(), to);
    auto [id, text] = outbox.sent.front();
    outbox.sent.pop_front();
    if (id != to)
      g_error("%s: expected a message to %" G_GUINT64_FORMAT ", sent to %" G_GUINT64_FORMAT ": %s",
              this->id().c_str(), to, id, text.c_str());
    return text;
  }

  void expect(ConnectionId to, const std::string &json) {
    std::string text = next(to);
    if (text != json)
      g_error("%s: expected to %" G_GUINT64_FORMAT ": %s\n                    sent: %s",
              id().c_str(), to, json.c_str(), text.c_str());
  }

  void expect_error(ConnectionId to, const char *code) {
    std::string text = next(to);
    if (text.find(R"("type":"error")") == std::string::npos ||
        text.find(std::string("\"code\":\"") + code + "\"") == std::string::npos)
      g_error("%s: expected error %s, sent: %s", id().c_str(), code, text.c_str());
  }

  void expect_nothing() {
    if (!outbox.sent.empty())
      g_error("%s: expected nothing, sent to %" G_GUINT64_FORMAT ": %s", id().c_str(),
              outbox.sent.front().first, outbox.sent.front().second.c_str());
  }

  CallState state(ConnectionId id) { return router.registry().session(id)->state; }
};

struct Cluster {
  std::map<std::string, std::string> claims; // name -> instance
  std::vector<std::unique_ptr<Instance>> instances;
  std::deque<std::pair<std::string, ClusterMessage>> in_flight; // to instance, message
  bool hold_news = false; // logins and logouts reach the other instances late
  std::deque<std::pair<std::string, std::string>> lookups; // from instance, name

  Cluster() {
    for (const char *id : {"A", "B", "C"})
      instances.push_back(std::make_unique<Instance>(*this, id));
  }

  Instance &operator[](const std::string &id) {
    for (auto &instance : instances)
      if (instance->id() == id)
        return *instance;
    g_error("no instance %s", id.c_str());
  }

  // Delivers what is in flight, and what that causes, until nothing is.
  void deliver() {
    while (!lookups.empty()) {
      auto [from, name] = lookups.front();
      lookups.pop_front();
      auto holder = claims.find(name);
      std::optional<std::string> instance;
      if (holder != claims.end() && holder->second != from)
        instance = holder->second;
      (*this)[from].directory.listener()->on_lookup_result(name, instance);
    }
    while (!in_flight.empty()) {
      auto [to, message] = in_flight.front();
      in_flight.pop_front();
      if (auto *listener = (*this)[to].directory.listener())
        listener->on_cluster_message(message);
    }
  }

  void drop_in_flight() { in_flight.clear(); }

  void announce(const std::string &from, const RemoteUser &user, bool joined) {
    if (hold_news)
      return; // lost, as far as these tests go
    for (auto &instance : instances)
      if (instance->id() != from && instance->directory.listener()) {
        if (joined)
          instance->directory.listener()->on_remote_joined(user);
        else
          instance->directory.listener()->on_remote_left(user);
      }
  }
};

void FakeDirectory::claim(const std::string &name) {
  if (hold_claims) {
    held_claims.push_back(name);
    return;
  }
  auto holder = cluster_.claims.find(name);
  if (holder != cluster_.claims.end()) {
    listener_->on_claim_result(name, ClaimResult::kTaken);
    return;
  }
  cluster_.claims[name] = id_;
  cluster_.announce(id_, RemoteUser{name, id_}, true);
  listener_->on_claim_result(name, ClaimResult::kClaimed);
}

void FakeDirectory::release(const std::string &name) {
  auto holder = cluster_.claims.find(name);
  if (holder == cluster_.claims.end() || holder->second != id_)
    return;
  cluster_.claims.erase(holder);
  cluster_.announce(id_, RemoteUser{name, id_}, false);
}

std::optional<std::string> FakeDirectory::locate(const std::string &name) const {
  auto holder = cluster_.claims.find(name);
  if (holder == cluster_.claims.end() || holder->second == id_ || cluster_.hold_news)
    return std::nullopt;
  return holder->second;
}

bool FakeDirectory::lookup(const std::string &name) {
  cluster_.lookups.emplace_back(id_, name);
  return true;
}

std::vector<std::string> FakeDirectory::remote_names() const {
  std::vector<std::string> names;
  for (const auto &[name, instance] : cluster_.claims)
    if (instance != id_)
      names.push_back(name);
  return names;
}

void FakeDirectory::send(const std::string &instance, const ClusterMessage &message) {
  if (message.from_instance != id_)
    g_error("%s sent a message saying it is from %s", id_.c_str(), message.from_instance.c_str());
  cluster_.in_flight.emplace_back(instance, message);
}

const IceCandidate kCandidate{"candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0, std::nullopt};

// alice on A calls bob on B, who answers.
void establish(Cluster &c) {
  Instance &a = c["A"], &b = c["B"];
  a.router.received(kAlice, Offer{"bob", {"offer", "v=0 a"}});
  c.deliver();
  b.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0 a"},"name":"alice"})");
  b.router.received(kBob, Answer{"alice", {"answer", "v=0 b"}});
  c.deliver();
  a.expect(kAlice, R"({"type":"answer","answer":{"type":"answer","sdp":"v=0 b"},"name":"bob"})");
  g_assert_true(a.state(kAlice) == CallState::kInCall);
  g_assert_true(b.state(kBob) == CallState::kInCall);
}

struct Fixture {
  Cluster cluster;
};

using Test = void (*)(Cluster &);

void setup(Fixture *f, gconstpointer) {
  new (f) Fixture();
  f->cluster["A"].log_in(kAlice, "alice");
  f->cluster["B"].log_in(kBob, "bob");
  f->cluster["C"].log_in(kCarol, "carol");
}

void teardown(Fixture *f, gconstpointer) {
  f->cluster.deliver();
  for (auto &instance : f->cluster.instances)
    instance->expect_nothing();
  f->~Fixture();
}

// --- names

void names_are_unique_across_instances(Cluster &c) {
  c["A"].router.received(kDave, Login{"bob", {}, {}});
  c["A"].expect(
      kDave,
      R"({"type":"login","success":false,"code":"name-taken","message":"The name \"bob\" is taken; choose another","protocol":2})");
  c["B"].router.disconnected(kBob);
  c["A"].log_in(kDave, "bob"); // released, so free again
}

void messages_before_the_claims_answer_wait_for_it(Cluster &c) {
  Instance &a = c["A"];
  a.directory.hold_claims = true;
  a.router.received(kDave, Login{"dave", {}, {}});
  a.router.received(kDave, Presence{});
  a.router.received(kDave, Offer{"bob", {"offer", "v=0 d"}});
  a.expect_nothing();
  a.directory.hold_claims = false;
  a.directory.claim(a.directory.held_claims.front()); // Redis answers at last
  g_assert_true(a.next(kDave).find(R"({"type":"login","success":true)") == 0);
  a.expect(kDave, R"({"type":"presence","users":["alice","bob","carol","dave"]})");
  c.deliver();
  c["B"].expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0 d"},"name":"dave"})");
  c["B"].router.received(kBob, Leave{"dave", LeaveReason::kRejected});
  c.deliver();
  a.expect(kDave, R"({"type":"leave","name":"bob","reason":"rejected"})");
}

void connection_gone_before_the_claims_answer_releases_it(Cluster &c) {
  Instance &a = c["A"];
  a.directory.hold_claims = true;
  a.router.received(kDave, Login{"dave", {}, {}});
  // A second login for the name here, meanwhile, is refused at once.
  a.router.received(kDave + 1, Login{"dave", {}, {}});
  g_assert_true(a.next(kDave + 1).find(R"("success":false,"code":"name-taken")") !=
                std::string::npos);
  a.router.disconnected(kDave);
  a.directory.hold_claims = false;
  a.directory.claim(a.directory.held_claims.front());
  a.expect_nothing();
  g_assert_false(c.claims.count("dave")); // claimed, then released at once
  g_assert_null(a.router.registry().session(kDave));
}

void unavailable_directory_refuses_logins(Cluster &c) {
  Instance &a = c["A"];
  a.directory.hold_claims = true;
  a.router.received(kDave, Login{"dave", {}, {}});
  a.directory.listener()->on_claim_result("dave", ClaimResult::kUnavailable);
  std::string reply = a.next(kDave);
  g_assert_true(reply.find(R"({"type":"login","success":false,"code":"unavailable")") == 0);
  g_assert_null(a.router.registry().session(kDave));
}

// --- calls

void call_across_instances(Cluster &c) {
  Instance &a = c["A"], &b = c["B"];
  a.router.received(kAlice, Offer{"bob", {"offer", "v=0 a"}});
  g_assert_true(a.state(kAlice) == CallState::kCalling);
  c.deliver();
  b.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0 a"},"name":"alice"})");
  g_assert_true(b.state(kBob) == CallState::kRinging);
  // Candidates flow both ways while the call is pending, in order.
  for (int i = 0; i < 3; i++) {
    IceCandidate candidate = kCandidate;
    candidate.sdp_mline_index = i;
    a.router.received(kAlice, Candidate{"bob", candidate});
  }
  c.deliver();
  for (int i = 0; i < 3; i++)
    g_assert_true(b.next(kBob).find("\"sdpMLineIndex\":" + std::to_string(i)) != std::string::npos);
  b.router.received(kBob, Candidate{"alice", kCandidate});
  b.router.received(kBob, Answer{"alice", {"answer", "v=0 b"}});
  c.deliver();
  a.expect(
      kAlice,
      R"({"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0},"name":"bob"})");
  a.expect(kAlice, R"({"type":"answer","answer":{"type":"answer","sdp":"v=0 b"},"name":"bob"})");
  g_assert_true(a.state(kAlice) == CallState::kInCall);
  g_assert_true(b.state(kBob) == CallState::kInCall);
  // Either side renegotiates.
  b.router.received(kBob, Offer{"alice", {"offer", "v=0 b2"}});
  c.deliver();
  a.expect(kAlice, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0 b2"},"name":"bob"})");
  a.router.received(kAlice, Answer{"bob", {"answer", "v=0 a2"}});
  c.deliver();
  b.expect(kBob, R"({"type":"answer","answer":{"type":"answer","sdp":"v=0 a2"},"name":"alice"})");
  // Hang-up without a name ends the current call.
  a.router.received(kAlice, Leave{"", std::nullopt});
  g_assert_true(a.state(kAlice) == CallState::kIdle);
  c.deliver();
  b.expect(kBob, R"({"type":"leave","name":"alice","reason":"hangup"})");
  g_assert_true(b.state(kBob) == CallState::kIdle);
  // Both can call again, the other way.
  b.router.received(kBob, Offer{"alice", {"offer", "v=0"}});
  c.deliver();
  a.expect(kAlice, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"bob"})");
  a.router.received(kAlice, Leave{"bob", LeaveReason::kRejected});
  c.deliver();
  b.expect(kBob, R"({"type":"leave","name":"alice","reason":"rejected"})");
}

void busy_callee_elsewhere_is_refused(Cluster &c) {
  Instance &a = c["A"], &b = c["B"];
  b.log_in(kDave, "dave");
  b.router.received(kDave, Offer{"bob", {"offer", "v=0"}});
  b.next(kBob); // bob is ringing
  a.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  c.deliver();
  a.expect(kAlice,
           R"({"type":"error","message":"\"bob\" is in another call","code":"busy","name":"bob"})");
  g_assert_true(a.state(kAlice) == CallState::kIdle); // the refusal undid the attempt
  g_assert_true(b.state(kBob) == CallState::kRinging);
  // The caller is free again: it calls someone else.
  a.router.received(kAlice, Offer{"carol", {"offer", "v=0"}});
  c.deliver();
  c["C"].next(kCarol);
}

void callee_gone_before_the_offer_arrives(Cluster &c) {
  Instance &a = c["A"], &b = c["B"];
  a.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  b.router.disconnected(kBob); // the offer is still on its way
  c.deliver();
  // The news of the logout ends the attempt; B's refusal of the offer that
  // follows is about a call A has ended, and says nothing more.
  a.expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  g_assert_true(a.state(kAlice) == CallState::kIdle);
}

void offers_that_cross_both_fail(Cluster &c) {
  Instance &a = c["A"], &b = c["B"];
  a.router.received(kAlice, Offer{"bob", {"offer", "v=0 a"}});
  b.router.received(kBob, Offer{"alice", {"offer", "v=0 b"}});
  c.deliver();
  a.expect_error(kAlice, "busy");
  b.expect_error(kBob, "busy");
  g_assert_true(a.state(kAlice) == CallState::kIdle);
  g_assert_true(b.state(kBob) == CallState::kIdle);
  establish(c); // and they can call again
}

void caller_in_call_elsewhere_is_refused_here(Cluster &c) {
  establish(c);
  c["A"].router.received(kAlice, Offer{"carol", {"offer", "v=0"}});
  c["A"].expect_error(kAlice, "in-call");
  c["C"].router.received(kCarol, Offer{"alice", {"offer", "v=0"}});
  c.deliver();
  c["C"].expect_error(kCarol, "busy");
  // A third party cannot slip into the call.
  c["C"].router.received(kCarol, Candidate{"alice", kCandidate});
  c["C"].expect_error(kCarol, "not-in-call");
  c["C"].router.received(kCarol, Leave{"bob", std::nullopt});
  c["C"].expect_error(kCarol, "not-in-call");
}

void disconnect_tells_the_peer_elsewhere(Cluster &c) {
  establish(c);
  c["B"].router.disconnected(kBob);
  c.deliver();
  c["A"].expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  g_assert_true(c["A"].state(kAlice) == CallState::kIdle);
}

void instance_gone_ends_its_calls(Cluster &c) {
  establish(c);
  c["A"].directory.listener()->on_instance_gone("B");
  c["A"].expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  g_assert_true(c["A"].state(kAlice) == CallState::kIdle);
  c["A"].directory.listener()->on_instance_gone("B"); // once
}

void instance_back_hears_of_the_calls_ended_here(Cluster &c) {
  establish(c);
  // A took B for gone (B was only cut off from Redis, or stalled).
  c["A"].directory.listener()->on_instance_gone("B");
  c["A"].expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  c.deliver();
  g_assert_true(c["B"].state(kBob) == CallState::kInCall); // B knows nothing yet
  c["A"].directory.listener()->on_instance_back("B");
  c.deliver();
  c["B"].expect(kBob, R"({"type":"leave","name":"alice","reason":"gone"})");
  g_assert_true(c["B"].state(kBob) == CallState::kIdle);
  c["A"].directory.listener()->on_instance_back("B"); // told once
}

void remote_logout_ends_a_call_whose_leave_was_lost(Cluster &c) {
  establish(c);
  c["B"].router.disconnected(kBob);
  c.drop_in_flight(); // its leave never arrives; the logout's news does
  c["A"].expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
}

void side_without_the_call_ends_the_other(Cluster &c) {
  establish(c);
  c["B"].router.received(kBob, Leave{"alice", std::nullopt});
  c.drop_in_flight(); // a lost leave: alice still thinks she is in the call
  g_assert_true(c["A"].state(kAlice) == CallState::kInCall);
  c["A"].router.received(kAlice, Candidate{"bob", kCandidate});
  c.deliver();
  // B refused it; A ends its side and says so instead of an error.
  c["A"].expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  g_assert_true(c["A"].state(kAlice) == CallState::kIdle);
}

void name_lost_closes_the_user_and_tells_its_peer(Cluster &c) {
  establish(c);
  c["B"].directory.listener()->on_name_lost("bob");
  g_assert_cmpuint(c["B"].outbox.closed.size(), ==, 1);
  g_assert_cmpuint(c["B"].outbox.closed[0], ==, kBob);
  g_assert_null(c["B"].router.registry().session(kBob));
  c.deliver();
  c["A"].expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  // Not released: the name is the other instance's now.
  g_assert_cmpstr(c.claims["bob"].c_str(), ==, "B");
}

void name_lost_to_another_instance_stays_online(Cluster &c) {
  Instance &b = c["B"];
  b.log_in(kDave, "dave");
  b.router.received(kDave, Presence{});
  b.expect(kDave, R"({"type":"presence","users":["alice","bob","carol","dave"]})");
  c.claims["bob"] = "A"; // A took the name while B was cut off from Redis
  b.directory.listener()->on_name_lost("bob");
  g_assert_cmpuint(b.outbox.closed.size(), ==, 1);
  b.expect_nothing(); // no "left" for dave: bob is online, on A
}

void shutdown_tells_both_sides(Cluster &c) {
  establish(c);
  c["A"].router.shutdown();
  c["A"].expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  c.deliver();
  c["B"].expect(kBob, R"({"type":"leave","name":"alice","reason":"gone"})");
}

void resume_keeps_a_call_with_another_instance(Cluster &c) {
  establish(c);
  // alice's connection died unnoticed; she comes back on a new one with her token.
  Instance &a = c["A"];
  a.router.received(kDave, Login{"alice", {}, a.resume_tokens[kAlice]});
  g_assert_true(a.next(kDave).find(R"({"type":"login","success":true)") == 0);
  g_assert_cmpuint(a.outbox.closed.size(), ==, 1);
  g_assert_cmpuint(a.outbox.closed[0], ==, kAlice);
  c["B"].router.received(kBob, Candidate{"alice", kCandidate});
  c.deliver();
  g_assert_true(a.next(kDave).find(R"("name":"bob")") != std::string::npos);
  a.router.received(kDave, Leave{"bob", std::nullopt});
  c.deliver();
  c["B"].expect(kBob, R"({"type":"leave","name":"alice","reason":"hangup"})");
}

void offer_to_a_user_not_heard_of_yet_waits_for_a_lookup(Cluster &c) {
  Instance &a = c["A"], &b = c["B"];
  c.hold_news = true; // A has not heard of dave's login on B
  b.log_in(kDave, "dave");
  a.router.received(kAlice, Offer{"dave", {"offer", "v=0"}});
  a.router.received(kAlice, Candidate{"dave", kCandidate}); // waits behind the offer
  a.expect_nothing();
  c.deliver(); // the lookup's answer, then the offer and the candidate
  b.expect(kDave, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  g_assert_true(b.next(kDave).find(R"("type":"candidate")") != std::string::npos);
  // Nobody by that name anywhere: refused once the answer says so.
  a.log_in(kDave, "erin");
  a.router.received(kDave, Offer{"nobody", {"offer", "v=0"}});
  a.expect_nothing();
  c.deliver();
  a.expect_error(kDave, "unknown-user");
  b.router.received(kDave, Leave{"alice", std::nullopt});
  c.deliver();
  a.next(kAlice);
}

void presence_is_global(Cluster &c) {
  Instance &cc = c["C"];
  cc.router.received(kCarol, Presence{});
  cc.expect(kCarol, R"({"type":"presence","users":["alice","bob","carol"]})");
  c["A"].log_in(kDave, "dave");
  cc.expect(kCarol, R"({"type":"presence","joined":"dave"})");
  c["A"].router.disconnected(kDave);
  cc.expect(kCarol, R"({"type":"presence","left":"dave"})");
}

void add(const char *path, Test test) {
  g_test_add(
      path, Fixture, reinterpret_cast<gconstpointer>(test), setup,
      [](Fixture *f, gconstpointer data) { reinterpret_cast<Test>(data)(f->cluster); }, teardown);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  add("/router-cluster/login/names-unique-across-instances", names_are_unique_across_instances);
  add("/router-cluster/login/messages-wait-for-the-claim",
      messages_before_the_claims_answer_wait_for_it);
  add("/router-cluster/login/gone-before-the-claim-releases-it",
      connection_gone_before_the_claims_answer_releases_it);
  add("/router-cluster/login/unavailable-directory-refuses", unavailable_directory_refuses_logins);
  add("/router-cluster/call/across-instances", call_across_instances);
  add("/router-cluster/offer/busy-callee-elsewhere", busy_callee_elsewhere_is_refused);
  add("/router-cluster/offer/callee-gone-before-it-arrives", callee_gone_before_the_offer_arrives);
  add("/router-cluster/offer/crossing-offers-both-fail", offers_that_cross_both_fail);
  add("/router-cluster/offer/third-parties-refused", caller_in_call_elsewhere_is_refused_here);
  add("/router-cluster/disconnect/tells-the-peer-elsewhere", disconnect_tells_the_peer_elsewhere);
  add("/router-cluster/instance-gone/ends-its-calls", instance_gone_ends_its_calls);
  add("/router-cluster/instance-gone/back-hears-of-calls-ended",
      instance_back_hears_of_the_calls_ended_here);
  add("/router-cluster/remote-logout/ends-call-whose-leave-was-lost",
      remote_logout_ends_a_call_whose_leave_was_lost);
  add("/router-cluster/refusal/side-without-call-ends-the-other",
      side_without_the_call_ends_the_other);
  add("/router-cluster/name-lost/closes-user-and-tells-peer",
      name_lost_closes_the_user_and_tells_its_peer);
  add("/router-cluster/name-lost/to-another-instance-stays-online",
      name_lost_to_another_instance_stays_online);
  add("/router-cluster/shutdown/tells-both-sides", shutdown_tells_both_sides);
  add("/router-cluster/resume/keeps-a-call-with-another-instance",
      resume_keeps_a_call_with_another_instance);
  add("/router-cluster/offer/unheard-of-user-waits-for-lookup",
      offer_to_a_user_not_heard_of_yet_waits_for_a_lookup);
  add("/router-cluster/presence/global", presence_is_global);
  return g_test_run();
}
