// The server as a program: command line, HTTP on the WebSocket port,
// signals, IPv6, and a libsoup WebSocket client (what the element uses).
#include "server_process.hpp"
#include "ws_client.hpp"

#include <glib.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include <csignal>
#include <cstring>
#include <map>
#include <memory>

using namespace webrtccall::test;

namespace {

struct Run {
  int status;
  std::string out, err;
};

Run run(const std::vector<std::string> &args) {
  std::vector<const char *> argv = {nullptr};
  std::string binary = required_env("WEBRTCCALL_SIGNALING");
  argv[0] = binary.c_str();
  for (const auto &arg : args)
    argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  g_autofree char *out = nullptr;
  g_autofree char *err = nullptr;
  int wait_status = 0;
  g_autoptr(GError) error = nullptr;
  if (!g_spawn_sync(nullptr, const_cast<char **>(argv.data()), nullptr, G_SPAWN_DEFAULT, nullptr,
                    nullptr, &out, &err, &wait_status, &error))
    g_error("cannot run %s: %s", binary.c_str(), error->message);
  return {WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1, out ? out : "", err ? err : ""};
}

// Logs in over libsoup's own WebSocket client (the one the element uses) and
// returns the server's reply. `extensions` tells whether any were negotiated.
std::string soup_login(SoupSession *session, SoupMessage *upgrade, const char *name,
                       bool *extensions = nullptr) {
  struct State {
    SoupWebsocketConnection *connection = nullptr;
    GError *error = nullptr;
    bool done = false;
    std::string login;
    std::string reply;
  } state;
  state.login = std::string(R"({"type":"login","name":")") + name + "\"}";
  soup_session_websocket_connect_async(
      session, upgrade, nullptr, nullptr, G_PRIORITY_DEFAULT, nullptr,
      +[](GObject *source, GAsyncResult *result, gpointer data) {
        auto *state = static_cast<State *>(data);
        state->connection =
            soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &state->error);
        state->done = true;
        if (!state->connection)
          return;
        g_signal_connect(
            state->connection, "message",
            G_CALLBACK(+[](SoupWebsocketConnection *, gint, GBytes *message, gpointer data) {
              gsize size = 0;
              auto *text = static_cast<const char *>(g_bytes_get_data(message, &size));
              static_cast<State *>(data)->reply.assign(text, size);
            }),
            state);
        soup_websocket_connection_send_text(state->connection, state->login.c_str());
      },
      &state);
  gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  while ((!state.done || (state.connection && state.reply.empty())) &&
         g_get_monotonic_time() < deadline)
    g_main_context_iteration(nullptr, FALSE) || (g_usleep(1000), true);
  if (state.error)
    g_error("WebSocket connect failed: %s", state.error->message);
  if (!state.connection)
    g_error("WebSocket connect did not finish");
  if (extensions)
    *extensions = soup_websocket_connection_get_extensions(state.connection) != nullptr;
  soup_websocket_connection_close(state.connection, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
  g_object_unref(state.connection);
  return state.reply;
}

void test_help_documents_every_option() {
  Run help = run({"--help"});
  g_assert_cmpint(help.status, ==, 0);
  for (const char *option : {"--host",
                             "--port",
                             "--web-root",
                             "--greeting",
                             "--ice-server",
                             "--allowed-origin",
                             "--auth-secret",
                             "--auth-secret-file",
                             "--issue-token",
                             "--token-ttl",
                             "--tls-cert",
                             "--tls-key",
                             "--no-presence",
                             "--max-message-bytes",
                             "--max-message-rate",
                             "--message-burst",
                             "--max-connections",
                             "--max-connections-per-address",
                             "--handshake-timeout",
                             "--keepalive-interval",
                             "--keepalive-timeout",
                             "--verbose",
                             "--version"})
    if (help.out.find(option) == std::string::npos)
      g_error("--help does not document %s:\n%s", option, help.out.c_str());
}

void test_version_and_bad_options() {
  Run version = run({"--version"});
  g_assert_cmpint(version.status, ==, 0);
  g_assert_true(g_str_has_prefix(version.out.c_str(), "webrtccall-signaling "));
  Run bad_port = run({"--port", "70000"});
  g_assert_cmpint(bad_port.status, ==, 2);
  g_assert_true(bad_port.err.find("--port must be from 0 to 65535") != std::string::npos);
  Run unknown = run({"--frobnicate"});
  g_assert_cmpint(unknown.status, ==, 2);
  g_assert_true(unknown.err.find("--help") != std::string::npos);
  Run bad_host = run({"--host", "not-an-address", "--port", "0"});
  g_assert_cmpint(bad_host.status, ==, 1);
  g_assert_true(bad_host.err.find("not an IP address") != std::string::npos);
}

void test_port_in_use_is_a_clear_error() {
  ServerProcess first = ServerProcess::ours();
  std::string port = first.url().substr(first.url().rfind(':') + 1);
  port.pop_back(); // the trailing '/'
  Run second = run({"--host", "127.0.0.1", "--port", port});
  g_assert_cmpint(second.status, ==, 1);
  g_assert_true(second.err.find("cannot listen on 127.0.0.1 port " + port) != std::string::npos);
}

void test_healthz_reports_counts() {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url());
  alice.login("alice");
  std::string body;
  g_assert_cmpint(http_get(server.http_url("/healthz"), body), ==, 200);
  g_assert_cmpstr(body.c_str(), ==, "{\"status\":\"ok\",\"users\":1,\"connections\":1}\n");
}

