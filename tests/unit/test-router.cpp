// The router's call-state rules, without sockets: messages in, sends out.
#include "protocol/parse.hpp"
#include "protocol/serialize.hpp"
#include "router.hpp"
#include "tokens.hpp"

#include <glib.h>

#include <deque>
#include <map>
#include <set>
#include <string>

using namespace webrtccall::protocol;
using namespace webrtccall::server;

namespace {

constexpr ConnectionId kAlice = 1, kBob = 2, kCarol = 3, kDave = 4;

// A login reply's random resume token, cut out so replies compare exactly.
std::string without_resume(const std::string &text, std::string *token = nullptr) {
  const std::string key = ",\"resume\":\"";
  std::size_t start = text.find(key);
  if (start == std::string::npos)
    return text;
  std::size_t end = text.find('"', start + key.size());
  if (token)
    *token = text.substr(start + key.size(), end - start - key.size());
  return text.substr(0, start) + text.substr(end + 1);
}

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

struct Fixture {
  RecordingOutbox outbox;
  Router router{outbox, RouterOptions{true, {}, {}, {}}};
  std::map<ConnectionId, std::string> resume_tokens;

  void log_in(ConnectionId id, const std::string &name) {
    router.received(id, Login{name, {}, {}});
    expect(id, R"({"type":"login","success":true,"protocol":2})");
  }

  // The next message sent must go to `to` and be exactly `json`.
  void expect(ConnectionId to, const std::string &json) {
    if (outbox.sent.empty())
      g_error("expected %s to connection %" G_GUINT64_FORMAT ", nothing was sent", json.c_str(),
              to);
    auto [id, sent] = outbox.sent.front();
    outbox.sent.pop_front();
    std::string token;
    std::string text = without_resume(sent, &token);
    if (!token.empty()) {
      // Every successful login gets a fresh, unguessable token.
      g_assert_cmpuint(token.size(), ==, 32);
      for (const auto &[holder, previous] : resume_tokens)
        g_assert_cmpstr(previous.c_str(), !=, token.c_str());
      resume_tokens[id] = token;
    }
    if (id != to || text != json)
      g_error("expected to %" G_GUINT64_FORMAT ": %s\n     sent to %" G_GUINT64_FORMAT ": %s", to,
              json.c_str(), id, text.c_str());
  }

  // The next message must be an error to `to` with this code.
  void expect_error(ConnectionId to, ErrorCode code) {
    if (outbox.sent.empty())
      g_error("expected an error %s, nothing was sent", std::string(to_string(code)).c_str());
    auto [id, text] = outbox.sent.front();
    outbox.sent.pop_front();
    std::string needle = "\"code\":\"" + std::string(to_string(code)) + "\"";
    if (id != to || text.find("\"type\":\"error\"") == std::string::npos ||
        text.find(needle) == std::string::npos)
      g_error("expected error %s to %" G_GUINT64_FORMAT ", sent to %" G_GUINT64_FORMAT ": %s",
              needle.c_str(), to, id, text.c_str());
  }

  void expect_nothing() {
    if (!outbox.sent.empty())
      g_error("expected nothing more, sent to %" G_GUINT64_FORMAT ": %s", outbox.sent.front().first,
              outbox.sent.front().second.c_str());
  }

  CallState state(ConnectionId id) { return router.registry().session(id)->state; }

  // alice calls bob and bob answers.
  void establish_alice_bob() {
    router.received(kAlice, Offer{"bob", {"offer", "v=0 a"}});
    expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0 a"},"name":"alice"})");
    router.received(kBob, Answer{"alice", {"answer", "v=0 b"}});
    expect(kAlice, R"({"type":"answer","answer":{"type":"answer","sdp":"v=0 b"},"name":"bob"})");
  }
};

using Test = void (*)(Fixture &);

void setup(Fixture *f, gconstpointer) {
  new (f) Fixture();
  f->log_in(kAlice, "alice");
  f->log_in(kBob, "bob");
  f->log_in(kCarol, "carol");
}

