#include "process_probe.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace webrtccall::loadgen {

namespace {

double seconds(const timeval &tv) {
  return double(tv.tv_sec) + double(tv.tv_usec) / 1e6;
}

} // namespace

CpuTimes own_cpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

std::optional<CpuTimes> process_cpu(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(file, text))
    return std::nullopt;
  // The command name, field 2, is in parentheses and may hold spaces.
  std::size_t close = text.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long user = 0, system = 0;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; index++) {
    if (index == 14)
      user = std::stoul(field);
    if (index == 15)
      system = std::stoul(field);
  }
  double tick = double(sysconf(_SC_CLK_TCK));
  return CpuTimes{double(user) / tick, double(system) / tick};
}

std::optional<long> process_rss_kib(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(file, line))
    if (line.compare(0, 6, "VmRSS:") == 0)
      return std::stol(line.substr(6));
  return std::nullopt;
}

std::optional<double> runqueue_wait_seconds(pid_t pid) {
  std::ifstream file(pid ? "/proc/" + std::to_string(pid) + "/schedstat" : "/proc/self/schedstat");
  unsigned long long on_cpu = 0, waiting = 0;
  if (!(file >> on_cpu >> waiting))
    return std::nullopt;
  return double(waiting) / 1e9;
}

long raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return -1;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return long(limit.rlim_cur);
}

} // namespace webrtccall::loadgen