void test_web_root_is_served_safely() {
  g_autofree char *root = g_dir_make_tmp("webrtccall-web-XXXXXX", nullptr);
  std::string index = std::string(root) + "/index.html";
  std::string script = std::string(root) + "/client.js";
  std::string hidden = std::string(root) + "/.secret";
  g_file_set_contents(index.c_str(), "<h1>hi</h1>", -1, nullptr);
  g_file_set_contents(script.c_str(), "let x = 1;", -1, nullptr);
  g_file_set_contents(hidden.c_str(), "secret", -1, nullptr);
  {
    ServerProcess server = ServerProcess::ours({"--web-root", root});
    std::string body;
    g_assert_cmpint(http_get(server.http_url("/"), body), ==, 200);
    g_assert_cmpstr(body.c_str(), ==, "<h1>hi</h1>");
    g_assert_cmpint(http_get(server.http_url("/client.js"), body), ==, 200);
    g_assert_cmpstr(body.c_str(), ==, "let x = 1;");
    g_assert_cmpint(http_get(server.http_url("/missing.html"), body), ==, 404);
    g_assert_cmpint(http_get(server.http_url("/.secret"), body), ==, 404);
    g_assert_cmpint(http_get(server.http_url("/%2e%2e/%2e%2e/etc/passwd"), body), ==, 404);
    // An encoded slash could hide a segment from the check: refused outright.
    g_assert_cmpint(http_get(server.http_url("/a%2f..%2f..%2fetc%2fpasswd"), body), ==, 400);
    g_assert_cmpint(http_get(server.http_url("/"), body, "POST"), ==, 405);
    // The WebSocket works on the same port, on any path.
    WsClient alice(server.http_url("/any/path").replace(0, 4, "ws"));
    alice.login("alice");
  }
  for (const auto &file : {index, script, hidden})
    g_unlink(file.c_str());
  g_rmdir(root);
}

void test_without_web_root_files_are_not_found() {
  ServerProcess server = ServerProcess::ours({"--web-root", ""});
  std::string body;
  g_assert_cmpint(http_get(server.http_url("/index.html"), body), ==, 404);
  g_assert_true(body.find("--web-root") != std::string::npos);
}

// By default the server serves the browser client from the source tree.
void test_default_web_root_serves_the_client() {
  ServerProcess server = ServerProcess::ours();
  std::string body;
  g_assert_cmpint(http_get(server.http_url("/"), body), ==, 200);
  for (const char *id : {"loginPage", "usernameInput", "loginBtn", "callPage", "localVideo",
                         "remoteVideo", "callToUsernameInput", "callBtn", "hangUpBtn"})
    if (body.find(std::string("id=\"") + id + "\"") == std::string::npos)
      g_error("the client page has no #%s", id);
  g_assert_cmpint(http_get(server.http_url("/client.js"), body), ==, 200);
  g_assert_true(body.find("RTCPeerConnection") != std::string::npos);
}

