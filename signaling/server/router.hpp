// The protocol's decisions: given who sent what, which messages go where.
//
// No sockets and no JSON here: the server feeds typed messages in and the
// Outbox carries typed replies out, so every call-state rule is testable by
// feeding messages and reading what was sent (tests/unit/test-router.cpp).
#pragma once

#include "protocol/messages.hpp"
#include "protocol/parse.hpp"
#include "registry.hpp"
#include "turn_credentials.hpp"

#include <string>
#include <vector>

namespace webrtccall::server {

class Outbox {
public:
  virtual ~Outbox() = default;
  virtual void send(ConnectionId to, const protocol::ServerMessage &message) = 0;
  // Closes a connection whose session went to another one (a resume).
  virtual void close(ConnectionId connection, const std::string &why) = 0;
};

struct RouterOptions {
  bool presence = true;                         // answer {"type":"presence"} requests
  std::vector<protocol::IceServer> ice_servers; // given to every client at login
  std::string auth_secret;                      // non-empty: logins need a token (tokens.hpp)
  TurnSettings turn;                            // short-lived TURN credentials for each user
};

class Router {
public:
  Router(Outbox &outbox, RouterOptions options) : outbox_(outbox), options_(std::move(options)) {}

  // A message from a connection (the sender is the connection, never a field).
  void received(ConnectionId from, const protocol::ClientMessage &message);
  // A frame that did not parse: tell the sender why.
  void refused(ConnectionId from, const protocol::ParseError &error);
  // The connection is gone (closed, or dropped by a limit). Idempotent.
  void disconnected(ConnectionId connection);
  // The server is stopping: everyone in a call hears that the peer is gone.
  void shutdown();
  // Sends every user fresh TURN credentials (call it before they expire).
  void refresh_ice_servers();

  const Registry &registry() const { return registry_; }

  // Dispatch targets for std::visit; public only for it.
  void handle(ConnectionId from, const protocol::Login &message);
  void handle(ConnectionId from, const protocol::Offer &message);
  void handle(ConnectionId from, const protocol::Answer &message);
  void handle(ConnectionId from, const protocol::Candidate &message);
  void handle(ConnectionId from, const protocol::Leave &message);
  void handle(ConnectionId from, const protocol::Presence &message);

private:
  void send_error(ConnectionId to, protocol::ErrorCode code, std::string message,
                  const std::string &name = {});
  void refuse_login(ConnectionId to, protocol::ErrorCode code, const std::string &message);
  // --ice-server's, then TURN with credentials for `name`.
  std::vector<protocol::IceServer> ice_servers_for(const std::string &name) const;
  // Why `login` may not have its name by --auth-secret, or "" if it may.
  std::optional<std::pair<protocol::ErrorCode, std::string>>
  authentication_problem(const protocol::Login &login) const;
  // Gives the session holding `login`'s name to `from` if the resume token
  // matches; false if it does not.
  bool resume(ConnectionId from, ConnectionId holder, const protocol::Login &login);
  // Looks up the addressed user; replies with an error and returns 0 when
  // there is no such user.
  ConnectionId addressee(ConnectionId from, const std::string &name);
  void refuse_outside_call(ConnectionId from, std::string_view what, const std::string &name);
  void broadcast_presence(const protocol::Presence &change, ConnectionId except);

  Outbox &outbox_;
  RouterOptions options_;
  Registry registry_;
};

} // namespace webrtccall::server
