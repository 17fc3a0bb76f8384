#include "redis_source.hpp"

#include <hiredis/async.h>

namespace webrtccall::server {

namespace {

struct RedisSource {
  GSource source;
  redisAsyncContext *ac; // null once hiredis has freed it
  gpointer fd_tag;       // null once the socket is no longer watched
  GIOCondition events;   // what hiredis waits for
  void (*on_freed)(gpointer);
  gpointer data;
};

void watch(RedisSource *self, GIOCondition add, GIOCondition remove) {
  self->events = GIOCondition((self->events | add) & ~remove);
  if (self->fd_tag)
    g_source_modify_unix_fd(&self->source, self->fd_tag, self->events);
}

// hiredis's hooks: it asks for read and write events as its buffers fill and drain.
void add_read(void *self) {
  watch(static_cast<RedisSource *>(self), G_IO_IN, GIOCondition(0));
}
void del_read(void *self) {
  watch(static_cast<RedisSource *>(self), GIOCondition(0), G_IO_IN);
}
void add_write(void *self) {
  watch(static_cast<RedisSource *>(self), G_IO_OUT, GIOCondition(0));
}
void del_write(void *self) {
  watch(static_cast<RedisSource *>(self), GIOCondition(0), G_IO_OUT);
}

// hiredis is freeing the context: stop watching its socket for good.
void cleanup(void *data) {
  auto *self = static_cast<RedisSource *>(data);
  self->ac = nullptr;
  if (self->fd_tag) {
    g_source_remove_unix_fd(&self->source, self->fd_tag);
    self->fd_tag = nullptr;
  }
  auto on_freed = self->on_freed;
  gpointer on_freed_data = self->data;
  g_source_destroy(&self->source);
  g_source_unref(&self->source); // the reference hiredis held; GLib keeps it while dispatching
  on_freed(on_freed_data);
}

gboolean dispatch(GSource *source, GSourceFunc, gpointer) {
  auto *self = reinterpret_cast<RedisSource *>(source);
  if (!self->fd_tag)
    return G_SOURCE_CONTINUE;
  GIOCondition revents = g_source_query_unix_fd(source, self->fd_tag);
  // An error or hang-up goes to whichever handler hiredis waits in; it reads
  // the cause from the socket itself. Either handler may free the context.
  bool failed = revents & (G_IO_ERR | G_IO_HUP | G_IO_NVAL);
  if (self->ac && (self->events & G_IO_OUT) && ((revents & G_IO_OUT) || failed))
    redisAsyncHandleWrite(self->ac);
  if (self->ac && ((revents & G_IO_IN) || failed))
    redisAsyncHandleRead(self->ac);
  return G_SOURCE_CONTINUE;
}

GSourceFuncs source_funcs = {nullptr, nullptr, dispatch, nullptr, nullptr, nullptr};

} // namespace

void redis_source_attach(redisAsyncContext *ac, GMainContext *context,
                         void (*on_freed)(gpointer data), gpointer data) {
  auto *self = reinterpret_cast<RedisSource *>(g_source_new(&source_funcs, sizeof(RedisSource)));
  g_source_set_name(&self->source, "webrtccall redis");
  self->ac = ac;
  self->on_freed = on_freed;
  self->data = data;
  // The first write event completes the connect; hiredis does not ask for it.
  self->events = G_IO_OUT;
  self->fd_tag = g_source_add_unix_fd(&self->source, ac->c.fd, self->events);
  ac->ev.data = self;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  g_source_attach(&self->source, context); // the reference from g_source_new is hiredis's
}

} // namespace webrtccall::server
