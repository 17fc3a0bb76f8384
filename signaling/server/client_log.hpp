// The server's log lines that a client can cause at will, each kind at most
// once a second.
//
// A refused connection costs a script one connect() and the server one log
// line; a refused frame, one connection; a refused message, one message. At
// thousands a second (server-abuse opens 2,000 connections from one address)
// such lines would fill the log and the disk under it, and bury everything
// else. So each kind has its own LogThrottle: a flood of one kind hides no
// other, and the next line written of a kind says how many were left out.
#pragma once

#include "log_throttle.hpp"

#include <glib.h>

#include <array>
#include <cstddef>

namespace webrtccall::server {

enum class ClientLine {
  kConnectionOverCap,    // a connection refused by --max-connections(-per-address)
  kHandshakeMissing,     // no WebSocket upgrade within --handshake-timeout
  kHandshakeRefused,     // a bad upgrade request, or an origin not in --allowed-origin
  kTlsFailed,            // a TLS handshake that failed
  kConnectionProblem,    // a frame or message refused, a reset, a client that reads nothing
  kKeepaliveExpired,     // no pong within --keepalive-timeout
  kOverRate,             // over --max-message-rate (each connection says so once a second)
  kFlood,                // a connection closed for flooding
  kBinaryMessage,        // a connection's first binary message
  kMessageRefused,       // a message that does not parse
  kLoginRefused,         // a login refused (name, token, resume)
  kUnknownUser,          // a message to a user not logged in
  kOutsideCall,          // an answer, candidate or leave outside a call
  kDroppedBeforeLogin,   // a message dropped while the login waits for the directory
  kRefusedOnOtherServer, // a message from a user on another instance, refused here
  kCount,
};

class ClientLog {
public:
  // g_message(format, ...), unless a line of `kind` was written less than a
  // second ago; the line written ends by saying how many of its kind were
  // left out since the last. Formatted only when written.
  void message(ClientLine kind, const char *format, ...) G_GNUC_PRINTF(3, 4);

private:
  std::array<LogThrottle, std::size_t(ClientLine::kCount)> throttles_;
};

} // namespace webrtccall::server
