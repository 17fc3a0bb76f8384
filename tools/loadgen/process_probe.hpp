// CPU time and memory of this process and of the server under test (read
// from /proc), so a report shows which side was busy and what the server holds.
#pragma once

#include <sys/types.h>

#include <optional>

namespace webrtccall::loadgen {

struct CpuTimes {
  double user_seconds = 0;
  double system_seconds = 0;
  double total() const { return user_seconds + system_seconds; }
};

// This process, all its threads.
CpuTimes own_cpu();

// Another process (its threads included); nullopt once it is gone.
std::optional<CpuTimes> process_cpu(pid_t pid);
// Resident set size in KiB (VmRSS).
std::optional<long> process_rss_kib(pid_t pid);
// Seconds a process's main thread (0: this one) has spent ready to run but
// waiting for a CPU (/proc/PID/schedstat): on a shared machine, the time the
// neighbours took from it.
std::optional<double> runqueue_wait_seconds(pid_t pid);

// Raises the soft open-files limit to the hard one; returns the new soft limit.
long raise_open_files_limit();

} // namespace webrtccall::loadgen
