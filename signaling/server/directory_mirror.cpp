#include "directory_mirror.hpp"

namespace webrtccall::server {

namespace {
// Instances taken for gone that are remembered in case they come back. Each
// restart of an instance is a new id, so the ones that never come back add up.
constexpr std::size_t kMaxGone = 10000;
} // namespace

DirectoryMirror::Instance &DirectoryMirror::heard(const std::string &instance, gint64 now_us) {
  if (gone_.erase(instance))
    returned_.push_back(instance);
  Instance &entry = instances_[instance];
  entry.last_heard_us = now_us;
  return entry;
}

void DirectoryMirror::forget_user(const std::string &name, std::vector<Change> &changes) {
  auto user = users_.find(name);
  if (user == users_.end())
    return;
  if (auto instance = instances_.find(user->second); instance != instances_.end())
    instance->second.users.erase(name);
  changes.push_back(Change{false, RemoteUser{name, user->second}});
  users_.erase(user);
}

std::vector<DirectoryMirror::Change> DirectoryMirror::joined(const RemoteUser &user,
                                                             gint64 now_us) {
  std::vector<Change> changes;
  if (user.instance == self_)
    return changes;
  if (snapshot_)
    touched_.insert(user.name);
  auto known = users_.find(user.name);
  if (known != users_.end() && known->second == user.instance) {
    heard(user.instance, now_us); // the same news again (a re-claim after an outage)
    return changes;
  }
  // Known elsewhere: the user moved, and the news of its logout there is late
  // or lost. Its calls through the old instance are over.
  forget_user(user.name, changes);
  users_[user.name] = user.instance;
  heard(user.instance, now_us).users.insert(user.name);
  changes.push_back(Change{true, user});
  return changes;
}

std::vector<DirectoryMirror::Change> DirectoryMirror::left(const RemoteUser &user, gint64 now_us) {
  std::vector<Change> changes;
  if (user.instance == self_)
    return changes;
  if (snapshot_)
    touched_.insert(user.name);
  heard(user.instance, now_us);
  auto known = users_.find(user.name);
  if (known != users_.end() && known->second == user.instance)
    forget_user(user.name, changes);
  return changes;
}

bool DirectoryMirror::alive(const std::string &instance, std::size_t users, gint64 now_us) {
  if (instance == self_)
    return false;
  Instance &entry = heard(instance, now_us);
  entry.claims_in_redis = true;
  if (entry.users.size() == users) {
    entry.disagreements = 0;
    return false;
  }
  // Once may be news crossing the heartbeat; twice is a picture gone wrong.
  return ++entry.disagreements >= 2;
}

void DirectoryMirror::begin_snapshot() {
  snapshot_ = true;
  touched_.clear();
  authorities_.clear();
  for (const auto &[id, instance] : instances_)
    if (instance.claims_in_redis)
      authorities_.insert(id);
}

void DirectoryMirror::cancel_snapshot() {
  snapshot_ = false;
  touched_.clear();
  authorities_.clear();
}

std::vector<DirectoryMirror::Change>
DirectoryMirror::finish_snapshot(const std::map<std::string, std::string> &claims, gint64 now_us) {
  std::vector<Change> changes;
  std::vector<std::string> stale;
  for (const auto &[name, instance] : users_) {
    if (touched_.count(name) || !authorities_.count(instance))
      continue;
    auto claim = claims.find(name);
    if (claim == claims.end() || claim->second != instance)
      stale.push_back(name);
  }
  for (const auto &name : stale)
    forget_user(name, changes);
  for (const auto &[name, instance] : claims) {
    if (instance == self_ || touched_.count(name) || users_.count(name))
      continue;
    users_[name] = instance;
    Instance &entry = instances_[instance];
    if (entry.last_heard_us == 0)
      entry.last_heard_us = now_us; // known from the snapshot only: give it time to speak
    entry.users.insert(name);
    changes.push_back(Change{true, RemoteUser{name, instance}});
  }
  for (auto &[id, instance] : instances_)
    instance.disagreements = 0;
  snapshot_ = false;
  touched_.clear();
  authorities_.clear();
  return changes;
}

std::vector<DirectoryMirror::Gone> DirectoryMirror::expire(gint64 now_us, gint64 timeout_us) {
  std::vector<Gone> gone;
  for (auto instance = instances_.begin(); instance != instances_.end();) {
    if (now_us - instance->second.last_heard_us <= timeout_us) {
      ++instance;
      continue;
    }
    Gone entry{instance->first, {}};
    for (const auto &name : instance->second.users) {
      users_.erase(name);
      entry.left.push_back(Change{false, RemoteUser{name, instance->first}});
    }
    if (gone_.size() >= kMaxGone)
      gone_.clear(); // instances that never came back, long ago: forget them
    gone_.insert(instance->first);
    gone.push_back(std::move(entry));
    instance = instances_.erase(instance);
  }
  return gone;
}

void DirectoryMirror::forgive_silence(gint64 now_us) {
  for (auto &[id, instance] : instances_) {
    instance.last_heard_us = now_us;
    instance.claims_in_redis = false;
  }
}

std::optional<std::string> DirectoryMirror::locate(const std::string &name) const {
  auto user = users_.find(name);
  if (user == users_.end())
    return std::nullopt;
  return user->second;
}

std::vector<std::string> DirectoryMirror::names() const {
  std::vector<std::string> names;
  names.reserve(users_.size());
  for (const auto &[name, instance] : users_)
    names.push_back(name);
  return names;
}

} // namespace webrtccall::server
