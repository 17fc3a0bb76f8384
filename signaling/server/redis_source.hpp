// Runs a hiredis async context on a GMainContext: a GSource that watches the
// context's socket for what hiredis asks (read, write) and calls its handlers.
//
// Ours rather than hiredis 0.14's adapters/glib.h, which does not build
// warning-free in C++, calls the read handler on a context the write handler
// has just freed, and never asks for the first write event that completes a
// non-blocking connect (hiredis reports the connection only from there).
#pragma once

#include <glib.h>

struct redisAsyncContext;

namespace webrtccall::server {

// Attaches `ac`, still connecting, to `context`. hiredis owns the source from
// then on: when it frees the context (an error, end of file, or
// redisAsyncFree), the source is destroyed and `on_freed(data)` is called,
// after every pending reply callback has run with a NULL reply and while
// `ac` is still readable (for its error string).
void redis_source_attach(redisAsyncContext *ac, GMainContext *context,
                         void (*on_freed)(gpointer data), gpointer data);

} // namespace webrtccall::server
