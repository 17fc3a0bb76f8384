#include "messages.hpp"

#include <array>
#include <utility>

namespace webrtccall::protocol {

namespace {

// One table per enum so that the wire spelling lives in one place.
constexpr std::array<std::pair<ErrorCode, std::string_view>, 18> kErrorCodes{{
    {ErrorCode::kBadJson, "bad-json"},
    {ErrorCode::kBadMessage, "bad-message"},
    {ErrorCode::kBadField, "bad-field"},
    {ErrorCode::kUnknownType, "unknown-type"},
    {ErrorCode::kTooLarge, "too-large"},
    {ErrorCode::kInvalidName, "invalid-name"},
    {ErrorCode::kNameTaken, "name-taken"},
    {ErrorCode::kAlreadyLoggedIn, "already-logged-in"},
    {ErrorCode::kNotLoggedIn, "not-logged-in"},
    {ErrorCode::kUnknownUser, "unknown-user"},
    {ErrorCode::kSelfCall, "self-call"},
    {ErrorCode::kBusy, "busy"},
    {ErrorCode::kInCall, "in-call"},
    {ErrorCode::kNotInCall, "not-in-call"},
    {ErrorCode::kRateLimited, "rate-limited"},
    {ErrorCode::kAuthRequired, "auth-required"},
    {ErrorCode::kAuthFailed, "auth-failed"},
    {ErrorCode::kUnavailable, "unavailable"},
}};

constexpr std::array<std::pair<LeaveReason, std::string_view>, 6> kLeaveReasons{{
    {LeaveReason::kHangup, "hangup"},   {LeaveReason::kRejected, "rejected"},
    {LeaveReason::kGone, "gone"},       {LeaveReason::kBusy, "busy"},
    {LeaveReason::kFailed, "failed"},   {LeaveReason::kMissed, "missed"},
}};

template <class Enum, std::size_t N>
std::string_view lookup_name(const std::array<std::pair<Enum, std::string_view>, N> &table,
                             Enum value) {
  for (const auto &[entry, name] : table)
    if (entry == value)
      return name;
  return {};
}

template <class Enum, std::size_t N>
std::optional<Enum> lookup_value(const std::array<std::pair<Enum, std::string_view>, N> &table,
                                 std::string_view text) {
  for (const auto &[entry, name] : table)
    if (name == text)
      return entry;
  return std::nullopt;
}

struct TypeName {
  std::string_view operator()(const Login &) const { return "login"; }
  std::string_view operator()(const LoginResult &) const { return "login"; }
  std::string_view operator()(const Offer &) const { return "offer"; }
  std::string_view operator()(const Answer &) const { return "answer"; }
  std::string_view operator()(const Candidate &) const { return "candidate"; }
  std::string_view operator()(const Leave &) const { return "leave"; }
  std::string_view operator()(const Error &) const { return "error"; }
  std::string_view operator()(const Presence &) const { return "presence"; }
  std::string_view operator()(const IceServers &) const { return "ice-servers"; }
};

} // namespace

std::string_view to_string(ErrorCode code) {
  return lookup_name(kErrorCodes, code);
}

std::optional<ErrorCode> error_code_from_string(std::string_view text) {
  return lookup_value(kErrorCodes, text);
}

std::string_view to_string(LeaveReason reason) {
  return lookup_name(kLeaveReasons, reason);
}

std::optional<LeaveReason> leave_reason_from_string(std::string_view text) {
  return lookup_value(kLeaveReasons, text);
}

std::string_view type_name(const ClientMessage &message) {
  return std::visit(TypeName{}, message);
}

std::string_view type_name(const ServerMessage &message) {
  return std::visit(TypeName{}, message);
}

} // namespace webrtccall::protocol
