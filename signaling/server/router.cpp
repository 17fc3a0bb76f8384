#include "router.hpp"

#include "protocol/limits.hpp"
#include "tokens.hpp"

#include <glib.h>

#include <algorithm>
#include <set>

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

// What a connection may send while its login waits for the directory (a
// claim in Redis takes a round trip): clients wait for the login reply, so
// more than this is a client flooding.
constexpr std::size_t kMaxQueuedWhileClaiming = 64;

// How long calls ended with an instance taken for gone are remembered, in
// case it comes back.
constexpr gint64 kRememberEndedCallsUs = 10 * 60 * G_USEC_PER_SEC;

} // namespace

Router::Router(Outbox &outbox, RouterOptions options, Directory *directory)
    : outbox_(outbox), options_(std::move(options)),
      own_directory_(directory ? nullptr : std::make_unique<LocalDirectory>()),
      directory_(directory ? *directory : *own_directory_) {
  directory_.set_listener(this);
}

Router::~Router() {
  directory_.set_listener(nullptr);
}

void Router::received(ConnectionId from, const ClientMessage &message) {
  if (auto pending = pending_logins_.find(from); pending != pending_logins_.end()) {
    // Its login awaits the directory: keep what follows in order behind it.
    if (pending->second.queued.size() < kMaxQueuedWhileClaiming)
      pending->second.queued.push_back(message);
    else
      client_log_.message(ClientLine::kDroppedBeforeLogin,
                          "connection %" G_GUINT64_FORMAT
                          ": dropped a message sent before its login's "
                          "answer: too many waiting",
                          from);
    return;
  }
  if (auto held = held_.find(from); held != held_.end()) {
    if (held->second.size() < kMaxQueuedWhileClaiming)
      held->second.push_back(message); // behind the offer that waits for a lookup
    return;
  }
  if (!std::holds_alternative<Login>(message) && !registry_.session(from)) {
    send_error(from, ErrorCode::kNotLoggedIn,
               "Log in first: \"" + std::string(type_name(message)) + "\" needs a user name");
    return;
  }
  if (held_for_lookup(from, message))
    return;
  std::visit([this, from](const auto &m) { handle(from, m); }, message);
}

bool Router::held_for_lookup(ConnectionId from, const ClientMessage &message) {
  const auto *offer = std::get_if<Offer>(&message);
  if (!offer || replaying_ || name_problem(offer->name) || registry_.find(offer->name) ||
      directory_.locate(offer->name) || registry_.session(from)->remote.name == offer->name)
    return false;
  auto &waiting = lookups_[offer->name];
  if (waiting.empty() && !directory_.lookup(offer->name)) {
    lookups_.erase(offer->name);
    return false; // nobody to ask: unknown it is
  }
  waiting.push_back(from);
  held_[from].push_back(message);
  return true;
}

void Router::on_lookup_result(const std::string &name, const std::optional<std::string> &instance) {
  auto waiting = lookups_.extract(name);
  if (waiting.empty())
    return;
  if (instance)
    found_[name] = *instance;
  for (ConnectionId connection : waiting.mapped()) {
    auto held = held_.extract(connection);
    if (held.empty())
      continue; // gone meanwhile
    // Asked once: if the answer was nobody, the offer is refused as usual.
    replaying_ = true;
    for (const auto &message : held.mapped())
      received(connection, message);
    replaying_ = false;
  }
  found_.erase(name);
}

void Router::refused(ConnectionId from, const ParseError &error) {
  client_log_.message(ClientLine::kMessageRefused,
                      "connection %" G_GUINT64_FORMAT ": refused a message: %s", from,
                      error.message.c_str());
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
  if (pending_names_.count(message.name)) {
    refuse_login(from, ErrorCode::kNameTaken,
                 "The name \"" + message.name + "\" is taken; choose another");
    return;
  }
  // Free here; the directory has the last word (another instance may hold it).
  pending_names_.emplace(message.name, from);
  pending_logins_.emplace(from, PendingLogin{message, {}, false});
  directory_.claim(message.name);
}

