// Our server over real WebSockets: every defect of the tutorial's server
// (protocol.md) is fixed, and the extensions work. Each test starts its own
// server and checks at the end that it is still serving.
#include "server_process.hpp"
#include "ws_client.hpp"

#include <glib.h>

#include <cstring>

using namespace webrtccall::test;

namespace {

// The server survived: a new client can still log in and be answered.
void assert_still_serving(ServerProcess &server) {
  g_assert_true(server.running());
  server.assert_log_clean();
  WsClient probe(server.url());
  probe.login("probe-" + std::to_string(g_random_int()));
}

void expect_error(WsClient &client, const char *code) {
  Json error = client.expect_type("error");
  if (std::strcmp(error.str("code"), code) != 0)
    g_error("expected error code %s, got %s", code, error.text().c_str());
  g_assert_cmpstr(error.str("message"), !=, "");
}

void test_leave_to_absent_user_is_refused() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url());
  alice.login("alice");
  alice.send_text(R"({"type":"leave","name":"ghost"})");
  expect_error(alice, "unknown-user");
  assert_still_serving(server);
}

void test_close_after_peer_left_is_harmless() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  establish(alice, "bob", bob, "alice");
  alice.send_text(R"({"type":"leave","name":"bob"})");
  bob.expect_type("leave");
  bob.close_abruptly(); // the callee's socket closes first
  alice.close_abruptly();
  assert_still_serving(server);
}

void test_offer_to_oneself_then_close_is_harmless() {
  ServerProcess server = ServerProcess::ours();
  {
    WsClient alice(server.url());
    alice.login("alice");
    alice.send_text(offer_json("alice"));
    expect_error(alice, "self-call");
  }
  assert_still_serving(server);
}

void test_null_and_non_objects_are_refused() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url());
  for (const char *frame : {"null", "42", "\"login\"", "[]", "true", "{}", R"({"type":7})"}) {
    alice.send_text(frame);
    expect_error(alice, "bad-message");
  }
  alice.send_text("{not json");
  expect_error(alice, "bad-json");
  assert_still_serving(server);
}

void test_proto_names_log_in_and_call() {
  ServerProcess server = ServerProcess::ours();
  WsClient proto(server.url()), ctor(server.url());
  proto.login("__proto__");
  ctor.login("constructor");
  establish(proto, "constructor", ctor, "__proto__");
  WsClient other(server.url());
  other.send_text(R"({"type":"login","name":"__proto__"})");
  Json reply = other.expect_type("login");
  g_assert_false(reply.boolean("success"));
  g_assert_cmpstr(reply.str("code"), ==, "name-taken");
}

void test_message_for_unknown_user_is_refused() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url());
  alice.login("alice");
  alice.send_text(offer_json("nobody"));
  Json error = alice.expect_type("error");
  g_assert_cmpstr(error.str("code"), ==, "unknown-user");
  g_assert_cmpstr(error.str("name"), ==, "nobody");
  alice.send_text(candidate_json("nobody"));
  expect_error(alice, "unknown-user");
  alice.send_text(answer_json("nobody"));
  expect_error(alice, "unknown-user");
}

void test_bad_logins_are_refused_and_bind_nothing() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url());
  for (const char *frame :
       {R"({"type":"login"})", R"({"type":"login","name":null})", R"({"type":"login","name":5})",
        R"({"type":"login","name":""})", R"({"type":"login","name":" padded "})",
        R"({"type":"login","name":"a\u0000b"})", R"({"type":"login","name":"line\nbreak"})"}) {
    alice.send_text(frame);
    // A frame that is not JSON at all is an error; a broken login is a login reply.
    Json reply = alice.expect_json("a refusal");
    g_assert_false(reply.boolean("success"));
    g_assert_cmpstr(reply.str("code"), !=, "");
  }
  std::string long_name = R"({"type":"login","name":")" + std::string(65, 'x') + "\"}";
  alice.send_text(long_name);
  Json reply = alice.expect_type("login");
  g_assert_cmpstr(reply.str("code"), ==, "invalid-name");
  // None of that bound a name: this connection can still log in.
  alice.login("alice");
}

