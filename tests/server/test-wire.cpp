// The tutorial's wire format, run against whichever server $WIRE_SERVER
// names: our server (suite "server") and the tutorial's own server.js
// (suite "interop"). Passing against both shows the tests encode the
// tutorial's behaviour and that ours keeps it. Only what the tutorial's
// server does is asserted here; our extensions are tested in test-server.
//
// The tutorial's server dies on some close orders (protocol.md), so every
// test gets a fresh server and never closes sockets in those orders.
#include "server_process.hpp"
#include "ws_client.hpp"

#include <glib.h>

using namespace webrtccall::test;

namespace {

void test_greeting_is_hello_world() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url());
  auto frame = alice.receive(3000);
  g_assert_true(frame.has_value());
  g_assert_cmpint(frame->opcode, ==, kText);
  g_assert_cmpstr(frame->payload.c_str(), ==, "Hello world");
}

void test_login_succeeds() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url());
  alice.send_text(R"({"type":"login","name":"alice"})");
  Json reply = alice.expect_type("login");
  g_assert_true(reply.boolean("success"));
}

void test_login_with_taken_name_fails() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url()), other(server.url());
  alice.login("alice");
  other.send_text(R"({"type":"login","name":"alice"})");
  Json reply = other.expect_type("login");
  g_assert_true(reply.has("success"));
  g_assert_false(reply.boolean("success"));
}

void test_offer_is_relayed_with_caller_name() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  alice.send_text(offer_json("bob", "v=0\r\no=alice\r\n"));
  Json offer = bob.expect_type("offer");
  g_assert_cmpstr(offer.str("name"), ==, "alice");
  JsonObject *description = offer.object("offer");
  g_assert_nonnull(description);
  g_assert_cmpstr(json_object_get_string_member(description, "type"), ==, "offer");
  g_assert_cmpstr(json_object_get_string_member(description, "sdp"), ==, "v=0\r\no=alice\r\n");
}

void test_answer_and_candidates_are_relayed() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  alice.send_text(offer_json("bob"));
  bob.expect_type("offer");
  // The tutorial's client trickles candidates as soon as it has them.
  alice.send_text(candidate_json("bob", 0));
  Json candidate = bob.expect_type("candidate");
  JsonObject *init = candidate.object("candidate");
  g_assert_nonnull(init);
  g_assert_cmpstr(json_object_get_string_member(init, "sdpMid"), ==, "0");
  g_assert_cmpint(json_object_get_int_member(init, "sdpMLineIndex"), ==, 0);
  g_assert_true(g_str_has_prefix(json_object_get_string_member(init, "candidate"), "candidate:1"));

  bob.send_text(answer_json("alice", "v=0\r\no=bob\r\n"));
  Json answer = alice.expect_type("answer");
  g_assert_cmpstr(json_object_get_string_member(answer.object("answer"), "sdp"), ==,
                  "v=0\r\no=bob\r\n");
  for (int i = 0; i < 20; i++)
    bob.send_text(candidate_json("alice", i % 2));
  for (int i = 0; i < 20; i++) {
    Json relayed = alice.expect_type("candidate");
    g_assert_cmpint(json_object_get_int_member(relayed.object("candidate"), "sdpMLineIndex"), ==,
                    i % 2);
  }
}

void test_leave_is_relayed() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  alice.send_text(offer_json("bob"));
  bob.expect_type("offer");
  bob.send_text(answer_json("alice"));
  alice.expect_type("answer");
  alice.send_text(R"({"type":"leave","name":"bob"})");
  bob.expect_type("leave");
}

void test_unknown_type_is_command_not_found() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url());
  alice.login("alice");
  alice.send_text(R"({"type":"dance","name":"bob"})");
  Json error = alice.expect_type("error");
  g_assert_cmpstr(error.str("message"), ==, "Command not found: dance");
}

void test_invalid_json_is_an_error() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url());
  alice.send_text("this is not JSON");
  Json error = alice.expect_type("error");
  g_assert_cmpstr(error.str("message"), !=, "");
  // The connection is still usable.
  alice.login("alice");
}

void test_closed_socket_sends_leave_to_peer() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  alice.send_text(offer_json("bob"));
  bob.expect_type("offer");
  bob.send_text(answer_json("alice"));
  alice.expect_type("answer");
  bob.close_abruptly();
  alice.expect_type("leave");
}

// The tutorial's client, a whole call: login, offer, candidates both ways,
// answer, more candidates, hang-up; then a second call between the same two.
void test_whole_call_twice() {
  ServerProcess server = ServerProcess::for_wire_tests();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  for (int call = 0; call < 2; call++) {
    alice.send_text(offer_json("bob"));
    bob.expect_type("offer");
    alice.send_text(candidate_json("bob"));
    bob.expect_type("candidate");
    bob.send_text(answer_json("alice"));
    alice.expect_type("answer");
    bob.send_text(candidate_json("alice"));
    alice.expect_type("candidate");
    WsClient &hanger = call == 0 ? alice : bob;
    WsClient &other = call == 0 ? bob : alice;
    hanger.send_text(std::string(R"({"type":"leave","name":")") + (call == 0 ? "bob" : "alice") +
                     "\"}");
    other.expect_type("leave");
  }
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/wire/greeting/hello-world", test_greeting_is_hello_world);
  g_test_add_func("/wire/login/succeeds", test_login_succeeds);
  g_test_add_func("/wire/login/taken-name-fails", test_login_with_taken_name_fails);
  g_test_add_func("/wire/offer/relayed-with-caller-name", test_offer_is_relayed_with_caller_name);
  g_test_add_func("/wire/answer-and-candidates/relayed", test_answer_and_candidates_are_relayed);
  g_test_add_func("/wire/leave/relayed", test_leave_is_relayed);
  g_test_add_func("/wire/error/unknown-type", test_unknown_type_is_command_not_found);
  g_test_add_func("/wire/error/invalid-json", test_invalid_json_is_an_error);
  g_test_add_func("/wire/close/sends-leave-to-peer", test_closed_socket_sends_leave_to_peer);
  g_test_add_func("/wire/call/whole-call-twice", test_whole_call_twice);
  return g_test_run();
}