// TLS on the same port: https:// for the page, wss:// for the WebSocket.
void test_tls_serves_https_and_wss() {
  std::string data = required_env("TEST_DATA_DIR");
  ServerProcess server = ServerProcess::ours(
      {"--tls-cert", data + "/test-cert.pem", "--tls-key", data + "/test-key.pem"});
  g_assert_true(g_str_has_prefix(server.url().c_str(), "wss://127.0.0.1:"));
  std::string https = server.url();
  https.replace(0, 3, "https"); // wss -> https

  g_autoptr(SoupSession) session = soup_session_new();
  auto accept_test_certificate = +[](SoupMessage *, GTlsCertificate *, GTlsCertificateFlags,
                                     gpointer) -> gboolean { return TRUE; };
  g_autoptr(SoupMessage) health = soup_message_new("GET", (https + "healthz").c_str());
  g_signal_connect(health, "accept-certificate", G_CALLBACK(accept_test_certificate), nullptr);
  g_autoptr(GError) error = nullptr;
  g_autoptr(GBytes) bytes = soup_session_send_and_read(session, health, nullptr, &error);
  if (!bytes)
    g_error("https GET failed: %s", error->message);
  g_assert_cmpint(soup_message_get_status(health), ==, 200);

  g_autoptr(SoupMessage) upgrade = soup_message_new("GET", server.url().c_str());
  g_signal_connect(upgrade, "accept-certificate", G_CALLBACK(accept_test_certificate), nullptr);
  std::string reply = soup_login(session, upgrade, "tls");
  g_assert_true(g_str_has_prefix(reply.c_str(), R"({"type":"login","success":true,"protocol":2,)"));

  // A plain-text client on the TLS port gets nowhere, and the server goes on.
  WsClient plain(server.http_url("/").replace(0, 5, "ws://"), {}, true);
  g_assert_false(plain.ok());
  g_assert_true(server.running());
}

void test_tls_options_go_together() {
  Run half = run({"--tls-cert", "/nonexistent.pem"});
  g_assert_cmpint(half.status, ==, 2);
  g_assert_true(half.err.find("--tls-cert and --tls-key go together") != std::string::npos);
  Run missing =
      run({"--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.pem", "--port", "0"});
  g_assert_cmpint(missing.status, ==, 1);
}

void test_bad_ice_server_is_refused() {
  Run bad = run({"--ice-server", "turn:127.0.0.1:3478"});
  g_assert_cmpint(bad.status, ==, 2);
  g_assert_true(bad.err.find("--ice-server") != std::string::npos);
}

// Browsers send Origin: with --allowed-origin only the pages named, and the
// server's own, may connect; clients without Origin are not browsers.
void test_allowed_origin() {
  ServerProcess server = ServerProcess::ours({"--allowed-origin", "https://app.example/"});
  auto from = [&](const char *origin) {
    std::map<std::string, std::string> headers;
    if (origin)
      headers["Origin"] = origin;
    return std::make_unique<WsClient>(server.url(), headers, true);
  };
  auto listed = from("https://app.example");
  g_assert_true(listed->ok());
  listed->login("listed");
  std::string own = server.http_url("");
  own.pop_back(); // http://127.0.0.1:PORT, as a browser sends it
  auto same_origin = from(own.c_str());
  g_assert_true(same_origin->ok());
  auto no_origin = from(nullptr);
  g_assert_true(no_origin->ok());
  auto hostile = from("https://evil.example");
  g_assert_false(hostile->ok());
  g_assert_cmpint(hostile->status(), ==, 403);
  auto lookalike = from("https://app.example.evil.example");
  g_assert_false(lookalike->ok());
  // Refused pages leave the others alone.
  no_origin->login("plain");
  g_assert_true(server.running());
  server.assert_log_clean();
}

void test_bad_allowed_origin_is_refused() {
  Run bad = run({"--allowed-origin", "https://app.example/path"});
  g_assert_cmpint(bad.status, ==, 2);
  g_assert_true(bad.err.find("is not an origin") != std::string::npos);
}

