#include "socket_poller.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace webrtccall::server {

namespace {

// Readiness reports taken per epoll_wait; the rest stay for the next one.
constexpr int kEventsPerWait = 256;
// Large enough for a whole message at the default limit in one read.
constexpr std::size_t kScratchBytes = 64 * 1024;

} // namespace

struct SocketPoller::PollSource {
  GSource source;
  SocketPoller *poller;
};

SocketPoller::SocketPoller(GMainContext *context) : scratch_(kScratchBytes) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0)
    g_error("cannot create an epoll set for the clients' sockets: %s", g_strerror(errno));
  static GSourceFuncs funcs = {prepare, check, dispatch, nullptr, nullptr, nullptr};
  source_ = g_source_new(&funcs, sizeof(PollSource));
  reinterpret_cast<PollSource *>(source_)->poller = this;
  g_source_set_static_name(source_, "webrtccall client sockets");
  // Not blocked while it dispatches: blocking removes and adds its fd, and
  // GLib wakes the context up for each (two system calls per dispatch). It
  // runs no nested loop, so it never recurses.
  g_source_set_can_recurse(source_, TRUE);
  epoll_tag_ = g_source_add_unix_fd(source_, epoll_fd_, G_IO_IN);
  g_source_attach(source_, context);
}

SocketPoller::~SocketPoller() {
  g_source_destroy(source_);
  g_source_unref(source_);
  close(epoll_fd_);
}

SocketPoller::Token SocketPoller::watch(int fd, Watcher &watcher) {
  Token token = next_token_++;
  if (fd >= 0) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = token;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0)
      return 0;
  }
  entries_.emplace(token, Entry{&watcher, fd});
  return token;
}

void SocketPoller::unwatch(Token token) {
  auto entry = entries_.find(token);
  if (entry == entries_.end())
    return;
  if (entry->second.fd >= 0)
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, entry->second.fd, nullptr);
  if (entry->second.deadline_us >= 0)
    timers_.erase({entry->second.deadline_us, token});
  entries_.erase(entry);
}

void SocketPoller::set_timer(Token token, gint64 deadline_us) {
  auto entry = entries_.find(token);
  if (entry == entries_.end())
    return;
  gint64 &deadline = entry->second.deadline_us;
  if (deadline >= 0)
    timers_.erase({deadline, token});
  deadline = deadline_us;
  if (deadline >= 0)
    timers_.emplace(deadline, token);
}

bool SocketPoller::timer_due(gint64 now_us) const {
  return !timers_.empty() && timers_.begin()->first <= now_us;
}

gboolean SocketPoller::prepare(GSource *source, gint *timeout_ms) {
  SocketPoller &self = *reinterpret_cast<PollSource *>(source)->poller;
  gint64 now = g_source_get_time(source);
  if (self.timer_due(now)) {
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

gboolean SocketPoller::check(GSource *source) {
  SocketPoller &self = *reinterpret_cast<PollSource *>(source)->poller;
  return g_source_query_unix_fd(source, self.epoll_tag_) != 0 ||
         self.timer_due(g_source_get_time(source));
}

gboolean SocketPoller::dispatch(GSource *source, GSourceFunc, gpointer) {
  SocketPoller &self = *reinterpret_cast<PollSource *>(source)->poller;
  self.dispatch_events();
  self.dispatch_timers();
  return G_SOURCE_CONTINUE;
}

void SocketPoller::dispatch_events() {
  epoll_event events[kEventsPerWait];
  int count = epoll_wait(epoll_fd_, events, kEventsPerWait, 0);
  for (int i = 0; i < count; i++) {
    // A watcher may have gone while an earlier one was served.
    auto entry = entries_.find(events[i].data.u64);
    if (entry != entries_.end())
      entry->second.watcher->on_socket_ready(events[i].events);
  }
}

void SocketPoller::dispatch_timers() {
  // The timers due now; those set during their calls wait for the next
  // dispatch, so a watcher that sets its timer to now again cannot starve
  // the sockets.
  gint64 now = g_get_monotonic_time();
  std::vector<std::pair<gint64, Token>> due;
  for (auto timer = timers_.begin(); timer != timers_.end() && timer->first <= now; ++timer)
    due.push_back(*timer);
  for (const auto &[deadline, token] : due) {
    auto entry = entries_.find(token);
    if (entry == entries_.end() || entry->second.deadline_us != deadline)
      continue; // gone, or its timer changed meanwhile
    timers_.erase({deadline, token});
    entry->second.deadline_us = -1;
    entry->second.watcher->on_timer();
  }
}

} // namespace webrtccall::server
