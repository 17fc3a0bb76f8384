#include "turn_credentials.hpp"

namespace webrtccall::server {

std::string turn_password(const std::string &secret, const std::string &username) {
  g_autoptr(GHmac) hmac =
      g_hmac_new(G_CHECKSUM_SHA1, reinterpret_cast<const guchar *>(secret.data()), secret.size());
  g_hmac_update(hmac, reinterpret_cast<const guchar *>(username.data()), gssize(username.size()));
  guint8 digest[20];
  gsize length = sizeof digest;
  g_hmac_get_digest(hmac, digest, &length);
  g_autofree char *base64 = g_base64_encode(digest, length);
  return base64;
}

std::vector<protocol::IceServer> turn_ice_servers(const TurnSettings &settings,
                                                  const std::string &name, gint64 now_unix) {
  std::vector<protocol::IceServer> servers;
  if (settings.secret.empty())
    return servers;
  std::string username = std::to_string(now_unix + settings.ttl_seconds) + ":" + name;
  std::string password = turn_password(settings.secret, username);
  for (const auto &url : settings.urls)
    servers.push_back({url, username, password});
  return servers;
}

} // namespace webrtccall::server
