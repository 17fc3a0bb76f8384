#include "exit_status.hpp"

#include <map>

namespace webrtccall::cli {

ExitStatus status_for_reason(const std::string &reason, bool call_took_place) {
  static const std::map<std::string, ExitStatus> statuses = {
      {"server-unreachable", ExitStatus::kServerUnreachable},
      {"server-untrusted", ExitStatus::kServerUnreachable},
      {"name-taken", ExitStatus::kLoginRefused},
      {"auth-failed", ExitStatus::kLoginRefused},
      {"login-refused", ExitStatus::kLoginRefused},
      {"declined", ExitStatus::kDeclined},
      {"busy", ExitStatus::kBusy},
      {"peer-offline", ExitStatus::kNoAnswer},
      {"no-answer", ExitStatus::kNoAnswer},
      {"no-common-codec", ExitStatus::kCallFailed},
      {"peer-failed", ExitStatus::kCallFailed},
      {"negotiation-failed", ExitStatus::kCallFailed},
      {"ice-failed", ExitStatus::kCallFailed},
      {"media-timeout", ExitStatus::kCallFailed},
      {"refused", ExitStatus::kCallFailed},
  };
  // A hang-up before the answer is no call: the sources ended while calling.
  if (reason == "hangup" || reason == "remote-hangup")
    return call_took_place ? ExitStatus::kHungUp : ExitStatus::kFailed;
  // The peer's connection went: before the answer it never picked up, after
  // it the call broke.
  if (reason == "peer-gone")
    return call_took_place ? ExitStatus::kCallFailed : ExitStatus::kNoAnswer;
  auto found = statuses.find(reason);
  if (found != statuses.end())
    return found->second;
  // Anything else ("stopped": every source ended before a call; a missing
  // plugin): a call that broke, or a failure outside any call.
  return call_took_place ? ExitStatus::kCallFailed : ExitStatus::kFailed;
}

} // namespace webrtccall::cli
