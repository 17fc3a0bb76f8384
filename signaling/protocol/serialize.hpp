// Typed message -> compact JSON text (one WebSocket text frame).
#pragma once

#include "messages.hpp"

#include <string>

namespace webrtccall::protocol {

std::string serialize(const ClientMessage &message);
std::string serialize(const ServerMessage &message);

} // namespace webrtccall::protocol
