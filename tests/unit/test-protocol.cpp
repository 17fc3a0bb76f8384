// The protocol library: every message kind both ways, every malformed input.
#include "protocol/limits.hpp"
#include "protocol/parse.hpp"
#include "protocol/serialize.hpp"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <string>

using namespace webrtccall::protocol;

namespace {

const char *kOffer = R"({"type":"offer","name":"bob","offer":{"type":"offer","sdp":"v=0\r\n"}})";

template <class T> const T &expect_client(const std::string &text) {
  static ClientParse parsed; // keeps the message alive for the caller's checks
  parsed = parse_client_message(text);
  if (auto *error = std::get_if<ParseError>(&parsed))
    g_error("expected %s to parse, got: %s", text.c_str(), error->message.c_str());
  auto *message = std::get_if<T>(&std::get<ClientMessage>(parsed));
  g_assert_nonnull(message);
  return *message;
}

ParseError expect_client_error(const std::string &text, ErrorCode code) {
  ClientParse parsed = parse_client_message(text);
  auto *error = std::get_if<ParseError>(&parsed);
  if (!error)
    g_error("expected %s to be refused", text.c_str());
  if (error->code != code)
    g_error("%s: expected code %s, got %s (%s)", text.c_str(), std::string(to_string(code)).c_str(),
            std::string(to_string(error->code)).c_str(), error->message.c_str());
  return *error;
}

template <class T> const T &expect_server(const std::string &text) {
  static ServerParse parsed;
  parsed = parse_server_message(text);
  if (auto *error = std::get_if<ParseError>(&parsed))
    g_error("expected %s to parse, got: %s", text.c_str(), error->message.c_str());
  if (std::holds_alternative<Ignored>(parsed))
    g_error("expected %s to parse, it was ignored", text.c_str());
  auto *message = std::get_if<T>(&std::get<ServerMessage>(parsed));
  g_assert_nonnull(message);
  return *message;
}

void test_login_parses() {
  const auto &login = expect_client<Login>(R"({"type":"login","name":"alice"})");
  g_assert_cmpstr(login.name.c_str(), ==, "alice");
}

void test_offer_parses() {
  const auto &offer = expect_client<Offer>(kOffer);
  g_assert_cmpstr(offer.name.c_str(), ==, "bob");
  g_assert_cmpstr(offer.offer.type.c_str(), ==, "offer");
  g_assert_cmpstr(offer.offer.sdp.c_str(), ==, "v=0\r\n");
}

void test_answer_parses() {
  const auto &answer = expect_client<Answer>(
      R"({"type":"answer","name":"alice","answer":{"type":"answer","sdp":"v=0"}})");
  g_assert_cmpstr(answer.name.c_str(), ==, "alice");
  g_assert_cmpstr(answer.answer.sdp.c_str(), ==, "v=0");
}

void test_candidate_parses_browser_json() {
  const auto &c = expect_client<Candidate>(
      R"({"type":"candidate","name":"bob","candidate":{"candidate":"candidate:1 1 udp 2122260223 a1b2.local 54321 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}})");
  g_assert_cmpstr(c.name.c_str(), ==, "bob");
  g_assert_true(c.candidate.sdp_mid == std::optional<std::string>("0"));
  g_assert_true(c.candidate.sdp_mline_index == std::optional<int>(0));
  g_assert_true(c.candidate.username_fragment == std::optional<std::string>("abcd"));
}

void test_candidate_takes_either_index() {
  const auto &only_mid = expect_client<Candidate>(
      R"({"type":"candidate","name":"bob","candidate":{"candidate":"candidate:1","sdpMid":"video","sdpMLineIndex":null}})");
  g_assert_true(only_mid.candidate.sdp_mid == std::optional<std::string>("video"));
  g_assert_false(only_mid.candidate.sdp_mline_index.has_value());
  const auto &only_index = expect_client<Candidate>(
      R"({"type":"candidate","name":"bob","candidate":{"candidate":"candidate:1","sdpMLineIndex":1}})");
  g_assert_false(only_index.candidate.sdp_mid.has_value());
  g_assert_true(only_index.candidate.sdp_mline_index == std::optional<int>(1));
}

