// The element's calling logic: log in, call or answer, hang up, time out,
// report. It drives one SignalingClient and one CallSession at a time, and
// tells the element what to show through ElementHooks. Everything here runs
// on the element's signaling thread.
#pragma once

#include "call_session.hpp"
#include "call_stats.hpp"
#include "element_context.hpp"
#include "ice_servers.hpp"
#include "signaling_client.hpp"

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace webrtccall {

enum class CallState { kIdle, kConnecting, kLoggedIn, kCalling, kRinging, kInCall, kEnded };

struct ControllerSettings {
  std::string server;
  std::string user;
  std::string token; // login token for a server with --auth-secret; empty: none
  std::string peer;
  bool auto_answer = true;
  unsigned call_timeout_s = 30;
  unsigned reconnect_timeout_s = 10;
  TlsSettings tls;
  bool end_on_hangup = true;
  unsigned stats_interval_ms = 1000;
  CallConfig call;
};

// What failed, in terms of GStreamer's error domains.
enum class FailureKind { kServer, kNameTaken, kCall, kMissingPlugin, kSettings };

// Implemented by the element: how the controller shows itself to the world.
class ElementHooks {
public:
  virtual ~ElementHooks() = default;
  virtual void state_changed(CallState state, const std::string &peer,
                             const std::string &reason) = 0;
  virtual void incoming_call(const std::string &caller) = 0;
  // A call (or the login) that cannot happen: an error or a warning,
  // depending on end-on-hangup.
  virtual void failure(FailureKind kind, const std::string &reason, const std::string &message,
                       const std::string &detail) = 0;
  virtual void post_stats(GstStructure *stats) = 0; // takes ownership
  virtual std::vector<std::shared_ptr<SinkInput>> inputs() = 0;
};

class CallController : public std::enable_shared_from_this<CallController> {
public:
  CallController(GstElement *element, ElementContext &context, ControllerSettings settings,
                 ElementHooks &hooks);
  ~CallController();
  CallController(const CallController &) = delete;
  CallController &operator=(const CallController &) = delete;

  void start();                // connect and log in
  void playing();              // PLAYING reached: call `peer` if set
  void call(std::string peer); // by value: callers pass members this clears
  void hangup();
  void answer();
  void reject();
  // EOS on every sink pad, or sent to the element: hang up, and with
  // end-on-hangup make sure the pipeline ends even without a call.
  void end();
  // Hangs up, closes the socket cleanly, then calls `done`.
  void stop(std::function<void()> done);

  CallState state() const { return state_; }

private:
  void on_opened();
  void on_message(const protocol::ServerMessage &message);
  void on_login(const protocol::LoginResult &result);
  void on_offer(const protocol::Offer &offer);
  void on_answer(const protocol::Answer &answer);
  void on_candidate(const protocol::Candidate &candidate);
  void on_leave(const protocol::Leave &leave);
  void on_error(const protocol::Error &error);
  void on_presence(const protocol::Presence &presence);

  void set_state(CallState state, const std::string &reason = {});
  void place_call(); // send the offer once the peer is online
  std::shared_ptr<CallSession> make_session(const std::string &peer);
  // Ends an unanswered call (either way) after call-timeout.
  void start_call_timer();
  void stop_call_timer();
  // Ends the call: `reason` says why; `failure` (when not empty) is reported.
  void end_call(const std::string &reason, const CallFailure *failure = nullptr);
  void fail(FailureKind kind, const std::string &reason, const std::string &message,
            const std::string &detail = {});
  void poll_stats();
  bool from_peer(const std::string &name) const;
  // Tells the peer the call is over, unless that could hurt: the tutorial's
  // server (protocol 1) crashes on a leave to a user who is not logged in,
  // so there a leave goes only to a peer who answered.
  void send_leave(protocol::LeaveReason reason);
  void start_reoffering(const protocol::Offer &offer);
  void clear_tutorial_peer();

  GstElement *element_;
  ElementContext &context_;
  ControllerSettings settings_;
  ElementHooks &hooks_;
  std::shared_ptr<SignalingClient> client_;
  std::shared_ptr<CallSession> session_;       // the current call
  std::shared_ptr<CallSession> ended_session_; // keeps EOS'd src pads until stop
  CallState state_ = CallState::kIdle;
  std::string remote_;                                   // who we are calling, or who calls us
  std::string pending_offer_;                            // an incoming offer not yet answered
  std::vector<protocol::IceCandidate> early_candidates_; // before the session exists
  std::string call_wanted_; // asked to call before logged in or playing
  bool is_playing_ = false;
  bool logged_in_ = false;
  bool stopping_ = false;              // stop() hangs up: no "no media" error for that
  bool reconnecting_ = false;          // lost the server; the next login says "reconnected"
  unsigned self_leaves_in_flight_ = 0; // echoes of clear_tutorial_peer() still to come
  int server_protocol_ = 1;            // 1: the tutorial's server (no presence, no errors)
  std::string resume_token_; // from the last login: takes the name back after a lost connection
  WebrtcbinIceServers signaled_ice_; // the signaling server's ICE servers (login, then refreshes)
  std::set<std::string> online_;
  bool presence_known_ = false;
  guint call_timer_ = 0;
  guint retry_timer_ = 0;
  guint stats_timer_ = 0;
  CallStats stats_;
};

} // namespace webrtccall