void Router::on_claim_result(const std::string &name, ClaimResult result) {
  auto claim = pending_names_.find(name);
  if (claim == pending_names_.end())
    return;
  ConnectionId from = claim->second;
  pending_names_.erase(claim);
  auto node = pending_logins_.extract(from);
  if (node.empty())
    return;
  PendingLogin pending = std::move(node.mapped());
  if (pending.gone) {
    if (result == ClaimResult::kClaimed)
      directory_.release(name);
    return;
  }
  switch (result) {
  case ClaimResult::kClaimed:
    complete_login(from, pending.login);
    break;
  case ClaimResult::kTaken:
    refuse_login(from, ErrorCode::kNameTaken, "The name \"" + name + "\" is taken; choose another");
    break;
  case ClaimResult::kUnavailable:
    refuse_login(from, ErrorCode::kUnavailable,
                 "The server cannot check names right now (it lost its connection to the other "
                 "servers); try again in a few seconds");
    break;
  }
  for (const auto &message : pending.queued)
    received(from, message);
}

void Router::complete_login(ConnectionId from, const Login &login) {
  registry_.log_in(from, login.name);
  std::string token = random_token();
  registry_.session(from)->resume_token = token;
  g_info("connection %" G_GUINT64_FORMAT ": logged in as \"%s\"", from, login.name.c_str());
  outbox_.send(
      from,
      LoginResult{true, std::nullopt, {}, kProtocolVersion, ice_servers_for(login.name), token});
  broadcast_presence(Presence{std::nullopt, login.name, {}}, from);
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
  client_log_.message(ClientLine::kLoginRefused,
                      "connection %" G_GUINT64_FORMAT ": login refused: %s", to, message.c_str());
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
  Target callee = addressee(from, message.name);
  if (!callee.found())
    return;
  Session &caller = *registry_.session(from);
  if (callee.connection == from) {
    send_error(from, ErrorCode::kSelfCall, "You cannot call yourself", message.name);
    return;
  }
  if (linked(caller, callee, message.name)) {
    // The callee offering back instead of answering: the offers crossed.
    if (caller.state == CallState::kRinging) {
      send_error(from, ErrorCode::kBusy,
                 quoted(message.name) + " is calling you: answer or leave that call first",
                 message.name);
      return;
    }
    // A new offer to the same peer: renegotiation, or a repeated offer.
    forward(caller.name, callee, message.name, message, Offer{caller.name, message.offer});
    return;
  }
  if (caller.in_call()) {
    send_error(from, ErrorCode::kInCall,
               "You are in a call with " + quoted(peer_name(caller)) +
                   ": leave it before calling someone else",
               message.name);
    return;
  }
  if (callee.instance.empty()) {
    Session &other = *registry_.session(callee.connection);
    if (other.in_call()) {
      g_info("\"%s\" called \"%s\", who is busy", caller.name.c_str(), other.name.c_str());
      send_error(from, ErrorCode::kBusy, quoted(message.name) + " is in another call",
                 message.name);
      return;
    }
    registry_.start_call(from, callee.connection);
  } else {
    // The callee's instance decides whether it is free; a refusal comes back.
    registry_.start_remote_call(from, RemoteUser{message.name, callee.instance},
                                CallState::kCalling);
  }
  g_info("\"%s\" is calling \"%s\"", caller.name.c_str(), message.name.c_str());
  forward(caller.name, callee, message.name, message, Offer{caller.name, message.offer});
}

void Router::handle(ConnectionId from, const Answer &message) {
  Target caller = addressee(from, message.name);
  if (!caller.found())
    return;
  Session &self = *registry_.session(from);
  bool is_linked = linked(self, caller, message.name);
  bool answers_offer = is_linked && self.state == CallState::kRinging;
  bool renegotiates = is_linked && self.state == CallState::kInCall;
  if (!answers_offer && !renegotiates) {
    refuse_outside_call(from, "an answer", message.name);
    return;
  }
  if (answers_offer) {
    if (caller.instance.empty())
      registry_.establish(from, caller.connection);
    else
      registry_.establish_remote(from); // the caller's instance establishes its side
    g_info("\"%s\" answered \"%s\"", self.name.c_str(), message.name.c_str());
  }
  forward(self.name, caller, message.name, message, Answer{self.name, message.answer});
}

void Router::handle(ConnectionId from, const Candidate &message) {
  Target peer = addressee(from, message.name);
  if (!peer.found())
    return;
  const Session &self = *registry_.session(from);
  // Pending or established, in either direction: both are parties to the call.
  if (!linked(self, peer, message.name)) {
    refuse_outside_call(from, "a candidate", message.name);
    return;
  }
  forward(self.name, peer, message.name, message, Candidate{self.name, message.candidate});
}

