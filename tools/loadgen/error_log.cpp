#include "error_log.hpp"

namespace webrtccall::loadgen {

namespace {
constexpr std::size_t kExamples = 20;
constexpr std::size_t kDetailBytes = 300; // a relayed SDP is kilobytes; the start says enough
} // namespace

void ErrorLog::add(const std::string &kind, std::string_view detail) {
  total_++;
  by_kind_[kind]++;
  if (examples_.size() < kExamples)
    examples_.push_back(kind + ": " + std::string(detail.substr(0, kDetailBytes)));
}

} // namespace webrtccall::loadgen
