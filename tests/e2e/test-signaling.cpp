// The element's signaling connection: a wss:// server's certificate trusted
// through tls-ca-file, refused without it (at once, with an error that says
// what to do) and accepted with tls-insecure; login tokens for a server with
// --auth-secret; and the name taken back at once after a connection died.
#include "call_endpoint.hpp"
#include "server_process.hpp"
#include "tcp_relay.hpp"
#include "tokens.hpp"

#include <gst/gst.h>

#include <string>

using namespace webrtccall::test;

namespace {

constexpr int kSetupMs = 30000; // a deadline, not a measure: generous for a loaded machine

std::string data_file(const char *name) {
  return required_env("TEST_DATA_DIR") + "/" + name;
}

ServerProcess tls_server() {
  return ServerProcess::ours(
      {"--tls-cert", data_file("test-cert.pem"), "--tls-key", data_file("test-key.pem")});
}

EndpointOptions side(const ServerProcess &server, const char *user, const std::string &properties,
                     const char *peer = "") {
  g_assert_true(g_str_has_prefix(server.url().c_str(), "wss://"));
  EndpointOptions o;
  o.server = server.url();
  o.user = user;
  o.peer = peer;
  o.properties = properties;
  return o;
}

// With the server's CA in tls-ca-file, two elements log in and call.
void test_ca_file_trusts_the_server() {
  ServerProcess server = tls_server();
  std::string trust = "tls-ca-file=" + data_file("test-cert.pem");
  CallEndpoint bob(side(server, "bob", trust));
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  CallEndpoint alice(side(server, "alice", trust, "bob"));
  alice.play();
  alice.wait_state("in-call", kSetupMs);
  bob.wait_video_frames(10, kSetupMs);
}

// Without it the self-signed certificate is refused at once, not retried
// for reconnect-timeout.
void test_untrusted_certificate_is_refused() {
  ServerProcess server = tls_server();
  // Retrying would take reconnect-timeout (60 s); at once is well under a
  // second, and 15 s leaves room for a loaded machine.
  CallEndpoint alice(side(server, "alice", "reconnect-timeout=60"));
  gint64 start = g_get_monotonic_time();
  alice.play();
  std::string reason;
  std::string message = alice.wait_error(15000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "server-untrusted");
  g_assert_true(message.find("tls-ca-file") != std::string::npos);
  g_assert_cmpint(g_get_monotonic_time() - start, <, 15 * G_USEC_PER_SEC);
}

void test_insecure_accepts_any_certificate() {
  ServerProcess server = tls_server();
  CallEndpoint alice(side(server, "alice", "tls-insecure=true"));
  alice.play();
  alice.wait_state("logged-in", kSetupMs);
}

// A CA file that cannot be read is named in the error.
void test_unreadable_ca_file_is_named() {
  ServerProcess server = tls_server();
  CallEndpoint alice(side(server, "alice", "tls-ca-file=/nonexistent/ca.pem"));
  alice.play();
  std::string reason;
  alice.wait_error(15000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "server-untrusted");
}

std::string issue_token(const char *secret, const char *name) {
  const char *argv[] = {nullptr, "--auth-secret", secret, "--issue-token", name, nullptr};
  std::string program = required_env("WEBRTCCALL_SIGNALING");
  argv[0] = program.c_str();
  g_autofree char *out = nullptr;
  int status = 0;
  g_autoptr(GError) error = nullptr;
  if (!g_spawn_sync(nullptr, const_cast<char **>(argv), nullptr, G_SPAWN_DEFAULT, nullptr, nullptr,
                    &out, nullptr, &status, &error) ||
      status != 0)
    g_error("--issue-token failed: %s", error ? error->message : "non-zero exit");
  return g_strstrip(out);
}

// The token property logs the element in; without it the login is refused
// with a reason and a message that name the property.
void test_token_logs_in() {
  ServerProcess server = ServerProcess::ours({"--auth-secret", "s3cret"});
  EndpointOptions b;
  b.server = server.url();
  b.user = "bob";
  b.properties = "token=" + issue_token("s3cret", "bob");
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  EndpointOptions a;
  a.server = server.url();
  a.user = "alice";
  a.peer = "bob";
  CallEndpoint alice(a);
  alice.play();
  std::string reason;
  std::string message = alice.wait_error(kSetupMs, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "auth-failed");
  g_assert_true(message.find("token property") != std::string::npos);
}

// A token issued for another name, or one past its expiry, is refused, and
// the element's error says which.
void test_wrong_or_expired_token_is_named() {
  ServerProcess server = ServerProcess::ours({"--auth-secret", "s3cret"});
  // Made as --issue-token makes them (tokens.hpp), with an expiry a minute past.
  std::string expired = webrtccall::server::issue_login_token(
      "s3cret", "carol", g_get_real_time() / G_USEC_PER_SEC - 60);
  struct {
    const char *user;
    std::string token;
    const char *says;
  } cases[] = {
      {"alice", issue_token("s3cret", "bob"), "not valid for \"alice\""},
      {"carol", expired, "expired"},
  };
  for (const auto &c : cases) {
    EndpointOptions options;
    options.server = server.url();
    options.user = c.user;
    options.properties = "token=" + c.token;
    CallEndpoint endpoint(options);
    endpoint.play();
    std::string reason;
    std::string message = endpoint.wait_error(kSetupMs, &reason);
    g_assert_cmpstr(reason.c_str(), ==, "auth-failed");
    if (message.find(c.says) == std::string::npos)
      g_error("%s's error does not say \"%s\": %s", c.user, c.says, message.c_str());
  }
}

std::string port_of(const ServerProcess &server) {
  std::string url = server.url();
  return url.substr(url.rfind(':') + 1, url.size() - url.rfind(':') - 2); // no trailing '/'
}

// alice's connection to the server dies mid-call in a way the server cannot
// see (its keepalive is far off): she connects again at once and takes her
// name back with the resume token, instead of being refused as name-taken.
// The call goes on, and bob's hang-up reaches her on the new connection.
void test_dead_connection_resumes() {
  ServerProcess server = ServerProcess::ours({"--keepalive-interval", "120"});
  guint16 port = guint16(std::stoi(port_of(server)));
  TcpRelay relay(port);
  EndpointOptions b;
  b.server = server.url();
  b.user = "bob";
  b.properties = "end-on-hangup=false";
  CallEndpoint bob(b);
  bob.play();
  bob.wait_state("logged-in", kSetupMs);
  EndpointOptions a;
  a.server = "ws://127.0.0.1:" + std::to_string(relay.port()) + "/";
  a.user = "alice";
  a.peer = "bob";
  CallEndpoint alice(a);
  alice.play();
  alice.wait_state("in-call", kSetupMs);
  bob.wait_video_frames(10, kSetupMs);

  relay.cut();
  alice.wait_state_reason("in-call", "server-lost", 5000);
  alice.wait_state_reason("in-call", "reconnected", 5000);
  unsigned before = bob.video.buffers;
  bob.wait_video_frames(before + 10, 5000);
  g_signal_emit_by_name(bob.call(), "hangup");
  std::string reason = alice.wait_state("ended", 5000);
  g_assert_cmpstr(reason.c_str(), ==, "remote-hangup");
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/tls/ca-file-trusts-the-server", test_ca_file_trusts_the_server);
  g_test_add_func("/tls/untrusted-certificate-is-refused", test_untrusted_certificate_is_refused);
  g_test_add_func("/tls/insecure-accepts-any-certificate", test_insecure_accepts_any_certificate);
  g_test_add_func("/tls/unreadable-ca-file-is-named", test_unreadable_ca_file_is_named);
  g_test_add_func("/auth/token-logs-in", test_token_logs_in);
  g_test_add_func("/auth/wrong-or-expired-token-is-named", test_wrong_or_expired_token_is_named);
  g_test_add_func("/resume/dead-connection-resumes", test_dead_connection_resumes);
  return g_test_run();
}
