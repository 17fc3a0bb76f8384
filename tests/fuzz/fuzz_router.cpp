// libFuzzer target: the router, fed sequences of messages from several
// connections. The input is lines; each line's first byte picks one of
// eight connections, its second what happens: 'm' the rest of the line
// arrives as a message (parsed as the server parses it), 't' the connection
// logs in under the rest of the line as its name with a token the
// application issued for it, 'd' the connection goes, 'r' TURN credentials
// are refreshed. Each input runs twice: on a router without --auth-secret,
// and on one with it (where 'm' logins carry no token or a fuzzed one).
//
// After every step the registry must be consistent: a user's peer is
// logged in and points back, or is not in a call; nothing is sent to a
// connection that is not there; and no one acts as another: every offer,
// answer, candidate and leave relayed in a step names as its sender the
// user whose connection acted, and goes only to the party of that user's
// call (or the callee its offer named).
#include "protocol/parse.hpp"
#include "protocol/serialize.hpp"
#include "router.hpp"
#include "tokens.hpp"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

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

// A message relayed from one user to another, as the step sent it.
struct Relayed {
  ConnectionId to;
  const char *type;
  std::string sender; // the name it carries as its sender's
};

class CheckingOutbox : public Outbox {
public:
  std::set<ConnectionId> open;
  std::vector<Relayed> relayed; // in the current step

  void send(ConnectionId to, const ServerMessage &message) override {
    if (!open.count(to))
      fail("sent to connection %" G_GUINT64_FORMAT ", which is gone", to);
    (void)serialize(message);
    if (const auto *offer = std::get_if<Offer>(&message))
      relayed.push_back({to, "offer", offer->name});
    else if (const auto *answer = std::get_if<Answer>(&message))
      relayed.push_back({to, "answer", answer->name});
    else if (const auto *candidate = std::get_if<Candidate>(&message))
      relayed.push_back({to, "candidate", candidate->name});
    else if (const auto *leave = std::get_if<Leave>(&message))
      relayed.push_back({to, "leave", leave->name});
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

// Who acted in a step, as the registry knew it before.
struct Actor {
  ConnectionId connection;
  std::string name;      // "" if not logged in
  ConnectionId peer = 0; // the party of its call, if any
  std::string addressee; // the user its message named, if any
};

// The user a parsed message names (its addressee; a login its own name), if any.
std::string named_in(const ClientParse &parsed) {
  std::string name;
  if (const auto *message = std::get_if<ClientMessage>(&parsed))
    std::visit(
        [&](const auto &m) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(m)>, Presence>)
            name = m.name;
        },
        *message);
  return name;
}

Actor actor_before(const Router &router, ConnectionId from, std::string addressee) {
  Actor actor{from, {}, 0, std::move(addressee)};
  if (const Session *session = router.registry().session(from)) {
    actor.name = session->name;
    actor.peer = session->peer;
  }
  return actor;
}

// The relays of one step: from the actor's name, to the party of its call.
void check_relays(const Router &router, const Actor &actor, const std::vector<Relayed> &relayed) {
  const Registry &registry = router.registry();
  for (const Relayed &r : relayed) {
    if (actor.name.empty())
      fail("a %s went to connection %" G_GUINT64_FORMAT
           " after a step by connection %" G_GUINT64_FORMAT ", which is not logged in",
           r.type, r.to, actor.connection);
    if (r.sender != actor.name)
      fail("a %s from \"%s\" was relayed as from \"%s\"", r.type, actor.name.c_str(),
           r.sender.c_str());
    if (r.to == actor.connection)
      fail("a %s from \"%s\" was relayed back to its sender", r.type, actor.name.c_str());
    if (std::strcmp(r.type, "leave") == 0) {
      // The call's other party hears that it is over, no one else.
      if (r.to != actor.peer)
        fail("\"%s\" left a call, and connection %" G_GUINT64_FORMAT
             " heard it, which was not in it",
             actor.name.c_str(), r.to);
      continue;
    }
    // An offer, answer or candidate reaches the user it named, now the party of the call.
    const Session *to = registry.session(r.to);
    if (!to || to->name != actor.addressee)
      fail("a %s from \"%s\" to \"%s\" reached \"%s\"", r.type, actor.name.c_str(),
           actor.addressee.c_str(), to ? to->name.c_str() : "(nobody)");
    const Session *self = registry.session(actor.connection);
    if (!self || self->peer != r.to)
      fail("a %s from \"%s\" reached \"%s\", who is not in a call with it", r.type,
           actor.name.c_str(), to->name.c_str());
  }
}

// {"type":"login","name":NAME,"token":TOKEN}, as a client writes it.
std::string login_text(std::string_view name, const std::string &token) {
  g_autoptr(JsonBuilder) builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "type");
  json_builder_add_string_value(builder, "login");
  json_builder_set_member_name(builder, "name");
  json_builder_add_string_value(builder, std::string(name).c_str());
  json_builder_set_member_name(builder, "token");
  json_builder_add_string_value(builder, token.c_str());
  json_builder_end_object(builder);
  g_autoptr(JsonNode) root = json_builder_get_root(builder);
  g_autofree char *text = json_to_string(root, FALSE);
  return text;
}

constexpr const char *kAuthSecret = "fuzz-secret";

void run(std::string_view input, bool with_auth) {
  CheckingOutbox outbox;
  TurnSettings turn{"secret", {"turn:127.0.0.1:3478"}, 600};
  Router router(outbox, RouterOptions{true, {}, with_auth ? kAuthSecret : "", turn});
  for (ConnectionId id = 1; id <= kConnections; id++)
    outbox.open.insert(id);
  while (!input.empty()) {
    std::size_t end = input.find('\n');
    std::string_view line = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (line.size() < 2)
      continue;
    ConnectionId from = 1 + std::uint8_t(line[0]) % kConnections;
    if (!outbox.open.count(from))
      continue; // a closed connection sends nothing more
    outbox.relayed.clear();
    Actor actor{from, {}, 0, {}};
    switch (line[1]) {
    case 'm':
    case 't': {
      std::string text(line.substr(2));
      if (line[1] == 't') {
        std::string name = text;
        gint64 expiry = g_get_real_time() / G_USEC_PER_SEC + 3600;
        text = login_text(name, issue_login_token(kAuthSecret, name, expiry));
      }
      ClientParse parsed = parse_client_message(text);
      actor = actor_before(router, from, named_in(parsed));
      if (auto *message = std::get_if<ClientMessage>(&parsed))
        router.received(from, *message);
      else
        router.refused(from, std::get<ParseError>(parsed));
      break;
    }
    case 'd':
      actor = actor_before(router, from, {});
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
    check_relays(router, actor, outbox.relayed);
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
  std::string_view input(reinterpret_cast<const char *>(data), size);
  run(input, false);
  run(input, true);
  return 0;
}
