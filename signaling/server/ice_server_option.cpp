#include "ice_server_option.hpp"

#include <glib.h>

namespace webrtccall::server {

namespace {

std::string unescape(const std::string &text) {
  g_autofree char *plain = g_uri_unescape_string(text.c_str(), nullptr);
  return plain ? plain : "";
}

} // namespace

std::optional<protocol::IceServer> parse_ice_server_option(const std::string &value,
                                                           std::string &error) {
  std::size_t colon = value.find(':');
  std::string scheme = colon == std::string::npos ? "" : value.substr(0, colon);
  if (scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns") {
    error = "\"" + value + "\" must start with stun:, stuns:, turn: or turns:";
    return std::nullopt;
  }
  std::string rest = value.substr(colon + 1);
  protocol::IceServer server;
  std::size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    if (scheme == "stun" || scheme == "stuns") {
      error = "\"" + value + "\": a STUN server takes no user name";
      return std::nullopt;
    }
    std::string credentials = rest.substr(0, at);
    std::size_t separator = credentials.find(':');
    if (separator == std::string::npos) {
      error = "\"" + value + "\": write turn:USER:PASSWORD@host:port";
      return std::nullopt;
    }
    server.username = unescape(credentials.substr(0, separator));
    server.credential = unescape(credentials.substr(separator + 1));
    rest = rest.substr(at + 1);
  } else if (scheme == "turn" || scheme == "turns") {
    error = "\"" + value + "\": a TURN server needs turn:USER:PASSWORD@host:port";
    return std::nullopt;
  }
  if (rest.empty() || rest[0] == ':' || rest.find_first_of(" \t\r\n") != std::string::npos) {
    error = "\"" + value + "\" has no host";
    return std::nullopt;
  }
  server.urls = scheme + ":" + rest;
  return server;
}

} // namespace webrtccall::server
