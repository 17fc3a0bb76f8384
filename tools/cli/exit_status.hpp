// How webrtccall-cli ends, as its exit status: one number per way a call can
// end, so scripts can tell a declined call from an unreachable server
// (docs/cli.md has the table).
#pragma once

#include <string>

namespace webrtccall::cli {

enum class ExitStatus : int {
  kHungUp = 0,            // a call took place and one side hung up
  kFailed = 1,            // something outside the call failed: a device, a plugin, the file
  kUsage = 2,             // bad command line
  kServerUnreachable = 3, // the signaling server could not be reached or trusted, or was lost
  kLoginRefused = 4,      // the user name is taken, the token is not valid, the login refused
  kDeclined = 5,          // the peer declined the call
  kBusy = 6,              // the peer is in another call
  kNoAnswer = 7,          // the peer is offline, or did not answer in time
  kCallFailed = 8,        // the call broke: no common codec, no network path, the peer vanished
  kInterrupted = 130,     // Ctrl-C or SIGTERM before any call took place (128 + SIGINT)
};

// The status for a `reason` of the element (a webrtccall-state message or an
// error's details, docs/element.md). `call_took_place`: the call was answered.
ExitStatus status_for_reason(const std::string &reason, bool call_took_place);

} // namespace webrtccall::cli
