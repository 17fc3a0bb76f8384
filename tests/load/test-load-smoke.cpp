// The load smoke test (issue #8): our server under a minute of steady
// signaling load from webrtccall-loadgen, 2,000 clients in calls relaying
// candidates and 100 call set-ups a second besides, with nothing allowed to
// go wrong: every client logged in, no error, no candidate lost or
// reordered, every set-up due started and completed, a clean server log,
// and every user and connection released at the end. Latencies are printed,
// not asserted: on a shared two-core machine they measure the neighbours.
#include "server_process.hpp"
#include "wait_deadline.hpp"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cmath>
#include <string>
#include <vector>

using namespace webrtccall::test;

namespace {

// The load: 2,000 relay clients sending a candidate every two seconds each,
// and 100 set-ups a second over 200 clients (one a second per pair, seven
// messages each). About half a core for the server, whose every wake-up
// costs in proportion to its connections (docs/benchmarks.md, "Signaling"),
// and a few percent for the generator: room for the machine's other work.
// The options below change it: the sanitizer run (tests/load/meson.build)
// holds its slowed-down server to a tenth of it, for 20 s.
int relay_clients = 2000;
int relay_rate = 1000;
int setup_rate = 100;
int setup_clients = 200;
int seconds = 60;

JsonObject *member_object(JsonObject *object, const char *name) {
  JsonObject *member = json_object_get_object_member(object, name);
  if (!member)
    g_error("the report has no \"%s\" object", name);
  return member;
}

gint64 integer(JsonObject *object, const char *name) {
  return json_object_get_int_member(object, name);
}

double number(JsonObject *object, const char *name) {
  return json_object_get_double_member(object, name);
}

std::string as_text(JsonNode *node) {
  g_autofree char *text = json_to_string(node, TRUE);
  return text;
}

// Runs the generator against `server`; returns its report, parsed.
JsonNode *run_loadgen(const ServerProcess &server) {
  std::string loadgen = required_env("WEBRTCCALL_LOADGEN");
  std::vector<std::string> args = {
      loadgen, "--url", server.url(), "--server-pid", std::to_string(server.pid()),
      "--relay-clients", std::to_string(relay_clients), "--relay-rate", std::to_string(relay_rate),
      "--setup-rate", std::to_string(setup_rate), "--setup-clients", std::to_string(setup_clients),
      "--duration", std::to_string(seconds), "--sample-interval", "5",
      // Generous: a neighbour can stall a shared machine for seconds, and what
      // is asserted is that everything arrives, not how fast.
      "--setup-timeout", "30", "--drain-timeout", "30"};
  std::vector<const char *> argv;
  for (const auto &arg : args)
    argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  g_autoptr(GError) error = nullptr;
  // Its progress lines go to our stderr, the test's log; the report comes on stdout.
  g_autoptr(GSubprocess) process =
      g_subprocess_newv(argv.data(), G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (!process)
    g_error("cannot start %s: %s", loadgen.c_str(), error->message);
  g_autofree char *out = nullptr;
  if (!g_subprocess_communicate_utf8(process, nullptr, nullptr, &out, nullptr, &error))
    g_error("reading the load generator's report: %s", error->message);
  // Exit status 1 is a run with failures, which the assertions below name;
  // anything else means there is no report to read.
  int status = g_subprocess_get_if_exited(process) ? g_subprocess_get_exit_status(process) : -1;
  if (status != 0 && status != 1)
    g_error("the load generator failed (status %d):\n%s", status, out ? out : "");
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, out, -1, &error))
    g_error("the load generator's report is not JSON (%s):\n%s", error->message, out);
  return json_node_copy(json_parser_get_root(parser));
}

