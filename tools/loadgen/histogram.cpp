#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace webrtccall::loadgen {

namespace {

// Values below 256 ns have a bucket each; above, each power of two is split
// into 128 buckets.
constexpr int kExact = 256;
constexpr int kPerOctave = 128;
constexpr int kBuckets = kExact + 56 * kPerOctave;

int bucket_of(std::uint64_t value) {
  if (value < std::uint64_t(kExact))
    return int(value);
  int msb = 63 - __builtin_clzll(value);
  int shift = msb - 7; // value >> shift is in [128, 256)
  return kExact + (shift - 1) * kPerOctave + int((value >> shift) - kPerOctave);
}

// [low, low + width) of a bucket.
void bucket_range(int bucket, std::uint64_t &low, std::uint64_t &width) {
  if (bucket < kExact) {
    low = std::uint64_t(bucket);
    width = 1;
    return;
  }
  int j = bucket - kExact;
  int shift = j / kPerOctave + 1;
  low = std::uint64_t(j % kPerOctave + kPerOctave) << shift;
  width = std::uint64_t(1) << shift;
}

} // namespace

Histogram::Histogram() : counts_(kBuckets, 0) {}

void Histogram::record(std::int64_t ns) {
  std::uint64_t value = ns < 0 ? 0 : std::uint64_t(ns);
  counts_[std::size_t(std::min(bucket_of(value), kBuckets - 1))]++;
  count_++;
  max_ = std::max<std::int64_t>(max_, std::int64_t(value));
  sum_ += value;
}

std::int64_t Histogram::percentile(double fraction) const {
  if (count_ == 0)
    return 0;
  auto rank = std::uint64_t(std::ceil(fraction * double(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (int bucket = 0; bucket < kBuckets; bucket++) {
    seen += counts_[std::size_t(bucket)];
    if (seen >= rank) {
      std::uint64_t low, width;
      bucket_range(bucket, low, width);
      return std::min<std::int64_t>(std::int64_t(low + width / 2), max_);
    }
  }
  return max_;
}

} // namespace webrtccall::loadgen
