// The server's two kinds of token, both protocol extensions.
//
// Login tokens (--auth-secret): an application that knows the secret lets a
// user log in under a name until a time, as "EXPIRY.SIGNATURE" where EXPIRY
// is Unix seconds and SIGNATURE the lower-case hex HMAC-SHA256, keyed with
// the secret, of the name, a newline and EXPIRY as written.
//
// Resume tokens: random, issued with every successful login, so that a
// client whose connection died can take its name back at once instead of
// waiting for the server's keepalive to notice.
#pragma once

#include <glib.h>

#include <string>

namespace webrtccall::server {

std::string issue_login_token(const std::string &secret, const std::string &name,
                              gint64 expiry_unix);

enum class TokenProblem { kNone, kMalformed, kExpired, kWrongSignature };

TokenProblem check_login_token(const std::string &secret, const std::string &name,
                               const std::string &token, gint64 now_unix);

// 128 random bits from the kernel, as 32 hex digits.
std::string random_token();

// Compares without an early exit, so the time taken says nothing about
// where two tokens differ.
bool tokens_equal(const std::string &a, const std::string &b);

} // namespace webrtccall::server
