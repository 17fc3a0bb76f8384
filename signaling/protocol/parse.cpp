#include "parse.hpp"

#include <glib.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace webrtccall::protocol {

namespace {

using JsonValue = simdjson::dom::element;
using JsonObject = simdjson::dom::object;

// Reads the members of one JSON object, checking each member's type first.
// The first problem is kept; later reads become no-ops.
class FieldReader {
public:
  FieldReader(JsonObject object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  // A string member. Optional members may be absent or null.
  bool read_string(const char *field, std::string &out, bool required) {
    std::optional<JsonValue> value = member(field);
    if (!value)
      return !required || fail(field, "is missing");
    if (value->is_null() && !required)
      return true;
    std::string_view text;
    if (value->get_string().get(text))
      return fail(field, "must be a string");
    // The frame was valid UTF-8, but a \u escape of a lone surrogate
    // ("\udb33") would decode to bytes that are not; relayed as they are,
    // they would make the receiver's WebSocket close (found by tests/fuzz
    // with json-glib). simdjson refuses such escapes itself: this stays so
    // that no parser change can let one through.
    if (!g_utf8_validate(text.data(), gssize(text.size()), nullptr))
      return fail(field, "holds an invalid \\u escape (a lone surrogate)");
    out = text;
    return true;
  }

  bool read_optional_string(const char *field, std::optional<std::string> &out) {
    std::optional<JsonValue> value = member(field);
    if (!value || value->is_null())
      return true;
    std::string text;
    if (!read_string(field, text, true))
      return false;
    out = std::move(text);
    return true;
  }

  bool read_optional_int(const char *field, std::optional<int> &out, std::int64_t min,
                         std::int64_t max) {
    std::optional<JsonValue> value = member(field);
    if (!value || value->is_null())
      return true;
    std::int64_t number = 0;
    if (value->get_int64().get(number))
      return fail(field, value->is_uint64() ? "is out of range" : "must be an integer");
    if (number < min || number > max)
      return fail(field, "is out of range");
    out = static_cast<int>(number);
    return true;
  }

  bool read_bool(const char *field, bool &out) {
    std::optional<JsonValue> value = member(field);
    if (!value)
      return fail(field, "is missing");
    if (value->get_bool().get(out))
      return fail(field, "must be true or false");
    return true;
  }

  // An object member, read by a nested reader whose errors name "field.member".
  std::optional<JsonObject> read_object(const char *field) {
    std::optional<JsonValue> value = member(field);
    if (!value) {
      fail(field, "is missing");
      return std::nullopt;
    }
    JsonObject object;
    if (value->get_object().get(object)) {
      fail(field, "must be an object");
      return std::nullopt;
    }
    return object;
  }

  std::optional<simdjson::dom::array> read_array(const char *field) {
    std::optional<JsonValue> value = member(field);
    if (!value) {
      fail(field, "is missing");
      return std::nullopt;
    }
    simdjson::dom::array array;
    if (value->get_array().get(array)) {
      fail(field, "must be an array");
      return std::nullopt;
    }
    return array;
  }

  bool present(const char *field) const {
    std::optional<JsonValue> value = find(field);
    return value && !value->is_null();
  }

  bool fail(std::string_view field, std::string_view problem) {
    if (!problem_.empty())
      return false;
    problem_ = "\"";
    problem_ += prefix_;
    problem_ += field;
    problem_ += "\" ";
    problem_ += problem;
    return false;
  }

  bool ok() const { return problem_.empty(); }
  const std::string &problem() const { return problem_; }
  const std::string &prefix() const { return prefix_; }

  // Errors from a nested reader count as ours.
  void adopt(const FieldReader &nested) {
    if (problem_.empty())
      problem_ = nested.problem_;
  }

private:
  std::optional<JsonValue> member(const char *field) const {
    if (!problem_.empty())
      return std::nullopt;
    return find(field);
  }

  // With a name given twice, the last counts, as in JavaScript's JSON.parse.
  std::optional<JsonValue> find(std::string_view field) const {
    std::optional<JsonValue> found;
    for (auto member : object_)
      if (member.key == field)
        found = member.value;
    return found;
  }

  JsonObject object_;
  std::string prefix_;
  std::string problem_;
};

bool read_description(FieldReader &reader, const char *field, std::string_view expected_type,
                      SessionDescription &out) {
  std::optional<JsonObject> object = reader.read_object(field);
  if (!object)
    return false;
  FieldReader nested(*object, reader.prefix() + field + ".");
  nested.read_string("type", out.type, true) && nested.read_string("sdp", out.sdp, true);
  if (nested.ok() && out.type != expected_type)
    nested.fail("type", "must be \"" + std::string(expected_type) + "\"");
  if (nested.ok() && out.sdp.empty())
    nested.fail("sdp", "is empty");
  reader.adopt(nested);
  return reader.ok();
}

bool read_candidate(FieldReader &reader, IceCandidate &out) {
  std::optional<JsonObject> object = reader.read_object("candidate");
  if (!object)
    return false;
  FieldReader nested(*object, "candidate.");
  nested.read_string("candidate", out.candidate, true) &&
      nested.read_optional_string("sdpMid", out.sdp_mid) &&
      nested.read_optional_int("sdpMLineIndex", out.sdp_mline_index, 0,
                               std::numeric_limits<std::uint16_t>::max()) &&
      nested.read_optional_string("usernameFragment", out.username_fragment);
  reader.adopt(nested);
  return reader.ok();
}

bool read_leave_reason(FieldReader &reader, std::optional<LeaveReason> &out) {
  std::optional<std::string> text;
  if (!reader.read_optional_string("reason", text) || !text)
    return reader.ok();
  out = leave_reason_from_string(*text);
  // An unknown reason from a newer peer still ends the call.
  return true;
}

// The common front of both parsers: size, UTF-8, JSON, an object, a string type.
struct Envelope {
  JsonObject object; // in the caller's parser
  std::string type;
  std::string name;
};

enum class EnvelopeFault { kNone, kNotJson, kNotObject, kNoType };

// C strings end at a NUL, so "a\u0000b" could read as "a" somewhere (a
// log, GLib, the browser's side): a name check could pass on one name while
// another is relayed. Backslashes only occur inside JSON strings, so a plain
// scan is exact.
bool has_escaped_nul(std::string_view text) {
  for (std::size_t i = 0; i + 1 < text.size(); i++) {
    if (text[i] != '\\')
      continue;
    if (text.compare(i + 1, 5, "u0000") == 0)
      return true;
    i++; // skip the escaped character, which may itself be a backslash
  }
  return false;
}

// A parser keeps its buffers from one message to the next; one per thread
// (the server's, the element's signaling thread, a test's).
simdjson::dom::parser &thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

EnvelopeFault open_envelope(std::string_view text, Envelope &out, std::string &detail) {
  if (has_escaped_nul(text)) {
    detail = "strings must not contain \\u0000";
    return EnvelopeFault::kNotJson;
  }
  // simdjson checks that the text is UTF-8 as it parses. It reads in
  // blocks past the end, so it copies the text into a padded buffer of its
  // own. Nesting is capped (1024 levels) and costs no stack.
  simdjson::dom::element root;
  simdjson::error_code error = thread_parser().parse(text.data(), text.size()).get(root);
  // Nothing but white space holds no JSON value, and so no object.
  if (error == simdjson::EMPTY) {
    detail = "a message must be a JSON object";
    return EnvelopeFault::kNotObject;
  }
  if (error) {
    detail = simdjson::error_message(error);
    return EnvelopeFault::kNotJson;
  }
  if (root.get_object().get(out.object)) {
    detail = "a message must be a JSON object";
    return EnvelopeFault::kNotObject;
  }
  FieldReader reader(out.object, "");
  // A name is useful for error replies even when the rest is wrong.
  std::string name;
  if (reader.read_string("name", name, false))
    out.name = std::move(name);
  FieldReader type_reader(out.object, "");
  if (!type_reader.read_string("type", out.type, true)) {
    detail = type_reader.problem();
    return EnvelopeFault::kNoType;
  }
  return EnvelopeFault::kNone;
}

ParseError error_from(const Envelope &envelope, ErrorCode code, std::string message) {
  return ParseError{code, std::move(message), envelope.type, envelope.name};
}

std::string too_large_message(std::size_t size, std::size_t max_bytes) {
  return "message of " + std::to_string(size) + " bytes is over the limit of " +
         std::to_string(max_bytes) + " bytes";
}

// Reads the members of a known type into `message`; returns false on a problem.
template <class Message> bool read_client_body(FieldReader &reader, Message &message);

// Whom an offer, answer or candidate is for. Empty names nobody (the
// serializer leaves an empty name out, as absent).
bool read_peer_name(FieldReader &reader, std::string &out) {
  if (!reader.read_string("name", out, true))
    return false;
  return !out.empty() || reader.fail("name", "is empty");
}

template <> bool read_client_body(FieldReader &reader, Login &message) {
  return reader.read_string("name", message.name, true) &&
         reader.read_string("token", message.token, false) &&
         reader.read_string("resume", message.resume, false);
}

template <> bool read_client_body(FieldReader &reader, Offer &message) {
  return read_peer_name(reader, message.name) &&
         read_description(reader, "offer", "offer", message.offer);
}

template <> bool read_client_body(FieldReader &reader, Answer &message) {
  return read_peer_name(reader, message.name) &&
         read_description(reader, "answer", "answer", message.answer);
}

template <> bool read_client_body(FieldReader &reader, Candidate &message) {
  return read_peer_name(reader, message.name) &&
         read_candidate(reader, message.candidate);
}

template <> bool read_client_body(FieldReader &reader, Leave &message) {
  return reader.read_string("name", message.name, false) &&
         read_leave_reason(reader, message.reason);
}

template <> bool read_client_body(FieldReader &, Presence &) {
  return true;
}

template <class Message> ClientParse finish_client(const Envelope &envelope) {
  Message message;
  FieldReader reader(envelope.object, "");
  if (!read_client_body(reader, message))
    return error_from(envelope, ErrorCode::kBadField,
                      "invalid \"" + envelope.type + "\" message: " + reader.problem());
  return ClientMessage{std::move(message)};
}

} // namespace

ClientParse parse_client_message(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes)
    return ParseError{ErrorCode::kTooLarge, too_large_message(text.size(), max_bytes), {}, {}};

