#include "registry.hpp"

#include <algorithm>

namespace webrtccall::server {

bool Registry::log_in(ConnectionId connection, const std::string &name) {
  if (by_name_.count(name) || sessions_.count(connection))
    return false;
  by_name_.emplace(name, connection);
  Session session;
  session.name = name;
  sessions_.emplace(connection, std::move(session));
  return true;
}

void Registry::log_out(ConnectionId connection) {
  auto it = sessions_.find(connection);
  if (it == sessions_.end())
    return;
  unlink_remote(connection, it->second);
  by_name_.erase(it->second.name);
  sessions_.erase(it);
  presence_subscribers_.erase(connection);
}

void Registry::transfer(ConnectionId from, ConnectionId to) {
  auto it = sessions_.find(from);
  if (it == sessions_.end() || sessions_.count(to))
    return;
  Session moved = std::move(it->second);
  sessions_.erase(it);
  by_name_[moved.name] = to;
  if (moved.peer != 0)
    if (Session *peer = session(moved.peer); peer && peer->peer == from)
      peer->peer = to;
  if (!moved.remote.name.empty()) {
    auto &linked = by_remote_peer_[moved.remote.name];
    linked.erase(from);
    linked.insert(to);
  }
  sessions_.emplace(to, std::move(moved));
  if (presence_subscribers_.erase(from))
    presence_subscribers_.insert(to);
}

Session *Registry::session(ConnectionId connection) {
  auto it = sessions_.find(connection);
  return it == sessions_.end() ? nullptr : &it->second;
}

const Session *Registry::session(ConnectionId connection) const {
  auto it = sessions_.find(connection);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::optional<ConnectionId> Registry::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end())
    return std::nullopt;
  return it->second;
}

void Registry::start_call(ConnectionId caller, ConnectionId callee) {
  Session &a = sessions_.at(caller);
  Session &b = sessions_.at(callee);
  a.state = CallState::kCalling;
  a.peer = callee;
  b.state = CallState::kRinging;
  b.peer = caller;
}

void Registry::establish(ConnectionId a, ConnectionId b) {
  sessions_.at(a).state = CallState::kInCall;
  sessions_.at(b).state = CallState::kInCall;
}

void Registry::start_remote_call(ConnectionId connection, const RemoteUser &peer, CallState state) {
  Session &self = sessions_.at(connection);
  self.state = state;
  self.peer = 0;
  self.remote = peer;
  by_remote_peer_[peer.name].insert(connection);
}

void Registry::establish_remote(ConnectionId connection) {
  sessions_.at(connection).state = CallState::kInCall;
}

void Registry::unlink_remote(ConnectionId connection, Session &session) {
  if (session.remote.name.empty())
    return;
  auto linked = by_remote_peer_.find(session.remote.name);
  if (linked != by_remote_peer_.end()) {
    linked->second.erase(connection);
    if (linked->second.empty())
      by_remote_peer_.erase(linked);
  }
  session.remote = RemoteUser{};
}

std::optional<FormerPeer> Registry::end_call(ConnectionId connection) {
  Session *self = session(connection);
  if (!self || !self->in_call())
    return std::nullopt;
  if (self->peer == 0) {
    FormerPeer former{0, self->remote};
    unlink_remote(connection, *self);
    self->state = CallState::kIdle;
    return former;
  }
  ConnectionId peer = self->peer;
  self->peer = 0;
  self->state = CallState::kIdle;
  if (Session *other = session(peer); other && other->peer == connection) {
    other->peer = 0;
    other->state = CallState::kIdle;
  }
  return FormerPeer{peer, {}};
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> result;
  result.reserve(by_name_.size());
  for (const auto &[name, connection] : by_name_)
    result.push_back(name);
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<ConnectionId> Registry::connections() const {
  std::vector<ConnectionId> result;
  result.reserve(sessions_.size());
  for (const auto &[connection, session] : sessions_)
    result.push_back(connection);
  return result;
}

std::vector<std::pair<ConnectionId, ConnectionId>> Registry::links() const {
  std::vector<std::pair<ConnectionId, ConnectionId>> result;
  for (const auto &[connection, session] : sessions_)
    if (session.peer != 0)
      result.emplace_back(connection, session.peer);
  return result;
}

std::vector<std::pair<ConnectionId, RemoteUser>> Registry::remote_links() const {
  std::vector<std::pair<ConnectionId, RemoteUser>> result;
  for (const auto &[connection, session] : sessions_)
    if (!session.remote.name.empty())
      result.emplace_back(connection, session.remote);
  return result;
}

std::vector<ConnectionId> Registry::linked_to(const RemoteUser &peer) const {
  std::vector<ConnectionId> result;
  auto linked = by_remote_peer_.find(peer.name);
  if (linked == by_remote_peer_.end())
    return result;
  for (ConnectionId connection : linked->second)
    if (sessions_.at(connection).remote == peer)
      result.push_back(connection);
  return result;
}

std::vector<ConnectionId> Registry::linked_to_instance(const std::string &instance) const {
  std::vector<ConnectionId> result;
  for (const auto &[connection, session] : sessions_)
    if (!session.remote.name.empty() && session.remote.instance == instance)
      result.push_back(connection);
  return result;
}

} // namespace webrtccall::server