// --auth-secret: logins need a token; --issue-token makes one, and the
// documented formula (HMAC-SHA256 of "NAME\nEXPIRY") makes the same.
void test_auth_secret_needs_tokens() {
  Run issued = run({"--auth-secret", "s3cret", "--issue-token", "alice", "--token-ttl", "600"});
  g_assert_cmpint(issued.status, ==, 0);
  std::string token = issued.out.substr(0, issued.out.find('\n'));
  std::string expiry = token.substr(0, token.find('.'));
  std::string signed_text = "alice\n" + expiry;
  g_autofree char *hmac = g_compute_hmac_for_string(
      G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>("s3cret"), 6, signed_text.c_str(), -1);
  std::string expected = expiry + "." + hmac;
  g_assert_cmpstr(token.c_str(), ==, expected.c_str());
  gint64 left = g_ascii_strtoll(expiry.c_str(), nullptr, 10) - g_get_real_time() / G_USEC_PER_SEC;
  g_assert_cmpint(left, >, 590);
  g_assert_cmpint(left, <=, 600);

  g_autofree char *dir = g_dir_make_tmp("webrtccall-auth-XXXXXX", nullptr);
  std::string secret_file = std::string(dir) + "/secret";
  g_assert_true(g_file_set_contents(secret_file.c_str(), "s3cret\n", -1, nullptr));
  ServerProcess server = ServerProcess::ours({"--auth-secret-file", secret_file});
  WsClient anonymous(server.url());
  anonymous.send_text(R"({"type":"login","name":"alice"})");
  Json refused = anonymous.expect_type("login");
  g_assert_false(refused.boolean("success"));
  g_assert_cmpstr(refused.str("code"), ==, "auth-required");
  WsClient alice(server.url());
  alice.send_text(R"({"type":"login","name":"alice","token":")" + token + "\"}");
  Json accepted = alice.expect_type("login");
  g_assert_true(accepted.boolean("success"));
  WsClient mallory(server.url());
  mallory.send_text(R"({"type":"login","name":"mallory","token":")" + token + "\"}");
  Json wrong = mallory.expect_type("login");
  g_assert_cmpstr(wrong.str("code"), ==, "auth-failed");
  g_unlink(secret_file.c_str());
  g_rmdir(dir);
}

// A client whose connection died (no close, the server still holds it)
// takes its name and call back at once with its resume token.
void test_resume_over_a_new_connection() {
  ServerProcess server = ServerProcess::ours();
  auto alice = std::make_unique<WsClient>(server.url());
  alice->send_text(R"({"type":"login","name":"alice"})");
  Json login = alice->expect_type("login");
  std::string token = login.str("resume");
  g_assert_cmpuint(token.size(), ==, 32);
  WsClient bob(server.url());
  bob.login("bob");
  establish(*alice, "bob", bob, "alice");

  WsClient again(server.url());
  again.send_text(R"({"type":"login","name":"alice","resume":")" + token + "\"}");
  Json resumed = again.expect_type("login");
  g_assert_true(resumed.boolean("success"));
  std::string new_token = resumed.str("resume");
  g_assert_true(new_token.size() == 32 && new_token != token);
  // Still in the call with bob, through the new connection.
  bob.send_text(candidate_json("alice", 0));
  again.expect_type("candidate");
  again.send_text(R"({"type":"leave","name":"bob"})");
  Json leave = bob.expect_type("leave");
  g_assert_cmpstr(leave.str("name"), ==, "alice");
  // The old connection was closed by the server (policy violation: replaced).
  g_assert_cmpint(alice->expect_closed("the replaced connection's close"), ==, 1008);
  g_assert_true(server.running());
}

void test_ice_servers_reach_clients_at_login() {
  ServerProcess server = ServerProcess::ours(
      {"--ice-server", "stun:127.0.0.1:3478", "--ice-server", "turn:user:pa%3Ass@127.0.0.1:3478"});
  WsClient alice(server.url());
  alice.send_text(R"({"type":"login","name":"alice"})");
  Json reply = alice.expect_type("login");
  g_assert_true(
      reply.text().find(
          R"("iceServers":[{"urls":"stun:127.0.0.1:3478"},{"urls":"turn:127.0.0.1:3478","username":"user","credential":"pa:ss"}])") !=
      std::string::npos);
}

