#include "call_controller.hpp"

#include "debug.hpp"

#include <gst/webrtc/webrtc.h>

#include <utility>

namespace webrtccall {

using namespace protocol;

namespace {

// How often a caller re-offers to a peer that is not online yet, on a server
// without presence (the tutorial's drops offers to absent users silently).
constexpr unsigned kRetryOfferMs = 1000;

std::string reason_name(std::optional<LeaveReason> reason) {
  return std::string(to_string(reason.value_or(LeaveReason::kHangup)));
}

} // namespace

CallController::CallController(GstElement *element, ElementContext &context,
                               ControllerSettings settings, ElementHooks &hooks)
    : element_(element), context_(context), settings_(std::move(settings)), hooks_(hooks) {}

CallController::~CallController() {
  stop_call_timer();
  context_.cancel(retry_timer_);
  context_.cancel(stats_timer_);
}

void CallController::start() {
  set_state(CallState::kConnecting);
  SignalingClient::Events events;
  std::weak_ptr<CallController> weak = weak_from_this();
  events.opened = [weak] {
    if (auto self = weak.lock())
      self->on_opened();
  };
  events.message = [weak](const ServerMessage &message) {
    if (auto self = weak.lock())
      self->on_message(message);
  };
  events.lost = [weak](const std::string &why) {
    auto self = weak.lock();
    if (!self)
      return;
    self->logged_in_ = false;
    self->reconnecting_ = true;
    GST_ELEMENT_WARNING(self->element_, RESOURCE, READ,
                        ("Lost the signaling server; reconnecting."), ("%s", why.c_str()));
    if (self->state_ == CallState::kInCall) {
      self->hooks_.state_changed(self->state_, self->remote_, "server-lost"); // the call goes on
      return;
    }
    // A call not answered yet went with the server: it is placed again once
    // logged in again. An unanswered incoming call is gone for good.
    if (self->state_ == CallState::kCalling)
      self->call_wanted_ = self->remote_;
    if (self->session_) {
      self->session_->close(false);
      self->session_.reset();
    }
    self->stop_call_timer();
    self->context_.cancel(self->retry_timer_);
    self->retry_timer_ = 0;
    self->pending_offer_.clear();
    self->early_candidates_.clear();
    self->set_state(CallState::kConnecting, "server-lost");
    self->remote_.clear();
  };
  events.failed = [weak](const std::string &why) {
    auto self = weak.lock();
    if (!self)
      return;
    self->logged_in_ = false;
    self->fail(FailureKind::kServer, "server-unreachable",
               "Cannot reach the signaling server at " + self->settings_.server +
                   ". Start webrtccall-signaling there, or correct the server property.",
               why);
  };
  events.untrusted = [weak](const std::string &why) {
    auto self = weak.lock();
    if (!self)
      return;
    self->logged_in_ = false;
    self->fail(FailureKind::kServer, "server-untrusted",
               "The signaling server at " + self->settings_.server +
                   " could not be trusted over TLS. Set tls-ca-file to the CA that signed its "
                   "certificate (or fix the file named below), or set tls-insecure=true for a "
                   "test server.",
               why);
  };
  client_ = std::make_shared<SignalingClient>(element_, context_, settings_.server,
                                              settings_.reconnect_timeout_s, settings_.tls,
                                              std::move(events));
  client_->start();
}

void CallController::on_opened() {
  GST_INFO_OBJECT(element_, "logging in as %s%s", settings_.user.c_str(),
                  resume_token_.empty() ? "" : " (resuming)");
  // After a lost connection the server may still hold our name on the dead
  // one until its keepalive notices; the resume token takes it back now.
  client_->send(Login{settings_.user, settings_.token, resume_token_});
}

void CallController::playing() {
  is_playing_ = true;
  if (call_wanted_.empty() && !settings_.peer.empty() && state_ != CallState::kEnded && !session_)
    call_wanted_ = settings_.peer;
  if (!call_wanted_.empty() && logged_in_)
    call(call_wanted_);
}

void CallController::call(std::string peer) {
  if (peer.empty() || peer == settings_.user) {
    fail(FailureKind::kSettings, "invalid-peer",
         peer.empty() ? "No one to call: give the peer's user name."
                      : "A user cannot call itself: set peer to another user's name.");
    return;
  }
  if (session_ || state_ == CallState::kCalling || state_ == CallState::kRinging) {
    GST_WARNING_OBJECT(element_, "already in a call with %s: hang up before calling %s",
                       remote_.c_str(), peer.c_str());
    return;
  }
  if (!logged_in_ || !is_playing_) {
    call_wanted_ = peer; // placed once logged in and playing
    return;
  }
  call_wanted_.clear();
  remote_ = peer;
  set_state(CallState::kCalling);
  start_call_timer();
  place_call();
}

void CallController::place_call() {
  if (state_ != CallState::kCalling || session_)
    return;
  // With presence we know whether the peer is online; wait for it to come.
  if (presence_known_ && !online_.count(remote_)) {
    GST_INFO_OBJECT(element_, "%s is not online yet; waiting", remote_.c_str());
    return;
  }
  session_ = make_session(remote_);
  if (session_->start())
    session_->offer();
}

std::shared_ptr<CallSession> CallController::make_session(const std::string &peer) {
  CallSession::Events events;
  std::weak_ptr<CallController> weak = weak_from_this();
  events.send = [weak](ClientMessage message) {
    auto self = weak.lock();
    if (!self)
      return;
    if (auto *offer = std::get_if<Offer>(&message); offer && self->server_protocol_ < 2)
      self->start_reoffering(*offer);
    self->client_->send(message);
  };
  events.connected = [weak] {
    auto self = weak.lock();
    if (!self)
      return;
    GST_INFO_OBJECT(self->element_, "media connected with %s", self->remote_.c_str());
    if (self->settings_.stats_interval_ms > 0 && !self->stats_timer_) {
      self->stats_ = CallStats();
      self->stats_timer_ = self->context_.schedule(self->settings_.stats_interval_ms, true, [weak] {
        if (auto s = weak.lock())
          s->poll_stats();
      });
    }
  };
  events.failed = [weak](const CallFailure &failure) {
    auto self = weak.lock();
    if (self && failure.reason == "media-timeout") {
      // The call was up and went silent: it ends like a hang-up (EOS), with
      // a warning that says why.
      GST_ELEMENT_WARNING(self->element_, RESOURCE, READ, ("%s", failure.message.c_str()),
                          (nullptr));
      self->send_leave(LeaveReason::kGone);
      self->end_call("media-timeout");
      return;
    }
    if (self) {
      if (self->session_)
        self->send_leave(LeaveReason::kFailed);
      self->end_call(failure.reason, &failure);
    }
  };
  CallConfig config = settings_.call;
  config.signaled_stun_server = signaled_ice_.stun;
  config.signaled_turn_servers = signaled_ice_.turn;
  auto session = std::make_shared<CallSession>(element_, context_, std::move(config),
                                               hooks_.inputs(), peer, std::move(events));
  return session;
}

void CallController::on_message(const ServerMessage &message) {
  std::visit(
      [this](const auto &m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, LoginResult>)
          on_login(m);
        else if constexpr (std::is_same_v<T, Offer>)
          on_offer(m);
        else if constexpr (std::is_same_v<T, Answer>)
          on_answer(m);
        else if constexpr (std::is_same_v<T, Candidate>)
          on_candidate(m);
        else if constexpr (std::is_same_v<T, Leave>)
          on_leave(m);
        else if constexpr (std::is_same_v<T, Error>)
          on_error(m);
        else if constexpr (std::is_same_v<T, Presence>)
          on_presence(m);
        else if constexpr (std::is_same_v<T, IceServers>)
          signaled_ice_ = to_webrtcbin(m.ice_servers); // for the calls to come
      },
      message);
}

