#include "ws_client.hpp"

#include "wait_deadline.hpp"

#include <glib.h>
#include <sys/socket.h>

#include <cstring>
#include <random>
#include <utility>

namespace webrtccall::test {

namespace {

constexpr gint64 kMsUs = 1000;

std::string lower(std::string text) {
  for (char &c : text)
    c = char(g_ascii_tolower(c));
  return text;
}

std::string json_string(const std::string &text) {
  g_autoptr(JsonNode) node = json_node_new(JSON_NODE_VALUE);
  json_node_set_string(node, text.c_str());
  g_autofree char *out = json_to_string(node, FALSE);
  return out;
}

} // namespace

Json::Json(const std::string &text) : text_(text), parser_(json_parser_new()) {
  g_autoptr(GError) error = nullptr;
  if (!json_parser_load_from_data(parser_, text.c_str(), gssize(text.size()), &error))
    g_error("not JSON: %s (%s)", text.c_str(), error->message);
  JsonNode *root = json_parser_get_root(parser_);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root))
    g_error("not a JSON object: %s", text.c_str());
  root_ = json_node_get_object(root);
}

Json::~Json() {
  if (parser_)
    g_object_unref(parser_);
}

Json::Json(Json &&other) noexcept
    : text_(std::move(other.text_)), parser_(std::exchange(other.parser_, nullptr)),
      root_(std::exchange(other.root_, nullptr)) {}

bool Json::has(const char *field) const {
  return json_object_has_member(root_, field);
}

const char *Json::str(const char *field) const {
  JsonNode *node = json_object_get_member(root_, field);
  if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
    return "";
  return json_node_get_string(node);
}

bool Json::boolean(const char *field) const {
  JsonNode *node = json_object_get_member(root_, field);
  return node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_BOOLEAN &&
         json_node_get_boolean(node);
}

JsonObject *Json::object(const char *field) const {
  JsonNode *node = json_object_get_member(root_, field);
  return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
}

WsClient::WsClient(const std::string &url, const std::map<std::string, std::string> &extra_headers,
                   bool expect_failure) {
  g_autoptr(GUri) uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!uri)
    g_error("bad URL %s", url.c_str());
  g_autoptr(GSocketClient) client = g_socket_client_new();
  g_socket_client_set_timeout(client, 5);
  g_autoptr(GError) error = nullptr;
  const char *host = g_uri_get_host(uri);
  connection_ =
      g_socket_client_connect_to_host(client, host, guint16(g_uri_get_port(uri)), nullptr, &error);
  if (!connection_) {
    if (expect_failure)
      return;
    g_error("cannot connect to %s: %s", url.c_str(), error->message);
  }
  socket_ = g_socket_connection_get_socket(connection_);
  g_socket_set_blocking(socket_, TRUE);
  g_socket_set_timeout(socket_, 10); // a send into a stalled server fails instead of hanging

  std::string path = g_uri_get_path(uri);
  if (path.empty())
    path = "/";
  bool ipv6 = std::strchr(host, ':') != nullptr;
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + (ipv6 ? "[" : "") + host +
                        (ipv6 ? "]" : "") + ":" + std::to_string(g_uri_get_port(uri)) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n";
  for (const auto &[name, value] : extra_headers)
    request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (g_socket_send_with_blocking(socket_, request.data(), request.size(), TRUE, nullptr, &error) <
      0) {
    if (expect_failure)
      return;
    g_error("cannot send the handshake: %s", error->message);
  }

  // Read the response headers; anything after them is frames.
  std::string response;
  gint64 deadline = g_get_monotonic_time() + 5000 * kMsUs;
  while (response.find("\r\n\r\n") == std::string::npos) {
    char c;
    if (!read_exact(&c, 1, deadline)) {
      if (expect_failure)
        return;
      g_error("no handshake response from %s (got %zu bytes)", url.c_str(), response.size());
    }
    response += c;
  }
  g_auto(GStrv) lines = g_strsplit(response.c_str(), "\r\n", -1);
  if (lines[0] && std::sscanf(lines[0], "HTTP/1.1 %d", &status_) != 1)
    status_ = 0;
  for (char **line = lines + 1; *line && **line; line++) {
    const char *colon = std::strchr(*line, ':');
    if (!colon)
      continue;
    std::string value = colon + 1;
    value.erase(0, value.find_first_not_of(' '));
    headers_[lower(std::string(*line, std::size_t(colon - *line)))] = value;
  }
  handshake_ok_ = status_ == 101;
  if (!handshake_ok_ && !expect_failure)
    g_error("handshake with %s refused: %s", url.c_str(), lines[0]);
}

