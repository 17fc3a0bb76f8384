// Our server's limits, each pushed past its edge by a real client over
// loopback, while other users' calls go on undisturbed.
#include "flood_limits.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

#include <glib.h>

#include <cstring>
#include <memory>

using namespace webrtccall::test;

namespace {

bool log_contains(ServerProcess &server, const char *text) {
  return server.log().find(text) != std::string::npos;
}

void test_permessage_deflate_is_never_negotiated() {
  ServerProcess server = ServerProcess::ours();
  WsClient bomber(server.url(),
                  {{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"}});
  g_assert_cmpint(bomber.status(), ==, 101);
  g_assert_false(bomber.response_headers().count("sec-websocket-extensions"));
  // A compression bomb sent anyway (RSV1 set, 64 MiB of zeros in ~64 KiB):
  // the server refuses the frame instead of inflating it.
  std::string bomb = deflated_zeros(64 * 1024 * 1024);
  g_assert_cmpuint(bomb.size(), <, 70 * 1024);
  bomber.send_frame(kText, true, bomb, true);
  int code = bomber.expect_closed("the compression bomb refused");
  g_assert_cmpint(code, ==, 1002); // RSV1 refused before the rest of the frame is read
  assert_calls_still_work(server);
}

void test_oversize_message_closes_connection() {
  ServerProcess server = ServerProcess::ours();
  WsClient big(server.url());
  big.login("big");
  big.send_text(offer_json("nobody", std::string(100 * 1024, 'a')));
  int code = big.expect_closed("an oversize message refused");
  g_assert_cmpint(code, ==, 1009);
  assert_calls_still_work(server);
}

// 1 MiB in 1 KiB fragments: refused once 64 KiB have come, long before the
// final fragment (a limit on each frame alone, as libsoup 3.2 had, would
// buffer all of it).
void test_fragmented_message_is_capped() {
  ServerProcess server = ServerProcess::ours();
  WsClient client(server.url());
  client.login("fragments");
  std::string kib(1024, 'x');
  client.send_frame(kText, false, kib);
  std::size_t sent = 1024;
  // The server refuses mid-stream and drops the rest unread, until the
  // client closes; should it close first, sending stops.
  for (; sent < 1024 * 1024 - 1024; sent += 1024)
    if (!client.try_send_frame(kContinuation, false, kib))
      break;
  int code = client.expect_closed("the fragmented message refused");
  g_assert_cmpint(code, ==, 1009);
  g_assert_true(log_contains(server, "larger than 65536 bytes"));
  assert_calls_still_work(server);
}

void test_message_under_the_limit_is_relayed_intact() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  std::string sdp(60 * 1024, 's');
  // Sent in fragments: a fragmented message under the limit is fine too.
  std::string text = offer_json("bob", sdp);
  std::size_t half = text.size() / 2;
  alice.send_frame(kText, false, text.substr(0, half));
  alice.send_frame(kContinuation, true, text.substr(half));
  Json offer = bob.expect_type("offer");
  g_assert_cmpuint(std::strlen(json_object_get_string_member(offer.object("offer"), "sdp")), ==,
                   sdp.size());
}

void test_flood_is_cut_off_others_unaffected() {
  ServerProcess server = ServerProcess::ours(flood_limits());
  WsClient flooder(server.url());
  flooder.login("flooder");
  bool rate_limited = false;
  for (int i = 0; i < 5000; i++)
    if (!flooder.try_send_frame(kText, true, R"({"type":"presence"})"))
      break;
  for (;;) {
    auto frame = flooder.receive(5000);
    g_assert_true(frame.has_value());
    if (frame->opcode == kClose) {
      g_assert_cmpuint(frame->payload.size(), >=, 2);
      int code = (std::uint8_t(frame->payload[0]) << 8) | std::uint8_t(frame->payload[1]);
      g_assert_cmpint(code, ==, 1008);
      break;
    }
    if (frame->payload.find("\"rate-limited\"") != std::string::npos)
      rate_limited = true;
  }
  g_assert_true(rate_limited);
  assert_calls_still_work(server);
}

// A browser trickles dozens of candidates at once; the defaults pass them all.
void test_candidate_burst_is_not_limited() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url());
  alice.login("alice");
  bob.login("bob");
  alice.send_text(offer_json("bob"));
  bob.expect_type("offer");
  for (int i = 0; i < 150; i++)
    alice.send_text(candidate_json("bob", i % 3));
  for (int i = 0; i < 150; i++)
    bob.expect_type("candidate");
}

// Waits for the server to close a raw TCP connection; true if it did.
bool closed_by_server(GSocket *socket, int timeout_ms) {
  if (!g_socket_condition_timed_wait(socket, G_IO_IN, gint64(timeout_ms) * 1000, nullptr, nullptr))
    return false;
  char buffer[256];
  return g_socket_receive(socket, buffer, sizeof buffer, nullptr, nullptr) <= 0;
}

void test_idle_connection_without_upgrade_is_closed() {
  ServerProcess server = ServerProcess::ours({"--handshake-timeout", "1"});
  guint16 port = guint16(std::stoi(server.url().substr(server.url().rfind(':') + 1)));
  g_autoptr(GSocketClient) client = g_socket_client_new();
  gint64 start = g_get_monotonic_time();
  // One connection that never sends a byte, one stuck half-way through its request.
  g_autoptr(GSocketConnection) silent =
      g_socket_client_connect_to_host(client, "127.0.0.1", port, nullptr, nullptr);
  g_autoptr(GSocketConnection) slow =
      g_socket_client_connect_to_host(client, "127.0.0.1", port, nullptr, nullptr);
  g_assert_nonnull(silent);
  g_assert_nonnull(slow);
  GSocket *slow_socket = g_socket_connection_get_socket(slow);
  g_socket_send(slow_socket, "GET / HTTP/1.1\r\n", 16, nullptr, nullptr);
  g_assert_true(closed_by_server(g_socket_connection_get_socket(silent), 5000));
  g_assert_true(closed_by_server(slow_socket, 5000));
  g_assert_cmpint((g_get_monotonic_time() - start) / 1000, >=, 900);
  g_assert_true(log_contains(server, "no WebSocket upgrade within 1 s"));
  assert_calls_still_work(server);
}

void test_connections_per_address_are_capped() {
  ServerProcess server = ServerProcess::ours({"--max-connections-per-address", "3"});
  auto a = std::make_unique<WsClient>(server.url());
  WsClient b(server.url()), c(server.url());
  WsClient refused(server.url(), {}, true);
  g_assert_false(refused.ok());
  g_assert_true(log_contains(server, "--max-connections-per-address"));
  // A slot frees when a connection goes.
  a->close_cleanly();
  a.reset();
  gint64 deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
  for (;;) {
    WsClient retry(server.url(), {}, true);
    if (retry.ok()) {
      retry.login("after");
      break;
    }
    g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    g_usleep(50 * 1000);
  }
}

void test_total_connections_are_capped() {
  ServerProcess server = ServerProcess::ours({"--max-connections", "2"});
  WsClient a(server.url()), b(server.url());
  WsClient refused(server.url(), {}, true);
  g_assert_false(refused.ok());
  g_assert_true(log_contains(server, "--max-connections)"));
  a.login("a");
}

// A peer that stops answering pings is dropped and its name released; its
// call partner hears leave with reason "gone".
void test_silent_peer_is_dropped_by_keepalive() {
  ServerProcess server =
      ServerProcess::ours({"--keepalive-interval", "1", "--keepalive-timeout", "3"});
  WsClient zombie(server.url()), bob(server.url());
  zombie.login("zombie");
  bob.login("bob");
  zombie.send_text(offer_json("bob"));
  bob.expect_type("offer");
  bob.send_text(answer_json("zombie"));
  zombie.expect_type("answer");
  zombie.answer_pings = false;
  gint64 start = g_get_monotonic_time();
  // bob keeps answering pings while he waits.
  Json leave = bob.expect_type("leave", 8000);
  g_assert_cmpstr(leave.str("name"), ==, "zombie");
  g_assert_cmpstr(leave.str("reason"), ==, "gone");
  g_assert_cmpint((g_get_monotonic_time() - start) / 1000, >=, 2000);
  g_assert_cmpuint(bob.pings_seen, >, 0);
  WsClient again(server.url());
  again.login("zombie");
  // bob, who answered his pings, is still logged in.
  again.send_text(offer_json("bob"));
  bob.expect_type("offer");
}

void test_binary_message_is_refused() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url());
  alice.login("alice");
  alice.send_frame(kBinary, true, "\x01\x02\x03");
  Json error = alice.expect_type("error");
  g_assert_cmpstr(error.str("code"), ==, "bad-message");
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/limits/no-permessage-deflate",
                  test_permessage_deflate_is_never_negotiated);
  g_test_add_func("/server/limits/oversize-message", test_oversize_message_closes_connection);
  g_test_add_func("/server/limits/fragmented-message-capped", test_fragmented_message_is_capped);
  g_test_add_func("/server/limits/under-limit-relayed",
                  test_message_under_the_limit_is_relayed_intact);
  g_test_add_func("/server/limits/flood", test_flood_is_cut_off_others_unaffected);
  g_test_add_func("/server/limits/candidate-burst-passes", test_candidate_burst_is_not_limited);
  g_test_add_func("/server/limits/handshake-deadline",
                  test_idle_connection_without_upgrade_is_closed);
  g_test_add_func("/server/limits/connections-per-address",
                  test_connections_per_address_are_capped);
  g_test_add_func("/server/limits/total-connections", test_total_connections_are_capped);
  g_test_add_func("/server/limits/keepalive-drops-silent-peer",
                  test_silent_peer_is_dropped_by_keepalive);
  g_test_add_func("/server/limits/binary-refused", test_binary_message_is_refused);
  return g_test_run();
}
