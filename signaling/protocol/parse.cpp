#include "parse.hpp"

#include <json-glib/json-glib.h>

#include <limits>
#include <utility>

namespace webrtccall::protocol {

namespace {

// Reads the members of one JSON object, checking each node's type first:
// json-glib's typed getters raise criticals on missing or mistyped members.
// The first problem is kept; later reads become no-ops.
class FieldReader {
public:
  FieldReader(JsonObject *object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  // A string member. Optional members may be absent or null.
  bool read_string(const char *field, std::string &out, bool required) {
    JsonNode *node = member(field);
    if (!node)
      return !required || fail(field, "is missing");
    if (JSON_NODE_HOLDS_NULL(node) && !required)
      return true;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
      return fail(field, "must be a string");
    const char *value = json_node_get_string(node);
    // The frame was valid UTF-8, but json-glib decodes a \u escape of a lone
    // surrogate ("\udb33" and no low half) into bytes that are not; relayed
    // as they are, they would make the receiver's WebSocket close (found by
    // tests/fuzz).
    if (!g_utf8_validate(value, -1, nullptr))
      return fail(field, "holds an invalid \\u escape (a lone surrogate)");
    out = value;
    return true;
  }

  bool read_optional_string(const char *field, std::optional<std::string> &out) {
    JsonNode *node = member(field);
    if (!node || JSON_NODE_HOLDS_NULL(node))
      return true;
    std::string value;
    if (!read_string(field, value, true))
      return false;
    out = std::move(value);
    return true;
  }

  bool read_optional_int(const char *field, std::optional<int> &out, gint64 min, gint64 max) {
    JsonNode *node = member(field);
    if (!node || JSON_NODE_HOLDS_NULL(node))
      return true;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
      return fail(field, "must be an integer");
    gint64 value = json_node_get_int(node);
    if (value < min || value > max)
      return fail(field, "is out of range");
    out = static_cast<int>(value);
    return true;
  }

  bool read_bool(const char *field, bool &out) {
    JsonNode *node = member(field);
    if (!node)
      return fail(field, "is missing");
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
      return fail(field, "must be true or false");
    out = json_node_get_boolean(node);
    return true;
  }

  // An object member, read by a nested reader whose errors name "field.member".
  JsonObject *read_object(const char *field) {
    JsonNode *node = member(field);
    if (!node) {
      fail(field, "is missing");
      return nullptr;
    }
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
      fail(field, "must be an object");
      return nullptr;
    }
    return json_node_get_object(node);
  }

  JsonArray *read_array(const char *field) {
    JsonNode *node = member(field);
    if (!node) {
      fail(field, "is missing");
      return nullptr;
    }
    if (!JSON_NODE_HOLDS_ARRAY(node)) {
      fail(field, "must be an array");
      return nullptr;
    }
    return json_node_get_array(node);
  }