void Router::handle(ConnectionId from, const Leave &message) {
  Session &self = *registry_.session(from);
  Target peer;
  std::string name = message.name;
  // The tutorial's client names its peer; without a name, the current call ends.
  if (!message.name.empty()) {
    peer = addressee(from, message.name);
    if (!peer.found())
      return;
    if (!linked(self, peer, message.name)) {
      refuse_outside_call(from, "leave", message.name);
      return;
    }
  } else if (!self.in_call()) {
    send_error(from, ErrorCode::kNotInCall, "You are not in a call");
    return;
  } else {
    peer = self.peer ? Target{self.peer, {}} : Target{0, self.remote.instance};
    name = peer_name(self);
  }
  std::string sender = self.name;
  registry_.end_call(from);
  LeaveReason reason = message.reason.value_or(LeaveReason::kHangup);
  g_info("\"%s\" left the call (%s)", sender.c_str(), std::string(to_string(reason)).c_str());
  forward(sender, peer, name, Leave{name, reason}, Leave{sender, reason});
}

void Router::handle(ConnectionId from, const Presence &) {
  if (!options_.presence) {
    send_error(from, ErrorCode::kUnknownType,
               "Command not found: presence (this server has presence turned off)");
    return;
  }
  registry_.subscribe_presence(from);
  // Everyone, here and on other instances; a name is briefly in both while a
  // user moves between instances and the news of its logout is on its way.
  std::set<std::string> names;
  for (auto &name : registry_.names())
    names.insert(std::move(name));
  for (auto &name : directory_.remote_names())
    names.insert(std::move(name));
  outbox_.send(from, Presence{std::vector<std::string>(names.begin(), names.end()), {}, {}});
}

void Router::disconnected(ConnectionId connection) {
  if (auto pending = pending_logins_.find(connection); pending != pending_logins_.end()) {
    pending->second.gone = true; // the claim's answer releases the name
    pending->second.queued.clear();
    return;
  }
  held_.erase(connection);
  const Session *self = registry_.session(connection);
  if (!self)
    return;
  std::string name = self->name;
  if (auto peer = registry_.end_call(connection)) {
    g_info("\"%s\" went away during a call", name.c_str());
    if (peer->connection)
      outbox_.send(peer->connection, Leave{name, LeaveReason::kGone});
    else
      forward(name, Target{0, peer->remote.instance}, peer->remote.name,
              Leave{peer->remote.name, LeaveReason::kGone}, Leave{});
  }
  registry_.log_out(connection);
  directory_.release(name);
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
  // Calls with other instances: both ends hear that the other is gone.
  for (const auto &[id, peer] : registry_.remote_links()) {
    outbox_.send(id, Leave{peer.name, LeaveReason::kGone});
    forward(registry_.session(id)->name, Target{0, peer.instance}, peer.name,
            Leave{peer.name, LeaveReason::kGone}, Leave{});
    registry_.end_call(id);
  }
}

// --- users on other instances

void Router::forward(const std::string &sender, const Target &to, const std::string &to_name,
                     const ClientMessage &as_sent, const ServerMessage &relayed) {
  if (to.instance.empty()) {
    outbox_.send(to.connection, relayed);
    return;
  }
  directory_.send(to.instance, ClusterMessage{sender, directory_.instance(), to_name, as_sent});
}

bool Router::linked(const Session &session, const Target &target, const std::string &name) const {
  if (target.instance.empty())
    return session.peer == target.connection;
  return session.remote == RemoteUser{name, target.instance};
}

std::string Router::peer_name(const Session &session) const {
  if (session.peer == 0)
    return session.remote.name;
  const Session *peer = registry_.session(session.peer);
  return peer ? peer->name : std::string();
}

void Router::on_cluster_message(const ClusterMessage &envelope) {
  if (const auto *error = std::get_if<Error>(&envelope.body))
    refusal_received(envelope, *error);
  else
    received_remote(envelope, std::get<ClientMessage>(envelope.body));
}

