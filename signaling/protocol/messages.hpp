// The signaling protocol as typed messages: one struct per message type.
//
// The wire format is the tutorial's (docs/protocol.md); the optional fields
// are our extensions. The same struct serves both directions where the wire
// shape is the same: in a client's message `name` is the addressed peer, in a
// relayed message it is the sender. Empty strings stand for absent fields,
// since no valid user name is empty.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace webrtccall::protocol {

// The protocol version a server announces in its login reply. Version 1 is
// the tutorial's wire format; docs/protocol.md lists what each later one added.
inline constexpr int kProtocolVersion = 2;

// Machine-readable reason carried by `error` (and refused `login`) replies.
enum class ErrorCode {
  kBadJson,         // the frame is not JSON
  kBadMessage,      // JSON, but not an object with a string "type"
  kBadField,        // a known type with a missing or mistyped field
  kUnknownType,     // "Command not found"
  kTooLarge,        // over the message size limit
  kInvalidName,     // a user name that breaks the naming rules
  kNameTaken,       // login with a name someone else holds
  kAlreadyLoggedIn, // a second login on one connection
  kNotLoggedIn,     // anything but login before login
  kUnknownUser,     // addressed user is not logged in
  kSelfCall,        // offer to oneself
  kBusy,            // callee is in another call, or the offers crossed
  kInCall,          // caller is already in a call with someone else
  kNotInCall,       // answer, candidate or leave to someone not in a call with the sender
  kRateLimited,     // too many messages
  kAuthRequired,    // the server wants a login token and got none
  kAuthFailed,      // the login token is malformed, expired or not for this name
  kUnavailable,     // the server cannot check the name now (it lost Redis, --redis): try again
};

std::string_view to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view text);

// Why a call ended, carried by `leave` (extension).
// kFailed: the callee could not take the call (no common codec, say);
// kMissed: nobody answered it in time. Both tell a caller it was not declined.
enum class LeaveReason { kHangup, kRejected, kGone, kBusy, kFailed, kMissed };

std::string_view to_string(LeaveReason reason);
std::optional<LeaveReason> leave_reason_from_string(std::string_view text);

// RTCSessionDescriptionInit: {"type":"offer"|"answer","sdp":"v=0..."}.
struct SessionDescription {
  std::string type;
  std::string sdp;
};

// RTCIceCandidateInit. Browsers send both sdpMid and sdpMLineIndex; other
// peers may send only one, so both are optional.
struct IceCandidate {
  std::string candidate;
  std::optional<std::string> sdp_mid;
  std::optional<int> sdp_mline_index;
  std::optional<std::string> username_fragment;
};

// {"type":"login","name":"alice"}: the only message whose name is the sender's.
// {"type":"login","name":...}; `token` (for a server with --auth-secret) and
// `resume` (to take back a name a dead connection still holds) are extensions.
struct Login {
  std::string name;
  std::string token;  // empty: none
  std::string resume; // empty: none
};

// An RTCIceServer as browsers take it: {"urls":"stun:host:port"}, with
// username and credential for TURN.
struct IceServer {
  std::string urls;
  std::string username;
  std::string credential;
};

// {"type":"login","success":bool}; `code` and `message` explain a refusal,
// `protocol` announces the server's version, `iceServers` the ICE servers
// clients should use, `resume` the token to log in with again should this
// connection die (all extensions).
struct LoginResult {
  bool success = false;
  std::optional<ErrorCode> code;
  std::string message;
  std::optional<int> protocol;
  std::vector<IceServer> ice_servers;
  std::string resume;
};

struct Offer {
  std::string name;
  SessionDescription offer;
};

struct Answer {
  std::string name; // relayed: the sender (extension); empty from the tutorial's server
  SessionDescription answer;
};

struct Candidate {
  std::string name; // relayed: the sender (extension); empty from the tutorial's server
  IceCandidate candidate;
};

struct Leave {
  std::string name; // from a client: may be empty (its current peer)
  std::optional<LeaveReason> reason;
};

// {"type":"error","message":"..."}; `code` and `name` are extensions.
struct Error {
  std::string message;
  std::optional<ErrorCode> code;
  std::string name; // the user the refused message addressed, when there was one
};

// Extension. From a client: subscribe to presence. From the server: the
// full list once (`users`), then one change at a time (`joined` or `left`).
struct Presence {
  std::optional<std::vector<std::string>> users;
  std::string joined;
  std::string left;
};

// {"type":"ice-servers","iceServers":[...]} (extension): fresh ICE servers
// for the calls to come, sent before short-lived TURN credentials expire.
struct IceServers {
  std::vector<IceServer> ice_servers;
};

using ClientMessage = std::variant<Login, Offer, Answer, Candidate, Leave, Presence>;
using ServerMessage =
    std::variant<LoginResult, Offer, Answer, Candidate, Leave, Error, Presence, IceServers>;

// The wire `type` of a message.
std::string_view type_name(const ClientMessage &message);
std::string_view type_name(const ServerMessage &message);

} // namespace webrtccall::protocol
