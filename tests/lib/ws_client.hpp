// A small blocking WebSocket client for tests, written against RFC 6455 so
// that a test can also do what well-behaved clients never do: send
// fragments, bad frames and floods, or stop answering pings.
//
// Every wait has a deadline; a test that waits too long fails with the name
// of what it awaited. The servers under test run in other processes.
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace webrtccall::test {

enum Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

struct Frame {
  std::uint8_t opcode = 0;
  bool final_frame = true;
  std::string payload;
};

// A JSON object received from a server, with typed reads for assertions.
class Json {
public:
  explicit Json(const std::string &text);
  ~Json();
  Json(Json &&other) noexcept;
  Json(const Json &) = delete;
  Json &operator=(const Json &) = delete;

  const std::string &text() const { return text_; }
  bool has(const char *field) const;
  // Points into this message: "" when absent or not a string.
  const char *str(const char *field) const;
  bool boolean(const char *field) const;       // false when absent or not a boolean
  JsonObject *object(const char *field) const; // nullptr when absent or not an object

private:
  std::string text_;
  JsonParser *parser_ = nullptr; // owns root_
  JsonObject *root_ = nullptr;
};

class WsClient {
public:
  // Connects and completes the handshake; g_error()s on failure unless
  // `expect_failure`, in which case ok() tells.
  explicit WsClient(const std::string &url,
                    const std::map<std::string, std::string> &extra_headers = {},
                    bool expect_failure = false);
  ~WsClient();
  WsClient(const WsClient &) = delete;

  bool ok() const { return socket_ != nullptr && handshake_ok_; }
  // The handshake response's headers, names in lower case.
  const std::map<std::string, std::string> &response_headers() const { return headers_; }
  int status() const { return status_; }

  void send_text(const std::string &text);
  void send_json(const char *json) { send_text(json); }
  void send_frame(std::uint8_t opcode, bool final_frame, const std::string &payload,
                  bool rsv1 = false);
  // Returns false instead of failing when the server has closed the socket.
  bool try_send_frame(std::uint8_t opcode, bool final_frame, const std::string &payload,
                      bool rsv1 = false);
  // Bytes as they are, for frames no client should send (unmasked ones).
  void send_raw(const std::string &bytes);
  // The socket's receive buffer (SO_RCVBUF): small, for a client that reads
  // nothing and must not let the kernel take in what the server queues.
  void set_receive_buffer(int bytes);

  // The next data or close frame; answers pings unless answer_pings is false.
  std::optional<Frame> receive(int timeout_ms);
  // The next frame of any kind, pings and pongs included, nothing answered.
  std::optional<Frame> receive_any(int timeout_ms);
  // The next text message that is a JSON object; skips others (the tutorial
  // server's "Hello world"). Fails the test after `timeout_ms`.
  Json expect_json(const char *what, int timeout_ms = 3000);
  // The next message must be JSON with this "type".
  Json expect_type(const char *type, int timeout_ms = 3000);
  // Nothing arrives within `timeout_ms` (pings answered).
  void expect_silence(int timeout_ms);
  // Waits for the server to end the connection: the close code, 0 for a
  // close frame without a code, -1 for a bare TCP close.
  int expect_closed(const char *what, int timeout_ms = 5000);

  // Shortcuts for the protocol.
  void login(const std::string &name); // and expect success
  void close_abruptly();               // TCP close, no close frame
  void close_cleanly();                // close frame, wait for the reply

  bool answer_pings = true;
  unsigned pings_seen = 0;

private:
  bool send_all(const std::string &bytes);
  bool read_exact(char *buffer, std::size_t size, gint64 deadline_us);
  std::optional<Frame> read_frame(gint64 deadline_us);

  GSocketConnection *connection_ = nullptr;
  GSocket *socket_ = nullptr;
  bool handshake_ok_ = false;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string pending_; // bytes read past the handshake
  bool closed_ = false;
};

// A JSON text for a protocol message, built by tests without the library
// under test (so a bug in it cannot hide in both).
std::string offer_json(const std::string &to, const std::string &sdp = "v=0\r\n");
std::string answer_json(const std::string &to, const std::string &sdp = "v=0\r\n");
std::string candidate_json(const std::string &to, int index = 0);

// Raw DEFLATE of `size` zero bytes, a few KiB that inflate to `size`: a
// compression bomb, for a frame with RSV1 set.
std::string deflated_zeros(std::size_t size);

// caller offers to callee, callee answers: the call is established.
void establish(WsClient &caller, const std::string &callee_name, WsClient &callee,
               const std::string &caller_name);

} // namespace webrtccall::test