  Envelope envelope;
  std::string detail;
  switch (open_envelope(text, envelope, detail)) {
  case EnvelopeFault::kNone:
    break;
  case EnvelopeFault::kNotJson:
    return ParseError{ErrorCode::kBadJson, "Invalid JSON: " + detail, {}, {}};
  case EnvelopeFault::kNotObject:
    return ParseError{ErrorCode::kBadMessage, detail, {}, {}};
  case EnvelopeFault::kNoType:
    return error_from(envelope, ErrorCode::kBadMessage, "invalid message: " + detail);
  }

  const std::string &type = envelope.type;
  if (type == "login")
    return finish_client<Login>(envelope);
  if (type == "offer")
    return finish_client<Offer>(envelope);
  if (type == "answer")
    return finish_client<Answer>(envelope);
  if (type == "candidate")
    return finish_client<Candidate>(envelope);
  if (type == "leave")
    return finish_client<Leave>(envelope);
  if (type == "presence")
    return finish_client<Presence>(envelope);
  // The tutorial's server words it this way; its client shows nothing.
  return error_from(envelope, ErrorCode::kUnknownType, "Command not found: " + type);
}

namespace {

template <class Message> bool read_server_body(FieldReader &reader, Message &message);

bool read_ice_servers(FieldReader &reader, std::vector<IceServer> &out) {
  if (!reader.present("iceServers"))
    return true;
  std::optional<simdjson::dom::array> array = reader.read_array("iceServers");
  if (!array)
    return false;
  for (JsonValue element : *array) {
    JsonObject object;
    if (element.get_object().get(object))
      return reader.fail("iceServers", "must hold objects");
    FieldReader entry(object, "iceServers[].");
    IceServer server;
    entry.read_string("urls", server.urls, true) &&
        entry.read_string("username", server.username, false) &&
        entry.read_string("credential", server.credential, false);
    reader.adopt(entry);
    if (!reader.ok())
      return false;
    out.push_back(std::move(server));
  }
  return true;
}

template <> bool read_server_body(FieldReader &reader, IceServers &message) {
  if (!reader.present("iceServers"))
    return reader.fail("iceServers", "is missing");
  return read_ice_servers(reader, message.ice_servers);
}

template <> bool read_server_body(FieldReader &reader, LoginResult &message) {
  if (!reader.read_bool("success", message.success))
    return false;
  std::optional<std::string> code;
  std::optional<int> protocol;
  if (!reader.read_optional_string("code", code) ||
      !reader.read_string("message", message.message, false) ||
      !reader.read_optional_int("protocol", protocol, 0, std::numeric_limits<int>::max()))
    return false;
  if (code)
    message.code = error_code_from_string(*code);
  message.protocol = protocol;
  return read_ice_servers(reader, message.ice_servers) &&
         reader.read_string("resume", message.resume, false);
}

template <> bool read_server_body(FieldReader &reader, Offer &message) {
  return read_peer_name(reader, message.name) &&
         read_description(reader, "offer", "offer", message.offer);
}

// The tutorial's server relays answer, candidate and leave without a name.
template <> bool read_server_body(FieldReader &reader, Answer &message) {
  return reader.read_string("name", message.name, false) &&
         read_description(reader, "answer", "answer", message.answer);
}

template <> bool read_server_body(FieldReader &reader, Candidate &message) {
  return reader.read_string("name", message.name, false) &&
         read_candidate(reader, message.candidate);
}

template <> bool read_server_body(FieldReader &reader, Leave &message) {
  return reader.read_string("name", message.name, false) &&
         read_leave_reason(reader, message.reason);
}

template <> bool read_server_body(FieldReader &reader, Error &message) {
  std::optional<std::string> code;
  if (!reader.read_string("message", message.message, false) ||
      !reader.read_optional_string("code", code) ||
      !reader.read_string("name", message.name, false))
    return false;
  if (code)
    message.code = error_code_from_string(*code);
  return true;
}

bool read_name_list(FieldReader &reader, std::vector<std::string> &out) {
  std::optional<simdjson::dom::array> array = reader.read_array("users");
  if (!array)
    return false;
  out.reserve(array->size());
  for (JsonValue element : *array) {
    std::string_view name;
    if (element.get_string().get(name))
      return reader.fail("users", "must hold only strings");
    if (!g_utf8_validate(name.data(), gssize(name.size()), nullptr))
      return reader.fail("users", "holds an invalid \\u escape (a lone surrogate)");
    out.emplace_back(name);
  }
  return true;
}

template <class Message> ServerParse finish_server(const Envelope &envelope) {
  Message message;
  FieldReader reader(envelope.object, "");
  bool ok;
  if constexpr (std::is_same_v<Message, Presence>) {
    ok = reader.read_string("joined", message.joined, false) &&
         reader.read_string("left", message.left, false);
    if (ok && reader.present("users")) {
      message.users.emplace();
      ok = read_name_list(reader, *message.users);
    }
  } else {
    ok = read_server_body(reader, message);
  }
  if (!ok)
    return error_from(envelope, ErrorCode::kBadField,
                      "invalid \"" + envelope.type + "\" message: " + reader.problem());
  return ServerMessage{std::move(message)};
}

} // namespace

