#include "serialize.hpp"

#include <string>

namespace webrtccall::protocol {

namespace {

// Writes one JSON object as it goes; members appear in the order they are
// written, so relayed messages keep the tutorial's field order with
// extensions last. Written by hand rather than through json-glib's builder
// and generator, which built a tree of nodes and cost about a third of the
// server's time per relayed message (docs/benchmarks.md, "Signaling"): our
// messages are flat, and every string in them is valid UTF-8 (parse.cpp
// checks what comes in), so writing one only means escaping it.
class ObjectWriter {
public:
  explicit ObjectWriter(std::string_view type) {
    text_.reserve(256);
    text_ += '{';
    string("type", type);
  }

  void string(const char *field, std::string_view value) {
    key(field);
    quoted(value);
  }

  // Omits the member when `value` is empty: empty stands for absent.
  void string_if_set(const char *field, std::string_view value) {
    if (!value.empty())
      string(field, value);
  }

  void boolean(const char *field, bool value) {
    key(field);
    text_ += value ? "true" : "false";
  }

  void integer(const char *field, long long value) {
    key(field);
    text_ += std::to_string(value);
  }

  void null(const char *field) {
    key(field);
    text_ += "null";
  }

  void begin_object(const char *field) {
    key(field);
    text_ += '{';
    first_ = true;
  }
  void end_object() {
    text_ += '}';
    first_ = false;
  }

  void string_array(const char *field, const std::vector<std::string> &values) {
    key(field);
    text_ += '[';
    for (std::size_t i = 0; i < values.size(); i++) {
      if (i > 0)
        text_ += ',';
      quoted(values[i]);
    }
    text_ += ']';
  }

  void ice_servers(const char *field, const std::vector<IceServer> &servers) {
    key(field);
    text_ += '[';
    for (std::size_t i = 0; i < servers.size(); i++) {
      if (i > 0)
        text_ += ',';
      text_ += '{';
      first_ = true;
      string("urls", servers[i].urls);
      if (!servers[i].username.empty()) {
        string("username", servers[i].username);
        string("credential", servers[i].credential);
      }
      text_ += '}';
    }
    text_ += ']';
    first_ = false;
  }

  std::string finish() {
    text_ += '}';
    return std::move(text_);
  }

private:
  // Field names are our own literals: nothing to escape.
  void key(const char *field) {
    if (!first_)
      text_ += ',';
    first_ = false;
    text_ += '"';
    text_ += field;
    text_ += "\":";
  }

  // JSON asks for the quote, the backslash and the control characters to be
  // escaped; everything else, UTF-8 included, is written as it is.
  void quoted(std::string_view value) {
    static const char kHex[] = "0123456789abcdef";
    text_ += '"';
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < value.size(); i++) {
      unsigned char c = static_cast<unsigned char>(value[i]);
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      text_.append(value, plain_from, i - plain_from);
      plain_from = i + 1;
      text_ += '\\';
      switch (c) {
      case '"':
        text_ += '"';
        break;
      case '\\':
        text_ += '\\';
        break;
      case '\n':
        text_ += 'n';
        break;
      case '\r':
        text_ += 'r';
        break;
      case '\t':
        text_ += 't';
        break;
      case '\b':
        text_ += 'b';
        break;
      case '\f':
        text_ += 'f';
        break;
      default:
        text_ += "u00";
        text_ += kHex[c >> 4];
        text_ += kHex[c & 0xf];
      }
    }
    text_.append(value, plain_from, value.size() - plain_from);
    text_ += '"';
  }

  std::string text_;
  bool first_ = true; // the next member is the first of its object
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