// Polls /healthz until the server holds no user and no connection.
void assert_all_released(const ServerProcess &server) {
  std::string body;
  gint64 deadline = wait_deadline(10000);
  while (g_get_monotonic_time() < deadline) {
    g_assert_cmpint(http_get(server.http_url("/healthz"), body), ==, 200);
    if (body.find("\"users\":0,") != std::string::npos &&
        body.find("\"connections\":0}") != std::string::npos)
      return;
    g_usleep(100 * 1000); // the server's own state, polled: there is no event
  }
  g_error("the server still holds users or connections 10 s after the clients left: %s",
          body.c_str());
}

void test_relay_and_setups() {
  ServerProcess server = ServerProcess::ours({}, false);
  g_autoptr(JsonNode) root = run_loadgen(server);
  JsonObject *report = json_node_get_object(root);
  g_test_message("load generator report:\n%s", as_text(root).c_str());

  JsonObject *clients = member_object(report, "clients");
  JsonObject *relay = member_object(report, "relay");
  JsonObject *setups = member_object(report, "setups");
  JsonObject *errors = member_object(report, "errors");
  JsonObject *latency = member_object(relay, "latency_us");
  JsonObject *server_process = member_object(report, "server_process");
  JsonObject *generator = member_object(report, "generator");
  g_test_message("relay latency p50 %.0f us, p99 %.0f us, max %.0f us; server CPU %.1f%%, "
                 "generator CPU %.1f%%",
                 number(latency, "p50"), number(latency, "p99"), number(latency, "max"),
                 number(server_process, "cpu_window_percent"),
                 number(generator, "cpu_window_percent"));

  g_assert_cmpstr(json_object_get_string_member(report, "server"), ==, "ours");
  g_assert_cmpint(integer(clients, "logged_in"), ==, relay_clients + setup_clients);
  if (integer(errors, "total") != 0)
    g_error("%" G_GINT64_FORMAT " errors under load:\n%s", integer(errors, "total"),
            as_text(json_object_get_member(report, "errors")).c_str());

  // Every candidate sent arrived, once and in order, and the generator kept
  // to its schedule (a stalled generator would send too few to mean much).
  gint64 sent = integer(relay, "sent");
  g_assert_cmpint(sent, >=, gint64(0.97 * relay_rate * seconds));
  g_assert_cmpint(integer(relay, "received"), ==, sent);
  g_assert_cmpint(integer(relay, "lost"), ==, 0);
  g_assert_cmpint(integer(relay, "out_of_order"), ==, 0);

  // Every set-up that fell due started and completed: offer, answer,
  // candidates both ways, leave. (One that finds every pair busy waits for
  // one; a backlog the server could not clear by the end fails here.)
  gint64 due = integer(setups, "due");
  g_assert_cmpint(due, >=, gint64(std::floor(0.99 * setup_rate * seconds)));
  g_assert_cmpint(integer(setups, "started"), ==, due);
  g_assert_cmpint(integer(setups, "completed"), ==, due);
  g_assert_cmpint(integer(setups, "timed_out"), ==, 0);
  g_assert_true(json_object_get_boolean_member(report, "ok"));

  g_assert_true(server.running());
  server.assert_log_clean();
  assert_all_released(server);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  // g_test_init leaves the options it does not know.
  GOptionEntry entries[] = {
      {"relay-clients", 0, 0, G_OPTION_ARG_INT, &relay_clients, "Clients relaying candidates", "N"},
      {"relay-rate", 0, 0, G_OPTION_ARG_INT, &relay_rate, "Candidates a second in all", "N"},
      {"setup-rate", 0, 0, G_OPTION_ARG_INT, &setup_rate, "Call set-ups a second", "N"},
      {"setup-clients", 0, 0, G_OPTION_ARG_INT, &setup_clients, "Clients making set-ups", "N"},
      {"seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "How long the load lasts", "S"},
      {}};
  g_autoptr(GOptionContext) options = g_option_context_new("- the load smoke test");
  g_option_context_add_main_entries(options, entries, nullptr);
  g_autoptr(GError) error = nullptr;
  if (!g_option_context_parse(options, &argc, &argv, &error))
    g_error("%s", error->message);
  g_test_add_func("/load/relay-and-setups", test_relay_and_setups);
  return g_test_run();
}
