// webrtccall-signaling: the signaling server. Options, logging, signals and
// the main loop; the work is in Server.
#include "directory_factory.hpp"
#include "ice_server_option.hpp"
#include "server.hpp"
#include "tokens.hpp"

#include <glib-unix.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

using webrtccall::server::Server;
using webrtccall::server::ServerOptions;

namespace {

// Lets the server hold as many sockets as the system allows: the soft limit
// (often 1024) is far below --max-connections.
void raise_open_files_limit() {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
      g_warning("cannot raise the open-files limit to %lu", (unsigned long)limit.rlim_max);
  }
}

// The browser client: installed beside the binary's prefix, or in the
// source tree when run from the build.
std::string default_web_root() {
  for (const char *dir : {WEBRTCCALL_WEB_ROOT_INSTALLED, WEBRTCCALL_WEB_ROOT_SOURCE})
    if (g_file_test(dir, G_FILE_TEST_IS_DIR))
      return dir;
  return {};
}

// A secret from --NAME-secret or, kept out of `ps`, the first line of
// --NAME-secret-file. False (having said why) when both are given, the file
// cannot be read, or the secret is empty.
bool read_secret(const char *name, const char *value, const char *file, std::string &secret) {
  if (value && file) {
    g_printerr("webrtccall-signaling: give --%s-secret or --%s-secret-file, not both\n", name,
               name);
    return false;
  }
  if (value)
    secret = value;
  if (file) {
    g_autofree char *contents = nullptr;
    g_autoptr(GError) error = nullptr;
    if (!g_file_get_contents(file, &contents, nullptr, &error)) {
      g_printerr("webrtccall-signaling: --%s-secret-file: %s\n", name, error->message);
      return false;
    }
    secret = std::string(contents, std::strcspn(contents, "\r\n"));
  }
  if ((value || file) && secret.empty()) {
    g_printerr("webrtccall-signaling: the %s secret is empty\n", name);
    return false;
  }
  return true;
}

