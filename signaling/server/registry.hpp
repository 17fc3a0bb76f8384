// Who is logged in under which name, and who is in a call with whom.
//
// Pure bookkeeping with no I/O: the router asks and decides. Links between
// users here are kept symmetric, so a user's peer always points back at the
// user. A peer on another instance (--redis) is known by name and instance;
// its side of the call is kept there.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace webrtccall::server {

// Connections are numbered from 1; 0 means none.
using ConnectionId = std::uint64_t;

enum class CallState {
  kIdle,
  kCalling, // sent an offer, no answer yet
  kRinging, // received an offer, has not answered
  kInCall,  // offer answered: the pair is established
};

// A user logged in on another instance of the cluster.
struct RemoteUser {
  std::string name;
  std::string instance;

  bool operator==(const RemoteUser &other) const {
    return name == other.name && instance == other.instance;
  }
};

struct Session {
  std::string name;
  CallState state = CallState::kIdle;
  ConnectionId peer = 0;    // a peer here; 0 when idle or the peer is remote
  RemoteUser remote;        // a peer on another instance; empty name when none
  std::string resume_token; // takes the session over from a dead connection

  bool in_call() const { return peer != 0 || !remote.name.empty(); }
};

// The other party of an ended call: here, or on another instance.
struct FormerPeer {
  ConnectionId connection = 0; // 0: remote
  RemoteUser remote;
};

class Registry {
public:
  // Binds `name` to `connection`; false if the name is taken.
  bool log_in(ConnectionId connection, const std::string &name);
  // Forgets the connection's name and session (its call must be ended first).
  void log_out(ConnectionId connection);
  // Moves the session of `from` (name, call, presence) to `to`, which has
  // none; `from` is left with nothing.
  void transfer(ConnectionId from, ConnectionId to);

  Session *session(ConnectionId connection);
  const Session *session(ConnectionId connection) const;
  std::optional<ConnectionId> find(std::string_view name) const;

  // Links caller and callee: caller kCalling, callee kRinging.
  void start_call(ConnectionId caller, ConnectionId callee);
  // The pair answered: both kInCall.
  void establish(ConnectionId a, ConnectionId b);
  // Links a user here to a peer elsewhere, in `state` (kCalling or kRinging).
  void start_remote_call(ConnectionId connection, const RemoteUser &peer, CallState state);
  // This side of a call with a remote peer is answered: kInCall.
  void establish_remote(ConnectionId connection);
  // Unlinks a user from its peer; returns the peer it had, if any.
  std::optional<FormerPeer> end_call(ConnectionId connection);

  std::vector<std::string> names() const;        // sorted
  std::vector<ConnectionId> connections() const; // of every logged-in user
  // Every user linked to a peer here, as (user, peer): each call appears twice.
  std::vector<std::pair<ConnectionId, ConnectionId>> links() const;
  // Every user linked to a peer on another instance.
  std::vector<std::pair<ConnectionId, RemoteUser>> remote_links() const;
  // The users here in a call with `peer`, or with anyone on `instance`.
  std::vector<ConnectionId> linked_to(const RemoteUser &peer) const;
  std::vector<ConnectionId> linked_to_instance(const std::string &instance) const;

  // Presence is opt-in: users who never ask are never sent changes.
  void subscribe_presence(ConnectionId connection) { presence_subscribers_.insert(connection); }
  const std::set<ConnectionId> &presence_subscribers() const { return presence_subscribers_; }

  std::size_t size() const { return sessions_.size(); }

private:
  std::unordered_map<ConnectionId, Session> sessions_;
  std::unordered_map<std::string, ConnectionId> by_name_;
  // Remote peer's name -> the users here linked to it: normally one, but the
  // sides of a call may briefly disagree while messages cross.
  std::unordered_map<std::string, std::set<ConnectionId>> by_remote_peer_;
  std::set<ConnectionId> presence_subscribers_;

  void unlink_remote(ConnectionId connection, Session &session);
};

} // namespace webrtccall::server