void test_second_login_is_refused() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url());
  alice.login("alice");
  alice.send_text(R"({"type":"login","name":"alice2"})");
  Json reply = alice.expect_type("login");
  g_assert_false(reply.boolean("success"));
  g_assert_cmpstr(reply.str("code"), ==, "already-logged-in");
  // alice2 is free; alice is released when the connection goes.
  WsClient other(server.url());
  other.login("alice2");
  alice.close_cleanly();
  WsClient again(server.url());
  again.login("alice");
}

void test_messages_before_login_are_refused() {
  ServerProcess server = ServerProcess::ours();
  WsClient bob(server.url()), stranger(server.url());
  bob.login("bob");
  stranger.send_text(offer_json("bob"));
  expect_error(stranger, "not-logged-in");
  stranger.send_text(candidate_json("bob"));
  expect_error(stranger, "not-logged-in");
  stranger.send_text(R"({"type":"leave","name":"bob"})");
  expect_error(stranger, "not-logged-in");
  bob.expect_silence(200);
}

// The sender's name comes from the connection: a client cannot claim to be
// someone else in anything relayed.
void test_sender_name_comes_from_connection() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url()), mallory(server.url());
  alice.login("alice");
  bob.login("bob");
  mallory.login("mallory");
  alice.send_text(offer_json("bob"));
  bob.expect_type("offer");
  // mallory answers alice's call to bob, as bob would.
  mallory.send_text(
      R"({"type":"answer","name":"alice","from":"bob","answer":{"type":"answer","sdp":"v=0"}})");
  expect_error(mallory, "not-in-call");
  mallory.send_text(candidate_json("alice"));
  expect_error(mallory, "not-in-call");
  alice.expect_silence(200);
  bob.send_text(answer_json("alice"));
  Json answer = alice.expect_type("answer");
  g_assert_cmpstr(answer.str("name"), ==, "bob");
  // An offer relayed carries the caller's name whatever the frame claims.
  WsClient carol(server.url());
  carol.login("carol");
  mallory.send_text(
      R"({"type":"offer","name":"carol","caller":"alice","offer":{"type":"offer","sdp":"v=0"}})");
  Json offer = carol.expect_type("offer");
  g_assert_cmpstr(offer.str("name"), ==, "mallory");
}

void test_answer_and_candidate_outside_call_are_refused() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  bob.send_text(answer_json("alice"));
  expect_error(bob, "not-in-call");
  bob.send_text(candidate_json("alice"));
  expect_error(bob, "not-in-call");
  bob.send_text(R"({"type":"leave","name":"alice"})");
  expect_error(bob, "not-in-call");
  alice.expect_silence(200);
}

void test_busy_and_crossing_offers() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url()), carol(server.url());
  alice.login("alice");
  bob.login("bob");
  carol.login("carol");
  alice.send_text(offer_json("bob"));
  bob.expect_type("offer");
  bob.send_text(offer_json("alice")); // crossing
  expect_error(bob, "busy");
  carol.send_text(offer_json("bob")); // bob is ringing
  Json busy = carol.expect_type("error");
  g_assert_cmpstr(busy.str("code"), ==, "busy");
  g_assert_cmpstr(busy.str("name"), ==, "bob");
  bob.send_text(answer_json("alice"));
  alice.expect_type("answer");
  carol.send_text(offer_json("alice")); // in a call
  expect_error(carol, "busy");
}

void test_leave_carries_name_and_reason() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  alice.send_text(offer_json("bob"));
  bob.expect_type("offer");
  bob.send_text(R"({"type":"leave","name":"alice","reason":"rejected"})");
  Json declined = alice.expect_type("leave");
  g_assert_cmpstr(declined.str("name"), ==, "bob");
  g_assert_cmpstr(declined.str("reason"), ==, "rejected");
  // Both idle: they can call again, and a plain leave says hangup.
  establish(alice, "bob", bob, "alice");
  alice.send_text(R"({"type":"leave","name":"bob"})");
  Json hangup = bob.expect_type("leave");
  g_assert_cmpstr(hangup.str("reason"), ==, "hangup");
  g_assert_cmpstr(hangup.str("name"), ==, "alice");
}

