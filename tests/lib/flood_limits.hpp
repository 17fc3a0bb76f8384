// The server options of the tests that flood a server (server-limits, server-abuse).
#pragma once

#include "wait_deadline.hpp"

#include <string>
#include <vector>

namespace webrtccall::test {

// None (the defaults: 200 messages at once, 50 a second) except under the
// sanitizers. A client is cut off once a whole burst was refused in a row,
// before a token came back: at the defaults, 201 messages read within the
// 20 ms a token takes, which a server slowed down several times by the
// sanitizers never does, so it only drops. There (WEBRTCCALL_TEST_WAIT_SCALE
// above 1) a burst of 20 at 5 a second puts the same rule within its reach:
// 21 messages within 200 ms. The flood and what is asserted stay the same.
inline std::vector<std::string> flood_limits() {
  if (wait_scale() <= 1.0)
    return {};
  return {"--message-burst", "20", "--max-message-rate", "5"};
}

} // namespace webrtccall::test