// The same rules as for a sender here, from the addressee's side: the
// sender's instance has already checked the sender's side.
void Router::received_remote(const ClusterMessage &envelope, const ClientMessage &message) {
  auto to = registry_.find(envelope.to);
  if (!to) {
    // Gone from here since the sender's instance looked: as for a user here.
    if (!std::holds_alternative<Leave>(message))
      refuse_remote(envelope, ErrorCode::kUnknownUser,
                    "User " + quoted(envelope.to) + " is not logged in");
    return;
  }
  Session &self = *registry_.session(*to);
  RemoteUser sender{envelope.from, envelope.from_instance};
  bool is_linked = self.remote == sender;
  if (const auto *offer = std::get_if<Offer>(&message)) {
    if (is_linked && self.state == CallState::kCalling) {
      // Both offered at once, each before the other's offer arrived: both
      // instances refuse the other's, and both calls fail (a single server
      // would have taken one of them).
      refuse_remote(envelope, ErrorCode::kBusy,
                    quoted(envelope.to) + " is calling you: answer or leave that call first");
      return;
    }
    if (!is_linked) {
      if (self.in_call()) {
        g_info("\"%s\" called \"%s\", who is busy", envelope.from.c_str(), self.name.c_str());
        refuse_remote(envelope, ErrorCode::kBusy, quoted(envelope.to) + " is in another call");
        return;
      }
      registry_.start_remote_call(*to, sender, CallState::kRinging);
      g_info("\"%s\" is calling \"%s\"", envelope.from.c_str(), self.name.c_str());
    }
    outbox_.send(*to, Offer{envelope.from, offer->offer});
  } else if (const auto *answer = std::get_if<Answer>(&message)) {
    if (!is_linked || self.state == CallState::kRinging) {
      refuse_remote(envelope, ErrorCode::kNotInCall,
                    "You are not in a call with " + quoted(envelope.to) + ": an answer is refused");
      return;
    }
    if (self.state == CallState::kCalling) {
      registry_.establish_remote(*to);
      g_info("\"%s\" answered \"%s\"", envelope.from.c_str(), self.name.c_str());
    }
    outbox_.send(*to, Answer{envelope.from, answer->answer});
  } else if (const auto *candidate = std::get_if<Candidate>(&message)) {
    if (!is_linked) {
      refuse_remote(envelope, ErrorCode::kNotInCall,
                    "You are not in a call with " + quoted(envelope.to) +
                        ": a candidate is refused");
      return;
    }
    outbox_.send(*to, Candidate{envelope.from, candidate->candidate});
  } else if (const auto *leave = std::get_if<Leave>(&message)) {
    if (!is_linked)
      return; // this side had ended it already
    registry_.end_call(*to);
    LeaveReason reason = leave->reason.value_or(LeaveReason::kHangup);
    g_info("\"%s\" left the call (%s)", envelope.from.c_str(),
           std::string(to_string(reason)).c_str());
    outbox_.send(*to, Leave{envelope.from, reason});
  }
}

void Router::refuse_remote(const ClusterMessage &envelope, ErrorCode code,
                           const std::string &message) {
  client_log_.message(ClientLine::kRefusedOnOtherServer,
                      "refused a message from \"%s\" on another instance: %s",
                      envelope.from.c_str(), message.c_str());
  directory_.send(envelope.from_instance,
                  ClusterMessage{envelope.to, directory_.instance(), envelope.from,
                                 Error{message, code, envelope.to}});
}

// `envelope.to` is our user whose message `envelope.from`'s instance refused.
void Router::refusal_received(const ClusterMessage &envelope, const Error &error) {
  auto to = registry_.find(envelope.to);
  if (!to)
    return;
  Session &self = *registry_.session(*to);
  bool is_linked = self.remote == RemoteUser{envelope.from, envelope.from_instance};
  if (error.code == ErrorCode::kNotInCall) {
    // The other side has no call with us. Usually its leave is on the way
    // and this side has ended the call already; if not, the two sides
    // disagree (a message was lost), and the call is over.
    if (is_linked) {
      registry_.end_call(*to);
      outbox_.send(*to, Leave{envelope.from, LeaveReason::kGone});
    }
    return;
  }
  if (!is_linked) {
    // Every refused message was sent within a call; this side has ended that
    // call since (a hang-up, or the news that the peer is gone): stale.
    g_debug("dropped a refusal from \"%s\" for a call that has ended: %s", envelope.from.c_str(),
            error.message.c_str());
    return;
  }
  CallState state = self.state;
  registry_.end_call(*to);
  outbox_.send(*to, error);
  // The offer that started the call was refused; an established call is over.
  if (state != CallState::kCalling)
    outbox_.send(*to, Leave{envelope.from, LeaveReason::kGone});
}