void CallController::on_login(const LoginResult &result) {
  if (!result.success) {
    if (result.code == ErrorCode::kNameTaken || !result.code)
      fail(FailureKind::kNameTaken, "name-taken",
           "The name \"" + settings_.user +
               "\" is already logged in on the signaling server. Choose another user name.",
           result.message);
    else if (result.code == ErrorCode::kAuthRequired || result.code == ErrorCode::kAuthFailed)
      fail(FailureKind::kSettings, "auth-failed",
           "The signaling server wants a valid login token for \"" + settings_.user +
               "\": " + result.message + ". Set the token property to one issued for this name.",
           result.message);
    else
      fail(FailureKind::kSettings, "login-refused",
           "The signaling server refused the login as \"" + settings_.user +
               "\": " + result.message,
           result.message);
    return;
  }
  logged_in_ = true;
  resume_token_ = result.resume;
  signaled_ice_ = to_webrtcbin(result.ice_servers);
  bool reconnected = std::exchange(reconnecting_, false);
  server_protocol_ = result.protocol.value_or(1);
  GST_INFO_OBJECT(element_, "logged in as %s (protocol %d)", settings_.user.c_str(),
                  server_protocol_);
  if (server_protocol_ >= 2)
    client_->send(Presence{});
  if (!session_ && state_ != CallState::kCalling && state_ != CallState::kRinging &&
      state_ != CallState::kEnded)
    set_state(CallState::kLoggedIn, reconnected ? "reconnected" : "");
  else if (reconnected)
    hooks_.state_changed(state_, remote_, "reconnected"); // a call that went on without us
  if (!call_wanted_.empty() && is_playing_)
    call(call_wanted_);
}