void teardown(Fixture *f, gconstpointer) {
  f->expect_nothing();
  f->~Fixture();
}

const IceCandidate kCandidate{"candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0, std::nullopt};
const char *kCandidateJson =
    R"("candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0})";

// --- login

void login_taken_name_is_refused(Fixture &f) {
  f.router.received(kDave, Login{"alice", {}, {}});
  f.expect(
      kDave,
      R"({"type":"login","success":false,"code":"name-taken","message":"The name \"alice\" is taken; choose another","protocol":2})");
}

void login_invalid_names_are_refused(Fixture &f) {
  for (std::string name : {std::string(), std::string(" x"), std::string("a\nb"),
                           std::string(65, 'x'), std::string(1 << 20, 'x')}) {
    f.router.received(kDave, Login{name, {}, {}});
    auto [id, text] = f.outbox.sent.front();
    f.outbox.sent.pop_front();
    g_assert_cmpuint(id, ==, kDave);
    g_assert_true(text.rfind(R"({"type":"login","success":false,"code":"invalid-name")", 0) == 0);
    g_assert_cmpuint(text.size(), <, 300); // the name is never echoed
  }
  g_assert_null(f.router.registry().session(kDave));
}

void login_proto_names_work(Fixture &f) {
  f.log_in(kDave, "__proto__");
  f.router.received(kAlice, Offer{"__proto__", {"offer", "v=0"}});
  f.expect(kDave, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  f.router.received(kDave, Answer{"alice", {"answer", "v=0"}});
  f.expect(kAlice,
           R"({"type":"answer","answer":{"type":"answer","sdp":"v=0"},"name":"__proto__"})");
  f.router.disconnected(kDave);
  f.expect(kAlice, R"({"type":"leave","name":"__proto__","reason":"gone"})");
  f.log_in(kDave + 1, "constructor");
}

void login_second_on_one_connection_is_refused(Fixture &f) {
  f.router.received(kAlice, Login{"alice2", {}, {}});
  f.expect(
      kAlice,
      R"({"type":"login","success":false,"code":"already-logged-in","message":"Already logged in as \"alice\" on this connection","protocol":2})");
  // The first name stays bound to the connection; the second is not taken.
  g_assert_true(f.router.registry().find("alice") == std::optional<ConnectionId>(kAlice));
  g_assert_false(f.router.registry().find("alice2").has_value());
  f.log_in(kDave, "alice2");
}

void login_name_is_released_on_disconnect(Fixture &f) {
  f.router.disconnected(kAlice);
  f.router.disconnected(kAlice); // idempotent
  f.log_in(kDave, "alice");
}

void before_login_everything_is_refused(Fixture &f) {
  ClientMessage messages[] = {Offer{"bob", {"offer", "v=0"}}, Answer{"bob", {"answer", "v=0"}},
                              Candidate{"bob", kCandidate}, Leave{"bob", std::nullopt}, Presence{}};
  for (const auto &message : messages) {
    f.router.received(kDave, message);
    f.expect_error(kDave, ErrorCode::kNotLoggedIn);
  }
}

void refused_login_frame_gets_login_reply(Fixture &f) {
  f.router.refused(kDave,
                   ParseError{ErrorCode::kBadField, "\"name\" must be a string", "login", {}});
  f.expect(
      kDave,
      R"({"type":"login","success":false,"code":"bad-field","message":"\"name\" must be a string","protocol":2})");
  f.router.refused(kDave, ParseError{ErrorCode::kUnknownType, "Command not found: x", "x", {}});
  f.expect(kDave, R"({"type":"error","message":"Command not found: x","code":"unknown-type"})");
}

// --- offers

void offer_is_relayed_with_caller_name(Fixture &f) {
  f.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  g_assert_true(f.state(kAlice) == CallState::kCalling);
  g_assert_true(f.state(kBob) == CallState::kRinging);
}