void test_leave_parses_with_and_without_fields() {
  const auto &bare = expect_client<Leave>(R"({"type":"leave"})");
  g_assert_true(bare.name.empty());
  g_assert_false(bare.reason.has_value());
  const auto &full = expect_client<Leave>(R"({"type":"leave","name":"bob","reason":"rejected"})");
  g_assert_cmpstr(full.name.c_str(), ==, "bob");
  g_assert_true(full.reason == LeaveReason::kRejected);
  // A reason from a newer version still ends the call.
  const auto &unknown = expect_client<Leave>(R"({"type":"leave","name":"bob","reason":"later"})");
  g_assert_false(unknown.reason.has_value());
}

void test_presence_request_parses() {
  expect_client<Presence>(R"({"type":"presence"})");
}

void test_unknown_type_is_command_not_found() {
  ParseError error = expect_client_error(R"({"type":"dance"})", ErrorCode::kUnknownType);
  g_assert_cmpstr(error.message.c_str(), ==, "Command not found: dance");
  g_assert_cmpstr(error.type.c_str(), ==, "dance");
}

void test_malformed_json_is_refused() {
  const char *cases[] = {"{", "hello world", "{\"type\":\"login\",}", "[1,2", "\"unterminated"};
  for (const char *text : cases)
    expect_client_error(text, ErrorCode::kBadJson);
}

void test_escaped_nul_is_refused() {
  expect_client_error(R"({"type":"login","name":"a\u0000b"})", ErrorCode::kBadJson);
  // An escaped backslash followed by u0000 is text, not a NUL.
  const auto &login = expect_client<Login>(R"({"type":"login","name":"a\\u0000b"})");
  g_assert_cmpstr(login.name.c_str(), ==, "a\\u0000b");
}

void test_invalid_utf8_is_refused() {
  expect_client_error("{\"type\":\"login\",\"name\":\"\xff\xfe\"}", ErrorCode::kBadJson);
  // Valid UTF-8 text with a \u escape of a lone surrogate, high or low
  // (found by tests/fuzz): decoded, it is not UTF-8, and relayed it would
  // close the receiver's WebSocket.
  expect_client_error(
      R"({"type":"offer","name":"bob","offer":{"type":"offer","sdp":"v=0\udb333333"}})",
      ErrorCode::kBadJson);
  expect_client_error(
      R"({"type":"offer","name":"bob","offer":{"type":"offer","sdp":"v=0\udc333333"}})",
      ErrorCode::kBadJson);
  for (const char *text : {R"({"type":"answer","answer":{"type":"answer","sdp":"v=0\udb333333"}})",
                           R"({"type":"answer","answer":{"type":"answer","sdp":"v=0\udc333333"}})",
                           R"({"type":"presence","users":["a\udc333333"]})"})
    g_assert_false(std::holds_alternative<ServerMessage>(parse_server_message(text)));
  // A surrogate pair is one character, and fine.
  const auto &login = expect_client<Login>(R"({"type":"login","name":"a\ud83d\ude00"})");
  g_assert_true(login.name == "a\xf0\x9f\x98\x80");
}

void test_non_objects_are_refused() {
  const char *cases[] = {"",    "  ", "null", "1", "\"login\"", "[]", "[{\"type\":\"login\"}]",
                         "true"};
  for (const char *text : cases)
    expect_client_error(text, ErrorCode::kBadMessage);
}

void test_missing_or_mistyped_type_is_refused() {
  const char *cases[] = {"{}",
                         R"({"type":null})",
                         R"({"type":1})",
                         R"({"type":["login"]})",
                         R"({"type":{"x":1}})",
                         R"({"name":"alice"})"};
  for (const char *text : cases) {
    ParseError error = expect_client_error(text, ErrorCode::kBadMessage);
    g_assert_nonnull(g_strstr_len(error.message.c_str(), -1, "\"type\""));
  }
}