WsClient::~WsClient() {
  if (connection_)
    g_object_unref(connection_); // closes the socket
}

bool WsClient::read_exact(char *buffer, std::size_t size, gint64 deadline_us) {
  std::size_t done = 0;
  while (done < size && !pending_.empty()) {
    buffer[done++] = pending_[0];
    pending_.erase(0, 1);
  }
  while (done < size) {
    gint64 left = deadline_us - g_get_monotonic_time();
    if (left <= 0)
      return false;
    if (!g_socket_condition_timed_wait(socket_, G_IO_IN, left, nullptr, nullptr))
      return false;
    g_autoptr(GError) error = nullptr;
    gssize n = g_socket_receive(socket_, buffer + done, size - done, nullptr, &error);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    done += std::size_t(n);
  }
  return true;
}

std::optional<Frame> WsClient::read_frame(gint64 deadline_us) {
  unsigned char header[2];
  if (!read_exact(reinterpret_cast<char *>(header), 2, deadline_us))
    return std::nullopt;
  Frame frame;
  frame.final_frame = header[0] & 0x80;
  frame.opcode = header[0] & 0x0f;
  std::uint64_t length = header[1] & 0x7f;
  if (length >= 126) {
    unsigned char extended[8];
    std::size_t bytes = length == 126 ? 2 : 8;
    if (!read_exact(reinterpret_cast<char *>(extended), bytes, deadline_us))
      return std::nullopt;
    length = 0;
    for (std::size_t i = 0; i < bytes; i++)
      length = (length << 8) | extended[i];
  }
  if (length > 64 * 1024 * 1024)
    g_error("server sent a frame of %" G_GUINT64_FORMAT " bytes", length);
  frame.payload.resize(length);
  if (length && !read_exact(frame.payload.data(), length, deadline_us))
    return std::nullopt;
  return frame;
}

void WsClient::send_frame(std::uint8_t opcode, bool final_frame, const std::string &payload,
                          bool rsv1) {
  if (!try_send_frame(opcode, final_frame, payload, rsv1))
    g_error("cannot send a frame: the server closed the connection");
}

bool WsClient::try_send_frame(std::uint8_t opcode, bool final_frame, const std::string &payload,
                              bool rsv1) {
  std::string frame;
  frame += char((final_frame ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode);
  std::uint64_t length = payload.size();
  if (length < 126) {
    frame += char(0x80 | length);
  } else if (length <= 0xffff) {
    frame += char(0x80 | 126);
    frame += char(length >> 8);
    frame += char(length & 0xff);
  } else {
    frame += char(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      frame += char((length >> shift) & 0xff);
  }
  static std::mt19937 random(42);
  char mask[4];
  for (char &m : mask)
    m = char(random());
  frame.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); i++)
    frame += char(payload[i] ^ mask[i % 4]);
  return send_all(frame);
}

bool WsClient::send_all(const std::string &bytes) {
  g_autoptr(GError) error = nullptr;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    gssize n = g_socket_send_with_blocking(socket_, bytes.data() + sent, bytes.size() - sent, TRUE,
                                           nullptr, &error);
    if (n <= 0)
      return false;
    sent += std::size_t(n);
  }
  return true;
}

void WsClient::send_raw(const std::string &bytes) {
  if (!send_all(bytes))
    g_error("cannot send raw bytes: the server closed the connection");
}

void WsClient::set_receive_buffer(int bytes) {
  g_autoptr(GError) error = nullptr;
  if (!g_socket_set_option(socket_, SOL_SOCKET, SO_RCVBUF, bytes, &error))
    g_error("cannot set SO_RCVBUF: %s", error->message);
}

void WsClient::send_text(const std::string &text) {
  send_frame(kText, true, text);
}

std::optional<Frame> WsClient::receive(int timeout_ms) {
  gint64 deadline = wait_deadline(timeout_ms);
  for (;;) {
    auto frame = read_frame(deadline);
    if (!frame)
      return std::nullopt;
    if (frame->opcode == kPing) {
      pings_seen++;
      if (answer_pings)
        try_send_frame(kPong, true, frame->payload);
      continue;
    }
    if (frame->opcode == kPong)
      continue;
    return frame;
  }
}

std::optional<Frame> WsClient::receive_any(int timeout_ms) {
  return read_frame(wait_deadline(timeout_ms));
}

