// Where users live. In one process (LocalDirectory, the default) every
// logged-in user is here; with --redis (ClusterDirectory) users are spread
// over instances that share one Redis. The Router asks its directory to claim
// and release names, to locate users on other instances and to carry messages
// to them; the directory tells the Router what happens elsewhere. The
// Router's rules are the same either way, and it never sees Redis.
#pragma once

#include "protocol/messages.hpp"
#include "registry.hpp"

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace webrtccall::server {

enum class ClaimResult {
  kClaimed,
  kTaken,       // another instance holds the name
  kUnavailable, // the directory cannot tell now (Redis is unreachable)
};

// What travels between instances: a message from a user on one instance to
// a user on another, in order per sender.
struct ClusterMessage {
  std::string from;          // the sender's name
  std::string from_instance; // where the sender lives, where replies go
  std::string to;            // the addressee's name, on the receiving instance
  // A client's offer, answer, candidate or leave as it sent it (`name` is
  // the addressee), or the addressee's instance refusing one (for the sender).
  std::variant<protocol::ClientMessage, protocol::Error> body;
};

// What the directory reports; all on the main thread.
class DirectoryListener {
public:
  virtual ~DirectoryListener() = default;
  // The answer to claim(), exactly once per claim, possibly from inside it.
  virtual void on_claim_result(const std::string &name, ClaimResult result) = 0;
  // The answer to lookup(): where `name` lives, if anywhere but here.
  virtual void on_lookup_result(const std::string &name,
                                const std::optional<std::string> &instance) = 0;
  virtual void on_cluster_message(const ClusterMessage &message) = 0;
  virtual void on_remote_joined(const RemoteUser &user) = 0;
  virtual void on_remote_left(const RemoteUser &user) = 0;
  // Another instance stopped: whoever was in a call with its users is not.
  virtual void on_instance_gone(const std::string &instance) = 0;
  // An instance taken for gone speaks again: it was only cut off or stalled,
  // and its users may still think they are in the calls ended here.
  virtual void on_instance_back(const std::string &instance) = 0;
  // Another instance now holds the name of a user here, which must go.
  virtual void on_name_lost(const std::string &name) = 0;
};

class Directory {
public:
  virtual ~Directory() = default;
  // Starts; `ready` once it can take claims (at once when alone).
  virtual void start(std::function<void()> ready) { ready(); }
  // Whether it can take claims now.
  virtual bool connected() const { return true; }
  // Finishes what is in flight (the releases of a shutdown), then `done`.
  virtual void stop(std::function<void()> done) { done(); }
  virtual void set_listener(DirectoryListener *listener) = 0;
  // This instance's id in the cluster; "" when alone.
  virtual const std::string &instance() const = 0;
  // Claims a name for a user here (the Router has checked the users here);
  // the answer comes through on_claim_result.
  virtual void claim(const std::string &name) = 0;
  // The user here who had the name is gone.
  virtual void release(const std::string &name) = 0;
  // The instance of a user logged in elsewhere, if any, as far as this
  // instance has heard.
  virtual std::optional<std::string> locate(const std::string &name) const = 0;
  // Asks the source of truth where a user that locate() does not know lives
  // (it may have logged in elsewhere a moment ago, its news still on the
  // way). False when there is nothing to ask; otherwise on_lookup_result
  // follows.
  virtual bool lookup(const std::string &) { return false; }
  virtual std::vector<std::string> remote_names() const = 0;
  // Sends to another instance; best effort (docs/server.md says what can be lost).
  virtual void send(const std::string &instance, const ClusterMessage &message) = 0;
};

// One process holds every user: every claim succeeds (the Router has
// already refused names taken here) and nobody lives elsewhere.
class LocalDirectory final : public Directory {
public:
  void set_listener(DirectoryListener *listener) override { listener_ = listener; }
  const std::string &instance() const override { return instance_; }
  void claim(const std::string &name) override {
    if (listener_)
      listener_->on_claim_result(name, ClaimResult::kClaimed);
  }
  void release(const std::string &) override {}
  std::optional<std::string> locate(const std::string &) const override { return std::nullopt; }
  std::vector<std::string> remote_names() const override { return {}; }
  void send(const std::string &, const ClusterMessage &) override {}

private:
  DirectoryListener *listener_ = nullptr;
  std::string instance_;
};

} // namespace webrtccall::server
