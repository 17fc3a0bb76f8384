// --ice-server values: "stun:host:port", or "turn:USER:PASSWORD@host:port"
// (also turns:, and ?transport=tcp), as the ICE servers clients are given.
#pragma once

#include "protocol/messages.hpp"

#include <optional>
#include <string>

namespace webrtccall::server {

// The RTCIceServer for `value`, or nothing with `error` saying what is wrong.
// USER and PASSWORD may be percent-encoded (for ':' and '@' in them).
std::optional<protocol::IceServer> parse_ice_server_option(const std::string &value,
                                                           std::string &error);

} // namespace webrtccall::server
