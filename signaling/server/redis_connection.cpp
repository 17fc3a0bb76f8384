#include "redis_connection.hpp"

#include "redis_source.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <memory>
#include <utility>

namespace webrtccall::server {

struct RedisConnection::Pending {
  Context *context;
  RedisCallback done;
  gint64 deadline_us;
  std::string what; // the command's name, for the timeout's message
};

struct RedisConnection::Context {
  RedisConnection *owner = nullptr; // null once the owner is destroyed: callbacks are dropped
  RedisTimeouts timeouts;
  redisAsyncContext *ac = nullptr; // valid until on_freed
  GSource *timer = nullptr;        // deadlines, the connected notice and close(); owned
  std::deque<Pending *> pending;   // oldest first: Redis answers in order
  gint64 connect_deadline_us = 0;
  bool connected = false;
  bool announce_connected = false; // on_connected is due, from the timer (outside hiredis)
  bool closing = false;            // the timer frees the context
  std::string why;                 // why we close it
  unsigned unconfirmed = 0;        // channels of the SUBSCRIBE not yet confirmed
  gint64 subscribe_deadline_us = 0;
  RedisCallback subscribed;
  bool *freed = nullptr; // set while the timer reads: tells it the context is gone
};

namespace {

RedisReply copy_reply(const redisReply *reply) {
  RedisReply out;
  switch (reply->type) {
  case REDIS_REPLY_STRING:
    out.type = RedisReply::Type::kString;
    out.str.assign(reply->str, reply->len);
    break;
  case REDIS_REPLY_STATUS:
    out.type = RedisReply::Type::kStatus;
    out.str.assign(reply->str, reply->len);
    break;
  case REDIS_REPLY_ERROR:
    out.type = RedisReply::Type::kError;
    out.str.assign(reply->str, reply->len);
    break;
  case REDIS_REPLY_INTEGER:
    out.type = RedisReply::Type::kInteger;
    out.integer = reply->integer;
    break;
  case REDIS_REPLY_ARRAY:
    out.type = RedisReply::Type::kArray;
    out.elements.reserve(reply->elements);
    for (std::size_t i = 0; i < reply->elements; i++)
      out.elements.push_back(copy_reply(reply->element[i]));
    break;
  default:
    break; // nil
  }
  return out;
}

std::string_view element_text(const redisReply *reply, std::size_t index) {
  if (reply->elements <= index || !reply->element[index]->str)
    return {};
  return {reply->element[index]->str, reply->element[index]->len};
}

// A timer source whose ready time we set: hiredis has no timers of its own.
GSourceFuncs timer_funcs = {
    nullptr,
    nullptr,
    [](GSource *, GSourceFunc callback, gpointer data) -> gboolean { return callback(data); },
    nullptr,
    nullptr,
    nullptr};

} // namespace

RedisConnection::RedisConnection(std::string name, RedisTimeouts timeouts,
                                 RedisConnectionListener &listener)
    : name_(std::move(name)), timeouts_(timeouts), listener_(listener) {}

RedisConnection::~RedisConnection() {
  deferred_source_.reset();
  deferred_.clear();
  if (Context *context = std::exchange(context_, nullptr)) {
    context->owner = nullptr;
    context->closing = true;
    redisAsyncFree(context->ac); // frees the context now (or after hiredis's callback returns)
  }
}

bool RedisConnection::is_open() const {
  return context_ && context_->connected && !context_->closing && !context_->announce_connected;
}

bool RedisConnection::is_closed() const {
  return !context_ && !closed_due_;
}

std::size_t RedisConnection::pending() const {
  return context_ ? context_->pending.size() : 0;
}

void RedisConnection::open(const std::string &ip, int port) {
  g_return_if_fail(is_closed());
  closed_due_ = true; // until on_closed has been delivered, whatever happens
  redisAsyncContext *ac = redisAsyncConnect(ip.c_str(), port);
  if (!ac || ac->err) {
    std::string why = ac ? ac->c.errstr : "out of memory";
    if (ac)
      redisAsyncFree(ac); // never attached: nothing of ours to clean up
    defer([this, why] { deliver_closed(why); });
    return;
  }
  auto *context = new Context();
  context->owner = this;
  context->timeouts = timeouts_;
  context->ac = ac;
  ac->data = context;
  context->connect_deadline_us = g_get_monotonic_time() + gint64(timeouts_.connect_ms) * 1000;
  redisAsyncSetConnectCallback(ac, on_connect);
  GMainContext *main_context = g_main_context_get_thread_default();
  context->timer = g_source_new(&timer_funcs, sizeof(GSource));
  g_source_set_name(context->timer, "webrtccall redis deadlines");
  g_source_set_callback(context->timer, on_timer, context, nullptr);
  g_source_attach(context->timer, main_context);
  redis_source_attach(ac, main_context, on_freed, context);
  context_ = context;
  arm(*context);
}

bool RedisConnection::command(const std::vector<std::string> &args, RedisCallback done) {
  if (!is_open() || args.empty())
    return false;
  std::vector<const char *> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto &arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  gint64 deadline = g_get_monotonic_time() + gint64(timeouts_.command_ms) * 1000;
  auto *pending = new Pending{context_, std::move(done), deadline, args[0]};
  if (redisAsyncCommandArgv(context_->ac, on_reply, pending, int(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    delete pending;
    return false;
  }
  context_->pending.push_back(pending);
  if (context_->pending.size() == 1)
    arm(*context_);
  return true;
}

bool RedisConnection::subscribe(const std::vector<std::string> &channels, RedisCallback done) {
  if (!is_open() || channels.empty() || context_->subscribed)
    return false;
  std::vector<std::string> args{"SUBSCRIBE"};
  args.insert(args.end(), channels.begin(), channels.end());
  std::vector<const char *> argv;
  std::vector<std::size_t> lengths;
  for (const auto &arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  // Every message on these channels comes to on_subscription with the context.
  if (redisAsyncCommandArgv(context_->ac, on_subscription, context_, int(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK)
    return false;
  context_->unconfirmed = unsigned(channels.size());
  context_->subscribed = std::move(done);
  context_->subscribe_deadline_us = g_get_monotonic_time() + gint64(timeouts_.command_ms) * 1000;
  arm(*context_);
  return true;
}

void RedisConnection::close(const std::string &why) {
  if (!context_ || context_->closing)
    return;
  context_->closing = true;
  context_->why = why;
  arm(*context_); // the timer frees it: never from inside a caller's stack
}

void RedisConnection::on_connect(const redisAsyncContext *ac, int status) {
  // Freeing the context here would pull it from under hiredis: only note it.
  auto *context = static_cast<Context *>(ac->data);
  if (status != REDIS_OK)
    return; // hiredis frees it next; on_freed reports why
  context->connected = true;
  context->announce_connected = true;
  arm(*context);
}

void RedisConnection::on_reply(redisAsyncContext *, void *reply, void *data) {
  std::unique_ptr<Pending> pending(static_cast<Pending *>(data));
  Context *context = pending->context;
  auto &queue = context->pending;
  if (!queue.empty() && queue.front() == pending.get())
    queue.pop_front();
  else
    queue.erase(std::remove(queue.begin(), queue.end(), pending.get()), queue.end());
  RedisConnection *owner = context->owner;
  if (!owner)
    return;
  if (reply && !context->closing) {
    RedisResult result;
    result.reply = copy_reply(static_cast<redisReply *>(reply));
    pending->done(result);
    return;
  }
  // No reply: hiredis is freeing the context. Report it from the main loop.
  RedisResult failed;
  failed.failure = context->why.empty() && context->ac->c.err ? context->ac->c.errstr
                   : context->why.empty()                     ? "the connection closed"
                                                              : context->why;
  owner->defer([done = std::move(pending->done), failed] { done(failed); });
}

void RedisConnection::on_subscription(redisAsyncContext *, void *data, void *context_data) {
  auto *context = static_cast<Context *>(context_data);
  auto *reply = static_cast<redisReply *>(data);
  RedisConnection *owner = context->owner;
  if (!reply) {
    // The context is being freed (this comes once per channel).
    RedisCallback done = std::move(context->subscribed);
    context->subscribed = nullptr;
    if (owner && done) {
      RedisResult failed;
      failed.failure = context->why.empty() ? "the connection closed" : context->why;
      owner->defer([done = std::move(done), failed] { done(failed); });
    }
    return;
  }
  if (!owner || context->closing || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
    return;
  std::string_view kind = element_text(reply, 0);
  if (kind == "message") {
    owner->listener_.on_message(*owner, element_text(reply, 1), element_text(reply, 2));
  } else if (kind == "subscribe" && context->unconfirmed > 0 && --context->unconfirmed == 0) {
    context->subscribe_deadline_us = 0;
    RedisCallback done = std::move(context->subscribed);
    context->subscribed = nullptr;
    if (done) {
      RedisResult confirmed;
      confirmed.reply = copy_reply(reply);
      done(confirmed);
    }
  }
}

// Sets the timer for the earliest thing due. Deadlines only grow down the
// queue, so a reply never needs to move the timer: when it fires early it
// looks again and sleeps until the next deadline.
void RedisConnection::arm(Context &context) {
  gint64 next = -1;
  auto consider = [&next](gint64 at) {
    if (at > 0 && (next < 0 || at < next))
      next = at;
  };
  if (context.announce_connected || context.closing) {
    next = 0;
  } else {
    if (!context.connected)
      consider(context.connect_deadline_us);
    consider(context.subscribe_deadline_us);
    if (!context.pending.empty())
      consider(context.pending.front()->deadline_us);
  }
  gint64 current = g_source_get_ready_time(context.timer);
  if (current < 0 || next < current)
    g_source_set_ready_time(context.timer, next);
}

gboolean RedisConnection::on_timer(gpointer data) {
  auto *context = static_cast<Context *>(data);
  g_source_set_ready_time(context->timer, -1);
  if (context->announce_connected && !context->closing) {
    context->announce_connected = false;
    if (RedisConnection *owner = context->owner)
      owner->listener_.on_connected(*owner); // may queue commands or close(): flags only
  }
  gint64 now = g_get_monotonic_time();
  if (!context->closing && context->connected && !context->pending.empty() &&
      now >= context->pending.front()->deadline_us) {
    // The reply may be in the socket, unread: after this process was stopped
    // for a while, GLib can run this timer before the socket's source. Read
    // before calling it lost (reading may free the context, on end of file).
    bool freed = false;
    context->freed = &freed;
    redisAsyncHandleRead(context->ac);
    if (freed)
      return G_SOURCE_CONTINUE;
    context->freed = nullptr;
  }
  std::string why;
  if (context->closing)
    why = context->why;
  else if (!context->connected && now >= context->connect_deadline_us)
    why = "no connection within " + std::to_string(context->timeouts.connect_ms) + " ms";
  else if (context->subscribe_deadline_us && now >= context->subscribe_deadline_us)
    why = "SUBSCRIBE not confirmed within " + std::to_string(context->timeouts.command_ms) + " ms";
  else if (!context->pending.empty() && now >= context->pending.front()->deadline_us)
    why = "no reply to " + context->pending.front()->what + " within " +
          std::to_string(context->timeouts.command_ms) + " ms";
  if (why.empty() && !context->closing) {
    arm(*context);
    return G_SOURCE_CONTINUE;
  }
  context->closing = true;
  context->why = why.empty() ? "closed" : why;
  redisAsyncFree(context->ac); // frees `context` through on_freed: nothing may follow
  return G_SOURCE_CONTINUE;
}

void RedisConnection::on_freed(gpointer data) {
  auto *context = static_cast<Context *>(data);
  std::string why = !context->why.empty() ? context->why
                    : context->ac->c.err  ? std::string(context->ac->c.errstr)
                                          : std::string("the connection closed");
  g_source_destroy(context->timer);
  g_source_unref(context->timer);
  if (context->freed)
    *context->freed = true;
  for (Pending *pending : context->pending)
    delete pending; // hiredis has failed them all by now; defensive
  RedisConnection *owner = context->owner;
  delete context;
  if (!owner)
    return;
  owner->context_ = nullptr;
  owner->defer([owner, why] { owner->deliver_closed(why); });
}

void RedisConnection::deliver_closed(const std::string &why) {
  closed_due_ = false;
  listener_.on_closed(*this, why);
}

void RedisConnection::defer(std::function<void()> work) {
  deferred_.push_back(std::move(work));
  if (deferred_source_)
    return;
  deferred_source_.reset(g_idle_source_new());
  // Default priority: under load an idle source would wait behind every socket.
  g_source_set_priority(deferred_source_.get(), G_PRIORITY_DEFAULT);
  g_source_set_callback(
      deferred_source_.get(),
      +[](gpointer data) -> gboolean {
        auto *self = static_cast<RedisConnection *>(data);
        std::deque<std::function<void()>> work;
        work.swap(self->deferred_);
        self->deferred_source_.reset(); // work below may defer more: a new source
        for (auto &item : work)
          item();
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(deferred_source_.get(), g_main_context_get_thread_default());
}

} // namespace webrtccall::server
