// The directory a server runs with: every user here (LocalDirectory), or
// users shared with other instances through Redis (--redis, ClusterDirectory,
// built only with hiredis).
#pragma once

#include "directory.hpp"

#include <memory>
#include <string>

namespace webrtccall::server {

// What is wrong with a --redis URL, or "" when it can be used. Every URL is
// refused by a server built without hiredis.
std::string redis_url_problem(const std::string &url);

// `redis_url` empty: LocalDirectory. Otherwise a checked URL.
std::unique_ptr<Directory> make_directory(const std::string &redis_url);

} // namespace webrtccall::server
