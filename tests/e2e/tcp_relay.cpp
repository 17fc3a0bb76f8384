#include "tcp_relay.hpp"

namespace webrtccall::test {

TcpRelay::TcpRelay(guint16 target_port)
    : target_port_(target_port), context_(g_main_context_new()),
      loop_(g_main_loop_new(context_, FALSE)) {
  // The service dispatches in the context current when it starts.
  g_main_context_push_thread_default(context_);
  service_ = g_socket_service_new();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new(loopback, 0);
  g_autoptr(GSocketAddress) bound = nullptr;
  g_autoptr(GError) error = nullptr;
  if (!g_socket_listener_add_address(G_SOCKET_LISTENER(service_), address, G_SOCKET_TYPE_STREAM,
                                     G_SOCKET_PROTOCOL_TCP, nullptr, &bound, &error))
    g_error("the relay cannot listen: %s", error->message);
  port_ = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  g_signal_connect(service_, "incoming", G_CALLBACK(on_incoming), this);
  g_socket_service_start(service_);
  g_main_context_pop_thread_default(context_);
  thread_ = std::thread([this] {
    g_main_context_push_thread_default(context_);
    g_main_loop_run(loop_);
    g_main_context_pop_thread_default(context_);
  });
}

TcpRelay::~TcpRelay() {
  g_main_loop_quit(loop_);
  thread_.join();
  g_socket_service_stop(service_);
  g_socket_listener_close(G_SOCKET_LISTENER(service_));
  g_object_unref(service_);
  for (auto &pair : pairs_) {
    g_cancellable_cancel(pair.splice);
    g_object_unref(pair.splice);
    g_io_stream_close(G_IO_STREAM(pair.client), nullptr, nullptr);
    g_io_stream_close(G_IO_STREAM(pair.server), nullptr, nullptr);
    g_object_unref(pair.client);
    g_object_unref(pair.server);
  }
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

gboolean TcpRelay::on_incoming(GSocketService *, GSocketConnection *client, GObject *,
                               gpointer data) {
  auto *self = static_cast<TcpRelay *>(data);
  g_autoptr(GSocketClient) connector = g_socket_client_new();
  g_autoptr(GError) error = nullptr;
  GSocketConnection *server =
      g_socket_client_connect_to_host(connector, "127.0.0.1", self->target_port_, nullptr, &error);
  if (!server) {
    g_printerr("# relay: cannot reach the server: %s\n", error->message);
    return FALSE; // the client sees its connection close
  }
  Pair pair{G_SOCKET_CONNECTION(g_object_ref(client)), server, g_cancellable_new()};
  // No close flags: when the splice is cancelled, each side stays as it is.
  g_io_stream_splice_async(G_IO_STREAM(pair.client), G_IO_STREAM(pair.server),
                           G_IO_STREAM_SPLICE_NONE, G_PRIORITY_DEFAULT, pair.splice, nullptr,
                           nullptr);
  std::lock_guard<std::mutex> guard(self->lock_);
  self->pairs_.push_back(pair);
  return TRUE;
}

void TcpRelay::cut() {
  std::vector<Pair> pairs;
  {
    std::lock_guard<std::mutex> guard(lock_);
    pairs = pairs_;
  }
  // On the relay's thread, where the splices run.
  struct Work {
    std::vector<Pair> pairs;
    std::mutex lock;
    std::condition_variable done_signal;
    bool done = false;
  } work;
  work.pairs = pairs;
  g_main_context_invoke(
      context_,
      +[](gpointer data) -> gboolean {
        auto *work = static_cast<Work *>(data);
        for (auto &pair : work->pairs) {
          g_cancellable_cancel(pair.splice);
          g_io_stream_close(G_IO_STREAM(pair.client), nullptr, nullptr);
        }
        std::lock_guard<std::mutex> guard(work->lock);
        work->done = true;
        work->done_signal.notify_all();
        return G_SOURCE_REMOVE;
      },
      &work);
  std::unique_lock<std::mutex> guard(work.lock);
  work.done_signal.wait(guard, [&] { return work.done; });
}

} // namespace webrtccall::test
