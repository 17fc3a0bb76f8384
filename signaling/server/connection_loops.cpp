#include "connection_loops.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace webrtccall::server {

namespace {

// Enough that a loop holds a few connections even at --max-connections
// 10000, few enough that their eventfds stay a small share of the files a
// process may open.
constexpr std::size_t kLoops = 1024;
// Readiness reports taken per epoll_wait; the rest stay for the next one.
constexpr int kEventsPerWait = 256;
// GLib's poll bits are Linux's poll bits, which epoll shares (POLLNVAL aside).
constexpr std::uint32_t kPollBits = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP;
// What makes a watched socket readable for libsoup: data, the peer's close,
// an error.
constexpr std::uint32_t kSocketBits = EPOLLIN | EPOLLRDHUP;
constexpr std::uint32_t kReadableBits = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP;

// An epoll entry says which loop and which fd.
std::uint64_t epoll_data(std::uint32_t loop_index, int fd) {
  return (std::uint64_t(loop_index) << 32) | std::uint32_t(fd);
}

} // namespace

struct ConnectionLoops::WatchSource {
  GSource source;
  ConnectionLoops *loops;
};

ConnectionLoops::ConnectionLoops() : server_context_(g_main_context_ref_thread_default()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0)
    g_error("cannot create an epoll set for the connections: %s", g_strerror(errno));
  static GSourceFuncs funcs = {prepare, check, dispatch, nullptr, nullptr, nullptr};
  watch_ = g_source_new(&funcs, sizeof(WatchSource));
  reinterpret_cast<WatchSource *>(watch_)->loops = this;
  g_source_set_static_name(watch_, "webrtccall connection loops");
  // Not blocked while it dispatches: blocking removes and adds its fd, and
  // GLib wakes the context up for each (two system calls per dispatch). It
  // runs no nested loop, so it never recurses.
  g_source_set_can_recurse(watch_, TRUE);
  epoll_tag_ = g_source_add_unix_fd(watch_, epoll_fd_, G_IO_IN);
  g_source_attach(watch_, server_context_);
}

ConnectionLoops::~ConnectionLoops() {
  g_source_destroy(watch_);
  g_source_unref(watch_);
  loops_.clear(); // destroys what sources are left in them
  close(epoll_fd_);
  g_main_context_unref(server_context_);
}

ConnectionLoops::Loop &ConnectionLoops::loop_for(std::uint64_t connection_id) {
  std::size_t index = connection_id % kLoops;
  if (loops_.size() <= index)
    loops_.resize(index + 1);
  if (!loops_[index])
    loops_[index] = std::make_unique<Loop>(*this, std::uint32_t(index));
  return *loops_[index];
}

void ConnectionLoops::claim_fd(int fd) {
  if (fd < 0 || std::size_t(fd) >= fd_owner_.size() || !fd_owner_[fd])
    return;
  Loop &stale = *fd_owner_[fd];
  auto &watched = stale.watched_;
  watched.erase(std::remove_if(watched.begin(), watched.end(),
                               [fd](const auto &entry) { return entry.first == fd; }),
                watched.end());
  stale.forget_socket(fd);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); // ENOENT expected: it was closed
  fd_owner_[fd] = nullptr;
}

gboolean ConnectionLoops::prepare(GSource *source, gint *timeout_ms) {
  ConnectionLoops &self = *reinterpret_cast<WatchSource *>(source)->loops;
  gint64 now = g_source_get_time(source);
  if (self.has_work(now)) {
    *timeout_ms = 0;
    return TRUE;
  }
  if (self.timers_.empty()) {
    *timeout_ms = -1;
  } else {
    gint64 wait_us = self.timers_.begin()->first - now;
    *timeout_ms = gint(std::min<gint64>((wait_us + 999) / 1000, G_MAXINT));
  }
  return FALSE;
}

gboolean ConnectionLoops::check(GSource *source) {
  ConnectionLoops &self = *reinterpret_cast<WatchSource *>(source)->loops;
  return g_source_query_unix_fd(source, self.epoll_tag_) != 0 ||
         self.has_work(g_source_get_time(source));
}

gboolean ConnectionLoops::dispatch(GSource *source, GSourceFunc, gpointer) {
  reinterpret_cast<WatchSource *>(source)->loops->run_due_loops();
  return G_SOURCE_CONTINUE;
}

bool ConnectionLoops::has_work(gint64 now_us) const {
  return !ready_.empty() || !changed_.empty() ||
         (!timers_.empty() && timers_.begin()->first <= now_us);
}