void offer_to_unknown_user_is_refused(Fixture &f) {
  f.router.received(kAlice, Offer{"zed", {"offer", "v=0"}});
  f.expect(
      kAlice,
      R"({"type":"error","message":"User \"zed\" is not logged in","code":"unknown-user","name":"zed"})");
  g_assert_true(f.state(kAlice) == CallState::kIdle);
}

void offer_to_oneself_is_refused(Fixture &f) {
  f.router.received(kAlice, Offer{"alice", {"offer", "v=0"}});
  f.expect_error(kAlice, ErrorCode::kSelfCall);
  g_assert_true(f.state(kAlice) == CallState::kIdle);
  f.router.disconnected(kAlice); // the tutorial's server dies here
}

void offer_to_busy_user_is_refused(Fixture &f) {
  f.establish_alice_bob();
  f.router.received(kCarol, Offer{"bob", {"offer", "v=0"}});
  f.expect(kCarol,
           R"({"type":"error","message":"\"bob\" is in another call","code":"busy","name":"bob"})");
  // Ringing counts as busy too.
  f.log_in(kDave, "dave");
  f.router.disconnected(kBob);
  f.expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  f.router.received(kCarol, Offer{"dave", {"offer", "v=0"}});
  f.expect(kDave, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"carol"})");
  f.router.received(kAlice, Offer{"dave", {"offer", "v=0"}});
  f.expect_error(kAlice, ErrorCode::kBusy);
  f.router.received(kAlice, Offer{"carol", {"offer", "v=0"}});
  f.expect_error(kAlice, ErrorCode::kBusy);
}

