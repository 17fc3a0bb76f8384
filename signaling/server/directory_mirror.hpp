// One instance's picture of the users on the other instances, kept from the
// presence channel (joins, lefts, heartbeats) and from snapshots of the name
// claims in Redis. Pure bookkeeping, driven by the ClusterDirectory and
// tested alone (tests/unit/test-directory-mirror.cpp).
//
// The picture can be wrong for a while: news is lost while this instance is
// cut off from Redis (it takes a snapshot when it is back), and an instance
// that dies says nothing (it is silent: its users go when it has been silent
// for the timeout). Each heartbeat says how many users its instance has;
// when the picture disagrees twice in a row, the directory takes a snapshot.
#pragma once

#include "registry.hpp"

#include <glib.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace webrtccall::server {

class DirectoryMirror {
public:
  struct Change {
    bool joined; // else left
    RemoteUser user;
  };

  explicit DirectoryMirror(std::string self) : self_(std::move(self)) {}

  // News from the presence channel. Our own is ignored.
  std::vector<Change> joined(const RemoteUser &user, gint64 now_us);
  std::vector<Change> left(const RemoteUser &user, gint64 now_us);
  // A heartbeat; true when the instance's count disagreed with ours twice in
  // a row (a snapshot is due).
  bool alive(const std::string &instance, std::size_t users, gint64 now_us);

  // A snapshot of the claims: begin before asking Redis, finish with what it
  // said (name -> instance). News that arrives meanwhile is newer than the
  // snapshot and wins for the names it concerns. A user the snapshot lacks is
  // forgotten only if its instance has sent a heartbeat since this instance
  // last (re)connected: an instance claims its users' names again before its
  // first heartbeat on a new connection, so until then (Redis restarted,
  // everyone reconnecting) a missing name means nothing.
  void begin_snapshot();
  std::vector<Change> finish_snapshot(const std::map<std::string, std::string> &claims,
                                      gint64 now_us);
  void cancel_snapshot(); // Redis did not answer
  bool taking_snapshot() const { return snapshot_; }

  // Instances silent for longer than `timeout_us`: forgotten with their users.
  struct Gone {
    std::string instance;
    std::vector<Change> left;
  };
  std::vector<Gone> expire(gint64 now_us, gint64 timeout_us);
  // This instance was cut off: nobody's silence meanwhile counts, and nobody's
  // claims can be trusted to be in Redis until its next heartbeat.
  void forgive_silence(gint64 now_us);
  // Instances taken for gone that have spoken since (taken once).
  std::vector<std::string> take_returned() { return std::exchange(returned_, {}); }

  std::optional<std::string> locate(const std::string &name) const;
  std::vector<std::string> names() const;
  std::size_t size() const { return users_.size(); }

private:
  struct Instance {
    gint64 last_heard_us = 0;
    std::set<std::string> users;
    unsigned disagreements = 0;   // heartbeats in a row whose count was not ours
    bool claims_in_redis = false; // a heartbeat since this instance (re)connected
  };

  Instance &heard(const std::string &instance, gint64 now_us);
  void forget_user(const std::string &name, std::vector<Change> &changes);

  std::string self_;
  std::unordered_map<std::string, std::string> users_; // name -> instance
  std::unordered_map<std::string, Instance> instances_;
  bool snapshot_ = false;
  std::set<std::string> touched_;     // names with news since the snapshot began
  std::set<std::string> authorities_; // instances whose claims the snapshot can tell
  std::set<std::string> gone_;        // taken for gone (expired)
  std::vector<std::string> returned_; // of those, the ones heard again
};

} // namespace webrtccall::server
