// The signaling server's ICE servers as the element gives them to webrtcbin:
// credentials percent-encoded, since GStreamer 1.22 unescapes them.
#include "ice_servers.hpp"

#include <glib.h>

using namespace webrtccall;
using protocol::IceServer;

namespace {

void test_stun_and_turn() {
  auto servers = to_webrtcbin({
      {"stun:127.0.0.1:3478", {}, {}},
      {"stun:10.0.0.1:3478", {}, {}}, // only the first STUN server is used
      {"turn:127.0.0.1:3478", "1700000000:alice", "TtElzSjT0GdnTQ9xdcRNxx96yQs="},
      {"turns:turn.example:5349?transport=tcp", "u", "p"},
  });
  g_assert_cmpstr(servers.stun.c_str(), ==, "stun://127.0.0.1:3478");
  g_assert_cmpuint(servers.turn.size(), ==, 2);
  // ':' in the REST API username, '+', '/' and '=' in its password.
  g_assert_cmpstr(servers.turn[0].c_str(), ==,
                  "turn://1700000000%3Aalice:TtElzSjT0GdnTQ9xdcRNxx96yQs%3D@127.0.0.1:3478");
  g_assert_cmpstr(servers.turn[1].c_str(), ==, "turns://u:p@turn.example:5349?transport=tcp");
}

void test_escapes_every_reserved_character() {
  auto servers = to_webrtcbin({{"turn:h:1", "a@b/c", "x+y/z=:@%"}});
  g_assert_cmpstr(servers.turn[0].c_str(), ==, "turn://a%40b%2Fc:x%2By%2Fz%3D%3A%40%25@h:1");
}

void test_turn_without_credentials_and_unknown_schemes_are_skipped() {
  auto servers = to_webrtcbin({{"turn:h:1", {}, {}}, {"http://x", {}, {}}});
  g_assert_true(servers.stun.empty());
  g_assert_true(servers.turn.empty());
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/webrtcbin-ice-servers/stun-and-turn", test_stun_and_turn);
  g_test_add_func("/webrtcbin-ice-servers/escapes-reserved", test_escapes_every_reserved_character);
  g_test_add_func("/webrtcbin-ice-servers/skips-unusable",
                  test_turn_without_credentials_and_unknown_schemes_are_skipped);
  return g_test_run();
}
