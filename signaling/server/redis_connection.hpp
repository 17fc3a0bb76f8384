// One connection to Redis on the GLib main loop (hiredis's async API), where
// nothing waits without a deadline: hiredis 0.14 has no timeouts, so a GLib
// timer bounds the connect, every command and every SUBSCRIBE. A command that
// misses its deadline closes the connection: Redis answers in order, so
// nothing behind it could be trusted either.
//
// Callbacks: a reply comes from the main loop as it arrives; a failure (no
// reply: timed out, connection lost, closed) and on_closed always come from
// the main loop later, never from inside open(), command() or close(). Never
// destroy a RedisConnection from one of its own callbacks; destroying it
// elsewhere drops every callback still due.
#pragma once

#include "common/gobject_ptr.hpp"

#include <glib.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisAsyncContext;

namespace webrtccall::server {

// A reply, copied out of hiredis's reader.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str; // kString, kStatus, kError
  std::vector<RedisReply> elements;
};

struct RedisResult {
  std::optional<RedisReply> reply; // none: the command failed, `failure` says why
  std::string failure;

  bool ok() const { return reply && reply->type != RedisReply::Type::kError; }
  // The reply's error, or why there was none: for logs.
  std::string problem() const { return reply ? reply->str : failure; }
};

using RedisCallback = std::function<void(const RedisResult &)>;

struct RedisTimeouts {
  guint connect_ms = 2000;
  guint command_ms = 2000; // also a SUBSCRIBE's confirmation
};

class RedisConnection;

class RedisConnectionListener {
public:
  virtual ~RedisConnectionListener() = default;
  virtual void on_connected(RedisConnection &connection) = 0;
  // Once per open(), after the failures of every command still pending.
  virtual void on_closed(RedisConnection &connection, const std::string &why) = 0;
  // A message on a subscribed channel.
  virtual void on_message(RedisConnection &, std::string_view /*channel*/,
                          std::string_view /*payload*/) {}
};

class RedisConnection {
public:
  RedisConnection(std::string name, RedisTimeouts timeouts, RedisConnectionListener &listener);
  ~RedisConnection();
  RedisConnection(const RedisConnection &) = delete;
  RedisConnection &operator=(const RedisConnection &) = delete;

  // Starts connecting to a numeric address (hiredis would resolve a host name
  // with a blocking getaddrinfo). on_connected or on_closed follows.
  void open(const std::string &ip, int port);
  bool is_open() const;   // connected, not closing
  bool is_closed() const; // neither connecting nor connected: open() may be called
  const std::string &name() const { return name_; }

  // Queues a command; false when the connection is not open (`done` is then
  // never called). `done` is called exactly once otherwise.
  bool command(const std::vector<std::string> &args, RedisCallback done);
  // SUBSCRIBE; `done` once Redis has confirmed every channel. Messages then
  // go to on_message, in the order Redis sent them.
  bool subscribe(const std::vector<std::string> &channels, RedisCallback done);
  // Closes the connection: pending commands fail with `why`, then on_closed.
  void close(const std::string &why);

  std::size_t pending() const; // commands awaiting a reply

private:
  struct Context; // one hiredis context, from open() until hiredis frees it
  struct Pending;

  static void on_reply(redisAsyncContext *ac, void *reply, void *pending);
  static void on_subscription(redisAsyncContext *ac, void *reply, void *context);
  static void on_connect(const redisAsyncContext *ac, int status);
  static gboolean on_timer(gpointer context);
  static void on_freed(gpointer context);
  static void arm(Context &context);

  // Runs `work` from the main loop, in order with other deferred work.
  void defer(std::function<void()> work);
  void deliver_closed(const std::string &why);

  std::string name_; // for logs: "commands", "subscriber"
  RedisTimeouts timeouts_;
  RedisConnectionListener &listener_;
  Context *context_ = nullptr; // lives as long as hiredis's context: deleted when hiredis frees it
  bool closed_due_ = false;    // from open() until on_closed has been delivered
  std::deque<std::function<void()>> deferred_;
  GSourcePtr deferred_source_;
};

} // namespace webrtccall::server
