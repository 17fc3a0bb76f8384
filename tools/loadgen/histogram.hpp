// Latencies in nanoseconds, counted in log-linear buckets: constant memory
// however long the run, percentiles within 0.8%.
#pragma once

#include <cstdint>
#include <vector>

namespace webrtccall::loadgen {

class Histogram {
public:
  Histogram();
  void record(std::int64_t ns);
  std::uint64_t count() const { return count_; }
  // The value below which `fraction` (0..1) of the samples fall: the middle
  // of its bucket, never above the largest sample.
  std::int64_t percentile(double fraction) const;
  std::int64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }

private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::int64_t max_ = 0;
  long double sum_ = 0;
};

} // namespace webrtccall::loadgen
