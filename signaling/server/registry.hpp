// Who is logged in under which name, and who is in a call with whom.
//
// Pure bookkeeping with no I/O: the router asks and decides. Links are kept
// symmetric, so a user's peer always points back at the user.
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

struct Session {
  std::string name;
  CallState state = CallState::kIdle;
  ConnectionId peer = 0;    // 0 when idle
  std::string resume_token; // takes the session over from a dead connection
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
  // Unlinks a user from its peer; returns the peer it had, if any.
  std::optional<ConnectionId> end_call(ConnectionId connection);

  std::vector<std::string> names() const;        // sorted
  std::vector<ConnectionId> connections() const; // of every logged-in user
  // Every user linked to a peer, as (user, peer): each call appears twice.
  std::vector<std::pair<ConnectionId, ConnectionId>> links() const;

  // Presence is opt-in: users who never ask are never sent changes.
  void subscribe_presence(ConnectionId connection) { presence_subscribers_.insert(connection); }
  const std::set<ConnectionId> &presence_subscribers() const { return presence_subscribers_; }

  std::size_t size() const { return sessions_.size(); }

private:
  std::unordered_map<ConnectionId, Session> sessions_;
  std::unordered_map<std::string, ConnectionId> by_name_;
  std::set<ConnectionId> presence_subscribers_;
};

} // namespace webrtccall::server
