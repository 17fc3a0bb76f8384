#include "serialize.hpp"

#include <json-glib/json-glib.h>

namespace webrtccall::protocol {

namespace {

// Builds one JSON object; members appear in the order they are added, so
// relayed messages keep the tutorial's field order with extensions last.
class ObjectWriter {
public:
  explicit ObjectWriter(std::string_view type) : builder_(json_builder_new_immutable()) {
    json_builder_begin_object(builder_);
    string("type", type);
  }
  ~ObjectWriter() { g_object_unref(builder_); }
  ObjectWriter(const ObjectWriter &) = delete;
  ObjectWriter &operator=(const ObjectWriter &) = delete;

  void string(const char *field, std::string_view value) {
    json_builder_set_member_name(builder_, field);
    json_builder_add_string_value(builder_, std::string(value).c_str());
  }

  // Omits the member when `value` is empty: empty stands for absent.
  void string_if_set(const char *field, std::string_view value) {
    if (!value.empty())
      string(field, value);
  }

  void boolean(const char *field, bool value) {
    json_builder_set_member_name(builder_, field);
    json_builder_add_boolean_value(builder_, value);
  }

  void integer(const char *field, gint64 value) {
    json_builder_set_member_name(builder_, field);
    json_builder_add_int_value(builder_, value);
  }

  void null(const char *field) {
    json_builder_set_member_name(builder_, field);
    json_builder_add_null_value(builder_);
  }

  void begin_object(const char *field) {
    json_builder_set_member_name(builder_, field);
    json_builder_begin_object(builder_);
  }
  void end_object() { json_builder_end_object(builder_); }

  void string_array(const char *field, const std::vector<std::string> &values) {
    json_builder_set_member_name(builder_, field);
    json_builder_begin_array(builder_);
    for (const auto &value : values)
      json_builder_add_string_value(builder_, value.c_str());
    json_builder_end_array(builder_);
  }

  void ice_servers(const char *field, const std::vector<IceServer> &servers) {
    json_builder_set_member_name(builder_, field);
    json_builder_begin_array(builder_);
    for (const auto &server : servers) {
      json_builder_begin_object(builder_);
      json_builder_set_member_name(builder_, "urls");
      json_builder_add_string_value(builder_, server.urls.c_str());
      if (!server.username.empty()) {
        json_builder_set_member_name(builder_, "username");
        json_builder_add_string_value(builder_, server.username.c_str());
        json_builder_set_member_name(builder_, "credential");
        json_builder_add_string_value(builder_, server.credential.c_str());
      }
      json_builder_end_object(builder_);
    }
    json_builder_end_array(builder_);
  }

  std::string finish() {
    json_builder_end_object(builder_);
    g_autoptr(JsonNode) root = json_builder_get_root(builder_);
    g_autoptr(JsonGenerator) generator = json_generator_new();
    json_generator_set_root(generator, root);
    gsize length = 0;
    g_autofree char *text = json_generator_to_data(generator, &length);
    return std::string(text, length);
  }

private:
  JsonBuilder *builder_;
};

void write_description(ObjectWriter &writer, const char *field,
                       const SessionDescription &description) {
  writer.begin_object(field);
  writer.string("type", description.type);
  writer.string("sdp", description.sdp);
  writer.end_object();
}

// Browsers' RTCIceCandidate JSON always has both fields, null when unknown.
void write_candidate(ObjectWriter &writer, const IceCandidate &candidate) {
  writer.begin_object("candidate");
  writer.string("candidate", candidate.candidate);
  if (candidate.sdp_mid)
    writer.string("sdpMid", *candidate.sdp_mid);
  else
    writer.null("sdpMid");
  if (candidate.sdp_mline_index)
    writer.integer("sdpMLineIndex", *candidate.sdp_mline_index);
  else
    writer.null("sdpMLineIndex");
  if (candidate.username_fragment)
    writer.string("usernameFragment", *candidate.username_fragment);
  writer.end_object();
}

struct Writer {
  std::string operator()(const Login &m) const {
    ObjectWriter w("login");
    w.string("name", m.name);
    w.string_if_set("token", m.token);
    w.string_if_set("resume", m.resume);
    return w.finish();
  }
  std::string operator()(const LoginResult &m) const {
    ObjectWriter w("login");
    w.boolean("success", m.success);
    if (m.code)
      w.string("code", to_string(*m.code));
    w.string_if_set("message", m.message);
    if (m.protocol)
      w.integer("protocol", *m.protocol);
    if (!m.ice_servers.empty())
      w.ice_servers("iceServers", m.ice_servers);
    w.string_if_set("resume", m.resume);
    return w.finish();
  }
  std::string operator()(const Offer &m) const {
    ObjectWriter w("offer");
    write_description(w, "offer", m.offer);
    w.string_if_set("name", m.name);
    return w.finish();
  }
  std::string operator()(const Answer &m) const {
    ObjectWriter w("answer");
    write_description(w, "answer", m.answer);
    w.string_if_set("name", m.name);
    return w.finish();
  }
  std::string operator()(const Candidate &m) const {
    ObjectWriter w("candidate");
    write_candidate(w, m.candidate);
    w.string_if_set("name", m.name);
    return w.finish();
  }
  std::string operator()(const Leave &m) const {
    ObjectWriter w("leave");
    w.string_if_set("name", m.name);
    if (m.reason)
      w.string("reason", to_string(*m.reason));
    return w.finish();
  }
  std::string operator()(const Error &m) const {
    ObjectWriter w("error");
    w.string("message", m.message);
    if (m.code)
      w.string("code", to_string(*m.code));
    w.string_if_set("name", m.name);
    return w.finish();
  }
  std::string operator()(const Presence &m) const {
    ObjectWriter w("presence");
    if (m.users)
      w.string_array("users", *m.users);
    w.string_if_set("joined", m.joined);
    w.string_if_set("left", m.left);
    return w.finish();
  }
  std::string operator()(const IceServers &m) const {
    ObjectWriter w("ice-servers");
    w.ice_servers("iceServers", m.ice_servers);
    return w.finish();
  }
};

} // namespace

std::string serialize(const ClientMessage &message) {
  return std::visit(Writer{}, message);
}

std::string serialize(const ServerMessage &message) {
  return std::visit(Writer{}, message);
}

} // namespace webrtccall::protocol
