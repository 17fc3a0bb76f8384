// The server's Redis client on the GLib main loop, against a real
// redis-server: replies in order, pub/sub in order, every command bounded by
// a deadline (a server that accepts and never answers), failures when Redis
// dies, and the link that reconnects by itself when Redis comes back.
#include "redis_connection.hpp"
#include "redis_link.hpp"
#include "redis_server.hpp"
#include "wait.hpp"

#include <gio/gio.h>

#include <memory>
#include <string>
#include <vector>

using namespace webrtccall::server;
using namespace webrtccall::test;

namespace {

struct Recorder : RedisConnectionListener {
  int connected = 0;
  int closed = 0;
  std::string why;
  std::vector<std::string> events; // "connected", "closed", and whatever the test adds
  std::vector<std::pair<std::string, std::string>> messages;

  void on_connected(RedisConnection &) override {
    connected++;
    events.push_back("connected");
  }
  void on_closed(RedisConnection &, const std::string &reason) override {
    closed++;
    why = reason;
    events.push_back("closed");
  }
  void on_message(RedisConnection &, std::string_view channel, std::string_view payload) override {
    messages.emplace_back(channel, payload);
  }
};

// Opens `connection` to the test's Redis and waits until it is connected.
void open_to(RedisConnection &connection, Recorder &recorder, const RedisServer &redis) {
  connection.open("127.0.0.1", redis.port());
  wait_until([&] { return recorder.connected > 0 || recorder.closed > 0; }, 5000, "connected");
  if (!connection.is_open())
    g_error("cannot connect to the test's redis-server: %s", recorder.why.c_str());
}

// Sends a command and waits for its result.
RedisResult run(RedisConnection &connection, const std::vector<std::string> &args) {
  std::optional<RedisResult> result;
  if (!connection.command(args, [&](const RedisResult &r) { result = r; }))
    g_error("%s was not sent", args[0].c_str());
  wait_until([&] { return result.has_value(); }, 5000, args[0].c_str());
  return *result;
}

void replies_are_typed() {
  RedisServer redis;
  Recorder recorder;
  RedisConnection connection("test", {}, recorder);
  open_to(connection, recorder, redis);

  RedisResult set = run(connection, {"SET", "key", std::string("a\0b", 3)});
  g_assert_true(set.ok());
  g_assert_true(set.reply->type == RedisReply::Type::kStatus);
  g_assert_cmpstr(set.reply->str.c_str(), ==, "OK");
  RedisResult get = run(connection, {"GET", "key"});
  g_assert_true(get.reply->type == RedisReply::Type::kString);
  g_assert_true(get.reply->str == std::string("a\0b", 3)); // binary-safe both ways
  RedisResult missing = run(connection, {"GET", "nothing"});
  g_assert_true(missing.reply->type == RedisReply::Type::kNil);
  RedisResult mget = run(connection, {"MGET", "key", "nothing"});
  g_assert_true(mget.reply->type == RedisReply::Type::kArray);
  g_assert_cmpuint(mget.reply->elements.size(), ==, 2);
  g_assert_true(mget.reply->elements[1].type == RedisReply::Type::kNil);
  RedisResult wrong = run(connection, {"NOSUCHCOMMAND"});
  g_assert_false(wrong.ok());
  g_assert_true(wrong.reply->type == RedisReply::Type::kError);
  g_assert_true(wrong.problem().find("unknown command") != std::string::npos);
  // An error reply is an answer like any other: the connection stays.
  g_assert_true(connection.is_open());
  g_assert_cmpint(recorder.closed, ==, 0);
}

void pipelined_replies_come_in_order() {
  RedisServer redis;
  Recorder recorder;
  RedisConnection connection("test", {}, recorder);
  open_to(connection, recorder, redis);
  constexpr int kCount = 2000;
  std::vector<long long> seen;
  for (int i = 0; i < kCount; i++)
    g_assert_true(connection.command({"INCR", "counter"}, [&](const RedisResult &r) {
      g_assert_true(r.ok());
      seen.push_back(r.reply->integer);
    }));
  g_assert_cmpuint(connection.pending(), ==, kCount);
  wait_until([&] { return seen.size() == kCount; }, 10000, "every INCR reply");
  for (int i = 0; i < kCount; i++)
    g_assert_cmpint(seen[i], ==, i + 1);
  g_assert_cmpuint(connection.pending(), ==, 0);
}

void messages_arrive_in_order() {
  RedisServer redis;
  Recorder subscriber_events, publisher_events;
  RedisConnection subscriber("subscriber", {}, subscriber_events);
  RedisConnection publisher("publisher", {}, publisher_events);
  open_to(subscriber, subscriber_events, redis);
  open_to(publisher, publisher_events, redis);
  bool confirmed = false;
  g_assert_true(subscriber.subscribe({"one", "two"}, [&](const RedisResult &r) {
    g_assert_true(r.ok());
    confirmed = true;
  }));
  wait_until([&] { return confirmed; }, 5000, "SUBSCRIBE confirmed");
  constexpr int kCount = 1000;
  for (int i = 0; i < kCount; i++)
    g_assert_true(publisher.command({"PUBLISH", i % 2 ? "two" : "one", std::to_string(i)},
                                    [](const RedisResult &r) {
                                      g_assert_true(r.ok());
                                      g_assert_cmpint(r.reply->integer, ==, 1); // one subscriber
                                    }));
  publisher.command({"PUBLISH", "elsewhere", "x"}, [](const RedisResult &) {});
  wait_until([&] { return subscriber_events.messages.size() == kCount; }, 10000, "every message");
  for (int i = 0; i < kCount; i++) {
    g_assert_cmpstr(subscriber_events.messages[i].first.c_str(), ==, i % 2 ? "two" : "one");
    g_assert_true(subscriber_events.messages[i].second == std::to_string(i));
  }
  run_for(100);
  g_assert_cmpuint(subscriber_events.messages.size(), ==, kCount); // not "elsewhere"
}

// A TCP server that accepts and never says a word: what a stalled Redis, or
// a network that drops everything, looks like from our side.
struct SilentServer {
  GSocketService *service = g_socket_service_new();
  std::vector<GSocketConnection *> accepted;
  int port = 0;

