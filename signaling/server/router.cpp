#include "router.hpp"

#include "protocol/limits.hpp"
#include "tokens.hpp"

#include <glib.h>

namespace webrtccall::server {

using namespace protocol;

namespace {

// A name fit to quote back in a reply or a log line; an invalid one (a
// megabyte, control characters) is never echoed.
std::string quoted(const std::string &name) {
  if (name_problem(name))
    return "that user";
  return "\"" + name + "\"";
}

} // namespace

void Router::received(ConnectionId from, const ClientMessage &message) {
  if (!std::holds_alternative<Login>(message) && !registry_.session(from)) {
    send_error(from, ErrorCode::kNotLoggedIn,
               "Log in first: \"" + std::string(type_name(message)) + "\" needs a user name");
    return;
  }
  std::visit([this, from](const auto &m) { handle(from, m); }, message);
}

void Router::refused(ConnectionId from, const ParseError &error) {
  g_message("connection %" G_GUINT64_FORMAT ": refused a message: %s", from, error.message.c_str());
  // A refused login is still a login reply, so the tutorial's client shows it.
  if (error.type == "login") {
    outbox_.send(from, LoginResult{false, error.code, error.message, kProtocolVersion, {}, {}});
    return;
  }
  send_error(from, error.code, error.message, name_problem(error.name) ? "" : error.name);
}

void Router::handle(ConnectionId from, const Login &message) {
  if (const Session *self = registry_.session(from)) {
    refuse_login(from, ErrorCode::kAlreadyLoggedIn,
                 "Already logged in as " + quoted(self->name) + " on this connection");
    return;
  }
  if (auto problem = name_problem(message.name)) {
    refuse_login(from, ErrorCode::kInvalidName, "The user name " + *problem);
    return;
  }
  if (auto problem = authentication_problem(message)) {
    refuse_login(from, problem->first, problem->second);
    return;
  }
  if (auto holder = registry_.find(message.name)) {
    if (!resume(from, *holder, message))
      refuse_login(from, ErrorCode::kNameTaken,
                   "The name \"" + message.name + "\" is taken; choose another");
    return;
  }
  registry_.log_in(from, message.name);
  const std::string &login_name = message.name;
  std::string token = random_token();
  registry_.session(from)->resume_token = token;
  g_info("connection %" G_GUINT64_FORMAT ": logged in as \"%s\"", from, message.name.c_str());
  outbox_.send(
      from,
      LoginResult{true, std::nullopt, {}, kProtocolVersion, ice_servers_for(login_name), token});
  broadcast_presence(Presence{std::nullopt, message.name, {}}, from);
}

std::vector<IceServer> Router::ice_servers_for(const std::string &name) const {
  std::vector<IceServer> servers = options_.ice_servers;
  for (auto &turn : turn_ice_servers(options_.turn, name, g_get_real_time() / G_USEC_PER_SEC))
    servers.push_back(std::move(turn));
  return servers;
}

void Router::refresh_ice_servers() {
  if (options_.turn.secret.empty())
    return;
  for (ConnectionId connection : registry_.connections())
    outbox_.send(connection, IceServers{ice_servers_for(registry_.session(connection)->name)});
}

void Router::refuse_login(ConnectionId to, ErrorCode code, const std::string &message) {
  g_message("connection %" G_GUINT64_FORMAT ": login refused: %s", to, message.c_str());
  outbox_.send(to, LoginResult{false, code, message, kProtocolVersion, {}, {}});
}

std::optional<std::pair<ErrorCode, std::string>>
Router::authentication_problem(const Login &login) const {
  if (options_.auth_secret.empty())
    return std::nullopt;
  if (login.token.empty())
    return std::make_pair(ErrorCode::kAuthRequired,
                          std::string("This server needs a login token: get one from the "
                                      "application that lets you use it"));
  switch (check_login_token(options_.auth_secret, login.name, login.token,
                            g_get_real_time() / G_USEC_PER_SEC)) {
  case TokenProblem::kNone:
    return std::nullopt;
  case TokenProblem::kExpired:
    return std::make_pair(ErrorCode::kAuthFailed,
                          std::string("The login token has expired: get a new one"));
  case TokenProblem::kMalformed:
    return std::make_pair(ErrorCode::kAuthFailed,
                          std::string("The login token is malformed (expected EXPIRY.SIGNATURE)"));
  case TokenProblem::kWrongSignature:
    break;
  }
  return std::make_pair(ErrorCode::kAuthFailed,
                        "The login token is not valid for " + quoted(login.name));
}

bool Router::resume(ConnectionId from, ConnectionId holder, const Login &login) {
  Session *held = registry_.session(holder);
  if (login.resume.empty() || !held || !tokens_equal(login.resume, held->resume_token))
    return false;
  // The name, its call and its presence subscription move over; the peer
  // hears nothing, since for it the user never left.
  registry_.transfer(holder, from);
  const std::string &login_name = login.name;
  std::string token = random_token();
  registry_.session(from)->resume_token = token;
  g_info("connection %" G_GUINT64_FORMAT ": \"%s\" resumed from connection %" G_GUINT64_FORMAT,
         from, login.name.c_str(), holder);
  outbox_.send(
      from,
      LoginResult{true, std::nullopt, {}, kProtocolVersion, ice_servers_for(login_name), token});
  outbox_.close(holder, "logged in again on another connection");
  return true;
}

void Router::handle(ConnectionId from, const Offer &message) {
  ConnectionId callee = addressee(from, message.name);
  if (!callee)
    return;
  Session &caller = *registry_.session(from);
  Session &other = *registry_.session(callee);
  if (callee == from) {
    send_error(from, ErrorCode::kSelfCall, "You cannot call yourself", message.name);
    return;
  }
  if (caller.peer == callee) {
    // The callee offering back instead of answering: the offers crossed.
    if (caller.state == CallState::kRinging) {
      send_error(from, ErrorCode::kBusy,
                 quoted(message.name) + " is calling you: answer or leave that call first",
                 message.name);
      return;
    }
    // A new offer to the same peer: renegotiation, or a repeated offer.
    outbox_.send(callee, Offer{caller.name, message.offer});
    return;
  }
  if (caller.peer != 0) {
    const Session *current = registry_.session(caller.peer);
    send_error(from, ErrorCode::kInCall,
               "You are in a call with " + quoted(current ? current->name : "") +
                   ": leave it before calling someone else",
               message.name);
    return;
  }
  if (other.peer != 0) {
    g_info("\"%s\" called \"%s\", who is busy", caller.name.c_str(), other.name.c_str());
    send_error(from, ErrorCode::kBusy, quoted(message.name) + " is in another call", message.name);
    return;
  }
  registry_.start_call(from, callee);
  g_info("\"%s\" is calling \"%s\"", caller.name.c_str(), other.name.c_str());
  outbox_.send(callee, Offer{caller.name, message.offer});
}

void Router::handle(ConnectionId from, const Answer &message) {
  ConnectionId caller = addressee(from, message.name);
  if (!caller)
    return;
  Session &self = *registry_.session(from);
  bool answers_offer = self.peer == caller && self.state == CallState::kRinging;
  bool renegotiates = self.peer == caller && self.state == CallState::kInCall;
  if (!answers_offer && !renegotiates) {
    refuse_outside_call(from, "an answer", message.name);
    return;
  }
  if (answers_offer) {
    registry_.establish(from, caller);
    g_info("\"%s\" answered \"%s\"", self.name.c_str(), message.name.c_str());
  }
  outbox_.send(caller, Answer{self.name, message.answer});
}

void Router::handle(ConnectionId from, const Candidate &message) {
  ConnectionId peer = addressee(from, message.name);
  if (!peer)
    return;
  const Session &self = *registry_.session(from);
  // Pending or established, in either direction: both are parties to the call.
  if (self.peer != peer) {
    refuse_outside_call(from, "a candidate", message.name);
    return;
  }
  outbox_.send(peer, Candidate{self.name, message.candidate});
}

void Router::handle(ConnectionId from, const Leave &message) {
  Session &self = *registry_.session(from);
  ConnectionId peer = self.peer;
  // The tutorial's client names its peer; without a name, the current call ends.
  if (!message.name.empty()) {
    peer = addressee(from, message.name);
    if (!peer)
      return;
    if (self.peer != peer) {
      refuse_outside_call(from, "leave", message.name);
      return;
    }
  } else if (peer == 0) {
    send_error(from, ErrorCode::kNotInCall, "You are not in a call");
    return;
  }
  std::string sender = self.name;
  registry_.end_call(from);
  LeaveReason reason = message.reason.value_or(LeaveReason::kHangup);
  g_info("\"%s\" left the call (%s)", sender.c_str(), std::string(to_string(reason)).c_str());
  outbox_.send(peer, Leave{sender, reason});
}

void Router::handle(ConnectionId from, const Presence &) {
  if (!options_.presence) {
    send_error(from, ErrorCode::kUnknownType,
               "Command not found: presence (this server has presence turned off)");
    return;
  }
  registry_.subscribe_presence(from);
  outbox_.send(from, Presence{registry_.names(), {}, {}});
}

void Router::disconnected(ConnectionId connection) {
  const Session *self = registry_.session(connection);
  if (!self)
    return;
  std::string name = self->name;
  if (auto peer = registry_.end_call(connection)) {
    g_info("\"%s\" went away during a call", name.c_str());
    outbox_.send(*peer, Leave{name, LeaveReason::kGone});
  }
  registry_.log_out(connection);
  g_info("connection %" G_GUINT64_FORMAT ": \"%s\" logged out", connection, name.c_str());
  broadcast_presence(Presence{std::nullopt, {}, name}, connection);
}

void Router::shutdown() {
  auto links = registry_.links(); // ending calls changes the registry
  for (const auto &[id, peer] : links)
    if (const Session *other = registry_.session(peer))
      outbox_.send(id, Leave{other->name, LeaveReason::kGone});
  for (const auto &[id, peer] : links)
    registry_.end_call(id);
}

void Router::send_error(ConnectionId to, ErrorCode code, std::string message,
                        const std::string &name) {
  outbox_.send(to, Error{std::move(message), code, name_problem(name) ? "" : name});
}

ConnectionId Router::addressee(ConnectionId from, const std::string &name) {
  if (auto found = registry_.find(name))
    return *found;
  g_message("connection %" G_GUINT64_FORMAT ": no user %s", from, quoted(name).c_str());
  send_error(from, ErrorCode::kUnknownUser, "User " + quoted(name) + " is not logged in", name);
  return 0;
}

void Router::refuse_outside_call(ConnectionId from, std::string_view what,
                                 const std::string &name) {
  g_message("connection %" G_GUINT64_FORMAT ": refused %.*s outside a call", from, int(what.size()),
            what.data());
  send_error(from, ErrorCode::kNotInCall,
             "You are not in a call with " + quoted(name) + ": " + std::string(what) +
                 " is refused",
             name);
}

void Router::broadcast_presence(const Presence &change, ConnectionId except) {
  if (!options_.presence)
    return;
  for (ConnectionId subscriber : registry_.presence_subscribers())
    if (subscriber != except)
      outbox_.send(subscriber, change);
}

} // namespace webrtccall::server