// Each case: text, the field its error must name.
struct FieldCase {
  const char *text;
  const char *field;
};

void test_bad_fields_name_the_field() {
  const FieldCase cases[] = {
      {R"({"type":"login"})", "\"name\" is missing"},
      {R"({"type":"login","name":null})", "\"name\" must be a string"},
      {R"({"type":"login","name":42})", "\"name\" must be a string"},
      {R"({"type":"login","name":{"a":1}})", "\"name\" must be a string"},
      {R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"}})", "\"name\" is missing"},
      {R"({"type":"offer","name":"bob"})", "\"offer\" is missing"},
      {R"({"type":"offer","name":"bob","offer":"v=0"})", "\"offer\" must be an object"},
      {R"({"type":"offer","name":"bob","offer":{"sdp":"v=0"}})", "\"offer.type\" is missing"},
      {R"({"type":"offer","name":"bob","offer":{"type":"answer","sdp":"v=0"}})",
       "\"offer.type\" must be \"offer\""},
      {R"({"type":"offer","name":"bob","offer":{"type":"offer"}})", "\"offer.sdp\" is missing"},
      {R"({"type":"offer","name":"bob","offer":{"type":"offer","sdp":7}})",
       "\"offer.sdp\" must be a string"},
      {R"({"type":"offer","name":"bob","offer":{"type":"offer","sdp":""}})",
       "\"offer.sdp\" is empty"},
      {R"({"type":"answer","name":"a","answer":{"type":"offer","sdp":"v=0"}})",
       "\"answer.type\" must be \"answer\""},
      {R"({"type":"answer","name":"a"})", "\"answer\" is missing"},
      {R"({"type":"candidate","name":"a"})", "\"candidate\" is missing"},
      {R"({"type":"candidate","name":"a","candidate":null})", "\"candidate\" must be an object"},
      {R"({"type":"candidate","name":"a","candidate":{}})", "\"candidate.candidate\" is missing"},
      {R"({"type":"candidate","name":"a","candidate":{"candidate":"c","sdpMid":0}})",
       "\"candidate.sdpMid\" must be a string"},
      {R"({"type":"candidate","name":"a","candidate":{"candidate":"c","sdpMLineIndex":"0"}})",
       "\"candidate.sdpMLineIndex\" must be an integer"},
      {R"({"type":"candidate","name":"a","candidate":{"candidate":"c","sdpMLineIndex":-1}})",
       "\"candidate.sdpMLineIndex\" is out of range"},
      {R"({"type":"candidate","name":"a","candidate":{"candidate":"c","sdpMLineIndex":1.5}})",
       "\"candidate.sdpMLineIndex\" must be an integer"},
      {R"({"type":"candidate","name":"a","candidate":{"candidate":"c","sdpMLineIndex":99999999999}})",
       "\"candidate.sdpMLineIndex\" is out of range"},
      {R"({"type":"leave","name":5})", "\"name\" must be a string"},
      {R"({"type":"leave","reason":false})", "\"reason\" must be a string"},
  };
  for (const auto &c : cases) {
    ParseError error = expect_client_error(c.text, ErrorCode::kBadField);
    if (!g_strstr_len(error.message.c_str(), -1, c.field))
      g_error("%s: expected the error to say '%s', it said '%s'", c.text, c.field,
              error.message.c_str());
  }
}

void test_error_keeps_type_and_name() {
  ParseError error =
      expect_client_error(R"({"type":"offer","name":"bob","offer":5})", ErrorCode::kBadField);
  g_assert_cmpstr(error.type.c_str(), ==, "offer");
  g_assert_cmpstr(error.name.c_str(), ==, "bob");
}

void test_size_limit_is_checked_first() {
  std::string big = R"({"type":"login","name":")" + std::string(70000, 'a') + "\"}";
  ParseError error = expect_client_error(big, ErrorCode::kTooLarge);
  g_assert_nonnull(g_strstr_len(error.message.c_str(), -1, "65536"));
  // The limit is a parameter.
  g_assert_true(std::holds_alternative<ParseError>(parse_client_message(kOffer, 10)));
}

