// The element and a wss:// signaling server: a certificate trusted through
// tls-ca-file, refused without it (at once, with an error that says what to
// do), and accepted with tls-insecure.
#include "call_endpoint.hpp"
#include "server_process.hpp"

#include <gst/gst.h>

#include <string>

using namespace webrtccall::test;

namespace {

constexpr int kSetupMs = 15000;

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
  CallEndpoint alice(side(server, "alice", "reconnect-timeout=30"));
  gint64 start = g_get_monotonic_time();
  alice.play();
  std::string reason;
  std::string message = alice.wait_error(5000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "server-untrusted");
  g_assert_true(message.find("tls-ca-file") != std::string::npos);
  g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
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
  alice.wait_error(5000, &reason);
  g_assert_cmpstr(reason.c_str(), ==, "server-untrusted");
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/tls/ca-file-trusts-the-server", test_ca_file_trusts_the_server);
  g_test_add_func("/tls/untrusted-certificate-is-refused", test_untrusted_certificate_is_refused);
  g_test_add_func("/tls/insecure-accepts-any-certificate", test_insecure_accepts_any_certificate);
  g_test_add_func("/tls/unreadable-ca-file-is-named", test_unreadable_ca_file_is_named);
  return g_test_run();
}
