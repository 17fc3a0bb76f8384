// The WebSocket framing our server does itself (signaling/server/websocket*),
// over real sockets: every frame RFC 6455 forbids a client is refused with the
// close code the RFC gives, pings are answered, closes are answered, a client
// that reads nothing is dropped before its queue grows without bound, and
// other users' calls go on through all of it.
#include "server_process.hpp"
#include "ws_client.hpp"

#include <glib.h>

#include <string>

using namespace webrtccall::test;

namespace {

constexpr std::uint8_t kRsv2 = 0x20;

// An unmasked client frame, as no client may send.
std::string unmasked_text(const std::string &payload) {
  std::string frame;
  frame += char(0x80 | kText);
  frame += char(payload.size());
  return frame + payload;
}

std::string close_payload(int code, const std::string &reason = {}) {
  return std::string{char(code >> 8), char(code & 0xff)} + reason;
}

// A candidate of 60 KiB, under the server's 64 KiB limit.
std::string large_candidate(const std::string &to) {
  return R"({"type":"candidate","name":")" + to + R"(","candidate":{"candidate":")" +
         std::string(60 * 1024, 'c') + R"(","sdpMid":"0","sdpMLineIndex":0}})";
}

struct BadFrame {
  const char *what;
  int expected_code;
  void (*send)(WsClient &client);
};

const BadFrame kBadFrames[] = {
    {"an unmasked frame", 1002, [](WsClient &c) { c.send_raw(unmasked_text("{}")); }},
    {"a reserved bit", 1002, [](WsClient &c) { c.send_frame(kRsv2 | kText, true, "{}"); }},
    {"an unknown opcode", 1002, [](WsClient &c) { c.send_frame(0x3, true, "{}"); }},
    {"a ping over 125 bytes", 1002,
     [](WsClient &c) { c.send_frame(kPing, true, std::string(126, 'p')); }},
    {"a fragmented ping", 1002, [](WsClient &c) { c.send_frame(kPing, false, "p"); }},
    {"a continuation with nothing to continue", 1002,
     [](WsClient &c) { c.send_frame(kContinuation, true, "{}"); }},
    {"a new message inside a fragmented one", 1002,
     [](WsClient &c) {
       c.send_frame(kText, false, "{");
       c.send_frame(kText, true, "}");
     }},
    {"text that is not UTF-8", 1007, [](WsClient &c) { c.send_frame(kText, true, "{\"\xff\"}"); }},
    {"text not UTF-8 once its fragments are joined", 1007,
     [](WsClient &c) {
       c.send_frame(kText, false, "\"\xe2\x82");
       c.send_frame(kContinuation, true, "\"");
     }},
    {"a close frame with a one-byte code", 1002,
     [](WsClient &c) { c.send_frame(kClose, true, "x"); }},
    {"a close frame with code 1005", 1002,
     [](WsClient &c) { c.send_frame(kClose, true, close_payload(1005)); }},
    {"a close frame whose reason is not UTF-8", 1007,
     [](WsClient &c) { c.send_frame(kClose, true, close_payload(1000, "\xc3")); }},
};

// Each bad frame, from a logged-in client in the middle of a call: that
// client is closed with the RFC's code, its peer hears it leave, and other
// users go on.
void test_bad_frames_are_refused() {
  ServerProcess server = ServerProcess::ours();
  for (const BadFrame &bad : kBadFrames) {
    g_test_message("%s", bad.what);
    std::string suffix = std::to_string(g_random_int());
    WsClient sender(server.url()), peer(server.url());
    sender.login("sender-" + suffix);
    peer.login("peer-" + suffix);
    establish(sender, "peer-" + suffix, peer, "sender-" + suffix);
    bad.send(sender);
    g_assert_cmpint(sender.expect_closed(bad.what), ==, bad.expected_code);
    peer.expect_type("leave");
    assert_calls_still_work(server);
  }
}