void CallController::on_presence(const Presence &presence) {
  if (presence.users) {
    presence_known_ = true;
    online_ = std::set<std::string>(presence.users->begin(), presence.users->end());
  }
  if (!presence.joined.empty())
    online_.insert(presence.joined);
  if (!presence.left.empty())
    online_.erase(presence.left);
  if (state_ == CallState::kCalling && !session_ && online_.count(remote_))
    place_call();
}

void CallController::on_offer(const Offer &offer) {
  if (session_ && offer.name == remote_ && state_ == CallState::kInCall) {
    GST_WARNING_OBJECT(element_, "%s renegotiates; webrtcbin 1.22 cannot, ignoring the offer",
                       offer.name.c_str());
    return;
  }
  // Both called each other at once. Our server relays only the offer it took
  // (ours gets busy), so theirs wins; the tutorial's relays both, so the
  // greater name gives way. Either way exactly one side answers.
  if (state_ == CallState::kCalling && offer.name == remote_ &&
      (server_protocol_ >= 2 || settings_.user > offer.name)) {
    GST_INFO_OBJECT(element_, "our call crossed %s's: answering theirs", offer.name.c_str());
    stop_call_timer();
    context_.cancel(retry_timer_);
    retry_timer_ = 0;
    if (session_) {
      session_->close(false);
      session_.reset();
    }
    pending_offer_ = offer.offer.sdp;
    early_candidates_.clear();
    set_state(CallState::kRinging);
    answer(); // we wanted this call: no need to ask
    return;
  }
  // The caller offers again every second on the tutorial's server.
  if (offer.name == remote_ && (state_ == CallState::kRinging || session_))
    return;
  bool busy = session_ || state_ == CallState::kCalling || state_ == CallState::kRinging ||
              state_ == CallState::kEnded;
  if (busy) {
    GST_INFO_OBJECT(element_, "%s calls while we are busy: declining", offer.name.c_str());
    client_->send(Leave{offer.name, LeaveReason::kBusy});
    return;
  }
  remote_ = offer.name;
  pending_offer_ = offer.offer.sdp;
  early_candidates_.clear();
  set_state(CallState::kRinging);
  if (settings_.auto_answer) {
    answer();
    return;
  }
  start_call_timer();
  hooks_.incoming_call(offer.name);
}

