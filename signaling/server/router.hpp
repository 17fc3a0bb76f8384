// The protocol's decisions: given who sent what, which messages go where.
//
// No sockets and no JSON here: the server feeds typed messages in and the
// Outbox carries typed replies out, so every call-state rule is testable by
// feeding messages and reading what was sent (tests/unit/test-router.cpp).
//
// Users on other instances (--redis) are reached through the Directory. Each
// instance keeps the call state of its own users: a message for a user
// elsewhere is checked against the sender's state here, then against the
// addressee's there, by that instance's Router with the same rules; what the
// addressee's side refuses comes back as a refusal for the sender
// (tests/unit/test-router-cluster.cpp).
#pragma once

#include "client_log.hpp"
#include "directory.hpp"
#include "protocol/messages.hpp"
#include "protocol/parse.hpp"
#include "registry.hpp"
#include "turn_credentials.hpp"

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
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

class Router final : private DirectoryListener {
public:
  // Without a directory, every user is here (LocalDirectory).
  Router(Outbox &outbox, RouterOptions options, Directory *directory = nullptr);
  ~Router() override;
  Router(const Router &) = delete;
  Router &operator=(const Router &) = delete;

  // A message from a connection (the sender is the connection, never a field).
  void received(ConnectionId from, const protocol::ClientMessage &message);
  // A frame that did not parse: tell the sender why.
  void refused(ConnectionId from, const protocol::ParseError &error);
  // The connection is gone (closed, or dropped by a limit). Idempotent.
  void disconnected(ConnectionId connection);
  // The server is stopping: everyone in a call hears that the peer is gone,
  // here and on other instances.
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
  // Who a message is for: a user here, or one on another instance.
  struct Target {
    ConnectionId connection = 0;
    std::string instance; // non-empty: elsewhere
    bool found() const { return connection != 0 || !instance.empty(); }
  };
  // A login waiting for the directory's answer, with what its connection
  // sent meanwhile (handled in order once the answer comes).
  struct PendingLogin {
    protocol::Login login;
    std::deque<protocol::ClientMessage> queued;
    bool gone = false; // the connection closed meanwhile
  };

  // DirectoryListener
  void on_claim_result(const std::string &name, ClaimResult result) override;
  void on_lookup_result(const std::string &name,
                        const std::optional<std::string> &instance) override;
  void on_cluster_message(const ClusterMessage &message) override;
  void on_remote_joined(const RemoteUser &user) override;
  void on_remote_left(const RemoteUser &user) override;
  void on_instance_gone(const std::string &instance) override;
  void on_instance_back(const std::string &instance) override;
  void on_name_lost(const std::string &name) override;

  void complete_login(ConnectionId from, const protocol::Login &login);
  // An offer to a user nobody here has heard of, while the directory can
  // ask: hold the sender's messages until it has (true).
  bool held_for_lookup(ConnectionId from, const protocol::ClientMessage &message);
  // A client message from a user on another instance to `self`, one of ours.
  void received_remote(const ClusterMessage &envelope, const protocol::ClientMessage &message);
  // Our user's message to `to` was refused on `to`'s instance.
  void refusal_received(const ClusterMessage &envelope, const protocol::Error &error);
  void refuse_remote(const ClusterMessage &envelope, protocol::ErrorCode code,
                     const std::string &message);
  // Sends `relayed` to a user here, or `as_sent` (what `sender` wrote to
  // `to_name`) to the user's instance.
  void forward(const std::string &sender, const Target &to, const std::string &to_name,
               const protocol::ClientMessage &as_sent, const protocol::ServerMessage &relayed);
  // Ends the calls of users here with a peer that is gone, telling them.
  void end_calls_with_gone_peer(const std::vector<ConnectionId> &users);
  bool linked(const Session &session, const Target &target, const std::string &name) const;
  std::string peer_name(const Session &session) const;

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
  // Looks up the addressed user, here or elsewhere; replies with an error
  // and returns a target not found when there is no such user.
  Target addressee(ConnectionId from, const std::string &name);
  void refuse_outside_call(ConnectionId from, std::string_view what, const std::string &name);
  void broadcast_presence(const protocol::Presence &change, ConnectionId except);

  Outbox &outbox_;
  RouterOptions options_;
  std::unique_ptr<Directory> own_directory_; // the LocalDirectory when none was given
  Directory &directory_;
  Registry registry_;
  std::unordered_map<ConnectionId, PendingLogin> pending_logins_;
  std::unordered_map<std::string, ConnectionId> pending_names_; // claims in flight
  // Connections whose messages wait for a lookup, and who waits on each name.
  std::unordered_map<ConnectionId, std::deque<protocol::ClientMessage>> held_;
  std::unordered_map<std::string, std::vector<ConnectionId>> lookups_;
  std::unordered_map<std::string, std::string> found_; // answers, while their offers replay
  bool replaying_ = false;
  // Calls ended here because the peer's instance was taken for gone, by that
  // instance: should it come back (it was only cut off), its side is told.
  struct EndedCall {
    std::string user; // here
    std::string peer; // there
    gint64 ended_us;
  };
  std::unordered_map<std::string, std::vector<EndedCall>> ended_with_gone_;
  ClientLog client_log_; // why clients' messages were refused: a line a second per kind
};

} // namespace webrtccall::server
