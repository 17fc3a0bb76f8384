// Limits on untrusted input, shared by the server's socket layer and the parser.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace webrtccall::protocol {

// Largest text message accepted, in bytes. A browser's offer with every codec
// and extension is about 8 KiB; 64 KiB leaves room without inviting abuse.
inline constexpr std::size_t kDefaultMaxMessageBytes = 64 * 1024;

// User names: 1 to 64 Unicode characters.
inline constexpr std::size_t kMaxNameChars = 64;

// Returns what is wrong with `name` as a user name, or nothing when it is valid:
// UTF-8, 1 to kMaxNameChars characters, no control characters, no leading or
// trailing white space. Any other string is allowed, "__proto__" included.
std::optional<std::string> name_problem(std::string_view name);

} // namespace webrtccall::protocol
