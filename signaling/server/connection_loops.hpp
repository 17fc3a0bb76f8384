// The connections' libsoup sources, kept out of the server's main context.
//
// GLib's main loop visits every source of a context on every iteration
// (prepare, query, poll, check), so a context holding the sockets and timers
// of 10,000 idle WebSockets spent most of its time walking them: relaying 500
// messages a second among 200 clients took 17% of a core with nobody else
// connected and 90% with 9,800 idle clients beside them (docs/benchmarks.md,
// "Signaling").
//
// Here each connection's sources live in one of a fixed number of small
// GMainContexts (its loop), and the server's context holds one source for all
// of them: an epoll set of the loops' file descriptors, plus their earliest
// timer. An iteration of the server's context then runs only the loops that
// have work, each over the few connections it holds. A fixed number of loops,
// not one per connection: every GMainContext holds an eventfd, and a process
// may open 20,000 files on this machine.
//
// Every libsoup call on a connection must run inside its loop
// (InConnectionLoop), so that the sources libsoup makes land there and the
// loop's watch is updated after. Everything runs on the server's thread.
#pragma once

#include <glib.h>

#include <cstdint>
#include <memory>
#include <set>
#include <utility>
#include <vector>

namespace webrtccall::server {

class ConnectionLoops {
public:
  class Loop;

  // Watches the loops from the caller's thread-default context: the
  // server's.
  ConnectionLoops();
  ~ConnectionLoops();
  ConnectionLoops(const ConnectionLoops &) = delete;
  ConnectionLoops &operator=(const ConnectionLoops &) = delete;

  // The loop for a connection: the same for the same id.
  Loop &loop_for(std::uint64_t connection_id);
  GMainContext *server_context() const { return server_context_; }
  // `fd` is a new connection's socket: forget any watch left under its number
  // by a socket closed before (the kernel dropped that one from epoll, but a
  // loop may still list it, and would not add it again).
  void claim_fd(int fd);

private:
  struct WatchSource; // the GSource in the server's context
  friend class Loop;

  static gboolean prepare(GSource *source, gint *timeout_ms);
  static gboolean check(GSource *source);
  static gboolean dispatch(GSource *source, GSourceFunc, gpointer);

  bool has_work(gint64 now_us) const;
  void run_due_loops();
  void mark_ready(Loop &loop);
  void mark_changed(Loop &loop);
  void set_deadline(Loop &loop, gint64 deadline_us, gint64 now_us);
  void watch_fd(Loop &loop, int fd, unsigned short events, bool modify);
  void unwatch_fd(Loop &loop, int fd);

  GMainContext *server_context_; // holds ref
  int epoll_fd_ = -1;
  GSource *watch_ = nullptr; // owned: destroyed and unreffed in the destructor
  gpointer epoll_tag_ = nullptr;
  std::vector<std::unique_ptr<Loop>> loops_;   // made on first use
  std::vector<Loop *> ready_;                  // to run at the next dispatch
  std::vector<Loop *> changed_;                // to query again before the next poll
  std::set<std::pair<gint64, Loop *>> timers_; // each loop's earliest timer, monotonic us
  std::vector<Loop *> fd_owner_;               // by fd: which loop epoll reports it for
};

class ConnectionLoops::Loop {
public:
  explicit Loop(ConnectionLoops &owner);
  ~Loop();
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;

  GMainContext *context() const { return context_; }
  GMainContext *server_context() const { return owner_.server_context(); }
  // Sources may have been added or removed: look again before the server's
  // context next waits.
  void changed();

private:
  friend class ConnectionLoops;

  void run();    // prepare, poll without waiting, check, dispatch, then update()
  void update(); // what to watch: the fds and the earliest timer
  int query(gint priority, gint *timeout_ms); // fills fds_, returns how many

  ConnectionLoops &owner_;
  GMainContext *context_;                          // owned, and acquired by the server's thread
  std::vector<GPollFD> fds_;                       // scratch for query
  std::vector<std::pair<int, unsigned short>> watched_; // fd, events: what epoll holds for us
  gint64 deadline_us_ = -1;                        // in owner_.timers_ when not -1
  bool running_ = false;
  bool ready_ = false;   // in owner_.ready_
  bool changed_ = false; // in owner_.changed_
};

// Runs libsoup calls on a connection with its loop as the thread-default
// context, and has the loop looked at again afterwards.
class InConnectionLoop {
public:
  explicit InConnectionLoop(ConnectionLoops::Loop &loop) : loop_(loop) {
    g_main_context_push_thread_default(loop_.context());
  }
  ~InConnectionLoop() {
    g_main_context_pop_thread_default(loop_.context());
    loop_.changed();
  }
  InConnectionLoop(const InConnectionLoop &) = delete;
  InConnectionLoop &operator=(const InConnectionLoop &) = delete;

private:
  ConnectionLoops::Loop &loop_;
};

// The opposite: a callback from libsoup (inside a connection's loop) calling
// out to the server, whose own sources belong in the server's context.
class InServerContext {
public:
  explicit InServerContext(GMainContext *context) : context_(context) {
    g_main_context_push_thread_default(context_);
  }
  ~InServerContext() { g_main_context_pop_thread_default(context_); }
  InServerContext(const InServerContext &) = delete;
  InServerContext &operator=(const InServerContext &) = delete;

private:
  GMainContext *context_;
};

} // namespace webrtccall::server
