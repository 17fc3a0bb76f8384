#include "redis_server.hpp"

#include "server_process.hpp"

#include <glib/gstdio.h>
#include <hiredis/hiredis.h>

#include <sys/prctl.h>

#include <csignal>

namespace webrtccall::test {

namespace {

// A port nothing listens on now. Redis cannot pick its own (--port 0 turns
// TCP off), so there is a window in which another program could take it:
// launch() notices and the constructor tries another.
int free_port() {
  g_autoptr(GSocket) socket =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new(loopback, 0);
  g_autoptr(GError) error = nullptr;
  if (!g_socket_bind(socket, any, FALSE, &error))
    g_error("cannot bind a loopback port: %s", error->message);
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address(socket, nullptr);
  return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
}

std::string reply_text(const redisReply *reply) {
  switch (reply->type) {
  case REDIS_REPLY_STRING:
  case REDIS_REPLY_STATUS:
    return std::string(reply->str, reply->len);
  case REDIS_REPLY_ERROR:
    return "(error) " + std::string(reply->str, reply->len);
  case REDIS_REPLY_INTEGER:
    return std::to_string(reply->integer);
  case REDIS_REPLY_ARRAY: {
    std::string text = "[";
    for (std::size_t i = 0; i < reply->elements; i++)
      text += (i ? "," : "") + reply_text(reply->element[i]);
    return text + "]";
  }
  default:
    return "(nil)";
  }
}

} // namespace

RedisServer::RedisServer() : binary_(required_env("REDIS_SERVER")) {
  g_autofree char *dir = g_dir_make_tmp("webrtccall-redis-XXXXXX", nullptr);
  dir_ = dir;
  for (int attempt = 0; attempt < 5; attempt++) {
    port_ = free_port();
    if (launch())
      return;
  }
  g_error("redis-server did not start on five free ports in a row");
}

RedisServer::~RedisServer() {
  if (running())
    kill();
  if (process_)
    g_object_unref(process_);
  std::string log = dir_ + "/redis.log";
  g_unlink(log.c_str());
  g_rmdir(dir_.c_str());
}

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

bool RedisServer::running() const {
  return process_ && g_subprocess_get_identifier(process_) != nullptr;
}

void RedisServer::start() {
  if (running())
    g_error("redis-server is already running");
  if (!launch())
    g_error("redis-server did not start again on port %d (see %s/redis.log)", port_, dir_.c_str());
}

bool RedisServer::launch() {
  if (process_)
    g_clear_object(&process_);
  std::string log = dir_ + "/redis.log";
  std::string port = std::to_string(port_);
  // Nothing on disk: a restart starts empty, as a Redis without persistence
  // does, which is the hard case for the servers (every name claim is gone).
  const char *argv[] = {
      binary_.c_str(), "--port",    port.c_str(),   "--bind", "127.0.0.1", "-::1",
      "--save",        "",          "--appendonly", "no",     "--dir",     dir_.c_str(),
      "--logfile",     log.c_str(), "--daemonize",  "no",     nullptr};
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
      GSubprocessFlags(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE));
  // Dies with the test: a test that fails aborts without running destructors.
  g_subprocess_launcher_set_child_setup(
      launcher, +[](gpointer) { prctl(PR_SET_PDEATHSIG, SIGKILL); }, nullptr, nullptr);
  g_autoptr(GError) error = nullptr;
  process_ = g_subprocess_launcher_spawnv(launcher, argv, &error);
  if (!process_)
    g_error("cannot start %s: %s", binary_.c_str(), error->message);
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time() < deadline) {
    if (!running())
      return false;
    struct timeval timeout = {1, 0};
    redisContext *context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
    bool up = false;
    if (context && !context->err) {
      auto *reply = static_cast<redisReply *>(redisCommand(context, "PING"));
      up = reply && reply->type == REDIS_REPLY_STATUS;
      if (reply)
        freeReplyObject(reply);
    }
    if (context)
      redisFree(context);
    if (up)
      return true;
    g_usleep(10000); // polling a port: redis-server announces nothing we can wait on
  }
  g_error("redis-server did not answer PING on port %d within 10 s", port_);
}

void RedisServer::wait_exit() {
  g_autoptr(GError) error = nullptr;
  if (!g_subprocess_wait(process_, nullptr, &error))
    g_error("waiting for redis-server: %s", error->message);
}

void RedisServer::stop() {
  g_subprocess_send_signal(process_, SIGTERM);
  wait_exit();
}

void RedisServer::kill() {
  g_subprocess_force_exit(process_);
  wait_exit();
}

std::string RedisServer::command(const std::vector<std::string> &args) {
  struct timeval timeout = {5, 0};
  redisContext *context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (!context || context->err)
    g_error("cannot connect to redis-server on port %d: %s", port_,
            context ? context->errstr : "out of memory");
  std::vector<const char *> argv;
  std::vector<std::size_t> lengths;
  for (const auto &arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto *reply = static_cast<redisReply *>(
      redisCommandArgv(context, int(argv.size()), argv.data(), lengths.data()));
  if (!reply)
    g_error("redis-server did not answer %s: %s", args[0].c_str(), context->errstr);
  std::string text = reply_text(reply);
  freeReplyObject(reply);
  redisFree(context);
  return text;
}

} // namespace webrtccall::test
