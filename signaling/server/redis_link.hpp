// The server's link to Redis: two connections, one for commands and one
// subscribed to this instance's channels (a subscribed connection takes no
// other commands), kept up together. When either fails the other is closed
// too and both are opened again after a backoff (100 ms doubling to 2 s), so
// the owner sees one state: up (both connected and subscribed) or down.
//
// Host names are resolved with GResolver, asynchronously, before hiredis
// connects: hiredis itself would block the main loop in getaddrinfo.
#pragma once

#include "common/gobject_ptr.hpp"
#include "redis_connection.hpp"

#include <gio/gio.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace webrtccall::server {

struct RedisAddress {
  std::string host; // an IP address or a host name
  int port = 6379;

  std::string text() const; // host:port, IPv6 in brackets
};

// redis://HOST[:PORT], or nullopt with `problem` saying what is wrong.
std::optional<RedisAddress> parse_redis_url(std::string_view url, std::string &problem);

class RedisLinkListener {
public:
  virtual ~RedisLinkListener() = default;
  virtual void on_link_up() = 0;
  virtual void on_link_down(const std::string &why) = 0;
  virtual void on_message(std::string_view channel, std::string_view payload) = 0;
};

struct RedisLinkOptions {
  RedisTimeouts timeouts;
  guint min_backoff_ms = 100;
  guint max_backoff_ms = 2000;
};

class RedisLink final : private RedisConnectionListener {
public:
  RedisLink(RedisAddress address, std::vector<std::string> channels, RedisLinkOptions options,
            RedisLinkListener &listener);
  ~RedisLink() override;
  RedisLink(const RedisLink &) = delete;
  RedisLink &operator=(const RedisLink &) = delete;

  void start();
  bool up() const { return up_; }
  const RedisAddress &address() const { return address_; }

  // A command on the command connection; false when the link is down (`done`
  // is then never called).
  bool command(const std::vector<std::string> &args, RedisCallback done);
  // Drops both connections (e.g. our own heartbeat stopped coming back on the
  // subscriber) and reconnects after the backoff.
  void reset(const std::string &why);
  std::size_t pending() const { return commands_.pending(); }

private:
  void connect();
  void open(const std::string &ip);
  static void on_resolved(GObject *resolver, GAsyncResult *result, gpointer self);
  void maybe_up();
  void retry_later();

  // RedisConnectionListener
  void on_connected(RedisConnection &connection) override;
  void on_closed(RedisConnection &connection, const std::string &why) override;
  void on_message(RedisConnection &connection, std::string_view channel,
                  std::string_view payload) override;

  RedisAddress address_;
  std::vector<std::string> channels_;
  RedisLinkOptions options_;
  RedisLinkListener &listener_;
  RedisConnection commands_;
  RedisConnection subscriber_;
  bool subscribed_ = false;
  bool up_ = false;
  bool was_up_ = false;     // ever: the first connection is news, later ones are recoveries
  std::string down_reason_; // logged once per outage
  guint backoff_ms_;
  GSourcePtr retry_;
  GObjectPtr<GCancellable> resolving_;
};

} // namespace webrtccall::server
