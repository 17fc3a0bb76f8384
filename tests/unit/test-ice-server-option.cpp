// --ice-server values, as the server turns them into RTCIceServers.
#include "ice_server_option.hpp"

#include <glib.h>

using webrtccall::server::parse_ice_server_option;

namespace {

void test_stun_and_turn_parse() {
  std::string error;
  auto stun = parse_ice_server_option("stun:127.0.0.1:3478", error);
  g_assert_true(stun.has_value());
  g_assert_cmpstr(stun->urls.c_str(), ==, "stun:127.0.0.1:3478");
  g_assert_true(stun->username.empty());

  auto turn =
      parse_ice_server_option("turn:alice:s%3Acret%40x@127.0.0.1:3478?transport=tcp", error);
  g_assert_true(turn.has_value());
  g_assert_cmpstr(turn->urls.c_str(), ==, "turn:127.0.0.1:3478?transport=tcp");
  g_assert_cmpstr(turn->username.c_str(), ==, "alice");
  g_assert_cmpstr(turn->credential.c_str(), ==, "s:cret@x"); // percent-decoded
  g_assert_true(parse_ice_server_option("turns:u:p@[::1]:5349", error).has_value());
}

void test_bad_values_say_why() {
  struct {
    const char *value, *says;
  } cases[] = {
      {"http://example", "must start with stun:"},
      {"127.0.0.1:3478", "must start with stun:"},
      {"turn:127.0.0.1:3478", "needs turn:USER:PASSWORD@host"},
      {"turn:alice@127.0.0.1", "write turn:USER:PASSWORD@host"},
      {"stun:u:p@127.0.0.1", "takes no user name"},
      {"stun:", "has no host"},
  };
  for (const auto &c : cases) {
    std::string error;
    if (parse_ice_server_option(c.value, error))
      g_error("%s should be refused", c.value);
    if (error.find(c.says) == std::string::npos)
      g_error("%s: expected '%s' in '%s'", c.value, c.says, error.c_str());
  }
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/ice-server-option/stun-and-turn", test_stun_and_turn_parse);
  g_test_add_func("/ice-server-option/bad-values-say-why", test_bad_values_say_why);
  return g_test_run();
}
