// The generator's clients and the user names they log in with, indexed alike.
// Relay and set-up traffic address each other's clients through it.
#pragma once

#include "client.hpp"
#include "messages.hpp"

#include <memory>
#include <string>
#include <vector>

namespace webrtccall::loadgen {

struct Fleet {
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::string> names;
  // Set from the first login reply: the tutorial's server answers without
  // "protocol", and relays answer, candidate and leave without a name.
  bool tutorial = false;

  void send(std::uint32_t client, std::string_view text) { clients[client]->send_text(text); }
};

// Whether a relayed message came from user `peer`. Our server names the
// sender on every relay; the tutorial's names it on offers only.
inline bool from_peer(const Fleet &fleet, std::string_view text, const std::string &peer) {
  auto name = string_member(text, "name");
  return name ? *name == peer : fleet.tutorial;
}

} // namespace webrtccall::loadgen