void test_deep_nesting_does_not_crash() {
  std::string deep =
      R"({"type":"login","name":)" + std::string(20000, '[') + std::string(20000, ']') + "}";
  ClientParse parsed = parse_client_message(deep, deep.size());
  g_assert_true(std::holds_alternative<ParseError>(parsed));
}

void test_names_follow_the_rules() {
  const char *valid[] = {
      "alice",          "a",   "Zoë",           "日本語", "__proto__", "constructor",
      "hasOwnProperty", "a b", "x@example.com", "😀"};
  for (const char *name : valid)
    if (auto problem = name_problem(name))
      g_error("\"%s\" should be valid: %s", name, problem->c_str());

  std::string longest;
  for (int i = 0; i < 64; i++)
    longest += "é";
  g_assert_false(name_problem(longest).has_value());

  struct {
    std::string name;
    const char *problem;
  } invalid[] = {
      {"", "is empty"},
      {longest + "é", "is longer than 64 characters"},
      {std::string(1 << 20, 'a'), "is longer than 64 characters"},
      {" alice", "starts or ends with white space"},
      {"alice ", "starts or ends with white space"},
      {"\xc2\xa0"
       "alice",
       "starts or ends with white space"},
      {"al\nice", "contains a control character"},
      {"al\tice", "contains a control character"},
      {std::string("al\0ice", 6), "contains a control character"},
      {"a\x7f", "contains a control character"},
      {"a\xc2\x85", "contains a control character"},
      {"a\xe2\x80\x8b", "contains a control character"}, // zero-width space
      {"a\xe2\x80\xae", "contains a control character"}, // right-to-left override
      {"\xff", "is not valid UTF-8"},
      {"a\xc3", "is not valid UTF-8"},
  };
  for (const auto &c : invalid) {
    auto problem = name_problem(c.name);
    if (!problem || *problem != c.problem)
      g_error("name of %zu bytes: expected '%s', got '%s'", c.name.size(), c.problem,
              problem ? problem->c_str() : "valid");
  }
}

// Every client message survives serialize -> parse.
void test_client_messages_round_trip() {
  IceCandidate candidate{"candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0, "uf"};
  ClientMessage messages[] = {
      Login{"alice", {}, {}},
      Login{"alice", "1893456000.ab12", "0123456789abcdef0123456789abcdef"},
      Offer{"bob", {"offer", "v=0\r\na=x\r\n"}},
      Answer{"alice", {"answer", "v=0\r\n"}},
      Candidate{"bob", candidate},
      Leave{"bob", LeaveReason::kBusy},
      Leave{{}, std::nullopt},
      Presence{},
  };
  for (const auto &message : messages) {
    std::string text = serialize(message);
    ClientParse parsed = parse_client_message(text);
    if (auto *error = std::get_if<ParseError>(&parsed))
      g_error("%s did not parse back: %s", text.c_str(), error->message.c_str());
    std::string again = serialize(std::get<ClientMessage>(parsed));
    g_assert_cmpstr(again.c_str(), ==, text.c_str());
  }
}

void test_server_messages_round_trip() {
  IceCandidate candidate{"candidate:1", std::nullopt, 1, std::nullopt};
  ServerMessage messages[] = {
      LoginResult{true, std::nullopt, {}, kProtocolVersion, {}, {}},
      LoginResult{true,
                  std::nullopt,
                  {},
                  kProtocolVersion,
                  {{"stun:127.0.0.1:3478", {}, {}}, {"turn:127.0.0.1:3478", "u", "p:w"}},
                  "0123456789abcdef0123456789abcdef"},
      LoginResult{false, ErrorCode::kNameTaken, "taken", kProtocolVersion, {}, {}},
      LoginResult{false, ErrorCode::kAuthFailed, "expired", kProtocolVersion, {}, {}},
      Offer{"alice", {"offer", "v=0\r\n"}},
      Answer{"bob", {"answer", "v=0\r\n"}},
      Candidate{"bob", candidate},
      Leave{"bob", LeaveReason::kGone},
      Error{"User \"x\" is not logged in", ErrorCode::kUnknownUser, "x"},
      Presence{std::vector<std::string>{"alice", "bob"}, {}, {}},
      Presence{std::nullopt, "carol", {}},
      Presence{std::nullopt, {}, "carol"},
      IceServers{{{"turn:127.0.0.1:3478", "1700000000:alice", "TtElzSjT0GdnTQ9xdcRNxx96yQs="}}},
  };
  for (const auto &message : messages) {
    std::string text = serialize(message);
    ServerParse parsed = parse_server_message(text);
    if (!std::holds_alternative<ServerMessage>(parsed))
      g_error("%s did not parse back", text.c_str());
    std::string again = serialize(std::get<ServerMessage>(parsed));
    g_assert_cmpstr(again.c_str(), ==, text.c_str());
  }
}

// The relayed offer keeps the tutorial's field order: type, offer, name.
void test_relayed_offer_wire_shape() {
  std::string text = serialize(ServerMessage{Offer{"alice", {"offer", "v=0"}}});
  g_assert_cmpstr(text.c_str(), ==,
                  R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"name":"alice"})");
  std::string login =
      serialize(ServerMessage{LoginResult{true, std::nullopt, {}, std::nullopt, {}, {}}});
  g_assert_cmpstr(login.c_str(), ==, R"({"type":"login","success":true})");
}

