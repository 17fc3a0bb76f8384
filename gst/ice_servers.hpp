// The ICE servers the signaling server hands out (RTCIceServer entries, as
// browsers take them) in the form webrtcbin takes them: stun://host:port,
// and turn(s)://user:password@host:port[?transport=...] with the user and
// password percent-encoded, since GStreamer 1.22 unescapes them and the
// TURN REST API's credentials hold ':', '/', '+' and '='.
#pragma once

#include "protocol/messages.hpp"

#include <string>
#include <vector>

namespace webrtccall {

struct WebrtcbinIceServers {
  std::string stun;              // the first STUN server, or ""
  std::vector<std::string> turn; // every TURN server, for add-turn-server
};

WebrtcbinIceServers to_webrtcbin(const std::vector<protocol::IceServer> &servers);

} // namespace webrtccall