void ConnectionLoops::run_due_loops() {
  epoll_event events[kEventsPerWait];
  int count = epoll_wait(epoll_fd_, events, kEventsPerWait, 0);
  for (int i = 0; i < count; i++) {
    std::size_t index = events[i].data.u64 >> 32;
    if (index < loops_.size() && loops_[index]) {
      loops_[index]->reported(int(events[i].data.u64 & 0xffffffffu), events[i].events);
      mark_ready(*loops_[index]);
    }
  }
  gint64 now = g_get_monotonic_time();
  for (auto timer = timers_.begin(); timer != timers_.end() && timer->first <= now; ++timer)
    mark_ready(*timer->second); // run() sets its next deadline

  // Loops changed from outside their own run (a connection made or closed
  // there): their sources may be ready already, or watch something new.
  std::vector<Loop *> changed;
  changed.swap(changed_);
  for (Loop *loop : changed) {
    loop->changed_ = false;
    loop->update();
  }
  std::vector<Loop *> ready;
  ready.swap(ready_);
  for (Loop *loop : ready) {
    loop->ready_ = false;
    loop->run();
  }
  // And those the runs changed, so that the next wait covers them; what
  // they make ready runs at the next dispatch, as the prepare says.
  changed.clear();
  changed.swap(changed_);
  for (Loop *loop : changed) {
    loop->changed_ = false;
    loop->update();
  }
}

void ConnectionLoops::mark_ready(Loop &loop) {
  if (loop.ready_)
    return;
  loop.ready_ = true;
  ready_.push_back(&loop);
}

void ConnectionLoops::mark_changed(Loop &loop) {
  if (loop.changed_)
    return;
  loop.changed_ = true;
  changed_.push_back(&loop);
}

void ConnectionLoops::set_deadline(Loop &loop, gint64 deadline_us, gint64 now_us) {
  // An earlier deadline still to come can stay: waking early only costs a
  // run that finds nothing due. This spares the timer set an update per
  // message, since a loop's timers (keepalives) seldom move.
  gint64 old = loop.deadline_us_;
  if (old == deadline_us || (old > now_us && (deadline_us == -1 || old <= deadline_us)))
    return;
  if (loop.deadline_us_ != -1)
    timers_.erase({loop.deadline_us_, &loop});
  loop.deadline_us_ = deadline_us;
  if (deadline_us != -1)
    timers_.insert({deadline_us, &loop});
}

void ConnectionLoops::watch_fd(Loop &loop, int fd, std::uint32_t events, bool modify) {
  if (std::size_t(fd) >= fd_owner_.size())
    fd_owner_.resize(fd + 1, nullptr);
  epoll_event event{};
  event.events = events;
  event.data.u64 = epoll_data(loop.index_, fd);
  int op = modify && fd_owner_[fd] == &loop ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(epoll_fd_, op, fd, &event) != 0) {
    // The fd was closed and its number reused under us: take it as new.
    int retry = errno == EEXIST ? EPOLL_CTL_MOD : errno == ENOENT ? EPOLL_CTL_ADD : -1;
    if (retry < 0 || epoll_ctl(epoll_fd_, retry, fd, &event) != 0) {
      // A closed fd still listed by a source about to go: nothing to watch.
      g_debug("cannot watch fd %d of a connection: %s", fd, g_strerror(errno));
      return;
    }
  }
  fd_owner_[fd] = &loop;
}

void ConnectionLoops::unwatch_fd(Loop &loop, int fd) {
  if (std::size_t(fd) >= fd_owner_.size() || fd_owner_[fd] != &loop)
    return; // its number went to another loop's connection since
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); // fails harmlessly if already closed
  fd_owner_[fd] = nullptr;
}

ConnectionLoops::Loop::Loop(ConnectionLoops &owner, std::uint32_t index)
    : owner_(owner), index_(index), context_(g_main_context_new()) {
  // Held for good: only this thread runs the loop, and prepare/query/check
  // need the context acquired.
  g_main_context_acquire(context_);
  update(); // its eventfd, for wakeups from other threads
}

ConnectionLoops::Loop::~Loop() {
  if (deadline_us_ != -1)
    owner_.timers_.erase({deadline_us_, this});
  for (const auto &[fd, events] : watched_)
    owner_.unwatch_fd(*this, fd);
  for (const auto &[fd, stream] : sockets_)
    g_object_unref(stream);
  g_main_context_release(context_);
  g_main_context_unref(context_);
}

void ConnectionLoops::Loop::changed() {
  if (!running_) // run() looks again when it is done
    owner_.mark_changed(*this);
}

void ConnectionLoops::Loop::watch_socket(int fd, WebrtccallFrameLimitStream *stream) {
  webrtccall_frame_limit_stream_use_external_readiness(stream);
  sockets_.emplace_back(fd, WEBRTCCALL_FRAME_LIMIT_STREAM(g_object_ref(stream)));
  changed();
}