void CallController::answer() {
  if (state_ != CallState::kRinging || pending_offer_.empty()) {
    GST_WARNING_OBJECT(element_, "answer: no incoming call");
    return;
  }
  stop_call_timer();
  session_ = make_session(remote_);
  set_state(CallState::kInCall);
  if (!session_->start())
    return;
  for (const auto &candidate : early_candidates_)
    session_->add_remote_candidate(candidate);
  early_candidates_.clear();
  session_->accept_offer(std::exchange(pending_offer_, {}));
}

void CallController::reject() {
  if (state_ != CallState::kRinging) {
    GST_WARNING_OBJECT(element_, "reject: no incoming call");
    return;
  }
  stop_call_timer();
  client_->send(Leave{remote_, LeaveReason::kRejected});
  pending_offer_.clear();
  early_candidates_.clear();
  set_state(CallState::kLoggedIn, "rejected");
  clear_tutorial_peer();
  remote_.clear();
}

bool CallController::from_peer(const std::string &name) const {
  // The tutorial's server relays answers, candidates and leaves without a name.
  return name.empty() || name == remote_;
}

void CallController::on_answer(const Answer &answer) {
  if (!session_ || state_ != CallState::kCalling || !from_peer(answer.name)) {
    GST_WARNING_OBJECT(element_, "ignoring an answer from %s", answer.name.c_str());
    return;
  }
  stop_call_timer();
  context_.cancel(retry_timer_);
  retry_timer_ = 0;
  set_state(CallState::kInCall);
  session_->accept_answer(answer.answer.sdp);
}

void CallController::on_candidate(const Candidate &candidate) {
  if (!from_peer(candidate.name) || remote_.empty())
    return;
  if (session_)
    session_->add_remote_candidate(candidate.candidate);
  else if (state_ == CallState::kRinging)
    early_candidates_.push_back(candidate.candidate);
}

void CallController::on_leave(const Leave &leave) {
  // The echo of a leave we sent ourselves (see clear_tutorial_peer).
  if (leave.name.empty() && self_leaves_in_flight_ > 0) {
    self_leaves_in_flight_--;
    return;
  }
  if (remote_.empty() || !from_peer(leave.name))
    return;
  std::string reason = reason_name(leave.reason);
  switch (state_) {
  case CallState::kCalling: {
    CallFailure failure;
    if (leave.reason == LeaveReason::kBusy)
      failure = {"busy", remote_ + " is in another call. Try again later.", ""};
    else if (leave.reason == LeaveReason::kGone)
      failure = {"peer-gone", remote_ + " went offline before answering.", ""};
    else if (leave.reason == LeaveReason::kFailed)
      failure = {"peer-failed",
                 remote_ + " could not take the call (its log says why: often no common codec).",
                 ""};
    else if (leave.reason == LeaveReason::kMissed)
      failure = {"no-answer", remote_ + " did not answer in time.", ""};
    else
      failure = {"declined", remote_ + " declined the call.", ""};
    end_call(failure.reason, &failure);
    break;
  }
  case CallState::kRinging:
    // The caller gave up before we answered.
    pending_offer_.clear();
    early_candidates_.clear();
    stop_call_timer();
    set_state(CallState::kLoggedIn, "cancelled");
    remote_.clear();
    break;
  case CallState::kInCall:
    GST_INFO_OBJECT(element_, "%s hung up (%s)", remote_.c_str(), reason.c_str());
    end_call(reason == "gone" ? "peer-gone" : "remote-hangup");
    break;
  default:
    break;
  }
}

