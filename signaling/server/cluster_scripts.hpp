// The Lua scripts the ClusterDirectory runs in Redis (EVAL): each checks a
// name claim and changes it in one step, so no other instance can slip in
// between the check and the change, and publishes the news (cluster_wire.hpp)
// in the same step, so the news is never lost while the change is made.
#pragma once

namespace webrtccall::server::scripts {

// Claims or renews names for this instance.
// KEYS: the names' keys. ARGV: instance id, time to live (ms), presence
// channel, "1" to announce names this instance already holds (after an
// outage the others may have forgotten them), then the names in KEYS' order.
// Returns one integer per key: 1 held by this instance now, 0 held by another.
// A name nobody holds is taken and announced: a new login, or a claim that
// expired (Redis restarted, or this instance was cut off for too long).
inline constexpr const char *kClaim = R"lua(
local result = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  local name = ARGV[4 + i]
  if holder == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    if ARGV[4] == '1' then
      redis.call('PUBLISH', ARGV[3], 'join\n' .. ARGV[1] .. '\n' .. name)
    end
    result[i] = 1
  elseif not holder then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    redis.call('PUBLISH', ARGV[3], 'join\n' .. ARGV[1] .. '\n' .. name)
    result[i] = 1
  else
    result[i] = 0
  end
end
return result
)lua";

// Releases a name if this instance still holds it (compare and delete).
// KEYS[1]: the name's key. ARGV: instance id, presence channel, name.
inline constexpr const char *kRelease = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'left\n' .. ARGV[1] .. '\n' .. ARGV[3])
  return 1
end
return 0
)lua";

} // namespace webrtccall::server::scripts