ServerParse parse_server_message(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes)
    return ParseError{ErrorCode::kTooLarge, too_large_message(text.size(), max_bytes), {}, {}};

  Envelope envelope;
  std::string detail;
  switch (open_envelope(text, envelope, detail)) {
  case EnvelopeFault::kNone:
    break;
  case EnvelopeFault::kNotJson:
  case EnvelopeFault::kNotObject:
    // The tutorial's server greets with "Hello world": not for us.
    return Ignored{"not a JSON object: " + detail};
  case EnvelopeFault::kNoType:
    return error_from(envelope, ErrorCode::kBadMessage, "invalid message: " + detail);
  }

  const std::string &type = envelope.type;
  if (type == "login")
    return finish_server<LoginResult>(envelope);
  if (type == "offer")
    return finish_server<Offer>(envelope);
  if (type == "answer")
    return finish_server<Answer>(envelope);
  if (type == "candidate")
    return finish_server<Candidate>(envelope);
  if (type == "leave")
    return finish_server<Leave>(envelope);
  if (type == "error")
    return finish_server<Error>(envelope);
  if (type == "presence")
    return finish_server<Presence>(envelope);
  if (type == "ice-servers")
    return finish_server<IceServers>(envelope);
  return Ignored{"unknown type \"" + type + "\""};
}

} // namespace webrtccall::protocol