void ConnectionLoops::Loop::unwatch_socket(int fd, WebrtccallFrameLimitStream *stream) {
  auto entry = std::find(sockets_.begin(), sockets_.end(), std::make_pair(fd, stream));
  if (entry == sockets_.end())
    return; // its number went to a new connection, which took the watch over
  sockets_.erase(entry);
  g_object_unref(stream);
  changed();
}

void ConnectionLoops::Loop::forget_socket(int fd) {
  for (auto entry = sockets_.begin(); entry != sockets_.end(); ++entry) {
    if (entry->first == fd) {
      g_object_unref(entry->second);
      sockets_.erase(entry);
      return;
    }
  }
}

void ConnectionLoops::Loop::reported(int fd, std::uint32_t events) {
  if (events & kReadableBits)
    for (const auto &[socket_fd, stream] : sockets_)
      if (socket_fd == fd)
        webrtccall_frame_limit_stream_set_readable(stream);
  reported_.emplace_back(fd, events);
}

int ConnectionLoops::Loop::query(gint priority, gint *timeout_ms) {
  for (;;) {
    int count = g_main_context_query(context_, priority, timeout_ms, fds_.data(), gint(fds_.size()));
    if (std::size_t(count) <= fds_.size())
      return count;
    fds_.resize(count);
  }
}

// One iteration of the loop's context, as g_main_context_iteration() would
// do it, but split: update() made the prepare and query when the loop last
// changed; epoll was the poll; here come the check and the dispatch, and
// update() again for the next time.
void ConnectionLoops::Loop::run() {
  running_ = true;
  for (int i = 0; i < fd_count_; i++) {
    fds_[i].revents = 0;
    for (const auto &[fd, events] : reported_)
      if (fd == fds_[i].fd)
        fds_[i].revents |= gushort(events & kPollBits & (fds_[i].events | G_IO_ERR | G_IO_HUP));
  }
  reported_.clear();
  // libsoup makes sources in the thread-default context as it goes (a pong
  // that cannot be written at once, the close handshake's timeout).
  g_main_context_push_thread_default(context_);
  if (g_main_context_check(context_, priority_, fds_.data(), fd_count_))
    g_main_context_dispatch(context_);
  g_main_context_pop_thread_default(context_);
  running_ = false;
  update();
}

void ConnectionLoops::Loop::update() {
  gint timeout_ms = -1;
  bool ready = g_main_context_prepare(context_, &priority_);
  int count = fd_count_ = query(priority_, &timeout_ms);
  if (ready)
    owner_.mark_ready(*this);

  // One epoll entry per fd: a socket can be watched for reading and writing
  // by two sources, and a connection's socket by us as well. GLib's sources
  // want to hear while an fd stays ready (level-triggered); our watch of a
  // socket only when it becomes readable (edge-triggered), since its stream
  // stays readable until a read would block, and a socket nobody reads from
  // for a while (its connection closing) must not keep waking us.
  std::vector<std::pair<int, std::uint32_t>> wanted;
  wanted.reserve(count + sockets_.size());
  auto want = [&wanted](int fd, std::uint32_t events) {
    auto same = std::find_if(wanted.begin(), wanted.end(),
                             [fd](const auto &entry) { return entry.first == fd; });
    if (same == wanted.end())
      wanted.emplace_back(fd, events);
    else // both: level-triggered, for GLib's sake
      same->second = (same->second | events) & ~std::uint32_t(EPOLLET);
  };
  for (int i = 0; i < count; i++)
    want(fds_[i].fd, fds_[i].events & kPollBits);
  for (const auto &[fd, stream] : sockets_)
    want(fd, kSocketBits | EPOLLET);
  std::sort(wanted.begin(), wanted.end());
  if (wanted != watched_) {
    auto old = watched_.begin();
    for (const auto &[fd, events] : wanted) {
      while (old != watched_.end() && old->first < fd)
        owner_.unwatch_fd(*this, (old++)->first);
      bool known = old != watched_.end() && old->first == fd;
      if (!known || old->second != events)
        owner_.watch_fd(*this, fd, events, known);
      if (known)
        ++old;
    }
    for (; old != watched_.end(); ++old)
      owner_.unwatch_fd(*this, old->first);
    watched_ = std::move(wanted);
  }
  gint64 now = g_get_monotonic_time();
  owner_.set_deadline(*this, timeout_ms < 0 ? -1 : now + gint64(timeout_ms) * 1000, now);
}

} // namespace webrtccall::server
