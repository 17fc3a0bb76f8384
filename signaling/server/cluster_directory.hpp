// Where users live when several instances share one Redis (--redis).
//
// - Names: a user's name is the key webrtccall:user:NAME, whose value is the
//   instance holding it, set with a time to live (6 s) that this instance
//   renews every 2 s while the user is here (cluster_scripts.hpp). A name is
//   free when its key is gone: released at logout, or expired when its
//   instance died.
// - Messages for a user elsewhere go to that instance's channel,
//   webrtccall:instance:ID, which only it subscribes to; one publishing
//   connection per instance keeps each sender's messages in order.
// - Presence: joins and lefts go to webrtccall:presence, with a heartbeat from
//   every instance each second. Each instance keeps a mirror of the others'
//   users (directory_mirror.hpp); an instance silent for 5 s is gone, and so
//   are its users: whoever was in a call with them gets leave (gone).
// - Redis unreachable: logins are refused ("unavailable"), messages for other
//   instances wait (up to 10000), releases wait. Back, this instance
//   releases, re-claims and re-announces its users' names (a name another
//   instance claimed meanwhile: that user here is closed), sends what
//   waited, and takes a fresh snapshot of the others.
//
// docs/server.md tells the whole design; docs/architecture.md where it sits.
#pragma once

#include "common/gobject_ptr.hpp"
#include "directory.hpp"
#include "directory_mirror.hpp"
#include "redis_link.hpp"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace webrtccall::server {

struct ClusterOptions {
  RedisAddress address;
  std::string instance; // empty: a random one
  guint claim_ttl_ms = 6000;
  guint renew_interval_ms = 2000;
  guint heartbeat_interval_ms = 1000;
  guint instance_timeout_ms = 5000; // an instance silent this long is gone
  std::size_t max_queued = 10000;   // messages held while Redis is unreachable
  RedisLinkOptions link;
};

class ClusterDirectory final : public Directory, private RedisLinkListener {
public:
  explicit ClusterDirectory(ClusterOptions options);
  ~ClusterDirectory() override;

  // Directory
  void start(std::function<void()> ready) override;
  bool connected() const override { return link_.up(); }
  void stop(std::function<void()> done) override;
  void set_listener(DirectoryListener *listener) override { listener_ = listener; }
  const std::string &instance() const override { return instance_; }
  void claim(const std::string &name) override;
  void release(const std::string &name) override;
  std::optional<std::string> locate(const std::string &name) const override;
  bool lookup(const std::string &name) override;
  std::vector<std::string> remote_names() const override;
  void send(const std::string &instance, const ClusterMessage &message) override;

private:
  using Claimed = std::function<void(const std::vector<std::string> &held,
                                     const std::vector<std::string> &lost, bool answered)>;

  // RedisLinkListener
  void on_link_up() override;
  void on_link_down(const std::string &why) override;
  void on_message(std::string_view channel, std::string_view payload) override;

  // Runs the claim script for `names` (in batches); `done` per batch.
  void claim_names(const std::vector<std::string> &names, bool announce, Claimed done);
  void send_release(const std::string &name);
  void renew();
  void heartbeat();
  void take_snapshot();
  void scan(const std::string &cursor, std::shared_ptr<std::map<std::string, std::string>> claims,
            unsigned generation);
  void publish(const std::string &channel, std::string payload);
  void apply(const std::vector<DirectoryMirror::Change> &changes);
  void names_lost(const std::vector<std::string> &names);
  void presence_event(std::string_view payload);
  std::string user_key(const std::string &name) const;
  GSourcePtr every(guint interval_ms, void (ClusterDirectory::*tick)());

  ClusterOptions options_;
  std::string instance_;
  std::string channel_;          // ours: messages for our users
  std::string presence_channel_; // everyone's
  RedisLink link_;
  DirectoryMirror mirror_;
  DirectoryListener *listener_ = nullptr;
  std::set<std::string> claimed_;                          // names of the users here, held in Redis
  std::set<std::string> releases_due_;                     // released while Redis was unreachable
  std::deque<std::pair<std::string, std::string>> queued_; // (channel, payload) held meanwhile
  bool queue_full_reported_ = false;
  unsigned renewing_ = 0;        // renewal batches in flight
  gint64 own_heartbeat_us_ = 0;  // when our own heartbeat last came back
  gint64 last_tick_us_ = 0;      // the heartbeat timer's last run
  unsigned link_generation_ = 0; // a snapshot belongs to one connection
  GSourcePtr renew_timer_;
  GSourcePtr heartbeat_timer_;
  std::function<void()> ready_;
  std::function<void()> stop_done_;
  GSourcePtr stop_poll_;
  gint64 stop_deadline_us_ = 0;
};

} // namespace webrtccall::server
