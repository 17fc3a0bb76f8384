#include "cluster_directory.hpp"

#include "cluster_scripts.hpp"
#include "cluster_wire.hpp"
#include "tokens.hpp"

namespace webrtccall::server {

namespace {

const std::string kUserPrefix = "webrtccall:user:";
const std::string kInstancePrefix = "webrtccall:instance:";
const std::string kPresenceChannel = "webrtccall:presence";

// Names per EVAL: a renewal of many users is several short scripts rather
// than one that holds Redis for long.
constexpr std::size_t kClaimBatch = 256;
// Keys per SCAN step and MGET of a snapshot.
constexpr const char *kScanCount = "1000";
// How long stop() waits for the releases of a shutdown.
constexpr gint64 kStopWaitUs = G_USEC_PER_SEC;

} // namespace

ClusterDirectory::ClusterDirectory(ClusterOptions options)
    : options_(std::move(options)),
      instance_(options_.instance.empty() ? random_token().substr(0, 12) : options_.instance),
      channel_(kInstancePrefix + instance_), presence_channel_(kPresenceChannel),
      link_(options_.address, {channel_, presence_channel_}, options_.link, *this),
      mirror_(instance_) {}

ClusterDirectory::~ClusterDirectory() = default;

void ClusterDirectory::start(std::function<void()> ready) {
  ready_ = std::move(ready);
  g_info("instance %s: connecting to Redis at %s", instance_.c_str(),
         options_.address.text().c_str());
  renew_timer_ = every(options_.renew_interval_ms, &ClusterDirectory::renew);
  heartbeat_timer_ = every(options_.heartbeat_interval_ms, &ClusterDirectory::heartbeat);
  link_.start();
}

GSourcePtr ClusterDirectory::every(guint interval_ms, void (ClusterDirectory::*tick)()) {
  struct Tick {
    ClusterDirectory *self;
    void (ClusterDirectory::*tick)();
  };
  GSourcePtr source(g_timeout_source_new(interval_ms));
  g_source_set_callback(
      source.get(),
      +[](gpointer data) -> gboolean {
        auto *tick = static_cast<Tick *>(data);
        (tick->self->*tick->tick)();
        return G_SOURCE_CONTINUE;
      },
      new Tick{this, tick}, +[](gpointer data) { delete static_cast<Tick *>(data); });
  g_source_attach(source.get(), g_main_context_get_thread_default());
  return source;
}

std::string ClusterDirectory::user_key(const std::string &name) const {
  return kUserPrefix + name;
}

// --- names

void ClusterDirectory::claim(const std::string &name) {
  if (!link_.up()) {
    if (listener_)
      listener_->on_claim_result(name, ClaimResult::kUnavailable);
    return;
  }
  claim_names({name}, false,
              [this, name](const std::vector<std::string> &held, const std::vector<std::string> &,
                           bool answered) {
                ClaimResult result = ClaimResult::kUnavailable;
                if (!answered)
                  releases_due_.insert(name); // it may have been set before the link failed
                else if (!held.empty())
                  result = ClaimResult::kClaimed;
                else
                  result = ClaimResult::kTaken;
                if (result == ClaimResult::kClaimed)
                  claimed_.insert(name);
                if (listener_)
                  listener_->on_claim_result(name, result);
              });
}

void ClusterDirectory::claim_names(const std::vector<std::string> &names, bool announce,
                                   Claimed done) {
  for (std::size_t start = 0; start < names.size(); start += kClaimBatch) {
    std::vector<std::string> batch(names.begin() + std::ptrdiff_t(start),
                                   names.begin() +
                                       std::ptrdiff_t(std::min(names.size(), start + kClaimBatch)));
    std::vector<std::string> args{"EVAL", scripts::kClaim, std::to_string(batch.size())};
    for (const auto &name : batch)
      args.push_back(user_key(name));
    args.insert(args.end(), {instance_, std::to_string(options_.claim_ttl_ms), presence_channel_,
                             announce ? "1" : "0"});
    args.insert(args.end(), batch.begin(), batch.end());
    bool sent = link_.command(args, [batch, done](const RedisResult &result) {
      std::vector<std::string> held, lost;
      if (!result.ok() || result.reply->type != RedisReply::Type::kArray ||
          result.reply->elements.size() != batch.size()) {
        if (result.reply)
          g_warning("Redis refused a name claim: %s", result.problem().c_str());
        done(held, lost, false);
        return;
      }
      for (std::size_t i = 0; i < batch.size(); i++)
        (result.reply->elements[i].integer == 1 ? held : lost).push_back(batch[i]);
      done(held, lost, true);
    });
    if (!sent)
      done({}, {}, false);
  }
}

void ClusterDirectory::release(const std::string &name) {
  claimed_.erase(name);
  if (!link_.up()) {
    releases_due_.insert(name);
    return;
  }
  send_release(name);
}

void ClusterDirectory::send_release(const std::string &name) {
  bool sent = link_.command(
      {"EVAL", scripts::kRelease, "1", user_key(name), instance_, presence_channel_, name},
      [this, name](const RedisResult &result) {
        if (!result.reply)
          releases_due_.insert(name); // try again once Redis is back
      });
  if (!sent)
    releases_due_.insert(name);
}

void ClusterDirectory::renew() {
  if (!link_.up() || renewing_ > 0 || claimed_.empty())
    return;
  std::vector<std::string> names(claimed_.begin(), claimed_.end());
  renewing_ = unsigned((names.size() + kClaimBatch - 1) / kClaimBatch);
  claim_names(names, false,
              [this](const std::vector<std::string> &, const std::vector<std::string> &lost, bool) {
                renewing_--;
                names_lost(lost);
              });
}

void ClusterDirectory::names_lost(const std::vector<std::string> &names) {
  for (const auto &name : names) {
    if (!claimed_.erase(name))
      continue; // logged out meanwhile
    g_message("instance %s: another instance holds \"%s\" now", instance_.c_str(), name.c_str());
    if (listener_)
      listener_->on_name_lost(name);
  }
}

std::optional<std::string> ClusterDirectory::locate(const std::string &name) const {
  return mirror_.locate(name);
}

bool ClusterDirectory::lookup(const std::string &name) {
  return link_.command({"GET", user_key(name)}, [this, name](const RedisResult &result) {
    std::optional<std::string> instance;
    if (result.ok() && result.reply->type == RedisReply::Type::kString &&
        result.reply->str != instance_)
      instance = result.reply->str;
    if (listener_)
      listener_->on_lookup_result(name, instance);
  });
}

std::vector<std::string> ClusterDirectory::remote_names() const {
  return mirror_.names();
}

// --- messages

void ClusterDirectory::send(const std::string &instance, const ClusterMessage &message) {
  publish(kInstancePrefix + instance, encode_cluster_message(message));
}

void ClusterDirectory::publish(const std::string &channel, std::string payload) {
  if (!link_.up()) {
    if (queued_.size() < options_.max_queued) {
      queued_.emplace_back(channel, std::move(payload));
    } else if (!queue_full_reported_) {
      g_warning("Redis is unreachable and %zu messages wait for it: dropping more", queued_.size());
      queue_full_reported_ = true;
    }
    return;
  }
  link_.command({"PUBLISH", channel, std::move(payload)}, [channel](const RedisResult &result) {
    // Nobody subscribed: the instance is gone, or reconnecting and deaf.
    if (result.ok() && result.reply->integer == 0 && channel != kPresenceChannel)
      g_message("nobody listens on %s: a message for a user there is lost", channel.c_str());
  });
}

void ClusterDirectory::on_message(std::string_view channel, std::string_view payload) {
  if (channel == channel_) {
    auto message = decode_cluster_message(payload);
    if (!message) {
      g_message("ignored a malformed message on %s", channel_.c_str());
      return;
    }
    if (listener_)
      listener_->on_cluster_message(*message);
    return;
  }
  if (channel == presence_channel_)
    presence_event(payload);
}

void ClusterDirectory::presence_event(std::string_view payload) {
  auto event = decode_presence_event(payload);
  if (!event) {
    g_message("ignored a malformed message on %s", presence_channel_.c_str());
    return;
  }
  gint64 now = g_get_monotonic_time();
  if (event->instance == instance_) {
    if (event->kind == PresenceEvent::Kind::kAlive)
      own_heartbeat_us_ = now; // our subscriber hears what our publisher says
    return;
  }
  switch (event->kind) {
  case PresenceEvent::Kind::kJoin:
    apply(mirror_.joined(RemoteUser{event->name, event->instance}, now));
    break;
  case PresenceEvent::Kind::kLeft:
    apply(mirror_.left(RemoteUser{event->name, event->instance}, now));
    break;
  case PresenceEvent::Kind::kAlive:
    if (mirror_.alive(event->instance, event->users, now) && !mirror_.taking_snapshot()) {
      g_message("instance %s says it has %zu users, which is not what this instance knows: "
                "taking a fresh snapshot",
                event->instance.c_str(), event->users);
      take_snapshot();
    }
    break;
  }
  for (const auto &instance : mirror_.take_returned()) {
    g_message("instance %s, taken for gone, speaks again", instance.c_str());
    if (listener_)
      listener_->on_instance_back(instance);
  }
}

void ClusterDirectory::apply(const std::vector<DirectoryMirror::Change> &changes) {
  if (!listener_)
    return;
  for (const auto &change : changes) {
    if (change.joined)
      listener_->on_remote_joined(change.user);
    else
      listener_->on_remote_left(change.user);
  }
}

// --- liveness

void ClusterDirectory::heartbeat() {
  gint64 now = g_get_monotonic_time();
  // A tick late by seconds: this process was stopped or starved, and heard
  // nothing meanwhile either, so the others' silence is its own.
  bool stalled =
      last_tick_us_ && now - last_tick_us_ > 3 * gint64(options_.heartbeat_interval_ms) * 1000;
  if (stalled)
    g_message("instance %s: %" G_GINT64_FORMAT " ms since the last heartbeat tick; not taking "
              "the others' silence meanwhile for their end",
              instance_.c_str(), (now - last_tick_us_) / 1000);
  last_tick_us_ = now;
  if (!link_.up())
    return; // cut off: nobody's silence counts (forgiven when the link is back)
  if (stalled) {
    mirror_.forgive_silence(now);
    own_heartbeat_us_ = now;
  }
  gint64 echo_deadline =
      gint64(options_.link.timeouts.command_ms + 2 * options_.heartbeat_interval_ms) * 1000;
  if (now - own_heartbeat_us_ > echo_deadline) {
    // Commands go through but our subscriber hears nothing: deaf to others.
    link_.reset("this instance's heartbeats stopped coming back on its subscriber");
    return;
  }
  publish(presence_channel_, encode_presence_event(PresenceEvent{
                                 PresenceEvent::Kind::kAlive, instance_, {}, claimed_.size()}));
  for (auto &gone : mirror_.expire(now, gint64(options_.instance_timeout_ms) * 1000)) {
    // An instance that stopped cleanly released its users already: only news
    // when users go with it.
    if (gone.left.empty())
      g_info("instance %s has been silent for %u ms", gone.instance.c_str(),
             options_.instance_timeout_ms);
    else
      g_message("instance %s has been silent for %u ms: its %zu users are gone",
                gone.instance.c_str(), options_.instance_timeout_ms, gone.left.size());
    if (listener_)
      listener_->on_instance_gone(gone.instance); // first: its calls, while still linked
    apply(gone.left);
  }
}

// --- the link

void ClusterDirectory::on_link_up() {
  link_generation_++;
  gint64 now = g_get_monotonic_time();
  own_heartbeat_us_ = now;
  mirror_.forgive_silence(now);
  queue_full_reported_ = false;
  // In this order, on one connection, so Redis runs them in this order too:
  // releases from while it was cut off, then the names of the users here
  // (announced: the others may have forgotten them), then waiting messages.
  auto releases = std::move(releases_due_);
  releases_due_.clear();
  for (const auto &name : releases)
    send_release(name);
  if (!claimed_.empty())
    claim_names(std::vector<std::string>(claimed_.begin(), claimed_.end()), true,
                [this](const std::vector<std::string> &, const std::vector<std::string> &lost,
                       bool) { names_lost(lost); });
  auto queued = std::move(queued_);
  queued_.clear();
  for (auto &[channel, payload] : queued)
    publish(channel, std::move(payload));
  take_snapshot();
  if (ready_)
    std::exchange(ready_, nullptr)();
}

void ClusterDirectory::on_link_down(const std::string &) {
  // Claims and releases in flight fail and are handled there; a snapshot in
  // flight is abandoned (a new one starts when the link is back).
  mirror_.cancel_snapshot();
}

void ClusterDirectory::take_snapshot() {
  mirror_.begin_snapshot();
  scan("0", std::make_shared<std::map<std::string, std::string>>(), link_generation_);
}

void ClusterDirectory::scan(const std::string &cursor,
                            std::shared_ptr<std::map<std::string, std::string>> claims,
                            unsigned generation) {
  auto abandon = [this, generation](const RedisResult &result) {
    if (generation != link_generation_)
      return;
    g_warning("cannot take a snapshot of the names in Redis: %s", result.problem().c_str());
    mirror_.cancel_snapshot();
  };
  link_.command({"SCAN", cursor, "MATCH", kUserPrefix + "*", "COUNT", kScanCount},
                [this, claims, generation, abandon](const RedisResult &result) {
                  if (generation != link_generation_)
                    return;
                  if (!result.ok() || result.reply->type != RedisReply::Type::kArray ||
                      result.reply->elements.size() != 2) {
                    abandon(result);
                    return;
                  }
                  std::string next = result.reply->elements[0].str;
                  std::vector<std::string> mget{"MGET"};
                  for (const auto &key : result.reply->elements[1].elements)
                    mget.push_back(key.str);
                  auto go_on = [this, next, claims, generation] {
                    if (next == "0") {
                      apply(mirror_.finish_snapshot(*claims, g_get_monotonic_time()));
                      return;
                    }
                    scan(next, claims, generation);
                  };
                  if (mget.size() == 1) {
                    go_on();
                    return;
                  }
                  link_.command(mget, [this, mget, claims, generation, abandon,
                                       go_on](const RedisResult &values) {
                    if (generation != link_generation_)
                      return;
                    if (!values.ok() || values.reply->type != RedisReply::Type::kArray ||
                        values.reply->elements.size() != mget.size() - 1) {
                      abandon(values);
                      return;
                    }
                    for (std::size_t i = 1; i < mget.size(); i++) {
                      const RedisReply &value = values.reply->elements[i - 1];
                      if (value.type == RedisReply::Type::kString) // gone since the SCAN: nil
                        (*claims)[mget[i].substr(kUserPrefix.size())] = value.str;
                    }
                    go_on();
                  });
                });
}

// --- stopping

void ClusterDirectory::stop(std::function<void()> done) {
  renew_timer_.reset();
  heartbeat_timer_.reset();
  if (!link_.up() || link_.pending() == 0) {
    done();
    return;
  }
  // The users' releases are in flight: wait for them a little, so the names
  // are free at once rather than when their claims expire.
  stop_done_ = std::move(done);
  stop_deadline_us_ = g_get_monotonic_time() + kStopWaitUs;
  stop_poll_.reset(g_timeout_source_new(10));
  g_source_set_callback(
      stop_poll_.get(),
      +[](gpointer data) -> gboolean {
        auto *self = static_cast<ClusterDirectory *>(data);
        if (self->link_.up() && self->link_.pending() > 0 &&
            g_get_monotonic_time() < self->stop_deadline_us_)
          return G_SOURCE_CONTINUE;
        self->stop_poll_.reset();
        std::exchange(self->stop_done_, nullptr)();
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(stop_poll_.get(), g_main_context_get_thread_default());
}

} // namespace webrtccall::server