void Router::end_calls_with_gone_peer(const std::vector<ConnectionId> &users) {
  for (ConnectionId user : users)
    if (auto peer = registry_.end_call(user)) {
      g_info("\"%s\" on another instance is gone: ending its call", peer->remote.name.c_str());
      outbox_.send(user, Leave{peer->remote.name, LeaveReason::kGone});
    }
}

// Presence says whether a name is online anywhere: news of a name that is
// also here (it changes hands after Redis lost its keys) changes nothing.
void Router::on_remote_joined(const RemoteUser &user) {
  if (!registry_.find(user.name))
    broadcast_presence(Presence{std::nullopt, user.name, {}}, 0);
}

void Router::on_remote_left(const RemoteUser &user) {
  // Its instance sent a leave before the news of the logout; this covers a
  // leave that was lost.
  end_calls_with_gone_peer(registry_.linked_to(user));
  if (!registry_.find(user.name))
    broadcast_presence(Presence{std::nullopt, {}, user.name}, 0);
}

void Router::on_instance_gone(const std::string &instance) {
  gint64 now = g_get_monotonic_time();
  // Forget what is too old to matter: a call ended that long ago is over
  // on the other side too (its media stopped when ours did).
  for (auto entry = ended_with_gone_.begin(); entry != ended_with_gone_.end();) {
    auto &calls = entry->second;
    calls.erase(std::remove_if(calls.begin(), calls.end(),
                               [now](const EndedCall &call) {
                                 return now - call.ended_us > kRememberEndedCallsUs;
                               }),
                calls.end());
    entry = calls.empty() ? ended_with_gone_.erase(entry) : std::next(entry);
  }
  auto users = registry_.linked_to_instance(instance);
  for (ConnectionId user : users) {
    const Session &session = *registry_.session(user);
    ended_with_gone_[instance].push_back(EndedCall{session.name, session.remote.name, now});
  }
  end_calls_with_gone_peer(users);
}

void Router::on_instance_back(const std::string &instance) {
  auto ended = ended_with_gone_.extract(instance);
  if (ended.empty())
    return;
  // Its users may still be in the calls ended here: end them there too.
  for (const auto &call : ended.mapped())
    forward(call.user, Target{0, instance}, call.peer, Leave{call.peer, LeaveReason::kGone},
            Leave{});
}

void Router::on_name_lost(const std::string &name) {
  auto connection = registry_.find(name);
  if (!connection)
    return;
  g_message("connection %" G_GUINT64_FORMAT ": \"%s\" is now held by another instance; "
            "closing this one",
            *connection, name.c_str());
  if (auto peer = registry_.end_call(*connection)) {
    if (peer->connection)
      outbox_.send(peer->connection, Leave{name, LeaveReason::kGone});
    else
      forward(name, Target{0, peer->remote.instance}, peer->remote.name,
              Leave{peer->remote.name, LeaveReason::kGone}, Leave{});
  }
  registry_.log_out(*connection); // not released: the name is the other instance's now
  if (!directory_.locate(name))   // else still online, there
    broadcast_presence(Presence{std::nullopt, {}, name}, *connection);
  outbox_.close(*connection, "the name was claimed on another server while this one was cut off "
                             "from Redis");
}

void Router::send_error(ConnectionId to, ErrorCode code, std::string message,
                        const std::string &name) {
  outbox_.send(to, Error{std::move(message), code, name_problem(name) ? "" : name});
}

Router::Target Router::addressee(ConnectionId from, const std::string &name) {
  if (auto found = registry_.find(name))
    return Target{*found, {}};
  // One's own peer is always known, even before the news of its login has
  // come (its offer did).
  if (const Session *self = registry_.session(from); self && self->remote.name == name)
    return Target{0, self->remote.instance};
  if (auto instance = directory_.locate(name))
    return Target{0, *instance};
  if (auto found = found_.find(name); found != found_.end())
    return Target{0, found->second};
  client_log_.message(ClientLine::kUnknownUser, "connection %" G_GUINT64_FORMAT ": no user %s",
                      from, quoted(name).c_str());
  send_error(from, ErrorCode::kUnknownUser, "User " + quoted(name) + " is not logged in", name);
  return Target{};
}

void Router::refuse_outside_call(ConnectionId from, std::string_view what,
                                 const std::string &name) {
  client_log_.message(ClientLine::kOutsideCall,
                      "connection %" G_GUINT64_FORMAT ": refused %.*s outside a call", from,
                      int(what.size()), what.data());
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