void test_candidate_serializes_nulls_like_browsers() {
  std::string text = serialize(ServerMessage{Candidate{{}, {"candidate:1", std::nullopt, 2, {}}}});
  g_assert_cmpstr(
      text.c_str(), ==,
      R"({"type":"candidate","candidate":{"candidate":"candidate:1","sdpMid":null,"sdpMLineIndex":2}})");
}

// serialize() writes JSON by hand: every string must come back as it went
// in, read by json-glib as an independent parser, and by our own.
void test_strings_are_escaped() {
  const std::string strings[] = {
      "plain",
      "quote \" and backslash \\ and slash /",
      "v=0\r\na=x\n\ttab",
      std::string("controls \x01\x08\x0c\x1f\x7f end"),
      "unicode: \u00e9 \u4e2d \U0001f600",
      "\\u0041 is not an escape here",
      "",
  };
  for (const auto &value : strings) {
    std::string text =
        serialize(ServerMessage{Error{value, ErrorCode::kBadField, value.empty() ? "n" : value}});
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = nullptr;
    if (!json_parser_load_from_data(parser, text.data(), gssize(text.size()), &error))
      g_error("%s is not JSON: %s", text.c_str(), error->message);
    JsonObject *object = json_node_get_object(json_parser_get_root(parser));
    std::string read_back = json_object_get_string_member(object, "message");
    g_assert_true(read_back == value);
    const auto &parsed = expect_server<Error>(text);
    g_assert_true(parsed.message == value);
  }
}

void test_client_parser_reads_the_tutorial_server() {
  // What the tutorial's server sends: a greeting, and messages without our extensions.
  g_assert_true(std::holds_alternative<Ignored>(parse_server_message("Hello world")));
  g_assert_true(std::holds_alternative<Ignored>(parse_server_message("null")));
  g_assert_true(std::holds_alternative<Ignored>(parse_server_message("[1]")));
  g_assert_true(std::holds_alternative<Ignored>(parse_server_message(R"({"type":"ringing"})")));
  g_assert_true(expect_server<LoginResult>(R"({"type":"login","success":true})").success);
  g_assert_false(expect_server<LoginResult>(R"({"type":"login","success":false})").success);
  const auto &answer =
      expect_server<Answer>(R"({"type":"answer","answer":{"type":"answer","sdp":"v=0"}})");
  g_assert_true(answer.name.empty());
  const auto &candidate = expect_server<Candidate>(
      R"({"type":"candidate","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0}})");
  g_assert_true(candidate.name.empty());
  const auto &leave = expect_server<Leave>(R"({"type":"leave"})");
  g_assert_true(leave.name.empty());
  const auto &error = expect_server<Error>(R"({"type":"error","message":"Command not found: x"})");
  g_assert_false(error.code.has_value());
}

