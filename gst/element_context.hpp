// The element's own GMainContext and the thread that runs it.
//
// The WebSocket, the protocol state and every timer live here, never on the
// application's default context (it may never run) nor on streaming threads
// (they must not wait for the network). Other threads hand work over with
// invoke(); once stop() has begun, late work is dropped.
#pragma once

#include <glib.h>

#include <atomic>
#include <functional>
#include <string>

namespace webrtccall {

class ElementContext {
public:
  explicit ElementContext(const std::string &thread_name);
  ~ElementContext(); // stops and joins if still running
  ElementContext(const ElementContext &) = delete;
  ElementContext &operator=(const ElementContext &) = delete;

  GMainContext *context() const { return context_; }
  bool is_current() const { return g_main_context_is_owner(context_); }

  // Runs `work` on the context's thread, soon. Dropped after stop().
  void invoke(std::function<void()> work);
  // Runs `work` on the context's thread and waits for it, at most
  // `timeout_ms`; runs it directly when called from that thread. Returns
  // false if it did not run in time (or the context is stopping).
  bool invoke_sync(std::function<void()> work, int timeout_ms);
  // Calls `work` every `interval_ms` (or once after it, with repeat false)
  // on the context's thread until the returned id is removed with cancel().
  guint schedule(unsigned interval_ms, bool repeat, std::function<void()> work);
  void cancel(guint source_id);

  // Marks the context closed, quits the loop and joins the thread. Pending
  // work is destroyed without running.
  void stop();

private:
  static gpointer run(gpointer self);

  GMainContext *context_;
  GMainLoop *loop_;
  GThread *thread_ = nullptr;
  std::atomic<bool> closed_{false};
};

} // namespace webrtccall
