// Bad input from one client while two others are in a call: the abuser gets
// what docs/protocol.md says (a refusal, or a closed connection), and the
// call in progress is not disturbed: after every kind of abuse its peers
// still relay to each other, promptly, and the server logs no warning.
// docs/reliability.md lists these inputs and what happens to each.
#include "flood_limits.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

#include <gio/gio.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace webrtccall::test;

namespace {

constexpr std::uint8_t kText = 0x1, kBinary = 0x2, kContinuation = 0x0;
// Relayed promptly: on loopback a relay takes well under a millisecond; a
// server stalled by the abuse would take longer than this.
constexpr int kRelayMs = 500;

guint16 port_of(const ServerProcess &server) {
  const std::string &url = server.url();
  return guint16(std::stoi(url.substr(url.rfind(':') + 1)));
}

// A call between two users that the abuse must not disturb.
struct RunningCall {
  WsClient alice, bob;
  unsigned checks = 0;

  explicit RunningCall(const ServerProcess &server) : alice(server.url()), bob(server.url()) {
    alice.login("alice");
    bob.login("bob");
    establish(alice, "bob", bob, "alice");
  }

  // A candidate each way arrives within kRelayMs.
  void still_relays(const char *after) {
    checks++;
    gint64 start = g_get_monotonic_time();
    alice.send_text(candidate_json("bob", 0));
    bob.expect_type("candidate", kRelayMs);
    bob.send_text(candidate_json("alice", 1));
    alice.expect_type("candidate", kRelayMs);
    gint64 took_ms = (g_get_monotonic_time() - start) / 1000;
    if (took_ms > kRelayMs)
      g_error("the call's relay took %" G_GINT64_FORMAT " ms after %s", took_ms, after);
  }
};

// The next message of `type` carries `field` == `want`. (A helper, since the
// Json must outlive the comparison: g_assert_cmpstr on a temporary's string
// would read freed memory.)
void expect_field(WsClient &client, const char *type, const char *field, const char *want) {
  Json message = client.expect_type(type);
  std::string got = message.str(field);
  if (got != want)
    g_error("expected %s %s \"%s\", got %s", type, field, want, message.text().c_str());
}

GSocketConnection *raw_connection(const ServerProcess &server) {
  g_autoptr(GSocketClient) client = g_socket_client_new();
  GSocketConnection *connection =
      g_socket_client_connect_to_host(client, "127.0.0.1", port_of(server), nullptr, nullptr);
  g_assert_nonnull(connection);
  return connection;
}

void send_raw(GSocketConnection *connection, const std::string &bytes) {
  g_socket_send(g_socket_connection_get_socket(connection), bytes.data(), bytes.size(), nullptr,
                nullptr);
}

// The server ends a raw connection within `timeout_ms` (after an HTTP error
// reply, if it sends one).
bool closed_by_server(GSocketConnection *connection, int timeout_ms) {
  GSocket *socket = g_socket_connection_get_socket(connection);
  gint64 deadline = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
  char buffer[4096];
  while (g_get_monotonic_time() < deadline) {
    if (!g_socket_condition_timed_wait(socket, G_IO_IN, deadline - g_get_monotonic_time(), nullptr,
                                       nullptr))
      return false;
    if (g_socket_receive(socket, buffer, sizeof buffer, nullptr, nullptr) <= 0)
      return true;
  }
  return false;
}

const std::map<std::string, std::string> kNoHeaders;

// The server logged lines containing `containing` since `since_us`, but a
// line a second at most (signaling/server/client_log.hpp), however many
// times it met what they report.
void expect_logged_a_line_a_second(const ServerProcess &server, const char *containing,
                                   gint64 since_us) {
  gint64 seconds = (g_get_monotonic_time() - since_us) / G_USEC_PER_SEC + 1;
  std::string log = server.log();
  gint64 lines = 0;
  for (std::size_t at = log.find(containing); at != std::string::npos;
       at = log.find(containing, at + 1))
    lines++;
  if (lines == 0 || lines > seconds + 1)
    g_error("%" G_GINT64_FORMAT " log lines with \"%s\" in %" G_GINT64_FORMAT " s", lines,
            containing, seconds);
}

// Waits until `count` more connections from this address would be served:
// the server frees a connection's slot once its socket is gone, a moment
// after the client's close.
void wait_for_free_slots(const ServerProcess &server, int count) {
  gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  for (;;) {
    std::vector<std::unique_ptr<WsClient>> probes;
    while (int(probes.size()) < count) {
      auto probe = std::make_unique<WsClient>(server.url(), kNoHeaders, true);
      if (!probe->ok())
        break;
      probes.push_back(std::move(probe));
    }
    if (int(probes.size()) == count)
      return;
    if (g_get_monotonic_time() > deadline)
      g_error("the server still refuses connections 5 s after the crowd left");
    probes.clear();
    g_usleep(50 * 1000);
  }
}

void test_abuse_leaves_a_running_call_alone() {
  // The default per-address cap (256): the crowd below meets it.
  std::vector<std::string> options = {"--handshake-timeout", "2"};
  for (const std::string &option : flood_limits())
    options.push_back(option);
  ServerProcess server = ServerProcess::ours(options);
  gint64 start_us = g_get_monotonic_time();
  RunningCall call(server);
  call.still_relays("setting up");

  // Bytes that are not HTTP at all: the connection is closed.
  {
    g_autoptr(GSocketConnection) garbage = raw_connection(server);
    std::string noise;
    for (int i = 0; i < 4096; i++)
      noise += char(g_random_int_range(0, 256));
    send_raw(garbage, noise);
    g_assert_true(closed_by_server(garbage, 3000));
    call.still_relays("garbage bytes");
  }

  // Half-open and slow handshakes, held while the call goes on; the
  // handshake deadline closes them.
  {
    g_autoptr(GSocketConnection) silent = raw_connection(server);
    g_autoptr(GSocketConnection) slow = raw_connection(server);
    send_raw(slow, "GET / HTTP/1.1\r\nHost: x\r\n");
    call.still_relays("half-open handshakes");
    g_assert_true(closed_by_server(silent, 5000));
    g_assert_true(closed_by_server(slow, 5000));
  }

  // Thousands of connections from one address, held open: the first up to
  // the cap are served (alice and bob hold two of the address's 256), every
  // one after is refused at once, and the call goes on.
  {
    std::vector<std::unique_ptr<WsClient>> crowd;
    int refused = 0;
    gint64 crowd_start_us = g_get_monotonic_time();
    for (int i = 0; i < 2000; i++) {
      auto client = std::make_unique<WsClient>(server.url(), kNoHeaders, true);
      if (client->ok())
        crowd.push_back(std::move(client));
      else
        refused++;
    }
    // Never past the cap; all of it but the slots still held by the sockets
    // closed above, which the server frees once they are finalized.
    if (crowd.size() > 256 - 2 || crowd.size() < 256 - 2 - 4)
      g_error("%zu of 2000 connections served, with a cap of 256 and 2 in use", crowd.size());
    g_assert_cmpint(refused, ==, 2000 - int(crowd.size()));
    // Refusals are logged a line a second at most, not one each: a script
    // must not be able to fill the server's log.
    expect_logged_a_line_a_second(server, "refused a connection from", crowd_start_us);
    call.still_relays("2,000 connections from one address");
  }
  wait_for_free_slots(server, 8);

  WsClient mallory(server.url());
  // Names with control characters, or 60,000 characters long: refused,
  // never echoed. A name a megabyte long is a message over the size limit
  // (64 KiB): the connection is closed (1009) before the name is read.
  mallory.send_text(R"({"type":"login","name":"evil\u0007name"})");
  expect_field(mallory, "login", "code", "invalid-name");
  mallory.send_text(std::string(R"({"type":"login","name":")") + std::string(60000, 'n') + "\"}");
  expect_field(mallory, "login", "code", "invalid-name");
  {
    WsClient megabyte(server.url());
    std::string login =
        std::string(R"({"type":"login","name":")") + std::string(1 << 20, 'n') + "\"}";
    megabyte.try_send_frame(kText, true, login); // the server may close before it has all
    g_assert_cmpint(megabyte.expect_closed("the megabyte name's close"), ==, 1009);
  }
  call.still_relays("bad names");

  // Malformed JSON, wrong types, unknown types: refused one by one.
  struct {
    const char *text;
    const char *reply_type; // a refused login is answered as a login
    const char *code;
  } malformed[] = {
      {"{", "error", "bad-json"},
      {"[1,2]", "error", "bad-message"},
      {"null", "error", "bad-message"},
      {R"({"type":42})", "error", "bad-message"},
      {R"({"type":"login","name":7})", "login", "bad-field"},
      {R"({"type":"frobnicate"})", "error", "unknown-type"},
  };
  for (const auto &bad : malformed) {
    mallory.send_text(bad.text);
    expect_field(mallory, bad.reply_type, "code", bad.code);
  }
  // Refused messages by the hundred, replies unread: the server logs a line
  // a second at most for them (asserted at the end).
  {
    WsClient noisy(server.url());
    for (int i = 0; i < 150 && noisy.try_send_frame(kText, true, "{"); i++) {
    }
  }
  call.still_relays("malformed messages");

  mallory.login("mallory");
  // Spoofing: a leave "from bob" to alice is mallory's own, and refused (she
  // is in no call with alice); an answer and candidates outside a call too.
  mallory.send_text(R"({"type":"leave","name":"alice"})");
  expect_field(mallory, "error", "code", "not-in-call");
  mallory.send_text(answer_json("bob"));
  expect_field(mallory, "error", "code", "not-in-call");
  mallory.send_text(candidate_json("alice"));
  expect_field(mallory, "error", "code", "not-in-call");
  // An offer to a user in a call: busy, and the call goes on.
  mallory.send_text(offer_json("alice"));
  expect_field(mallory, "error", "code", "busy");
  call.still_relays("spoofed and out-of-call messages");

  // A binary frame is refused; the connection stays.
  mallory.send_frame(kBinary, true, std::string("\x00\x01\x02", 3));
  expect_field(mallory, "error", "code", "bad-message");
  call.still_relays("a binary frame");

  // A fragmented message over the size limit: the connection is closed.
  {
    WsClient fragments(server.url());
    std::string chunk(16 * 1024, 'x');
    fragments.send_frame(kText, false, chunk);
    for (int i = 0; i < 8 && fragments.try_send_frame(kContinuation, false, chunk); i++) {
    }
    g_assert_cmpint(fragments.expect_closed("the fragmented message's close"), ==, 1009);
    call.still_relays("a fragmented oversize message");
  }

  // A compression bomb: 64 MiB of zeros deflated into a frame of about
  // 64 KiB with RSV1 set, though no extension was negotiated. Refused as a
  // protocol error (1002) at its header, never inflated.
  {
    WsClient bomb(server.url());
    bomb.try_send_frame(kText, true, deflated_zeros(64 * 1024 * 1024), true);
    g_assert_cmpint(bomb.expect_closed("the compression bomb's close"), ==, 1002);
    call.still_relays("a compression bomb");
  }

  // One frame over the size limit (64 KiB): closed with 1009.
  {
    WsClient big(server.url());
    big.login("big");
    big.try_send_frame(kText, true, offer_json("alice", std::string(100 * 1024, 'a')));
    g_assert_cmpint(big.expect_closed("the oversize message's close"), ==, 1009);
    call.still_relays("an oversize message");
  }

  // A flood: rate-limited, then cut off; the call never notices.
  {
    WsClient flooder(server.url());
    flooder.login("flooder");
    for (int i = 0; i < 3000; i++)
      if (!flooder.try_send_frame(kText, true, R"({"type":"presence"})"))
        break;
    flooder.expect_closed("the flooder's close", 10000);
    call.still_relays("a flood");
  }

  // An abrupt disconnect mid-call of someone else's: the peer hears leave.
  {
    WsClient carol(server.url()), dave(server.url());
    carol.login("carol");
    dave.login("dave");
    establish(carol, "dave", dave, "carol");
    carol.close_abruptly();
    expect_field(dave, "leave", "reason", "gone");
    call.still_relays("another call's abrupt end");
  }

  g_assert_cmpuint(call.checks, ==, 13); // every kind of abuse above was followed by a check
  g_assert_true(server.running());
  server.assert_log_clean();
  expect_logged_a_line_a_second(server, "refused a message:", start_us);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/abuse/running-call-undisturbed", test_abuse_leaves_a_running_call_alone);
  return g_test_run();
}