void CallController::on_error(const Error &error) {
  GST_INFO_OBJECT(element_, "server says: %s", error.message.c_str());
  if (state_ != CallState::kCalling || (!error.name.empty() && error.name != remote_))
    return;
  if (error.code == ErrorCode::kUnknownUser) {
    // Offline: wait for presence, or try again, until the call timer ends it.
    if (session_) {
      session_->close(false);
      session_.reset();
    }
    if (!presence_known_) {
      context_.cancel(retry_timer_);
      retry_timer_ = context_.schedule(kRetryOfferMs, false, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
          self->retry_timer_ = 0;
          self->place_call();
        }
      });
    } else {
      online_.erase(remote_);
    }
    return;
  }
  CallFailure failure;
  if (error.code == ErrorCode::kBusy)
    failure = {"busy", remote_ + " is in another call. Try again later.", error.message};
  else
    failure = {"refused", "The signaling server refused the call: " + error.message, error.message};
  end_call(failure.reason, &failure);
}

void CallController::start_call_timer() {
  stop_call_timer();
  if (settings_.call_timeout_s == 0)
    return;
  call_timer_ =
      context_.schedule(settings_.call_timeout_s * 1000, false, [weak = weak_from_this()] {
        auto self = weak.lock();
        if (!self)
          return;
        self->call_timer_ = 0;
        unsigned waited = self->settings_.call_timeout_s;
        if (self->state_ == CallState::kCalling) {
          // Without presence (the tutorial's server) an absent peer looks like one
          // that does not answer. With it, an offer may still be on its way when the
          // time is up (it is sent before the presence reply comes): the peer is
          // offline all the same.
          bool offline =
              !self->session_ || (self->presence_known_ && !self->online_.count(self->remote_));
          CallFailure failure =
              offline ? CallFailure{"peer-offline",
                                    self->remote_ + " did not come online within " +
                                        std::to_string(waited) +
                                        " s (call-timeout). Check the name, or raise call-timeout.",
                                    ""}
                      : CallFailure{"no-answer",
                                    self->remote_ + " did not answer within " +
                                        std::to_string(waited) + " s (call-timeout)" +
                                        (self->server_protocol_ < 2
                                             ? "; is " + self->remote_ + " logged in?"
                                             : "."),
                                    ""};
          if (self->session_ && !offline)
            self->send_leave(LeaveReason::kHangup);
          self->end_call(failure.reason, &failure);
        } else if (self->state_ == CallState::kRinging) {
          // Nobody answered or rejected the incoming call in time.
          self->client_->send(Leave{self->remote_, LeaveReason::kMissed});
          self->pending_offer_.clear();
          self->set_state(CallState::kLoggedIn, "no-answer");
          self->remote_.clear();
        }
      });
}

void CallController::stop_call_timer() {
  context_.cancel(call_timer_);
  call_timer_ = 0;
}

void CallController::send_leave(LeaveReason reason) {
  if (remote_.empty() || !client_)
    return;
  bool answered = state_ == CallState::kInCall || state_ == CallState::kRinging;
  if (server_protocol_ >= 2 || answered)
    client_->send(Leave{remote_, reason});
}

void CallController::hangup() {
  switch (state_) {
  case CallState::kCalling:
  case CallState::kInCall:
    if (session_ || state_ == CallState::kInCall)
      send_leave(LeaveReason::kHangup);
    end_call("hangup");
    break;
  case CallState::kRinging:
    reject();
    break;
  default:
    break;
  }
}

void CallController::end() {
  GST_INFO_OBJECT(element_, "EOS: hanging up");
  if (state_ == CallState::kCalling || state_ == CallState::kInCall) {
    hangup();
    return;
  }
  if (state_ == CallState::kRinging)
    reject(); // and, with end-on-hangup, end below: there was no call
  // No call, so no src pad will carry EOS to the sinks: only an error ends
  // a gst-launch-1.0 pipeline now.
  if (settings_.end_on_hangup && state_ != CallState::kEnded) {
    call_wanted_.clear();
    fail(FailureKind::kCall, "stopped", "Stopped before any call took place.");
  }
}

