#include "ice_servers.hpp"

#include <glib.h>

namespace webrtccall {

namespace {

std::string escaped(const std::string &text) {
  // Nothing left reserved: every ':', '@', '/', '+' and '=' is escaped.
  g_autofree char *escaped = g_uri_escape_string(text.c_str(), nullptr, FALSE);
  return escaped;
}

} // namespace

WebrtcbinIceServers to_webrtcbin(const std::vector<protocol::IceServer> &servers) {
  WebrtcbinIceServers result;
  for (const auto &server : servers) {
    const std::string &url = server.urls;
    if (g_str_has_prefix(url.c_str(), "stun:")) {
      if (result.stun.empty())
        result.stun = "stun://" + url.substr(5);
    } else if (g_str_has_prefix(url.c_str(), "turn:") || g_str_has_prefix(url.c_str(), "turns:")) {
      std::size_t colon = url.find(':');
      std::string scheme = url.substr(0, colon), rest = url.substr(colon + 1);
      // webrtcbin needs credentials for TURN; an entry without any is of no use to it.
      if (server.username.empty())
        continue;
      result.turn.push_back(scheme + "://" + escaped(server.username) + ":" +
                            escaped(server.credential) + "@" + rest);
    }
  }
  return result;
}

} // namespace webrtccall
