// What instances say to each other through Redis, as text.
//
// A message for a user on another instance goes to that instance's channel:
//
//   m\n<from>\n<from instance>\n<to>\n<the client's message as JSON>
//   r\n<from>\n<from instance>\n<to>\n<an error as JSON>     (a refusal)
//
// News of users and instances goes to the presence channel, which every
// instance hears (the Lua scripts of cluster_scripts.hpp write join and left):
//
//   join\n<instance>\n<name>
//   left\n<instance>\n<name>
//   alive\n<instance>\n<how many users it has>
//
// User names cannot hold a line feed (protocol/limits.hpp); the JSON is the
// protocol library's, so only it touches JSON.
#pragma once

#include "directory.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace webrtccall::server {

std::string encode_cluster_message(const ClusterMessage &message);
// nullopt for anything malformed (Redis is shared: never trust a payload).
std::optional<ClusterMessage> decode_cluster_message(std::string_view payload);

struct PresenceEvent {
  enum class Kind { kJoin, kLeft, kAlive };
  Kind kind = Kind::kAlive;
  std::string instance;
  std::string name;      // join, left
  std::size_t users = 0; // alive
};

std::string encode_presence_event(const PresenceEvent &event);
std::optional<PresenceEvent> decode_presence_event(std::string_view payload);

} // namespace webrtccall::server
