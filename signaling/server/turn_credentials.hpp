// Short-lived TURN credentials, as the TURN REST API has them (and coturn
// checks them with --use-auth-secret): the username is "EXPIRY:NAME" with
// EXPIRY in Unix seconds, the password the base64 HMAC-SHA1 of the username
// keyed with the secret the TURN server shares with us. No client ever holds
// a lasting TURN password.
#pragma once

#include "protocol/messages.hpp"

#include <glib.h>

#include <string>
#include <vector>

namespace webrtccall::server {

struct TurnSettings {
  std::string secret;            // empty: no TURN credentials are issued
  std::vector<std::string> urls; // turn:host:port[?transport=tcp], turns:...
  unsigned ttl_seconds = 86400;
};

// The password for a REST API username.
std::string turn_password(const std::string &secret, const std::string &username);

// One RTCIceServer per URL, with credentials for `name` valid until
// now + ttl; none when TURN is not configured.
std::vector<protocol::IceServer> turn_ice_servers(const TurnSettings &settings,
                                                  const std::string &name, gint64 now_unix);

} // namespace webrtccall::server