// A split character is whole once its fragments are joined: not refused.
void test_character_split_across_fragments_is_fine() {
  ServerProcess server = ServerProcess::ours();
  WsClient client(server.url());
  std::string login = "{\"type\":\"login\",\"name\":\"caf\xc3\xa9\"}";
  std::size_t split = login.find('\xc3') + 1;
  client.send_frame(kText, false, login.substr(0, split));
  client.send_frame(kContinuation, true, login.substr(split));
  g_assert_true(client.expect_type("login").boolean("success"));
}

void test_ping_is_answered_with_its_data() {
  ServerProcess server = ServerProcess::ours();
  WsClient client(server.url());
  client.send_frame(kPing, true, "are you there");
  // receive() swallows pongs; read the frame under it.
  auto pong = client.receive_any(3000);
  g_assert_true(pong.has_value());
  g_assert_cmpint(pong->opcode, ==, kPong);
  g_assert_cmpstr(pong->payload.c_str(), ==, "are you there");
}

void test_close_is_answered() {
  ServerProcess server = ServerProcess::ours();
  {
    WsClient client(server.url());
    client.send_frame(kClose, true, close_payload(4001, "done"));
    g_assert_cmpint(client.expect_closed("the answer to 4001"), ==, 4001);
  }
  {
    WsClient client(server.url());
    client.send_frame(kClose, true, "");
    g_assert_cmpint(client.expect_closed("the answer to a close without a code"), ==, 1000);
  }
}

// A client that reads nothing while its peer sends: the server's queue for
// it would grow without bound. It is dropped past 1 MiB waiting, its peer
// hears it leave, and the server goes on.
void test_client_that_does_not_read_is_dropped() {
  ServerProcess server = ServerProcess::ours();
  WsClient sender(server.url()), sink(server.url());
  sink.set_receive_buffer(4096);
  sender.login("sender");
  sink.login("sink");
  establish(sender, "sink", sink, "sender");
  std::string candidate = large_candidate("sink");
  // 190 candidates of 60 KiB (11 MiB), inside the burst the rate limit
  // allows: more than the kernel's socket buffers take (the server's send
  // buffer grows to 4 MiB, tcp_wmem) before the server's own queue grows.
  for (int i = 0; i < 190; i++)
    sender.send_text(candidate);
  Json leave = sender.expect_type("leave", 5000);
  g_assert_cmpstr(leave.str("name"), ==, "sink");
  g_assert_true(server.log().find("does not read what it is sent") != std::string::npos);
  assert_calls_still_work(server);
}

// A client that sends a burst of large messages (more than the server reads
// in one turn, 256 KiB, though the kernel may hand them over in smaller
// turns) and closes without a close frame: every message is relayed, its end
// of stream is seen at once, not at the keepalive's timeout, and its peer
// hears it leave.
void test_end_of_stream_after_a_long_burst_is_seen() {
  ServerProcess server = ServerProcess::ours();
  WsClient sender(server.url()), peer(server.url());
  sender.login("sender");
  peer.login("peer");
  establish(sender, "peer", peer, "sender");
  std::string candidate = large_candidate("peer");
  for (int i = 0; i < 8; i++)
    sender.send_text(candidate);
  sender.close_abruptly();
  for (int relayed = 0;; relayed++) {
    Json message = peer.expect_json("the burst, then the sender's leave", 3000);
    if (std::string(message.str("type")) == "leave") {
      g_assert_cmpint(relayed, ==, 8);
      break;
    }
    g_assert_cmpstr(message.str("type"), ==, "candidate");
  }
  assert_calls_still_work(server);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/frames/bad-frames-refused", test_bad_frames_are_refused);
  g_test_add_func("/server/frames/character-split-across-fragments",
                  test_character_split_across_fragments_is_fine);
  g_test_add_func("/server/frames/ping-answered", test_ping_is_answered_with_its_data);
  g_test_add_func("/server/frames/close-answered", test_close_is_answered);
  g_test_add_func("/server/frames/client-that-does-not-read-dropped",
                  test_client_that_does_not_read_is_dropped);
  g_test_add_func("/server/frames/end-of-stream-after-a-long-burst",
                  test_end_of_stream_after_a_long_burst_is_seen);
  return g_test_run();
}
