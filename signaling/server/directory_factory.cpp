#include "directory_factory.hpp"

#ifdef WEBRTCCALL_HAVE_REDIS
#include "cluster_directory.hpp"
#endif

namespace webrtccall::server {

#ifdef WEBRTCCALL_HAVE_REDIS

std::string redis_url_problem(const std::string &url) {
  std::string problem;
  parse_redis_url(url, problem);
  return problem;
}

std::unique_ptr<Directory> make_directory(const std::string &redis_url) {
  if (redis_url.empty())
    return std::make_unique<LocalDirectory>();
  std::string problem;
  ClusterOptions options;
  options.address = *parse_redis_url(redis_url, problem);
  return std::make_unique<ClusterDirectory>(options);
}

#else

std::string redis_url_problem(const std::string &) {
  return "this server was built without Redis support (hiredis; Debian: libhiredis-dev)";
}

std::unique_ptr<Directory> make_directory(const std::string &) {
  return std::make_unique<LocalDirectory>();
}

#endif

} // namespace webrtccall::server