  bool present(const char *field) const {
    JsonNode *node = json_object_get_member(object_, field);
    return node && !JSON_NODE_HOLDS_NULL(node);
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
  JsonNode *member(const char *field) const {
    if (!problem_.empty())
      return nullptr;
    return json_object_get_member(object_, field);
  }

  JsonObject *object_;
  std::string prefix_;
  std::string problem_;
};

bool read_description(FieldReader &reader, const char *field, std::string_view expected_type,
                      SessionDescription &out) {
  JsonObject *object = reader.read_object(field);
  if (!object)
    return false;
  FieldReader nested(object, reader.prefix() + field + ".");
  nested.read_string("type", out.type, true) && nested.read_string("sdp", out.sdp, true);
  if (nested.ok() && out.type != expected_type)
    nested.fail("type", "must be \"" + std::string(expected_type) + "\"");
  if (nested.ok() && out.sdp.empty())
    nested.fail("sdp", "is empty");
  reader.adopt(nested);
  return reader.ok();
}

bool read_candidate(FieldReader &reader, IceCandidate &out) {
  JsonObject *object = reader.read_object("candidate");
  if (!object)
    return false;
  FieldReader nested(object, "candidate.");
  nested.read_string("candidate", out.candidate, true) &&
      nested.read_optional_string("sdpMid", out.sdp_mid) &&
      nested.read_optional_int("sdpMLineIndex", out.sdp_mline_index, 0,
                               std::numeric_limits<guint16>::max()) &&
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
  JsonObject *object = nullptr; // owned by the caller's parser
  std::string type;
  std::string name;
};

enum class EnvelopeFault { kNone, kNotJson, kNotObject, kNoType };

// json-glib keeps strings NUL-terminated, so "a\u0000b" would silently read
// as "a": a name check could pass on one name while another is relayed.
// Backslashes only occur inside JSON strings, so a plain scan is exact.
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

EnvelopeFault open_envelope(std::string_view text, JsonParser *parser, Envelope &out,
                            std::string &detail) {
  if (!g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) {
    detail = "the text is not valid UTF-8";
    return EnvelopeFault::kNotJson;
  }
  if (has_escaped_nul(text)) {
    detail = "strings must not contain \\u0000";
    return EnvelopeFault::kNotJson;
  }
  g_autoptr(GError) error = nullptr;
  if (!json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()), &error)) {
    detail = error ? error->message : "unknown error";
    return EnvelopeFault::kNotJson;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    detail = "a message must be a JSON object";
    return EnvelopeFault::kNotObject;
  }
  out.object = json_node_get_object(root);
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

template <> bool read_client_body(FieldReader &reader, Login &message) {
  return reader.read_string("name", message.name, true) &&
         reader.read_string("token", message.token, false) &&
         reader.read_string("resume", message.resume, false);
}

template <> bool read_client_body(FieldReader &reader, Offer &message) {
  return reader.read_string("name", message.name, true) &&
         read_description(reader, "offer", "offer", message.offer);
}

template <> bool read_client_body(FieldReader &reader, Answer &message) {
  return reader.read_string("name", message.name, true) &&
         read_description(reader, "answer", "answer", message.answer);
}

template <> bool read_client_body(FieldReader &reader, Candidate &message) {
  return reader.read_string("name", message.name, true) &&
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

  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  Envelope envelope;
  std::string detail;
  switch (open_envelope(text, parser, envelope, detail)) {
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
  JsonArray *array = reader.read_array("iceServers");
  if (!array)
    return false;
  for (guint i = 0; i < json_array_get_length(array); i++) {
    JsonNode *element = json_array_get_element(array, i);
    if (!JSON_NODE_HOLDS_OBJECT(element))
      return reader.fail("iceServers", "must hold objects");
    FieldReader entry(json_node_get_object(element), "iceServers[].");
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
  return reader.read_string("name", message.name, true) &&
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

bool read_name_list(FieldReader &reader, JsonObject *object, std::vector<std::string> &out) {
  JsonNode *node = json_object_get_member(object, "users");
  if (!JSON_NODE_HOLDS_ARRAY(node))
    return reader.fail("users", "must be an array");
  JsonArray *array = json_node_get_array(node);
  guint length = json_array_get_length(array);
  out.reserve(length);
  for (guint i = 0; i < length; i++) {
    JsonNode *element = json_array_get_element(array, i);
    if (!JSON_NODE_HOLDS_VALUE(element) || json_node_get_value_type(element) != G_TYPE_STRING)
      return reader.fail("users", "must hold only strings");
    if (!g_utf8_validate(json_node_get_string(element), -1, nullptr))
      return reader.fail("users", "holds an invalid \\u escape (a lone surrogate)");
    out.emplace_back(json_node_get_string(element));
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
      ok = read_name_list(reader, envelope.object, *message.users);
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

  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  Envelope envelope;
  std::string detail;
  switch (open_envelope(text, parser, envelope, detail)) {
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
