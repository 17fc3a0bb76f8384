#include "element_context.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace webrtccall {

namespace {

struct Work {
  std::function<void()> work;
  std::atomic<bool> *closed;
  bool repeat = false;
};

gboolean run_work(gpointer data) {
  auto *work = static_cast<Work *>(data);
  if (!work->closed->load())
    work->work();
  return work->repeat && !work->closed->load() ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

void free_work(gpointer data) {
  delete static_cast<Work *>(data);
}

} // namespace

ElementContext::ElementContext(const std::string &thread_name)
    : context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE)) {
  thread_ = g_thread_new(thread_name.c_str(), run, this);
  // Wait until the loop runs, so work invoked right away is not raced by startup.
  invoke_sync([] {}, 5000);
}

ElementContext::~ElementContext() {
  stop();
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

gpointer ElementContext::run(gpointer data) {
  auto *self = static_cast<ElementContext *>(data);
  g_main_context_push_thread_default(self->context_);
  g_main_loop_run(self->loop_);
  // Dispatch what is left so that sources holding references release them.
  while (g_main_context_iteration(self->context_, FALSE)) {
  }
  g_main_context_pop_thread_default(self->context_);
  return nullptr;
}

void ElementContext::invoke(std::function<void()> work) {
  if (closed_.load())
    return;
  GSource *source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(source, run_work, new Work{std::move(work), &closed_}, free_work);
  g_source_attach(source, context_);
  g_source_unref(source);
}

bool ElementContext::invoke_sync(std::function<void()> work, int timeout_ms) {
  if (closed_.load())
    return false;
  if (is_current()) {
    work();
    return true;
  }
  struct Done {
    std::mutex lock;
    std::condition_variable cond;
    bool done = false;
  };
  auto done = std::make_shared<Done>();
  invoke([done, work = std::move(work)] {
    work();
    std::lock_guard<std::mutex> guard(done->lock);
    done->done = true;
    done->cond.notify_all();
  });
  std::unique_lock<std::mutex> guard(done->lock);
  return done->cond.wait_for(guard, std::chrono::milliseconds(timeout_ms),
                             [&] { return done->done; });
}

guint ElementContext::schedule(unsigned interval_ms, bool repeat, std::function<void()> work) {
  GSource *source = g_timeout_source_new(interval_ms);
  g_source_set_callback(source, run_work, new Work{std::move(work), &closed_, repeat}, free_work);
  guint id = g_source_attach(source, context_);
  g_source_unref(source);
  return id;
}

void ElementContext::cancel(guint source_id) {
  if (source_id == 0)
    return;
  if (GSource *source = g_main_context_find_source_by_id(context_, source_id))
    g_source_destroy(source);
}

void ElementContext::stop() {
  if (closed_.exchange(true) && !thread_)
    return;
  if (thread_) {
    g_main_loop_quit(loop_);
    g_thread_join(thread_);
    thread_ = nullptr;
  }
}

} // namespace webrtccall
