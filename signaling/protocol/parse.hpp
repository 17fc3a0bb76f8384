// JSON text -> typed message, or an error value that names the field and the
// problem. Never throws and never logs: callers decide what a refusal costs.
#pragma once

#include "limits.hpp"
#include "messages.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace webrtccall::protocol {

struct ParseError {
  ErrorCode code;
  std::string message; // for people: names the field and what is wrong with it
  std::string type;    // the message's "type" when it had a string one
  std::string name;    // the message's "name" when it had a string one
};

// A frame a client may skip: not a JSON object (the tutorial server's
// "Hello world"), or a type this version does not know.
struct Ignored {
  std::string why;
};

using ClientParse = std::variant<ClientMessage, ParseError>;
using ServerParse = std::variant<ServerMessage, Ignored, ParseError>;

// What the server does with a client's frame. Unknown types are errors
// ("Command not found: <type>"), as the tutorial's server says.
ClientParse parse_client_message(std::string_view text,
                                 std::size_t max_bytes = kDefaultMaxMessageBytes);

// What a client does with the server's frame. Lenient where the tutorial's
// server is: names on answer, candidate and leave are optional.
ServerParse parse_server_message(std::string_view text,
                                 std::size_t max_bytes = kDefaultMaxMessageBytes);

} // namespace webrtccall::protocol
