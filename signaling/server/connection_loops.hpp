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
// Each connection's socket is in the epoll set for good (watch_socket),
// edge-triggered, and marks its stream readable (frame_limit_stream.hpp):
// libsoup makes a new read source for every message, and GLib's own fd
// sources would add and remove the fd, and wake the loop, every time.
//
// libsoup calls that make a connection's lasting sources (its creation, its
// close) run inside its loop (InConnectionLoop), so that they land there and
// the loop's watch is updated after. A send need not: a write that would
// block leaves a short-lived source in whatever context is the thread-default
// (the server's), which GLib watches as well. Everything runs on the
// server's thread.
#pragma once

#include "frame_limit_stream.hpp"

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
  void watch_fd(Loop &loop, int fd, std::uint32_t events, bool modify);
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
  Loop(ConnectionLoops &owner, std::uint32_t index);
  ~Loop();
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;

  GMainContext *context() const { return context_; }
  GMainContext *server_context() const { return owner_.server_context(); }
  // Sources may have been added or removed: look again before the server's
  // context next waits.
  void changed();
  // A connection's socket `fd`, read through `stream`: tell the stream when
  // the socket becomes readable, until unwatch_socket(). Holds a ref.
  void watch_socket(int fd, WebrtccallFrameLimitStream *stream);
  void unwatch_socket(int fd, WebrtccallFrameLimitStream *stream);

private:
  friend class ConnectionLoops;

  void run();    // check with what epoll reported, dispatch, then update()
  void update(); // prepare and query: what to watch, the fds and the earliest timer
  int query(gint priority, gint *timeout_ms); // fills fds_, returns how many
  void reported(int fd, std::uint32_t events); // from epoll, for the next run()
  void forget_socket(int fd); // its number was closed and is used again

  ConnectionLoops &owner_;
  std::uint32_t index_;           // in owner_.loops_, and in our epoll entries
  GMainContext *context_;         // owned, and acquired by the server's thread
  std::vector<GPollFD> fds_;      // from the last query, for the next check
  int fd_count_ = 0;              // how many of fds_ the query filled
  gint priority_ = 0;             // from the last prepare, for the next check
  std::vector<std::pair<int, WebrtccallFrameLimitStream *>> sockets_; // holds refs
  std::vector<std::pair<int, std::uint32_t>> watched_;  // fd, epoll events: what epoll holds
  std::vector<std::pair<int, std::uint32_t>> reported_; // fd, events since the last run()
  gint64 deadline_us_ = -1;       // in owner_.timers_ when not -1
  bool running_ = false;
  bool ready_ = false;   // in owner_.ready_
  bool changed_ = false; // in owner_.changed_
};

// A connection's socket watched by its loop (Loop::watch_socket) for as long
// as this lives.
class SocketWatch {
public:
  SocketWatch(ConnectionLoops::Loop &loop, int fd, WebrtccallFrameLimitStream *stream)
      : loop_(loop), fd_(fd), stream_(WEBRTCCALL_FRAME_LIMIT_STREAM(g_object_ref(stream))) {
    loop_.watch_socket(fd_, stream_);
  }
  ~SocketWatch() {
    loop_.unwatch_socket(fd_, stream_);
    g_object_unref(stream_);
  }
  SocketWatch(const SocketWatch &) = delete;
  SocketWatch &operator=(const SocketWatch &) = delete;

private:
  ConnectionLoops::Loop &loop_;
  int fd_;
  WebrtccallFrameLimitStream *stream_; // holds ref: the loop's entry is known by it
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
