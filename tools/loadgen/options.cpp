#include "options.hpp"

#include <glib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace webrtccall::loadgen {

namespace {

bool fail(const char *format, const char *detail = "") {
  g_printerr("webrtccall-loadgen: ");
  g_printerr(format, detail);
  g_printerr("\nTry --help.\n");
  return false;
}

} // namespace

bool parse_options(int argc, char **argv, Options &options) {
  g_autofree char *url = nullptr, *peer_url = nullptr, *output = nullptr, *prefix = nullptr;
  int clients = 0, relay_clients = 0, setup_clients = 0, candidates = int(options.setup_candidates);
  int sdp_bytes = int(options.sdp_bytes), sources = 0,
      concurrency = int(options.connect_concurrency);
  int server_pid = 0;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
      {"url", 0, 0, G_OPTION_ARG_STRING, &url, "The server's WebSocket URL (IPv4 address)",
       "ws://HOST:PORT/"},
      {"peer-url", 0, 0, G_OPTION_ARG_STRING, &peer_url,
       "Where the second client of each pair (the callee) connects instead: another instance "
       "sharing the server's Redis (--redis), so every call crosses instances",
       "ws://HOST:PORT/"},
      {"clients", 0, 0, G_OPTION_ARG_INT, &clients,
       "Clients in all; those neither relaying nor setting up calls stay logged in and idle "
       "(default: the relay and set-up clients)",
       "N"},
      {"relay-clients", 0, 0, G_OPTION_ARG_INT, &relay_clients,
       "Clients in relay pairs, each pair in an established call (even)", "N"},
      {"relay-rate", 0, 0, G_OPTION_ARG_DOUBLE, &options.relay_rate,
       "Candidates a second the relay pairs send, all together", "R"},
      {"setup-rate", 0, 0, G_OPTION_ARG_DOUBLE, &options.setup_rate,
       "Call set-ups a second (offer, answer, candidates, leave)", "R"},
      {"setup-clients", 0, 0, G_OPTION_ARG_INT, &setup_clients,
       "Clients that take the set-ups in pairs (even; default two per set-up a second)", "N"},
      {"setup-candidates", 0, 0, G_OPTION_ARG_INT, &candidates,
       "Candidates each side of a set-up sends (default 2)", "N"},
      {"sdp-bytes", 0, 0, G_OPTION_ARG_INT, &sdp_bytes,
       "Size of a set-up's synthetic offer and answer SDP (default 2500)", "BYTES"},
      {"duration", 0, 0, G_OPTION_ARG_DOUBLE, &options.duration, "Seconds of traffic (default 10)",
       "S"},
      {"warmup", 0, 0, G_OPTION_ARG_DOUBLE, &options.warmup,
       "First seconds of traffic left out of latencies and rates (default 1)", "S"},
      {"settle", 0, 0, G_OPTION_ARG_DOUBLE, &options.settle,
       "Seconds to wait once all are logged in, before traffic; the server's memory is read "
       "at its end (default 1)",
       "S"},
      {"source-addresses", 0, 0, G_OPTION_ARG_INT, &sources,
       "Loopback addresses (127.0.x.y) to connect from, in turn, so that the server's "
       "per-address cap is not reached (default: one per 128 clients)",
       "N"},
      {"connect-concurrency", 0, 0, G_OPTION_ARG_INT, &concurrency,
       "Connections and logins under way at once (default 200)", "N"},
      {"connect-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.connect_timeout,
       "Seconds for all to connect and log in (default 120)", "S"},
      {"drain-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.drain_timeout,
       "Seconds to wait after the traffic for what is on its way (default 5)", "S"},
      {"setup-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.setup_timeout,
       "Seconds a set-up may take before it counts as failed (default 10)", "S"},
      {"server-pid", 0, 0, G_OPTION_ARG_INT, &server_pid,
       "The server's process id, to sample its memory (VmRSS) and CPU time", "PID"},
      {"sample-interval", 0, 0, G_OPTION_ARG_DOUBLE, &options.sample_interval,
       "Seconds between samples of the server (default 1)", "S"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
       "Where to write the JSON report (default: standard output)", "FILE"},
      {"name-prefix", 0, 0, G_OPTION_ARG_STRING, &prefix,
       "Start of the user names (default lg<pid>-)", "TEXT"},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress lines on standard error", nullptr},
      {},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("- signaling load generator");
  g_option_context_set_summary(
      context, "Many WebSocket clients from one process against a signaling server (ours or the\n"
               "tutorial's server.js): relay traffic in established calls, call set-ups, idle\n"
               "clients. Prints a JSON report; exits 1 if anything went wrong (an error, a loss,\n"
               "a set-up not completed, a client not logged in).");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_autoptr(GError) error = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &error))
    return fail("%s", error->message);
  if (argc > 1)
    return fail("unexpected argument %s", argv[1]);
  if (!url)
    return fail("--url is required");
  options.url = url;
  options.peer_url = peer_url ? peer_url : url;
  if (relay_clients < 0 || relay_clients % 2)
    return fail("--relay-clients must be even");
  if (setup_clients < 0 || setup_clients % 2)
    return fail("--setup-clients must be even");
  if (options.relay_rate < 0 || options.setup_rate < 0)
    return fail("rates cannot be negative");
  if (options.relay_rate > 0 && relay_clients == 0)
    return fail("--relay-rate needs --relay-clients");
  if (candidates < 0 || candidates > 100)
    return fail("--setup-candidates must be from 0 to 100");
  if (sdp_bytes < 0 || sdp_bytes > 60000)
    return fail("--sdp-bytes must be from 0 to 60000 (the server's message limit is 64 KiB)");
  if (options.duration < 0 || options.warmup < 0)
    return fail("--duration and --warmup cannot be negative");
  options.warmup = std::min(options.warmup, options.duration); // all warm-up: no window
  if (concurrency < 1 || sources < 0 || clients < 0 || options.sample_interval <= 0)
    return fail("--connect-concurrency, --source-addresses, --clients, --sample-interval: "
                "out of range");
  options.relay_clients = unsigned(relay_clients);
  options.setup_clients = unsigned(setup_clients);
  if (options.setup_rate > 0 && options.setup_clients == 0)
    options.setup_clients = 2 * std::max(1u, unsigned(std::ceil(options.setup_rate)));
  if (options.setup_rate == 0)
    options.setup_clients = 0;
  unsigned busy = options.relay_clients + options.setup_clients;
  options.clients = clients ? unsigned(clients) : busy;
  if (options.clients < busy)
    return fail("--clients is fewer than the relay and set-up clients");
  if (options.clients == 0)
    return fail("no clients: give --clients, --relay-clients or --setup-rate");
  options.setup_candidates = unsigned(candidates);
  options.sdp_bytes = unsigned(sdp_bytes);
  options.source_addresses = sources ? unsigned(sources) : (options.clients + 127) / 128;
  if (options.source_addresses > 254 * 254)
    return fail("--source-addresses: at most %s", "64516");
  options.connect_concurrency = unsigned(concurrency);
  options.server_pid = server_pid;
  if (output)
    options.output = output;
  options.name_prefix = prefix ? prefix : "lg" + std::to_string(getpid()) + "-";
  options.quiet = quiet;
  return true;
}

} // namespace webrtccall::loadgen