Json WsClient::expect_json(const char *what, int timeout_ms) {
  gint64 deadline = wait_deadline(timeout_ms);
  for (;;) {
    int left = int((deadline - g_get_monotonic_time()) / kMsUs);
    auto frame = receive(left > 0 ? left : 0);
    if (!frame)
      g_error("waited %d ms for %s: %s", timeout_ms, what,
              closed_ ? "the server closed the connection" : "nothing came");
    if (frame->opcode == kClose)
      g_error("waited for %s: the server closed the connection instead", what);
    if (frame->opcode != kText)
      continue;
    const std::string &text = frame->payload;
    std::size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string::npos || text[start] != '{')
      continue; // not an object: "Hello world"
    return Json(text);
  }
}

Json WsClient::expect_type(const char *type, int timeout_ms) {
  std::string what = std::string("a \"") + type + "\" message";
  Json json = expect_json(what.c_str(), timeout_ms);
  if (std::strcmp(json.str("type"), type) != 0)
    g_error("expected %s, got %s", what.c_str(), json.text().c_str());
  return json;
}

void WsClient::expect_silence(int timeout_ms) {
  auto frame = receive(timeout_ms);
  if (frame)
    g_error("expected nothing, got opcode %d: %s", frame->opcode, frame->payload.c_str());
}

int WsClient::expect_closed(const char *what, int timeout_ms) {
  gint64 deadline = wait_deadline(timeout_ms);
  for (;;) {
    auto frame = read_frame(deadline);
    if (!frame) {
      if (closed_)
        return -1;
      g_error("waited %d ms for the server to close the connection (%s)", timeout_ms, what);
    }
    if (frame->opcode == kPing && answer_pings)
      try_send_frame(kPong, true, frame->payload);
    if (frame->opcode != kClose)
      continue;
    if (frame->payload.size() < 2)
      return 0;
    return (std::uint8_t(frame->payload[0]) << 8) | std::uint8_t(frame->payload[1]);
  }
}

void WsClient::login(const std::string &name) {
  send_text("{\"type\":\"login\",\"name\":" + json_string(name) + "}");
  Json reply = expect_type("login");
  if (!reply.boolean("success"))
    g_error("login as %s failed: %s", name.c_str(), reply.text().c_str());
}

void WsClient::close_abruptly() {
  if (socket_)
    g_socket_close(socket_, nullptr);
}

void WsClient::close_cleanly() {
  std::string payload = {char(0x03), char(0xe8)}; // 1000
  if (!try_send_frame(kClose, true, payload))
    return;
  expect_closed("the close reply", 3000);
}

std::string offer_json(const std::string &to, const std::string &sdp) {
  return "{\"type\":\"offer\",\"name\":" + json_string(to) +
         ",\"offer\":{\"type\":\"offer\",\"sdp\":" + json_string(sdp) + "}}";
}

std::string answer_json(const std::string &to, const std::string &sdp) {
  return "{\"type\":\"answer\",\"name\":" + json_string(to) +
         ",\"answer\":{\"type\":\"answer\",\"sdp\":" + json_string(sdp) + "}}";
}

std::string candidate_json(const std::string &to, int index) {
  return "{\"type\":\"candidate\",\"name\":" + json_string(to) +
         ",\"candidate\":{\"candidate\":\"candidate:1 1 udp 2122260223 127.0.0.1 " +
         std::to_string(50000 + index) + " typ host\",\"sdpMid\":\"" + std::to_string(index) +
         "\",\"sdpMLineIndex\":" + std::to_string(index) + "}}";
}

void establish(WsClient &caller, const std::string &callee_name, WsClient &callee,
               const std::string &caller_name) {
  caller.send_text(offer_json(callee_name));
  callee.expect_type("offer");
  callee.send_text(answer_json(caller_name));
  caller.expect_type("answer");
}

std::string deflated_zeros(std::size_t size) {
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_RAW, 9);
  std::string zeros(size, '\0'), out(size / 100 + 1024, '\0');
  gsize read = 0, written = 0;
  g_autoptr(GError) error = nullptr;
  GConverterResult result =
      g_converter_convert(G_CONVERTER(compressor), zeros.data(), zeros.size(), out.data(),
                          out.size(), G_CONVERTER_INPUT_AT_END, &read, &written, &error);
  g_assert_cmpint(result, ==, G_CONVERTER_FINISHED);
  out.resize(written);
  return out;
}

} // namespace webrtccall::test