void test_client_parser_refuses_broken_known_types() {
  const char *cases[] = {
      R"({"type":"login"})",
      R"({"type":"login","success":"yes"})",
      R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"}})", // an offer must say who calls
      R"({"type":"candidate","candidate":[]})",
      R"({"type":"presence","users":"alice"})",
      R"({"type":"presence","users":["alice",1]})",
      R"({"type":5})",
  };
  for (const char *text : cases)
    if (!std::holds_alternative<ParseError>(parse_server_message(text)))
      g_error("%s should be refused", text);
}

void test_codes_and_reasons_have_wire_names() {
  for (int i = 0; i <= int(ErrorCode::kUnavailable); i++) {
    auto code = ErrorCode(i);
    std::string_view name = to_string(code);
    g_assert_false(name.empty());
    g_assert_true(error_code_from_string(name) == code);
  }
  for (auto reason :
       {LeaveReason::kHangup, LeaveReason::kRejected, LeaveReason::kGone, LeaveReason::kBusy})
    g_assert_true(leave_reason_from_string(to_string(reason)) == reason);
  g_assert_false(error_code_from_string("nope").has_value());
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/protocol/login/parses", test_login_parses);
  g_test_add_func("/protocol/offer/parses", test_offer_parses);
  g_test_add_func("/protocol/answer/parses", test_answer_parses);
  g_test_add_func("/protocol/candidate/parses-browser-json", test_candidate_parses_browser_json);
  g_test_add_func("/protocol/candidate/takes-either-index", test_candidate_takes_either_index);
  g_test_add_func("/protocol/leave/optional-fields", test_leave_parses_with_and_without_fields);
  g_test_add_func("/protocol/presence/request-parses", test_presence_request_parses);
  g_test_add_func("/protocol/refuse/unknown-type", test_unknown_type_is_command_not_found);
  g_test_add_func("/protocol/refuse/malformed-json", test_malformed_json_is_refused);
  g_test_add_func("/protocol/refuse/invalid-utf8", test_invalid_utf8_is_refused);
  g_test_add_func("/protocol/refuse/escaped-nul", test_escaped_nul_is_refused);
  g_test_add_func("/protocol/refuse/non-objects", test_non_objects_are_refused);
  g_test_add_func("/protocol/refuse/missing-type", test_missing_or_mistyped_type_is_refused);
  g_test_add_func("/protocol/refuse/bad-fields-name-the-field", test_bad_fields_name_the_field);
  g_test_add_func("/protocol/refuse/error-keeps-type-and-name", test_error_keeps_type_and_name);
  g_test_add_func("/protocol/refuse/size-limit", test_size_limit_is_checked_first);
  g_test_add_func("/protocol/refuse/deep-nesting", test_deep_nesting_does_not_crash);
  g_test_add_func("/protocol/names/rules", test_names_follow_the_rules);
  g_test_add_func("/protocol/round-trip/client", test_client_messages_round_trip);
  g_test_add_func("/protocol/round-trip/server", test_server_messages_round_trip);
  g_test_add_func("/protocol/wire/relayed-offer-shape", test_relayed_offer_wire_shape);
  g_test_add_func("/protocol/wire/candidate-nulls", test_candidate_serializes_nulls_like_browsers);
  g_test_add_func("/protocol/wire/strings-escaped", test_strings_are_escaped);
  g_test_add_func("/protocol/client/reads-tutorial-server",
                  test_client_parser_reads_the_tutorial_server);
  g_test_add_func("/protocol/client/refuses-broken-known-types",
                  test_client_parser_refuses_broken_known_types);
  g_test_add_func("/protocol/codes/wire-names", test_codes_and_reasons_have_wire_names);
  return g_test_run();
}
