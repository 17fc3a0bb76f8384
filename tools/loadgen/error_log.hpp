// Everything that went wrong in a run, counted by kind, with the first few
// in full: a run that reports zero here had no refusal, no unexpected
// message, no dropped connection and no set-up that failed to finish.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace webrtccall::loadgen {

class ErrorLog {
public:
  // `kind` groups ("error:not-in-call", "closed", "setup-timeout"); `detail`
  // says which client and what it got.
  void add(const std::string &kind, std::string_view detail);

  std::uint64_t total() const { return total_; }
  const std::map<std::string, std::uint64_t> &by_kind() const { return by_kind_; }
  const std::vector<std::string> &examples() const { return examples_; }

private:
  std::uint64_t total_ = 0;
  std::map<std::string, std::uint64_t> by_kind_;
  std::vector<std::string> examples_;
};

} // namespace webrtccall::loadgen
