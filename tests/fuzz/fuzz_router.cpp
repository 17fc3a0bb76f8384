// libFuzzer target: the router, fed sequences of messages from several
// connections. The input is lines; each line's first byte picks one of
// eight connections, its second what happens: 'm' the rest of the line
// arrives as a message (parsed as the server parses it), 'd' the connection
// goes, 'r' TURN credentials are refreshed. After every step the registry
// must be consistent: a user's peer is logged in and points back, or is
// not in a call; and nothing is sent to a connection that is not there.
#include "protocol/parse.hpp"
#include "protocol/serialize.hpp"
#include "router.hpp"

#include <glib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

namespace {

// Reports and aborts: libFuzzer keeps the input of a SIGABRT (g_error's
// SIGTRAP it does not).
template <typename... Args> [[noreturn]] void fail(const char *format, Args... args) {
  std::fprintf(stderr, format, args...);
  std::fputc('\n', stderr);
  std::abort();
}

using namespace webrtccall::protocol;
using namespace webrtccall::server;

constexpr ConnectionId kConnections = 8;

class CheckingOutbox : public Outbox {
public:
  std::set<ConnectionId> open;
  void send(ConnectionId to, const ServerMessage &message) override {
    if (!open.count(to))
      fail("sent to connection %" G_GUINT64_FORMAT ", which is gone", to);
    (void)serialize(message);
  }
  void close(ConnectionId connection, const std::string &) override { open.erase(connection); }
};

void check_consistent(const Router &router) {
  const Registry &registry = router.registry();
  for (const auto &[user, peer] : registry.links()) {
    const Session *other = registry.session(peer);
    if (!other)
      fail("connection %" G_GUINT64_FORMAT " is in a call with a user who is gone", user);
    if (other->peer != user)
      fail("connection %" G_GUINT64_FORMAT " is linked to a peer linked elsewhere", user);
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  // The router logs refusals as messages: keep the fuzzer's output readable.
  g_log_set_writer_func(
      [](GLogLevelFlags level, const GLogField *, gsize, gpointer) {
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
          return G_LOG_WRITER_UNHANDLED; // fatal ones still abort
        return G_LOG_WRITER_HANDLED;
      },
      nullptr, nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  CheckingOutbox outbox;
  TurnSettings turn{"secret", {"turn:127.0.0.1:3478"}, 600};
  Router router(outbox, RouterOptions{true, {}, {}, turn});
  for (ConnectionId id = 1; id <= kConnections; id++)
    outbox.open.insert(id);
  std::string_view input(reinterpret_cast<const char *>(data), size);
  while (!input.empty()) {
    std::size_t end = input.find('\n');
    std::string_view line = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (line.size() < 2)
      continue;
    ConnectionId from = 1 + std::uint8_t(line[0]) % kConnections;
    if (!outbox.open.count(from))
      continue; // a closed connection sends nothing more
    switch (line[1]) {
    case 'm': {
      ClientParse parsed = parse_client_message(line.substr(2));
      if (auto *message = std::get_if<ClientMessage>(&parsed))
        router.received(from, *message);
      else
        router.refused(from, std::get<ParseError>(parsed));
      break;
    }
    case 'd':
      router.disconnected(from);
      outbox.open.erase(from);
      break;
    case 'r':
      router.refresh_ice_servers();
      break;
    default:
      break;
    }
    check_consistent(router);
  }
  return 0;
}