// SIGTERM and SIGINT: peers in calls hear leave, every socket gets a clean
// close, and the server exits 0.
void stop_with(int signal) {
  ServerProcess server = ServerProcess::ours();
  WsClient alice(server.url()), bob(server.url()), idle(server.url());
  alice.login("alice");
  bob.login("bob");
  idle.login("idle");
  alice.send_text(offer_json("bob"));
  bob.expect_type("offer");
  bob.send_text(answer_json("alice"));
  alice.expect_type("answer");
  // The clients answer the close frames from their own threads, so the
  // server's grace period is not what ends this test.
  GThread *threads[3];
  WsClient *clients[3] = {&alice, &bob, &idle};
  const char *peers[3] = {"bob", "alice", nullptr};
  struct Check {
    WsClient *client;
    const char *peer;
  };
  Check checks[3];
  for (int i = 0; i < 3; i++) {
    checks[i] = {clients[i], peers[i]};
    threads[i] = g_thread_new(
        "client",
        +[](gpointer data) -> gpointer {
          auto *check = static_cast<Check *>(data);
          if (check->peer) {
            Json leave = check->client->expect_type("leave");
            g_assert_cmpstr(leave.str("name"), ==, check->peer);
            g_assert_cmpstr(leave.str("reason"), ==, "gone");
          }
          int code = check->client->expect_closed("the server's close");
          g_assert_cmpint(code, ==, 1001);
          // Answer the close so the server can finish at once.
          check->client->try_send_frame(kClose, true, std::string("\x03\xe9", 2));
          return nullptr;
        },
        &checks[i]);
  }
  gint64 start = g_get_monotonic_time();
  int status = server.stop(signal, 5000);
  for (GThread *thread : threads)
    g_thread_join(thread);
  // Under LeakSanitizer a leak makes the exit status 1, and the report is in the log.
  if (status != 0)
    g_error("the server exited with status %d; its log:\n%s", status, server.log().c_str());
  g_assert_cmpint((g_get_monotonic_time() - start) / 1000, <, 1900); // not the grace period
  server.assert_log_clean();
}

void test_sigterm_ends_calls_and_exits_cleanly() {
  stop_with(SIGTERM);
}
void test_sigint_ends_calls_and_exits_cleanly() {
  stop_with(SIGINT);
}

void test_ipv6_loopback() {
  ServerProcess server = ServerProcess::ours({"--host", "::1"});
  g_assert_true(g_str_has_prefix(server.url().c_str(), "ws://[::1]:"));
  WsClient alice(server.url());
  alice.login("alice");
}

// libsoup's own WebSocket client, the one the element uses, against the server.
void test_libsoup_client_logs_in() {
  ServerProcess server = ServerProcess::ours();
  g_autoptr(SoupSession) session = soup_session_new();
  g_autoptr(SoupMessage) message = soup_message_new("GET", server.url().c_str());
  bool extensions = true;
  std::string reply = soup_login(session, message, "soup", &extensions);
  g_assert_true(g_str_has_prefix(reply.c_str(), R"({"type":"login","success":true,"protocol":2,)"));
  // No extension was negotiated, though libsoup's client offers deflate.
  g_assert_false(extensions);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/cli/help-documents-every-option", test_help_documents_every_option);
  g_test_add_func("/server/cli/version-and-bad-options", test_version_and_bad_options);
  g_test_add_func("/server/cli/port-in-use", test_port_in_use_is_a_clear_error);
  g_test_add_func("/server/http/healthz", test_healthz_reports_counts);
  g_test_add_func("/server/http/web-root-served-safely", test_web_root_is_served_safely);
  g_test_add_func("/server/http/no-web-root", test_without_web_root_files_are_not_found);
  g_test_add_func("/server/http/default-web-root-is-the-client",
                  test_default_web_root_serves_the_client);
  g_test_add_func("/server/tls/https-and-wss", test_tls_serves_https_and_wss);
  g_test_add_func("/server/allowed-origin/only-listed-pages", test_allowed_origin);
  g_test_add_func("/server/auth/secret-needs-tokens", test_auth_secret_needs_tokens);
  g_test_add_func("/server/resume/over-a-new-connection", test_resume_over_a_new_connection);
  g_test_add_func("/server/allowed-origin/bad-value", test_bad_allowed_origin_is_refused);
  g_test_add_func("/server/tls/options-go-together", test_tls_options_go_together);
  g_test_add_func("/server/cli/bad-ice-server", test_bad_ice_server_is_refused);
  g_test_add_func("/server/ice-servers-at-login", test_ice_servers_reach_clients_at_login);
  g_test_add_func("/server/signals/sigterm", test_sigterm_ends_calls_and_exits_cleanly);
  g_test_add_func("/server/signals/sigint", test_sigint_ends_calls_and_exits_cleanly);
  g_test_add_func("/server/net/ipv6-loopback", test_ipv6_loopback);
  g_test_add_func("/server/net/libsoup-client", test_libsoup_client_logs_in);
  return g_test_run();
}