bool parse_options(int argc, char **argv, ServerOptions &options, bool &verbose) {
  g_autofree char *host = nullptr;
  g_autofree char *web_root = nullptr;
  g_autofree char *tls_cert = nullptr;
  g_autofree char *tls_key = nullptr;
  g_auto(GStrv) ice_servers = nullptr;
  g_auto(GStrv) allowed_origins = nullptr;
  g_autofree char *auth_secret = nullptr;
  g_autofree char *auth_secret_file = nullptr;
  g_autofree char *issue_token = nullptr;
  int token_ttl = 3600;
  g_autofree char *turn_secret = nullptr;
  g_autofree char *turn_secret_file = nullptr;
  g_auto(GStrv) turn_urls = nullptr;
  int turn_ttl = 86400;
  g_autofree char *redis = nullptr;
  int port = options.port;
  gboolean greeting = FALSE, no_presence = FALSE, show_version = FALSE, verbose_flag = FALSE;
  auto &limits = options.limits;
  int max_message_bytes = int(limits.max_message_bytes);
  int rate = int(limits.messages_per_second), burst = int(limits.message_burst);
  int max_connections = int(limits.max_connections);
  int per_address = int(limits.max_connections_per_address);
  int handshake = int(limits.handshake_timeout_seconds);
  int keepalive_interval = int(limits.keepalive_interval_seconds);
  int keepalive_timeout = int(limits.keepalive_timeout_seconds);

  GOptionEntry entries[] = {
      {"host", 0, 0, G_OPTION_ARG_STRING, &host,
       "IP address to listen on (default: every interface)", "ADDRESS"},
      {"port", 'p', 0, G_OPTION_ARG_INT, &port, "TCP port (default 9090; 0 picks a free one)",
       "PORT"},
      {"web-root", 0, 0, G_OPTION_ARG_FILENAME, &web_root,
       "Folder whose files are served over HTTP (default: the browser client; \"\": none)", "DIR"},
      {"ice-server", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ice_servers,
       "An ICE server for clients, given to them at login; repeatable. stun:HOST:PORT or "
       "turn:USER:PASSWORD@HOST:PORT (default: none, so nothing contacts a public server)",
       "URL"},
      {"allowed-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allowed_origins,
       "A web origin (scheme://host[:port]) whose pages may connect, besides the pages served "
       "here; repeatable (default: any). Clients that send no Origin, i.e. not browsers, are "
       "not affected",
       "ORIGIN"},
      {"auth-secret", 0, 0, G_OPTION_ARG_STRING, &auth_secret,
       "Require a login token made with this secret (docs/protocol.md; default: none, as the "
       "tutorial). Other users of the machine can read a command line: prefer "
       "--auth-secret-file",
       "SECRET"},
      {"auth-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &auth_secret_file,
       "As --auth-secret, the secret being this file's first line", "FILE"},
      {"issue-token", 0, 0, G_OPTION_ARG_STRING, &issue_token,
       "Print a login token for NAME, made with the secret, and exit", "NAME"},
      {"token-ttl", 0, 0, G_OPTION_ARG_INT, &token_ttl,
       "Seconds an --issue-token token is valid (default 3600)", "S"},
      {"turn-secret", 0, 0, G_OPTION_ARG_STRING, &turn_secret,
       "Give each user short-lived TURN credentials made with this secret, which the TURN "
       "server shares (TURN REST API; coturn's --static-auth-secret). Prefer --turn-secret-file",
       "SECRET"},
      {"turn-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &turn_secret_file,
       "As --turn-secret, the secret being this file's first line", "FILE"},
      {"turn-url", 0, 0, G_OPTION_ARG_STRING_ARRAY, &turn_urls,
       "The TURN server the credentials are for, repeatable: turn:HOST:PORT, "
       "turn:HOST:PORT?transport=tcp, turns:HOST:PORT",
       "URL"},
      {"turn-ttl", 0, 0, G_OPTION_ARG_INT, &turn_ttl,
       "Seconds the TURN credentials last (default 86400); fresh ones are sent at half that", "S"},
      {"redis", 0, 0, G_OPTION_ARG_STRING, &redis,
       "Share users with the other instances that use this Redis: one namespace of names, "
       "calls and presence across them (docs/server.md). Logins wait for Redis, and the URL "
       "line is printed once it is reached",
       "redis://HOST[:PORT]"},
      {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert,
       "PEM certificate: serve https:// and wss:// on the port (needs --tls-key)", "FILE"},
      {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key, "PEM private key for --tls-cert", "FILE"},
      {"greeting", 0, 0, G_OPTION_ARG_NONE, &greeting,
       "Send the tutorial server's \"Hello world\" text to every new connection", nullptr},
      {"no-presence", 0, 0, G_OPTION_ARG_NONE, &no_presence,
       "Refuse presence requests (the list of online users)", nullptr},
      {"max-message-bytes", 0, 0, G_OPTION_ARG_INT, &max_message_bytes,
       "Largest message, summed over its fragments (default 65536)", "BYTES"},
      {"max-message-rate", 0, 0, G_OPTION_ARG_INT, &rate,
       "Messages a second one connection may send, sustained (default 50)", "N"},
      {"message-burst", 0, 0, G_OPTION_ARG_INT, &burst,
       "Messages one connection may send at once (default 200)", "N"},
      {"max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections,
       "Open TCP connections in all (default 10000)", "N"},
      {"max-connections-per-address", 0, 0, G_OPTION_ARG_INT, &per_address,
       "Open TCP connections from one IP address (default 256)", "N"},
      {"handshake-timeout", 0, 0, G_OPTION_ARG_INT, &handshake,
       "Seconds a connection may take to become a WebSocket or finish an HTTP request "
       "(default 10; 0: no limit)",
       "S"},
      {"keepalive-interval", 0, 0, G_OPTION_ARG_INT, &keepalive_interval,
       "Seconds between pings (default 15; 0: no pings)", "S"},
      {"keepalive-timeout", 0, 0, G_OPTION_ARG_INT, &keepalive_timeout,
       "Seconds without a pong or message before a client is dropped and its name released "
       "(default 45; 0: never)",
       "S"},
      {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose_flag, "Log logins, calls and every message",
       nullptr},
      {"version", 0, 0, G_OPTION_ARG_NONE, &show_version, "Print the version and exit", nullptr},
      {},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("- WebRTC signaling server");
  g_option_context_set_summary(
      context, "Relays login, offer, answer, candidate and leave messages between WebRTC peers\n"
               "over WebSocket, compatible with the tutorial's protocol (docs/protocol.md).\n"
               "Once listening, prints a URL clients can connect to as its first line.");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_autoptr(GError) error = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    g_printerr("webrtccall-signaling: %s\nTry --help.\n", error->message);
    return false;
  }
  if (show_version) {
    g_print("webrtccall-signaling %s\n", WEBRTCCALL_VERSION);
    std::exit(0);
  }
  struct {
    const char *name;
    int value, min, max;
  } checks[] = {
      {"--port", port, 0, 65535},
      {"--max-message-bytes", max_message_bytes, 256, 16 * 1024 * 1024},
      {"--max-message-rate", rate, 1, 1000000},
      {"--message-burst", burst, 1, 1000000},
      {"--max-connections", max_connections, 1, 1000000},
      {"--max-connections-per-address", per_address, 1, 1000000},
      {"--handshake-timeout", handshake, 0, 3600},
      {"--keepalive-interval", keepalive_interval, 0, 3600},
      {"--keepalive-timeout", keepalive_timeout, 0, 86400},
      {"--token-ttl", token_ttl, 1, 366 * 86400},
      {"--turn-ttl", turn_ttl, 2, 366 * 86400},
  };
  for (const auto &check : checks) {
    if (check.value < check.min || check.value > check.max) {
      g_printerr("webrtccall-signaling: %s must be from %d to %d\n", check.name, check.min,
                 check.max);
      return false;
    }
  }
  if (!read_secret("auth", auth_secret, auth_secret_file, options.auth_secret) ||
      !read_secret("turn", turn_secret, turn_secret_file, options.turn.secret))
    return false;
  for (char **url = turn_urls; url && *url; url++) {
    if (!g_str_has_prefix(*url, "turn:") && !g_str_has_prefix(*url, "turns:")) {
      g_printerr("webrtccall-signaling: --turn-url %s: give turn:HOST:PORT or turns:HOST:PORT\n",
                 *url);
      return false;
    }
    options.turn.urls.push_back(*url);
  }
  if (options.turn.secret.empty() != options.turn.urls.empty()) {
    g_printerr("webrtccall-signaling: --turn-secret (or --turn-secret-file) and --turn-url go "
               "together\n");
    return false;
  }
  options.turn.ttl_seconds = unsigned(turn_ttl);
  if (issue_token) {
    if (options.auth_secret.empty()) {
      g_printerr("webrtccall-signaling: --issue-token needs --auth-secret or --auth-secret-file\n");
      return false;
    }
    gint64 expiry = g_get_real_time() / G_USEC_PER_SEC + token_ttl;
    g_print(
        "%s\n",
        webrtccall::server::issue_login_token(options.auth_secret, issue_token, expiry).c_str());
    std::exit(0);
  }
  if (redis) {
    std::string problem = webrtccall::server::redis_url_problem(redis);
    if (!problem.empty()) {
      g_printerr("webrtccall-signaling: --redis %s: %s\n", redis, problem.c_str());
      return false;
    }
    options.redis_url = redis;
  }
  if (host)
    options.host = host;
  options.web_root = web_root ? web_root : default_web_root();
  if (bool(tls_cert) != bool(tls_key)) {
    g_printerr("webrtccall-signaling: --tls-cert and --tls-key go together\n");
    return false;
  }
  if (tls_cert) {
    options.tls_certificate = tls_cert;
    options.tls_key = tls_key;
  }
  for (char **value = ice_servers; value && *value; value++) {
    std::string problem;
    auto server = webrtccall::server::parse_ice_server_option(*value, problem);
    if (!server) {
      g_printerr("webrtccall-signaling: --ice-server %s\n", problem.c_str());
      return false;
    }
    options.ice_servers.push_back(*server);
  }
  for (char **value = allowed_origins; value && *value; value++) {
    g_autoptr(GUri) uri = g_uri_parse(*value, G_URI_FLAGS_NONE, nullptr);
    const char *path = uri ? g_uri_get_path(uri) : nullptr;
    bool bare = uri && g_uri_get_host(uri) &&
                (g_strcmp0(path, "") == 0 || g_strcmp0(path, "/") == 0) && !g_uri_get_query(uri) &&
                !g_uri_get_userinfo(uri);
    if (!bare) {
      g_printerr("webrtccall-signaling: --allowed-origin %s is not an origin: give "
                 "scheme://host[:port], e.g. https://example.com\n",
                 *value);
      return false;
    }
    // Browsers send the origin without a trailing slash.
    std::string origin = *value;
    if (origin.back() == '/')
      origin.pop_back();
    options.allowed_origins.push_back(origin);
  }
  options.port = guint16(port);
  options.greeting = greeting;
  options.presence = !no_presence;
  limits.max_message_bytes = std::size_t(max_message_bytes);
  limits.messages_per_second = unsigned(rate);
  limits.message_burst = unsigned(burst);
  limits.max_connections = unsigned(max_connections);
  limits.max_connections_per_address = unsigned(per_address);
  limits.handshake_timeout_seconds = unsigned(handshake);
  limits.keepalive_interval_seconds = unsigned(keepalive_interval);
  limits.keepalive_timeout_seconds = unsigned(keepalive_timeout);
  verbose = verbose_flag;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  ServerOptions options;
  bool verbose = false;
  if (!parse_options(argc, argv, options, verbose))
    return 2;

  // stdout carries the URL line only; every log line goes to stderr.
  g_log_writer_default_set_use_stderr(TRUE);
  if (verbose)
    g_log_set_debug_enabled(TRUE);
  raise_open_files_limit();

  Server server(options);
  g_autoptr(GError) error = nullptr;
  // The URL line says the server is ready: with --redis, once Redis is reached.
  bool started = server.start(&error, [&server] {
    std::printf("%s\n", server.url().c_str());
    std::fflush(stdout);
  });
  if (!started) {
    g_printerr("webrtccall-signaling: cannot listen on %s port %u: %s\n",
               options.host.empty() ? "every interface" : options.host.c_str(), options.port,
               error->message);
    return 1;
  }
  g_info("listening on %s port %u", options.host.empty() ? "every interface" : options.host.c_str(),
         server.port());

  g_autoptr(GMainLoop) loop = g_main_loop_new(nullptr, FALSE);
  struct StopState {
    Server *server;
    GMainLoop *loop;
    bool stopping = false;
  } state{&server, loop};
  auto on_signal = +[](gpointer data) -> gboolean {
    auto *state = static_cast<StopState *>(data);
    if (!state->stopping) {
      state->stopping = true;
      g_info("stopping: telling peers in calls, closing connections");
      state->server->stop([loop = state->loop] { g_main_loop_quit(loop); });
    }
    return G_SOURCE_CONTINUE;
  };
  guint sigint = g_unix_signal_add(SIGINT, on_signal, &state);
  guint sigterm = g_unix_signal_add(SIGTERM, on_signal, &state);
  g_main_loop_run(loop);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  g_info("stopped");
  return 0;
}