void test_disconnect_mid_call_sends_leave_gone() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  establish(alice, "bob", bob, "alice");
  alice.close_abruptly();
  Json leave = bob.expect_type("leave");
  g_assert_cmpstr(leave.str("name"), ==, "alice");
  g_assert_cmpstr(leave.str("reason"), ==, "gone");
  // alice's name is free again.
  WsClient again(server.url());
  again.login("alice");
}

void test_no_greeting_by_default() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url());
  alice.expect_silence(300);
}

void test_presence_list_and_changes() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  alice.send_text(R"({"type":"presence"})");
  Json list = alice.expect_type("presence");
  g_assert_true(list.text().find(R"("users":["alice","bob"])") != std::string::npos);
  {
    WsClient carol(server.url());
    carol.login("carol");
    Json joined = alice.expect_type("presence");
    g_assert_cmpstr(joined.str("joined"), ==, "carol");
  }
  Json left = alice.expect_type("presence");
  g_assert_cmpstr(left.str("left"), ==, "carol");
  // bob never asked: he hears nothing about carol.
  bob.expect_silence(200);
}

void test_presence_can_be_turned_off() {
  ServerProcess server = ServerProcess::ours({"--no-presence"});
  WsClient alice(server.url());
  alice.login("alice");
  alice.send_text(R"({"type":"presence"})");
  expect_error(alice, "unknown-type");
}

// Connections come and go by the thousand, closed abruptly, cleanly and as
// the client goes: their socket numbers are reused while the server's epoll
// set may still hold events for the sockets closed (socket_poller.hpp).
// Every new client must be served, while a call set up before keeps relaying.
void test_reused_socket_numbers_are_served() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  establish(alice, "bob", bob, "alice");
  for (int i = 0; i < 1200; i++) {
    WsClient visitor(server.url());
    visitor.login("visitor-" + std::to_string(i));
    if (i % 3 == 0)
      visitor.close_abruptly();
    else if (i % 3 == 1)
      visitor.close_cleanly();
    // else: closed as the client goes, at once after the login
    if (i % 200 == 0) {
      alice.send_text(candidate_json("bob"));
      Json candidate = bob.expect_type("candidate");
      g_assert_cmpstr(candidate.str("name"), ==, "alice");
    }
  }
  bob.send_text(candidate_json("alice"));
  alice.expect_type("candidate");
  assert_still_serving(server);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/defect/leave-to-absent-user", test_leave_to_absent_user_is_refused);
  g_test_add_func("/server/defect/close-after-peer-left", test_close_after_peer_left_is_harmless);
  g_test_add_func("/server/defect/offer-to-oneself-then-close",
                  test_offer_to_oneself_then_close_is_harmless);
  g_test_add_func("/server/defect/null-and-non-objects", test_null_and_non_objects_are_refused);
  g_test_add_func("/server/defect/proto-names", test_proto_names_log_in_and_call);
  g_test_add_func("/server/connections/reused-socket-numbers",
                  test_reused_socket_numbers_are_served);
  g_test_add_func("/server/defect/unknown-user-is-told", test_message_for_unknown_user_is_refused);
  g_test_add_func("/server/defect/bad-logins-bind-nothing",
                  test_bad_logins_are_refused_and_bind_nothing);
  g_test_add_func("/server/defect/second-login", test_second_login_is_refused);
  g_test_add_func("/server/defect/messages-before-login", test_messages_before_login_are_refused);
  g_test_add_func("/server/defect/sender-name-from-connection",
                  test_sender_name_comes_from_connection);
  g_test_add_func("/server/defect/outside-call-refused",
                  test_answer_and_candidate_outside_call_are_refused);
  g_test_add_func("/server/calls/busy-and-crossing", test_busy_and_crossing_offers);
  g_test_add_func("/server/calls/leave-name-and-reason", test_leave_carries_name_and_reason);
  g_test_add_func("/server/calls/disconnect-sends-leave-gone",
                  test_disconnect_mid_call_sends_leave_gone);
  g_test_add_func("/server/extension/no-greeting-by-default", test_no_greeting_by_default);
  g_test_add_func("/server/extension/presence", test_presence_list_and_changes);
  g_test_add_func("/server/extension/presence-off", test_presence_can_be_turned_off);
  return g_test_run();
}
