#!/usr/bin/env bash
# Runs a command in a network namespace of its own, made for it and removed afterwards.
#
#   tests/browser/netns.sh CMD [ARGS...]     # as root; exit status is CMD's
#
# The namespace has `lo` and one end of a veth pair (10.213.7.1/24, default route via
# 10.213.7.2). The other end lives in a second namespace, also made here, with nothing behind
# it: nothing the command sends can leave, and the host's own namespace is never touched (the
# pair is created inside the namespaces, not moved there).
#
# Why not `lo` alone: Chromium gathers no ICE candidates on loopback. With camera permission it
# offers the veth address as a host candidate; without (a receive-only page) it hides it behind
# an mDNS `.local` name, which needs a multicast-capable interface to resolve. Both work here.
#
# The inner end is named eth0, as on a real machine: libnice, and so the webrtccall element
# gathering on every interface, ignores interfaces whose names start with veth (or docker,
# virbr, vnet).
#
# The command gets both namespaces' names, WEBRTCCALL_NETNS and WEBRTCCALL_NETNS_PEER, for tests
# that build more network behind the far end (test-element-turn.mjs puts a TURN server there).
# Namespaces it makes named "$WEBRTCCALL_NETNS-<something>" are removed with these if it ends
# without removing them.
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
if ((EUID != 0)); then
  echo "$0: network namespaces need root" >&2
  exit 2
fi

# $$ keeps concurrent runs apart. The links need no unique names: each lives in its namespace.
inner="webrtccall-$$"
outer="webrtccall-$$-peer"
child=

cleanup() {
  # Deleting a namespace deletes the veth end inside it, and with it the pair.
  ip netns delete "$inner" 2>/dev/null || true
  ip netns delete "$outer" 2>/dev/null || true
  # Namespaces the command made, named after ours, should it not have lived to remove them.
  local name
  for name in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
    if [[ $name == "$inner"-* ]]; then
      ip netns delete "$name" 2>/dev/null || true
    fi
  done
}
# On INT/TERM (meson's timeout), stop the command first so it does not outlive its namespace.
on_signal() {
  if [[ -n $child ]]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

ip netns add "$inner"
ip netns add "$outer"
ip -n "$inner" link set lo up
ip -n "$outer" link set lo up
ip -n "$inner" link add eth0 type veth peer name eth1 netns "$outer"
ip -n "$inner" addr add 10.213.7.1/24 dev eth0
ip -n "$outer" addr add 10.213.7.2/24 dev eth1
ip -n "$inner" link set eth0 up
ip -n "$outer" link set eth1 up
ip -n "$inner" route add default via 10.213.7.2

# In the background and waited for, so the traps above run while the command is still going.
rc=0
WEBRTCCALL_NETNS="$inner" WEBRTCCALL_NETNS_PEER="$outer" ip netns exec "$inner" "$@" &
child=$!
wait "$child" || rc=$?
child=
exit "$rc"
