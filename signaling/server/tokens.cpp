#include "tokens.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace webrtccall::server {

namespace {

std::string signature(const std::string &secret, const std::string &name,
                      const std::string &expiry) {
  std::string signed_text = name + "\n" + expiry;
  g_autofree char *hex = g_compute_hmac_for_data(
      G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(secret.data()), secret.size(),
      reinterpret_cast<const guchar *>(signed_text.data()), signed_text.size());
  return hex;
}

} // namespace

std::string issue_login_token(const std::string &secret, const std::string &name,
                              gint64 expiry_unix) {
  std::string expiry = std::to_string(expiry_unix);
  return expiry + "." + signature(secret, name, expiry);
}

TokenProblem check_login_token(const std::string &secret, const std::string &name,
                               const std::string &token, gint64 now_unix) {
  std::size_t dot = token.find('.');
  if (dot == 0 || dot == std::string::npos || dot > 19)
    return TokenProblem::kMalformed;
  std::string expiry = token.substr(0, dot);
  for (char c : expiry)
    if (!g_ascii_isdigit(c))
      return TokenProblem::kMalformed;
  // The signature is checked before the expiry, so that an expired token
  // is only called expired when it was genuine.
  if (!tokens_equal(token.substr(dot + 1), signature(secret, name, expiry)))
    return TokenProblem::kWrongSignature;
  if (g_ascii_strtoll(expiry.c_str(), nullptr, 10) <= now_unix)
    return TokenProblem::kExpired;
  return TokenProblem::kNone;
}

std::string random_token() {
  std::uint8_t bytes[16];
  std::size_t filled = 0;
  while (filled < sizeof bytes) {
    ssize_t got = getrandom(bytes + filled, sizeof bytes - filled, 0);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      g_error("getrandom failed: %s", g_strerror(errno)); // no safe fallback for a secret
    filled += std::size_t(got);
  }
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (std::uint8_t byte : bytes) {
    hex += digits[byte >> 4];
    hex += digits[byte & 15];
  }
  return hex;
}

bool tokens_equal(const std::string &a, const std::string &b) {
  if (a.size() != b.size())
    return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); i++)
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

} // namespace webrtccall::server
