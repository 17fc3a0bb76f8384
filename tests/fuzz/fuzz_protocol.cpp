// libFuzzer target: the protocol parser, both directions. Any bytes must
// parse to a message or a refusal without crashing, and a message that
// parses must serialize to text that parses back to the same message.
#include "protocol/parse.hpp"
#include "protocol/serialize.hpp"

#include <glib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

// Reports and aborts: libFuzzer keeps the input of a SIGABRT (g_error's
// SIGTRAP it does not).
template <typename... Args> [[noreturn]] void fail(const char *format, Args... args) {
  std::fprintf(stderr, format, args...);
  std::fputc('\n', stderr);
  std::abort();
}

using namespace webrtccall::protocol;

void check_client(std::string_view text) {
  ClientParse parsed = parse_client_message(text);
  auto *message = std::get_if<ClientMessage>(&parsed);
  if (!message)
    return;
  std::string once = serialize(*message);
  ClientParse again = parse_client_message(once);
  auto *reparsed = std::get_if<ClientMessage>(&again);
  if (!reparsed || serialize(*reparsed) != once)
    fail("client message does not survive a round trip: %s", once.c_str());
}

void check_server(std::string_view text) {
  ServerParse parsed = parse_server_message(text);
  auto *message = std::get_if<ServerMessage>(&parsed);
  if (!message)
    return;
  std::string once = serialize(*message);
  ServerParse again = parse_server_message(once);
  auto *reparsed = std::get_if<ServerMessage>(&again);
  if (!reparsed || serialize(*reparsed) != once)
    fail("server message does not survive a round trip: %s", once.c_str());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  check_client(text);
  check_server(text);
  return 0;
}
