// A user-space Ethernet bridge between two interfaces that holds every frame
// for a fixed time before passing it on: the delay this kernel cannot add
// (no netem), for the hostile-network tests. It runs in a namespace of its
// own between the two peers' namespaces; loss is added with iptables.
//
//   delay-bridge IFACE_A IFACE_B DELAY_MS
//
// Prints "ready" once both interfaces are open; runs until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

struct Held {
  std::int64_t due_ns;
  int out; // the socket to send it on
  std::vector<unsigned char> frame;
};

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "delay-bridge: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// A raw socket that sees every frame arriving on `name`.
int open_interface(const char *name) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0)
    die("socket");
  unsigned index = if_nametoindex(name);
  if (index == 0)
    die(std::string("no interface ") + name);
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = int(index);
  if (bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) < 0)
    die(std::string("bind ") + name);
  // Frames for the other side's MAC address must reach us too.
  packet_mreq membership{};
  membership.mr_ifindex = int(index);
  membership.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof membership) < 0)
    die(std::string("promiscuous ") + name);
  int on = 1; // tells which frames still lack their checksum
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) < 0)
    die("auxdata");
  return fd;
}

std::uint32_t sum16(const unsigned char *data, std::size_t size, std::uint32_t sum) {
  for (std::size_t i = 0; i + 1 < size; i += 2)
    sum += std::uint32_t(data[i] << 8 | data[i + 1]);
  if (size & 1)
    sum += std::uint32_t(data[size - 1] << 8);
  return sum;
}

// veth hands frames over with the TCP/UDP checksum left to the hardware
// (CHECKSUM_PARTIAL); sent on as they are, the other side would drop them.
// Fill it in, for IPv4, which is all the tests use.
void complete_checksum(std::vector<unsigned char> &frame) {
  const std::size_t ip = sizeof(ether_header);
  if (frame.size() < ip + 20 || frame[12] != 0x08 || frame[13] != 0x00)
    return;
  std::size_t header = std::size_t(frame[ip] & 0x0f) * 4;
  std::size_t total = std::size_t(frame[ip + 2] << 8 | frame[ip + 3]);
  int protocol = frame[ip + 9];
  std::size_t l4 = ip + header;
  if (total < header || ip + total > frame.size())
    return;
  std::size_t l4_size = total - header;
  std::size_t field = protocol == IPPROTO_UDP ? 6 : protocol == IPPROTO_TCP ? 16 : 0;
  if (field == 0 || l4_size < field + 2)
    return;
  frame[l4 + field] = frame[l4 + field + 1] = 0;
  std::uint32_t sum = sum16(&frame[ip + 12], 8, 0); // source and destination addresses
  sum += std::uint32_t(protocol) + std::uint32_t(l4_size);
  sum = sum16(&frame[l4], l4_size, sum);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  std::uint16_t checksum = std::uint16_t(~sum);
  if (protocol == IPPROTO_UDP && checksum == 0)
    checksum = 0xffff;
  frame[l4 + field] = std::uint8_t(checksum >> 8);
  frame[l4 + field + 1] = std::uint8_t(checksum & 0xff);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: delay-bridge IFACE_A IFACE_B DELAY_MS\n");
    return 2;
  }
  int a = open_interface(argv[1]);
  int b = open_interface(argv[2]);
  std::int64_t delay_ns = std::int64_t(std::atol(argv[3])) * 1000000;
  std::printf("ready\n");
  std::fflush(stdout);

  // Frames leave in arrival order: one FIFO keeps that, as a wire would.
  std::deque<Held> held;
  std::vector<unsigned char> buffer(65536);
  for (;;) {
    int timeout_ms = -1;
    if (!held.empty())
      timeout_ms = int(std::max<std::int64_t>(0, (held.front().due_ns - now_ns()) / 1000000));
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR)
      die("poll");
    for (int i = 0; i < 2; i++) {
      if (!(fds[i].revents & POLLIN))
        continue;
      sockaddr_ll from{};
      iovec data{buffer.data(), buffer.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
      msghdr message{};
      message.msg_name = &from;
      message.msg_namelen = sizeof from;
      message.msg_iov = &data;
      message.msg_iovlen = 1;
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      ssize_t got = recvmsg(fds[i].fd, &message, MSG_DONTWAIT);
      // Our own sends show up as outgoing: passing them back would loop.
      if (got <= 0 || from.sll_pkttype == PACKET_OUTGOING)
        continue;
      Held frame{now_ns() + delay_ns, i == 0 ? b : a,
                 std::vector<unsigned char>(buffer.begin(), buffer.begin() + got)};
      for (cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
          continue;
        tpacket_auxdata aux;
        std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
        if (aux.tp_status & TP_STATUS_CSUMNOTREADY)
          complete_checksum(frame.frame);
      }
      held.push_back(std::move(frame));
    }
    std::int64_t now = now_ns();
    while (!held.empty() && held.front().due_ns <= now) {
      const Held &frame = held.front();
      // A link that is down or full loses the frame, as a wire would.
      (void)send(frame.out, frame.frame.data(), frame.frame.size(), 0);
      held.pop_front();
    }
  }
}
