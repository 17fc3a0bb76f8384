// The clients' sockets and timers, watched through one GSource.
//
// GLib visits every source of a context on every iteration (prepare, query,
// poll, check), so a context holding a source or two for each of 10,000 idle
// WebSockets spent most of its time walking them: relaying 500 messages a
// second among 200 clients took 17% of a core alone and 90% with 9,800 idle
// clients beside them (docs/benchmarks.md, "Signaling"). Here the server's
// context holds one source for all of them: an epoll set with every client's
// socket, edge-triggered and in the set for the socket's lifetime (no system
// call per message to add or remove it), and one timer per watcher, kept in
// order so that the source's timeout is the earliest.
//
// Everything runs on the thread of the context given.
#pragma once

#include <glib.h>

#include <cstdint>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace webrtccall::server {

class SocketPoller {
public:
  // Known by a number that is never used again, so that an event collected
  // for a watcher gone since finds nothing.
  using Token = std::uint64_t;

  class Watcher {
  public:
    // The socket is readable, writable, or hung up (epoll's events; edge
    // triggered: read and write until they would block). A watcher of a
    // timer alone (fd -1) never hears this.
    virtual void on_socket_ready(std::uint32_t) {}
    // The watcher's timer is due.
    virtual void on_timer() = 0;

  protected:
    ~Watcher() = default;
  };

  // Attaches its source to `context`.
  explicit SocketPoller(GMainContext *context);
  ~SocketPoller();
  SocketPoller(const SocketPoller &) = delete;
  SocketPoller &operator=(const SocketPoller &) = delete;

  // Watches `fd` for reading and writing (-1: a timer alone) until
  // unwatch(). 0, with errno set, if epoll refused the fd.
  Token watch(int fd, Watcher &watcher);
  // No call reaches the watcher after this, not even for an event already
  // collected. The fd leaves the epoll set; closing it is the caller's.
  void unwatch(Token token);
  // The watcher's one timer: on_timer() at `deadline_us` (monotonic), or at
  // the next dispatch if that has passed; -1 cancels it.
  void set_timer(Token token, gint64 deadline_us);

  // A buffer for reading into, shared by every watcher: what is read is
  // consumed before anything else reads.
  char *scratch() { return scratch_.data(); }
  std::size_t scratch_size() const { return scratch_.size(); }

private:
  struct Entry {
    Watcher *watcher;
    int fd;
    gint64 deadline_us = -1;
  };
  struct PollSource;

  static gboolean prepare(GSource *source, gint *timeout_ms);
  static gboolean check(GSource *source);
  static gboolean dispatch(GSource *source, GSourceFunc, gpointer);

  bool timer_due(gint64 now_us) const;
  void dispatch_events();
  void dispatch_timers();

  int epoll_fd_ = -1;
  GSource *source_ = nullptr; // owned: destroyed and unreffed in the destructor
  gpointer epoll_tag_ = nullptr;
  Token next_token_ = 1;
  std::unordered_map<Token, Entry> entries_;
  std::set<std::pair<gint64, Token>> timers_; // deadline (monotonic us), watcher
  std::vector<char> scratch_;
};

} // namespace webrtccall::server
