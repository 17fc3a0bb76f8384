// The server's limits on clients, each a command-line option (docs/server.md).
// Defaults leave a real call undisturbed: a browser trickles dozens of
// candidates in a burst, and an offer with every codec is about 8 KiB.
#pragma once

#include "protocol/limits.hpp"

#include <cstddef>

namespace webrtccall::server {

struct Limits {
  std::size_t max_message_bytes = protocol::kDefaultMaxMessageBytes; // summed over fragments
  unsigned messages_per_second = 50; // sustained rate per connection
  unsigned message_burst = 200;      // messages a connection may send at once
  unsigned max_connections = 10000;  // TCP connections in all
  unsigned max_connections_per_address = 256;
  unsigned handshake_timeout_seconds = 10;  // to finish the WebSocket upgrade (or an HTTP request)
  unsigned keepalive_interval_seconds = 15; // between pings
  unsigned keepalive_timeout_seconds = 45;  // silence (no pong, no message) before a drop
};

} // namespace webrtccall::server
