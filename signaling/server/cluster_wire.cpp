#include "cluster_wire.hpp"

#include "protocol/limits.hpp"
#include "protocol/parse.hpp"
#include "protocol/serialize.hpp"

#include <charconv>
#include <vector>

namespace webrtccall::server {

namespace {

// Splits off the first `count` lines; the rest (which may hold line feeds) is
// the last field. Empty when there are fewer lines.
std::vector<std::string_view> split_lines(std::string_view text, std::size_t count) {
  std::vector<std::string_view> fields;
  for (std::size_t i = 0; i < count; i++) {
    std::size_t end = text.find('\n');
    if (end == std::string_view::npos)
      return {};
    fields.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  fields.push_back(text);
  return fields;
}

bool valid_name(std::string_view name) {
  return !protocol::name_problem(name);
}

} // namespace

std::string encode_cluster_message(const ClusterMessage &message) {
  const auto *error = std::get_if<protocol::Error>(&message.body);
  std::string json = error ? protocol::serialize(protocol::ServerMessage(*error))
                           : protocol::serialize(std::get<protocol::ClientMessage>(message.body));
  std::string text;
  text.reserve(json.size() + message.from.size() + message.from_instance.size() +
               message.to.size() + 6);
  text += error ? "r\n" : "m\n";
  text += message.from;
  text += '\n';
  text += message.from_instance;
  text += '\n';
  text += message.to;
  text += '\n';
  text += json;
  return text;
}

std::optional<ClusterMessage> decode_cluster_message(std::string_view payload) {
  auto fields = split_lines(payload, 4);
  if (fields.empty() || (fields[0] != "m" && fields[0] != "r") || !valid_name(fields[1]) ||
      fields[2].empty() || !valid_name(fields[3]))
    return std::nullopt;
  ClusterMessage message{std::string(fields[1]), std::string(fields[2]), std::string(fields[3]),
                         protocol::ClientMessage{}};
  if (fields[0] == "m") {
    auto parsed = protocol::parse_client_message(fields[4]);
    auto *client = std::get_if<protocol::ClientMessage>(&parsed);
    // Only what travels between users; logins and presence stay on their instance.
    if (!client || !(std::holds_alternative<protocol::Offer>(*client) ||
                     std::holds_alternative<protocol::Answer>(*client) ||
                     std::holds_alternative<protocol::Candidate>(*client) ||
                     std::holds_alternative<protocol::Leave>(*client)))
      return std::nullopt;
    message.body = std::move(*client);
    return message;
  }
  auto parsed = protocol::parse_server_message(fields[4]);
  auto *server = std::get_if<protocol::ServerMessage>(&parsed);
  auto *error = server ? std::get_if<protocol::Error>(server) : nullptr;
  if (!error)
    return std::nullopt;
  message.body = std::move(*error);
  return message;
}

std::string encode_presence_event(const PresenceEvent &event) {
  switch (event.kind) {
  case PresenceEvent::Kind::kJoin:
    return "join\n" + event.instance + "\n" + event.name;
  case PresenceEvent::Kind::kLeft:
    return "left\n" + event.instance + "\n" + event.name;
  case PresenceEvent::Kind::kAlive:
    break;
  }
  return "alive\n" + event.instance + "\n" + std::to_string(event.users);
}

std::optional<PresenceEvent> decode_presence_event(std::string_view payload) {
  auto fields = split_lines(payload, 2);
  if (fields.empty() || fields[1].empty())
    return std::nullopt;
  PresenceEvent event;
  event.instance = std::string(fields[1]);
  if (fields[0] == "alive") {
    event.kind = PresenceEvent::Kind::kAlive;
    auto [end, error] =
        std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), event.users);
    if (error != std::errc() || end != fields[2].data() + fields[2].size())
      return std::nullopt;
    return event;
  }
  if ((fields[0] != "join" && fields[0] != "left") || !valid_name(fields[2]))
    return std::nullopt;
  event.kind = fields[0] == "join" ? PresenceEvent::Kind::kJoin : PresenceEvent::Kind::kLeft;
  event.name = std::string(fields[2]);
  return event;
}

} // namespace webrtccall::server