void crossing_offers_get_busy(Fixture &f) {
  f.router.received(kAlice, Offer{"bob", {"offer", "v=0 a"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0 a"},"name":"alice"})");
  f.router.received(kBob, Offer{"alice", {"offer", "v=0 b"}});
  f.expect_error(kBob, ErrorCode::kBusy);
  // alice's call goes on.
  f.router.received(kBob, Answer{"alice", {"answer", "v=0"}});
  f.expect(kAlice, R"({"type":"answer","answer":{"type":"answer","sdp":"v=0"},"name":"bob"})");
}

void caller_in_another_call_is_refused(Fixture &f) {
  f.establish_alice_bob();
  f.router.received(kAlice, Offer{"carol", {"offer", "v=0"}});
  f.expect_error(kAlice, ErrorCode::kInCall);
  g_assert_true(f.state(kCarol) == CallState::kIdle);
}

void renegotiation_in_established_call_is_relayed(Fixture &f) {
  f.establish_alice_bob();
  // Either side may renegotiate.
  f.router.received(kBob, Offer{"alice", {"offer", "v=1"}});
  f.expect(kAlice, R"({"type":"offer","offer":{"type":"offer","sdp":"v=1"},"name":"bob"})");
  f.router.received(kAlice, Answer{"bob", {"answer", "v=1"}});
  f.expect(kBob, R"({"type":"answer","answer":{"type":"answer","sdp":"v=1"},"name":"alice"})");
  f.router.received(kAlice, Offer{"bob", {"offer", "v=2"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=2"},"name":"alice"})");
  g_assert_true(f.state(kAlice) == CallState::kInCall);
}

void repeated_offer_while_pending_is_relayed(Fixture &f) {
  f.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  f.router.received(kAlice, Offer{"bob", {"offer", "v=9"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=9"},"name":"alice"})");
}

// --- answers

void answer_establishes_the_call(Fixture &f) {
  f.establish_alice_bob();
  g_assert_true(f.state(kAlice) == CallState::kInCall);
  g_assert_true(f.state(kBob) == CallState::kInCall);
}

void answer_without_offer_is_refused(Fixture &f) {
  f.router.received(kBob, Answer{"alice", {"answer", "v=0"}});
  f.expect_error(kBob, ErrorCode::kNotInCall);
  g_assert_true(f.state(kAlice) == CallState::kIdle);
}

void answer_from_the_caller_is_refused(Fixture &f) {
  f.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  f.router.received(kAlice, Answer{"bob", {"answer", "v=0"}});
  f.expect_error(kAlice, ErrorCode::kNotInCall);
  g_assert_true(f.state(kBob) == CallState::kRinging);
}

// Nobody can answer in someone else's name: the sender is the connection.
void spoofed_answer_from_third_party_is_refused(Fixture &f) {
  f.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  f.router.received(kCarol, Answer{"alice", {"answer", "v=evil"}});
  f.expect_error(kCarol, ErrorCode::kNotInCall);
  f.router.received(kCarol, Candidate{"alice", kCandidate});
  f.expect_error(kCarol, ErrorCode::kNotInCall);
  f.router.received(kCarol, Leave{"alice", std::nullopt});
  f.expect_error(kCarol, ErrorCode::kNotInCall);
  g_assert_true(f.state(kAlice) == CallState::kCalling);
  f.router.received(kBob, Answer{"alice", {"answer", "v=0"}});
  f.expect(kAlice, R"({"type":"answer","answer":{"type":"answer","sdp":"v=0"},"name":"bob"})");
}

void answer_to_unknown_user_is_refused(Fixture &f) {
  f.router.received(kBob, Answer{"nobody", {"answer", "v=0"}});
  f.expect_error(kBob, ErrorCode::kUnknownUser);
}

// --- candidates

void candidates_flow_both_ways_while_pending(Fixture &f) {
  f.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  f.router.received(kAlice, Candidate{"bob", kCandidate});
  f.expect(kBob, std::string(R"({"type":"candidate",)") + kCandidateJson + R"(,"name":"alice"})");
  f.router.received(kBob, Candidate{"alice", kCandidate});
  f.expect(kAlice, std::string(R"({"type":"candidate",)") + kCandidateJson + R"(,"name":"bob"})");
}

void candidates_flow_in_established_call(Fixture &f) {
  f.establish_alice_bob();
  for (int i = 0; i < 50; i++) { // a browser trickles dozens at once
    f.router.received(kBob, Candidate{"alice", kCandidate});
    f.expect(kAlice, std::string(R"({"type":"candidate",)") + kCandidateJson + R"(,"name":"bob"})");
  }
}

void candidate_outside_call_is_refused(Fixture &f) {
  f.router.received(kAlice, Candidate{"bob", kCandidate});
  f.expect_error(kAlice, ErrorCode::kNotInCall);
  f.router.received(kAlice, Candidate{"nobody", kCandidate});
  f.expect_error(kAlice, ErrorCode::kUnknownUser);
}

void candidate_to_other_than_peer_is_refused(Fixture &f) {
  f.establish_alice_bob();
  f.router.received(kAlice, Candidate{"carol", kCandidate});
  f.expect_error(kAlice, ErrorCode::kNotInCall);
}

// --- leave

void leave_is_relayed_with_sender_and_reason(Fixture &f) {
  f.establish_alice_bob();
  f.router.received(kAlice, Leave{"bob", std::nullopt});
  f.expect(kBob, R"({"type":"leave","name":"alice","reason":"hangup"})");
  g_assert_true(f.state(kAlice) == CallState::kIdle);
  g_assert_true(f.state(kBob) == CallState::kIdle);
  // Both can call again.
  f.establish_alice_bob();
}

void decline_is_leave_rejected(Fixture &f) {
  f.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  f.router.received(kBob, Leave{"alice", LeaveReason::kRejected});
  f.expect(kAlice, R"({"type":"leave","name":"bob","reason":"rejected"})");
  g_assert_true(f.state(kAlice) == CallState::kIdle);
}

void leave_without_name_ends_current_call(Fixture &f) {
  f.establish_alice_bob();
  f.router.received(kBob, Leave{{}, std::nullopt});
  f.expect(kAlice, R"({"type":"leave","name":"bob","reason":"hangup"})");
  f.router.received(kBob, Leave{{}, std::nullopt});
  f.expect_error(kBob, ErrorCode::kNotInCall);
}

void leave_to_unknown_user_is_refused(Fixture &f) {
  // The tutorial's server dies on this one.
  f.router.received(kAlice, Leave{"ghost", std::nullopt});
  f.expect_error(kAlice, ErrorCode::kUnknownUser);
}

void leave_to_someone_not_in_call_is_refused(Fixture &f) {
  f.establish_alice_bob();
  f.router.received(kCarol, Leave{"bob", std::nullopt});
  f.expect_error(kCarol, ErrorCode::kNotInCall);
  g_assert_true(f.state(kBob) == CallState::kInCall);
}

// --- disconnects

void disconnect_mid_call_sends_leave_gone(Fixture &f) {
  f.establish_alice_bob();
  f.router.disconnected(kBob);
  f.expect(kAlice, R"({"type":"leave","name":"bob","reason":"gone"})");
  g_assert_true(f.state(kAlice) == CallState::kIdle);
  g_assert_null(f.router.registry().session(kBob));
}

void disconnect_while_ringing_sends_leave_gone(Fixture &f) {
  f.router.received(kAlice, Offer{"bob", {"offer", "v=0"}});
  f.expect(kBob, R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  f.router.disconnected(kAlice);
  f.expect(kBob, R"({"type":"leave","name":"alice","reason":"gone"})");
  g_assert_true(f.state(kBob) == CallState::kIdle);
}

// The tutorial's server dies when the callee's socket closes after a hang-up.
void close_after_leave_sends_nothing(Fixture &f) {
  f.establish_alice_bob();
  f.router.received(kAlice, Leave{"bob", std::nullopt});
  f.expect(kBob, R"({"type":"leave","name":"alice","reason":"hangup"})");
  f.router.disconnected(kBob);
  f.router.disconnected(kAlice);
}

void disconnect_before_login_is_harmless(Fixture &f) {
  f.router.disconnected(kDave);
}

// --- presence

void presence_lists_then_sends_changes(Fixture &f) {
  f.router.received(kAlice, Presence{});
  f.expect(kAlice, R"({"type":"presence","users":["alice","bob","carol"]})");
  f.log_in(kDave, "dave");
  f.expect(kAlice, R"({"type":"presence","joined":"dave"})");
  f.router.disconnected(kDave);
  f.expect(kAlice, R"({"type":"presence","left":"dave"})");
  // Failed logins change nothing.
  f.router.received(kDave, Login{"bob", {}, {}});
  f.expect(
      kDave,
      R"({"type":"login","success":false,"code":"name-taken","message":"The name \"bob\" is taken; choose another","protocol":2})");
}

void presence_costs_nothing_unasked(Fixture &f) {
  f.router.received(kDave, Login{"dave", {}, {}});
  f.expect(kDave, R"({"type":"login","success":true,"protocol":2})");
  f.router.disconnected(kDave); // nobody subscribed: nothing is sent
}

void presence_subscriber_leaving_stops_updates(Fixture &f) {
  f.router.received(kAlice, Presence{});
  f.expect(kAlice, R"({"type":"presence","users":["alice","bob","carol"]})");
  f.router.disconnected(kAlice);
  f.router.disconnected(kBob); // alice is gone: nothing to send
}

void presence_can_be_turned_off(Fixture &) {
  RecordingOutbox outbox;
  Router router(outbox, RouterOptions{false, {}, {}, {}});
  router.received(kAlice, Login{"alice", {}, {}});
  router.received(kAlice, Presence{});
  g_assert_cmpuint(outbox.sent.size(), ==, 2);
  g_assert_true(outbox.sent[1].second.find("\"code\":\"unknown-type\"") != std::string::npos);
}

void login_hands_out_ice_servers(Fixture &) {
  RecordingOutbox outbox;
  Router router(outbox, RouterOptions{true, {{"stun:127.0.0.1:3478", {}, {}}}, {}, {}});
  router.received(kAlice, Login{"alice", {}, {}});
  std::string reply = without_resume(outbox.sent[0].second);
  g_assert_cmpstr(
      reply.c_str(), ==,
      R"({"type":"login","success":true,"protocol":2,"iceServers":[{"urls":"stun:127.0.0.1:3478"}]})");
}

// --- resume

// alice's connection died mid-call without the server noticing; she logs in
// again on a new one (kDave) with her token and keeps name and call.
void resume_takes_the_name_and_call_back(Fixture &f) {
  f.establish_alice_bob();
  std::string token = f.resume_tokens.at(kAlice);
  f.router.received(kDave, Login{"alice", {}, token});
  f.expect(kDave, R"({"type":"login","success":true,"protocol":2})");
  g_assert_cmpuint(f.outbox.closed.size(), ==, 1);
  g_assert_cmpuint(f.outbox.closed[0], ==, kAlice);
  f.expect_nothing(); // bob hears nothing: for him alice never left
  // The old connection closing later changes nothing.
  f.router.disconnected(kAlice);
  f.expect_nothing();
  f.router.received(kBob, Candidate{"alice", kCandidate});
  f.expect(kDave, std::string(R"({"type":"candidate",)") + kCandidateJson + R"(,"name":"bob"})");
  f.router.received(kDave, Leave{"bob", LeaveReason::kHangup});
  f.expect(kBob, R"({"type":"leave","name":"alice","reason":"hangup"})");
  g_assert_true(f.state(kBob) == CallState::kIdle);
  // The token was spent: the new one is another.
  g_assert_cmpstr(f.resume_tokens.at(kDave).c_str(), !=, token.c_str());
}

void resume_with_wrong_token_is_name_taken(Fixture &f) {
  std::string token = f.resume_tokens.at(kAlice);
  token[0] = token[0] == 'a' ? 'b' : 'a';
  f.router.received(kDave, Login{"alice", {}, token});
  f.expect(
      kDave,
      R"({"type":"login","success":false,"code":"name-taken","message":"The name \"alice\" is taken; choose another","protocol":2})");
  // bob's token is not alice's.
  f.router.received(kDave, Login{"alice", {}, f.resume_tokens.at(kBob)});
  f.expect(
      kDave,
      R"({"type":"login","success":false,"code":"name-taken","message":"The name \"alice\" is taken; choose another","protocol":2})");
  g_assert_true(f.outbox.closed.empty());
}

// A resume token for a name nobody holds (the server restarted) is ignored.
void resume_of_a_free_name_is_a_plain_login(Fixture &f) {
  f.router.received(kDave, Login{"dave", {}, "0123456789abcdef0123456789abcdef"});
  f.expect(kDave, R"({"type":"login","success":true,"protocol":2})");
  g_assert_true(f.outbox.closed.empty());
}

// --- authentication (--auth-secret)

void logins_need_a_valid_token_with_a_secret(Fixture &) {
  RecordingOutbox outbox;
  Router router(outbox, RouterOptions{true, {}, "s3cret", {}});
  gint64 later = g_get_real_time() / G_USEC_PER_SEC + 3600;
  auto reply = [&](ConnectionId id, Login login) {
    router.received(id, login);
    std::string text = without_resume(outbox.sent.back().second);
    return text;
  };
  auto refused = [](const std::string &text, const char *code) {
    return text.find("\"success\":false") != std::string::npos &&
           text.find(std::string("\"code\":\"") + code + "\"") != std::string::npos;
  };
  g_assert_true(refused(reply(kAlice, Login{"alice", {}, {}}), "auth-required"));
  // Issued for bob: not alice's.
  g_assert_true(refused(
      reply(kAlice, Login{"alice", issue_login_token("s3cret", "bob", later), {}}), "auth-failed"));
  g_assert_true(refused(reply(kAlice, Login{"alice", "garbage", {}}), "auth-failed"));
  std::string expired = issue_login_token("s3cret", "alice", later - 7200);
  std::string text = reply(kAlice, Login{"alice", expired, {}});
  g_assert_true(refused(text, "auth-failed"));
  g_assert_true(text.find("expired") != std::string::npos);
  g_assert_true(
      refused(reply(kAlice, Login{"alice", issue_login_token("other", "alice", later), {}}),
              "auth-failed"));
  std::string accepted =
      reply(kAlice, Login{"alice", issue_login_token("s3cret", "alice", later), {}});
  g_assert_cmpstr(accepted.c_str(), ==, R"({"type":"login","success":true,"protocol":2})");
}

// --- TURN credentials (--turn-secret)

// The TURN REST API's password: base64 HMAC-SHA1 of the username (the value
// computed independently, with Python's hmac module).
void turn_password_is_the_rest_api_one(Fixture &) {
  std::string password = turn_password("s3cret", "1700000000:alice");
  g_assert_cmpstr(password.c_str(), ==, "TtElzSjT0GdnTQ9xdcRNxx96yQs=");
}

void login_hands_out_turn_credentials_and_refreshes_them(Fixture &) {
  RecordingOutbox outbox;
  TurnSettings turn{"s3cret", {"turn:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=tcp"}, 600};
  Router router(outbox, RouterOptions{true, {{"stun:127.0.0.1:3478", {}, {}}}, {}, turn});
  gint64 before = g_get_real_time() / G_USEC_PER_SEC;
  router.received(kAlice, Login{"alice", {}, {}});
  auto parsed = parse_server_message(outbox.sent.back().second);
  auto &login = std::get<LoginResult>(std::get<ServerMessage>(parsed));
  g_assert_cmpuint(login.ice_servers.size(), ==, 3);
  g_assert_cmpstr(login.ice_servers[0].urls.c_str(), ==, "stun:127.0.0.1:3478");
  for (int i : {1, 2}) {
    const IceServer &server = login.ice_servers[i];
    gint64 expiry = g_ascii_strtoll(server.username.c_str(), nullptr, 10);
    g_assert_cmpint(expiry, >=, before + 600);
    g_assert_cmpint(expiry, <=, before + 602);
    g_assert_true(g_str_has_suffix(server.username.c_str(), ":alice"));
    std::string password = turn_password("s3cret", server.username);
    g_assert_cmpstr(server.credential.c_str(), ==, password.c_str());
  }
  g_assert_cmpstr(login.ice_servers[2].urls.c_str(), ==, "turn:127.0.0.1:3478?transport=tcp");
  router.received(kBob, Login{"bob", {}, {}});
  outbox.sent.clear();
  router.refresh_ice_servers();
  g_assert_cmpuint(outbox.sent.size(), ==, 2); // one to each user, with their own name
  for (const auto &[to, text] : outbox.sent) {
    auto update = std::get<IceServers>(std::get<ServerMessage>(parse_server_message(text)));
    g_assert_cmpuint(update.ice_servers.size(), ==, 3);
    g_assert_true(
        g_str_has_suffix(update.ice_servers[1].username.c_str(), to == kAlice ? ":alice" : ":bob"));
  }
}

void without_turn_nothing_is_refreshed(Fixture &f) {
  f.router.refresh_ice_servers();
  f.expect_nothing();
}

// --- shutdown

void shutdown_tells_both_parties(Fixture &f) {
  f.establish_alice_bob();
  f.router.shutdown();
  // Order follows the registry; check both arrived.
  std::set<std::string> got;
  for (int i = 0; i < 2; i++) {
    got.insert(std::to_string(f.outbox.sent.front().first) + f.outbox.sent.front().second);
    f.outbox.sent.pop_front();
  }
  g_assert_true(got.count("1" + std::string(R"({"type":"leave","name":"bob","reason":"gone"})")));
  g_assert_true(got.count("2" + std::string(R"({"type":"leave","name":"alice","reason":"gone"})")));
  g_assert_true(f.state(kAlice) == CallState::kIdle);
}

void add(const char *path, Test test) {
  g_test_add(
      path, Fixture, reinterpret_cast<gconstpointer>(test), setup,
      [](Fixture *f, gconstpointer data) { reinterpret_cast<Test>(data)(*f); }, teardown);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  add("/router/login/taken-name-is-refused", login_taken_name_is_refused);
  add("/router/login/invalid-names-are-refused", login_invalid_names_are_refused);
  add("/router/login/proto-names-work", login_proto_names_work);
  add("/router/login/second-login-is-refused", login_second_on_one_connection_is_refused);
  add("/router/login/name-released-on-disconnect", login_name_is_released_on_disconnect);
  add("/router/login/required-before-anything", before_login_everything_is_refused);
  add("/router/login/refused-frame-gets-login-reply", refused_login_frame_gets_login_reply);
  add("/router/offer/relayed-with-caller-name", offer_is_relayed_with_caller_name);
  add("/router/offer/unknown-user-is-refused", offer_to_unknown_user_is_refused);
  add("/router/offer/to-oneself-is-refused", offer_to_oneself_is_refused);
  add("/router/offer/busy-callee-is-refused", offer_to_busy_user_is_refused);
  add("/router/offer/crossing-offers-get-busy", crossing_offers_get_busy);
  add("/router/offer/caller-in-another-call-is-refused", caller_in_another_call_is_refused);
  add("/router/offer/renegotiation-is-relayed", renegotiation_in_established_call_is_relayed);
  add("/router/offer/repeat-while-pending-is-relayed", repeated_offer_while_pending_is_relayed);
  add("/router/answer/establishes-the-call", answer_establishes_the_call);
  add("/router/answer/without-offer-is-refused", answer_without_offer_is_refused);
  add("/router/answer/from-caller-is-refused", answer_from_the_caller_is_refused);
  add("/router/answer/spoofed-third-party-is-refused", spoofed_answer_from_third_party_is_refused);
  add("/router/answer/unknown-user-is-refused", answer_to_unknown_user_is_refused);
  add("/router/candidate/both-ways-while-pending", candidates_flow_both_ways_while_pending);
  add("/router/candidate/flow-in-call", candidates_flow_in_established_call);
  add("/router/resume/takes-the-name-and-call-back", resume_takes_the_name_and_call_back);
  add("/router/resume/wrong-token-is-name-taken", resume_with_wrong_token_is_name_taken);
  add("/router/resume/free-name-is-a-plain-login", resume_of_a_free_name_is_a_plain_login);
  add("/router/auth/logins-need-a-valid-token", logins_need_a_valid_token_with_a_secret);
  add("/router/turn/password-is-the-rest-api-one", turn_password_is_the_rest_api_one);
  add("/router/turn/login-and-refresh", login_hands_out_turn_credentials_and_refreshes_them);
  add("/router/turn/nothing-to-refresh-without-turn", without_turn_nothing_is_refreshed);
  add("/router/candidate/outside-call-is-refused", candidate_outside_call_is_refused);
  add("/router/candidate/to-non-peer-is-refused", candidate_to_other_than_peer_is_refused);
  add("/router/leave/relayed-with-sender-and-reason", leave_is_relayed_with_sender_and_reason);
  add("/router/leave/decline-is-rejected", decline_is_leave_rejected);
  add("/router/leave/without-name-ends-current-call", leave_without_name_ends_current_call);
  add("/router/leave/unknown-user-is-refused", leave_to_unknown_user_is_refused);
  add("/router/leave/not-in-call-is-refused", leave_to_someone_not_in_call_is_refused);
  add("/router/disconnect/mid-call-sends-leave-gone", disconnect_mid_call_sends_leave_gone);
  add("/router/disconnect/while-ringing-sends-leave-gone",
      disconnect_while_ringing_sends_leave_gone);
  add("/router/disconnect/after-leave-sends-nothing", close_after_leave_sends_nothing);
  add("/router/disconnect/before-login-is-harmless", disconnect_before_login_is_harmless);
  add("/router/presence/list-then-changes", presence_lists_then_sends_changes);
  add("/router/presence/costs-nothing-unasked", presence_costs_nothing_unasked);
  add("/router/presence/subscriber-leaving", presence_subscriber_leaving_stops_updates);
  add("/router/presence/can-be-turned-off", presence_can_be_turned_off);
  add("/router/login/hands-out-ice-servers", login_hands_out_ice_servers);
  add("/router/shutdown/tells-both-parties", shutdown_tells_both_parties);
  return g_test_run();
}