  SilentServer() {
    g_autoptr(GError) error = nullptr;
    port = g_socket_listener_add_any_inet_port(G_SOCKET_LISTENER(service), nullptr, &error);
    if (!port)
      g_error("cannot listen: %s", error->message);
    g_signal_connect(service, "incoming",
                     G_CALLBACK(+[](GSocketService *, GSocketConnection *connection, GObject *,
                                    gpointer self) -> gboolean {
                       static_cast<SilentServer *>(self)->accepted.push_back(
                           G_SOCKET_CONNECTION(g_object_ref(connection)));
                       return TRUE;
                     }),
                     this);
    g_socket_service_start(service);
  }
  ~SilentServer() {
    for (auto *connection : accepted)
      g_object_unref(connection);
    g_socket_service_stop(service);
    g_socket_listener_close(G_SOCKET_LISTENER(service));
    g_object_unref(service);
  }
};

void command_without_reply_times_out() {
  SilentServer silent;
  Recorder recorder;
  RedisConnection connection("test", RedisTimeouts{2000, 300}, recorder);
  connection.open("127.0.0.1", silent.port);
  wait_until([&] { return recorder.connected > 0; }, 5000, "connected to the silent server");

  // The main loop runs on while the command waits: a timer keeps ticking.
  int ticks = 0;
  guint ticker = g_timeout_add(
      10,
      +[](gpointer data) -> gboolean {
        ++*static_cast<int *>(data);
        return G_SOURCE_CONTINUE;
      },
      &ticks);
  std::vector<std::string> failures;
  gint64 sent = g_get_monotonic_time();
  for (int i = 0; i < 3; i++)
    g_assert_true(connection.command({"PING"}, [&](const RedisResult &r) {
      g_assert_false(r.reply.has_value());
      failures.push_back(r.failure);
      recorder.events.push_back("failed");
    }));
  wait_until([&] { return recorder.closed > 0; }, 5000, "the connection closed");
  gint64 waited_ms = (g_get_monotonic_time() - sent) / 1000;
  g_source_remove(ticker);

  g_assert_cmpint(waited_ms, >=, 300);
  g_assert_cmpint(waited_ms, <, 1500);
  g_assert_cmpint(ticks, >=, 15);
  // Every pending command fails, the first for its deadline, then the
  // connection reports that it closed.
  g_assert_cmpuint(failures.size(), ==, 3);
  for (const auto &failure : failures)
    g_assert_cmpstr(failure.c_str(), ==, "no reply to PING within 300 ms");
  g_assert_cmpstr(recorder.why.c_str(), ==, "no reply to PING within 300 ms");
  std::vector<std::string> order{"connected", "failed", "failed", "failed", "closed"};
  g_assert_true(recorder.events == order);
  g_assert_false(connection.is_open());
  g_assert_false(connection.command({"PING"}, [](const RedisResult &) {}));
}

void subscribe_without_confirmation_times_out() {
  SilentServer silent;
  Recorder recorder;
  RedisConnection connection("test", RedisTimeouts{2000, 200}, recorder);
  connection.open("127.0.0.1", silent.port);
  wait_until([&] { return recorder.connected > 0; }, 5000, "connected to the silent server");
  std::string failure;
  g_assert_true(connection.subscribe({"channel"}, [&](const RedisResult &r) {
    g_assert_false(r.ok());
    failure = r.failure;
  }));
  wait_until([&] { return recorder.closed > 0; }, 5000, "the connection closed");
  g_assert_cmpstr(failure.c_str(), ==, "SUBSCRIBE not confirmed within 200 ms");
}

void refused_connection_is_reported() {
  RedisServer redis;
  int port = redis.port();
  redis.stop(); // the port is free now, and nobody listens there
  Recorder recorder;
  RedisConnection connection("test", {}, recorder);
  connection.open("127.0.0.1", port);
  g_assert_false(connection.is_closed());
  wait_until([&] { return recorder.closed > 0; }, 5000, "the connect failed");
  g_assert_cmpint(recorder.connected, ==, 0);
  g_assert_true(recorder.why.find("refused") != std::string::npos);
  g_assert_true(connection.is_closed());
}

void redis_dying_fails_pending_commands_at_once() {
  RedisServer redis;
  Recorder recorder;
  RedisConnection connection("test", RedisTimeouts{2000, 10000}, recorder);
  open_to(connection, recorder, redis);
  std::string failure;
  // Blocks in Redis until the list gets an element: here, never.
  g_assert_true(connection.command({"BLPOP", "list", "0"}, [&](const RedisResult &r) {
    failure = r.failure;
    recorder.events.push_back("failed");
  }));
  run_for(50);
  gint64 killed = g_get_monotonic_time();
  redis.kill();
  wait_until([&] { return recorder.closed > 0; }, 5000, "the connection closed");
  g_assert_cmpint((g_get_monotonic_time() - killed) / 1000, <, 2000); // not the 10 s deadline
  g_assert_false(failure.empty());
  g_assert_true(failure.find("within") == std::string::npos);
  std::vector<std::string> order{"connected", "failed", "closed"};
  g_assert_true(recorder.events == order);
}

void close_fails_pending_commands_later() {
  RedisServer redis;
  Recorder recorder;
  RedisConnection connection("test", {}, recorder);
  open_to(connection, recorder, redis);
  std::string failure;
  g_assert_true(connection.command({"BLPOP", "list", "0"},
                                   [&](const RedisResult &r) { failure = r.failure; }));
  connection.close("the test is done with it");
  // Never from inside close(): the caller's stack is not reentered.
  g_assert_true(failure.empty());
  g_assert_cmpint(recorder.closed, ==, 0);
  wait_until([&] { return recorder.closed > 0; }, 5000, "the connection closed");
  g_assert_cmpstr(failure.c_str(), ==, "the test is done with it");
  g_assert_cmpstr(recorder.why.c_str(), ==, "the test is done with it");
  // It can be opened again.
  recorder.connected = 0;
  recorder.closed = 0;
  open_to(connection, recorder, redis);
  g_assert_true(run(connection, {"PING"}).ok());
}

void destroying_drops_callbacks() {
  RedisServer redis;
  Recorder recorder;
  bool called = false;
  {
    RedisConnection connection("test", {}, recorder);
    open_to(connection, recorder, redis);
    g_assert_true(
        connection.command({"BLPOP", "list", "0"}, [&](const RedisResult &) { called = true; }));
  }
  run_for(100);
  g_assert_false(called);
  g_assert_cmpint(recorder.closed, ==, 0);
}

struct LinkRecorder : RedisLinkListener {
  int ups = 0, downs = 0;
  std::vector<std::string> messages;
  void on_link_up() override { ups++; }
  void on_link_down(const std::string &) override { downs++; }
  void on_message(std::string_view, std::string_view payload) override {
    messages.emplace_back(payload);
  }
};

// PUBLISHes on the link and waits until its own subscriber has it back.
void round_trip(RedisLink &link, LinkRecorder &recorder, const std::string &text) {
  std::size_t before = recorder.messages.size();
  g_assert_true(link.command({"PUBLISH", "mine", text}, [](const RedisResult &) {}));
  wait_until([&] { return recorder.messages.size() > before; }, 5000, "the message back");
  g_assert_cmpstr(recorder.messages.back().c_str(), ==, text.c_str());
}

void link_comes_back_after_redis_restarts() {
  RedisServer redis;
  LinkRecorder recorder;
  RedisLink link(RedisAddress{"127.0.0.1", redis.port()}, {"mine"}, {}, recorder);
  link.start();
  wait_until([&] { return link.up(); }, 5000, "link up");
  round_trip(link, recorder, "before");

  redis.stop();
  wait_until([&] { return !link.up(); }, 5000, "link down");
  g_assert_cmpint(recorder.downs, ==, 1);
  g_assert_false(link.command({"PING"}, [](const RedisResult &) {}));
  run_for(500); // it retries against nothing meanwhile
  redis.start();
  gint64 restarted = g_get_monotonic_time();
  wait_until([&] { return link.up(); }, 5000, "link up again");
  g_assert_cmpint((g_get_monotonic_time() - restarted) / 1000, <, 3000); // backoff caps at 2 s
  g_assert_cmpint(recorder.ups, ==, 2);
  round_trip(link, recorder, "after"); // subscribed again, too
}

void link_reset_reconnects() {
  RedisServer redis;
  LinkRecorder recorder;
  RedisLink link(RedisAddress{"127.0.0.1", redis.port()}, {"mine"}, {}, recorder);
  link.start();
  wait_until([&] { return link.up(); }, 5000, "link up");
  link.reset("the test says so");
  wait_until([&] { return recorder.downs == 1; }, 5000, "link down");
  wait_until([&] { return link.up(); }, 5000, "link up again");
  round_trip(link, recorder, "again");
}

void link_resolves_host_names() {
  RedisServer redis;
  LinkRecorder recorder;
  RedisLink link(RedisAddress{"localhost", redis.port()}, {"mine"}, {}, recorder);
  link.start();
  wait_until([&] { return link.up(); }, 5000, "link up through localhost");
  round_trip(link, recorder, "by name");
}

void urls_are_checked() {
  std::string problem;
  auto address = parse_redis_url("redis://127.0.0.1:7000", problem);
  g_assert_true(address && address->host == "127.0.0.1" && address->port == 7000);
  address = parse_redis_url("redis://cache.example", problem);
  g_assert_true(address && address->host == "cache.example" && address->port == 6379);
  address = parse_redis_url("redis://[::1]:7000/", problem);
  g_assert_true(address && address->host == "::1" && address->text() == "[::1]:7000");
  for (const char *bad : {"127.0.0.1:6379", "http://127.0.0.1", "redis://", "redis://h/1",
                          "redis://user:pw@h", "redis://h?x=1", "redis://h:99999"}) {
    problem.clear();
    if (parse_redis_url(bad, problem))
      g_error("%s should be refused", bad);
    g_assert_false(problem.empty());
  }
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  // Losing Redis is a warning (the server's own trouble, for its operator);
  // these tests cause it on purpose. Criticals stay fatal.
  g_log_set_always_fatal(GLogLevelFlags(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL));
  g_test_add_func("/redis/connection/replies-are-typed", replies_are_typed);
  g_test_add_func("/redis/connection/pipelined-replies-in-order", pipelined_replies_come_in_order);
  g_test_add_func("/redis/connection/messages-in-order", messages_arrive_in_order);
  g_test_add_func("/redis/connection/command-without-reply-times-out",
                  command_without_reply_times_out);
  g_test_add_func("/redis/connection/subscribe-without-confirmation-times-out",
                  subscribe_without_confirmation_times_out);
  g_test_add_func("/redis/connection/refused-is-reported", refused_connection_is_reported);
  g_test_add_func("/redis/connection/redis-dying-fails-pending-at-once",
                  redis_dying_fails_pending_commands_at_once);
  g_test_add_func("/redis/connection/close-fails-pending-later",
                  close_fails_pending_commands_later);
  g_test_add_func("/redis/connection/destroying-drops-callbacks", destroying_drops_callbacks);
  g_test_add_func("/redis/link/comes-back-after-redis-restarts",
                  link_comes_back_after_redis_restarts);
  g_test_add_func("/redis/link/reset-reconnects", link_reset_reconnects);
  g_test_add_func("/redis/link/resolves-host-names", link_resolves_host_names);
  g_test_add_func("/redis/url/checked", urls_are_checked);
  return g_test_run();
}