// The tutorial's server (protocol 1) drops an offer to a user who is not
// logged in, silently: offer again every second until answered or the call
// timer ends the call.
void CallController::start_reoffering(const Offer &offer) {
  context_.cancel(retry_timer_);
  retry_timer_ = context_.schedule(kRetryOfferMs, true, [weak = weak_from_this(), offer] {
    auto self = weak.lock();
    if (self && self->state_ == CallState::kCalling)
      self->client_->send(offer);
  });
}

// The tutorial's server remembers whom each user last offered or answered,
// and crashes when a user closes after that peer is gone. A leave naming
// oneself clears it: it sets our own otherName to null, and echoes back.
void CallController::clear_tutorial_peer() {
  if (server_protocol_ >= 2 || !client_ || !client_->is_open() || !logged_in_)
    return;
  self_leaves_in_flight_++;
  client_->send(Leave{settings_.user, std::nullopt});
}

void CallController::end_call(const std::string &reason, const CallFailure *failure) {
  stop_call_timer();
  context_.cancel(retry_timer_);
  retry_timer_ = 0;
  clear_tutorial_peer();
  context_.cancel(stats_timer_);
  stats_timer_ = 0;
  std::string peer = remote_;
  std::shared_ptr<CallSession> session = std::move(session_);
  bool had_media = session && session->has_outputs();
  // The state message first, the media's end (EOS on the src pads) after:
  // an application that sees EOS must already know why the call ended.
  std::shared_ptr<void> close_media(nullptr, [this, session](void *) {
    if (!session)
      return;
    session->close(settings_.end_on_hangup);
    if (settings_.end_on_hangup)
      ended_session_ = session;
  });
  if (failure)
    hooks_.failure(FailureKind::kCall, failure->reason, failure->message, failure->detail);
  if (settings_.end_on_hangup) {
    set_state(CallState::kEnded, reason);
    // gst-launch waits for EOS on the sinks behind our src pads; with none,
    // only an error ends it.
    if (!failure && !had_media && !stopping_)
      hooks_.failure(FailureKind::kCall, reason,
                     "The call with " + peer + " ended before any media arrived.", "");
  } else {
    set_state(logged_in_ ? CallState::kLoggedIn : CallState::kConnecting, reason);
    remote_.clear();
  }
}

void CallController::fail(FailureKind kind, const std::string &reason, const std::string &message,
                          const std::string &detail) {
  hooks_.failure(kind, reason, message, detail);
  context_.cancel(retry_timer_);
  retry_timer_ = 0;
  if (settings_.end_on_hangup && state_ != CallState::kEnded) {
    stop_call_timer();
    context_.cancel(stats_timer_);
    stats_timer_ = 0;
    if (session_) {
      session_->close(true);
      ended_session_ = std::move(session_);
    }
    set_state(CallState::kEnded, reason);
  }
}

void CallController::set_state(CallState state, const std::string &reason) {
  state_ = state;
  hooks_.state_changed(state, remote_, reason);
}

void CallController::stop(std::function<void()> done) {
  stopping_ = true;
  if (state_ == CallState::kCalling || state_ == CallState::kInCall ||
      state_ == CallState::kRinging)
    hangup();
  stop_call_timer();
  context_.cancel(stats_timer_);
  stats_timer_ = 0;
  if (session_) {
    session_->close(false);
    session_.reset();
  }
  ended_session_.reset();
  if (!client_) {
    done();
    return;
  }
  client_->close(std::move(done));
}

void CallController::poll_stats() {
  if (!session_)
    return;
  session_->request_stats([weak = weak_from_this()](const GstStructure *reply) {
    auto self = weak.lock();
    if (!self || !self->session_)
      return;
    self->hooks_.post_stats(self->stats_.summarize(reply, self->remote_));
  });
}

} // namespace webrtccall
