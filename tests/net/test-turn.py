#!/usr/bin/env python3
"""Calls that only work through TURN. Three network namespaces: alice's and
bob's, each with one interface (eth0) and a default route into a third, the
services' namespace, which does not forward. There coturn and our signaling
server listen on 10.99.0.1 (on its loopback, so both sides reach it), and
coturn relays from that address. alice and bob cannot reach each other: the
only path is a relayed one.

Cases (the element as both peers, in tests/browser/element-peer):
  - static credentials, in each element's turn-server (percent-encoded);
  - credentials the signaling server issues (--turn-secret, coturn's
    --use-auth-secret), with the elements' turn-server empty;
  - wrong credentials: the call fails with ice-failed, and the message says
    that the TURN server gave no relay address.
Each call that works must have a selected candidate pair with a relay end,
as webrtccall-stats reports it, and media both ways.

TAP on stdout. Needs root, ip, turnserver (coturn), $WEBRTCCALL_SIGNALING,
$WEBRTCCALL_ELEMENT_PEER and the plugin on $GST_PLUGIN_PATH."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlib import Peer, add_namespace, call, delete_namespace, run, start_server, stop, tap  # noqa: E402

SERVICES_IP = "10.99.0.1"
TURN_PORT = 3478
SECRET = "coturn-shares-this"
# A password with every character a URI reserves, percent-encoded in turn-server.
STATIC_PASSWORD = "p:a/s+s=w@rd"


class Network:
    def __init__(self):
        tag = str(os.getpid())
        self.alice, self.bob, self.services = ("wcturn-%s-%s" % (tag, n) for n in "abs")
        for namespace in (self.alice, self.bob, self.services):
            add_namespace(namespace)
        run("ip", "-n", self.services, "addr", "add", SERVICES_IP + "/32", "dev", "lo")
        for namespace, subnet, far in ((self.alice, "10.1.0", "a0"), (self.bob, "10.2.0", "b0")):
            run("ip", "-n", namespace, "link", "add", "eth0", "type", "veth", "peer", "name", far,
                "netns", self.services)
            run("ip", "-n", namespace, "addr", "add", subnet + ".2/24", "dev", "eth0")
            run("ip", "-n", self.services, "addr", "add", subnet + ".1/24", "dev", far)
            run("ip", "-n", namespace, "link", "set", "eth0", "up")
            run("ip", "-n", self.services, "link", "set", far, "up")
            run("ip", "-n", namespace, "route", "add", "default", "via", subnet + ".1")
        # A new namespace does not forward; say so, since everything rests on it.
        run("ip", "netns", "exec", self.services, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0")

    def close(self):
        for namespace in (self.alice, self.bob, self.services):
            delete_namespace(namespace)


def start_coturn(network, *auth):
    # coturn writes its own log (its stdout is block-buffered in a file); -c /dev/null keeps
    # Debian's /etc/turnserver.conf out of it.
    log = os.path.join(os.environ.get("NET_TEST_LOGS", "/tmp"), "coturn.log")
    coturn = subprocess.Popen(
        ["ip", "netns", "exec", network.services, "turnserver", "-c", "/dev/null",
         "--listening-ip", SERVICES_IP, "--relay-ip", SERVICES_IP, "--listening-port",
         str(TURN_PORT), "--realm", "webrtccall.test", "--no-tls", "--no-dtls", "--no-cli",
         "--no-stun-backward-compatibility", "--log-file", log, "--simple-log", "--verbose",
         "--min-port", "49152", "--max-port", "49999"] + list(auth),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Ready once it listens: a STUN port answering is the sign.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listening = subprocess.run(["ip", "netns", "exec", network.services, "ss", "-lun"],
                                   capture_output=True, text=True).stdout
        if "%s:%d" % (SERVICES_IP, TURN_PORT) in listening:
            return coturn
        time.sleep(0.1)
    coturn.kill()
    raise RuntimeError("coturn did not start")


def relayed_call(alice, bob):
    """Both in the call, media both ways, and the chosen path goes through TURN."""
    call(alice, bob)
    for peer in (alice, bob):
        peer.wait_for("video", lambda e: e.get("event") == "media" and e["video"]["frames"] > 10, 20)
        stats = peer.wait_for("stats naming the path",
                              lambda e: e.get("event") == "stats" and e.get("local-candidate-type"),
                              10)
        types = (stats["local-candidate-type"], stats["remote-candidate-type"])
        print("# %s's path: local %s, remote %s" % (peer.label, types[0], types[1]))
        assert "relay" in types, "%s's call does not go through TURN: %s" % (peer.label, types)


def test_static_credentials():
    network = Network()
    coturn = server = alice = bob = None
    try:
        coturn = start_coturn(network, "--lt-cred-mech", "--user", "alice:" + STATIC_PASSWORD,
                              "--user", "bob:" + STATIC_PASSWORD)
        server, url = start_server(network.services, SERVICES_IP)
        encoded = "p%3Aa%2Fs%2Bs%3Dw%40rd"

        def turn(user):
            return "turn-server=turn://%s:%s@%s:%d" % (user, encoded, SERVICES_IP, TURN_PORT)
        bob = Peer(network.bob, url, "bob", "turn-static-bob", turn("bob"))
        alice = Peer(network.alice, url, "alice", "turn-static-alice", turn("alice"))
        relayed_call(alice, bob)
    finally:
        stop(alice, bob, server, coturn)
        network.close()


def test_server_issued_credentials():
    network = Network()
    coturn = server = alice = bob = None
    try:
        coturn = start_coturn(network, "--use-auth-secret", "--static-auth-secret", SECRET)
        server, url = start_server(network.services, SERVICES_IP, "--turn-secret", SECRET,
                                   "--turn-url", "turn:%s:%d" % (SERVICES_IP, TURN_PORT))
        bob = Peer(network.bob, url, "bob", "turn-issued-bob")
        alice = Peer(network.alice, url, "alice", "turn-issued-alice")
        relayed_call(alice, bob)
    finally:
        stop(alice, bob, server, coturn)
        network.close()


def test_wrong_credentials_fail_clearly():
    network = Network()
    coturn = server = alice = bob = None
    try:
        coturn = start_coturn(network, "--use-auth-secret", "--static-auth-secret", SECRET)
        server, url = start_server(network.services, SERVICES_IP, "--turn-secret", "not-" + SECRET,
                                   "--turn-url", "turn:%s:%d" % (SERVICES_IP, TURN_PORT))
        bob = Peer(network.bob, url, "bob", "turn-wrong-bob")
        alice = Peer(network.alice, url, "alice", "turn-wrong-alice")
        for peer in (bob, alice):
            peer.wait_for("the login", lambda e: e.get("state") == "logged-in", 60)
        alice.send("call bob")
        # Whichever side's ICE gives up first reports the failure and hangs up;
        # the other then hears the hang-up.
        failed = lambda e: e.get("event") in ("warning", "error")
        first = alice.wait_for("the failure or bob's hang-up",
                               lambda e: failed(e) or e.get("reason") == "remote-hangup", 60,
                               fail_on=("exited",))
        reporter = alice
        if not failed(first):
            reporter = bob
            first = bob.wait_for("the failure", failed, 10, fail_on=("exited",))
        print("# %s: %s" % (reporter.label, first.get("message")))
        assert first.get("reason") == "ice-failed", first
        assert "TURN server gave no relay address" in first.get("message", ""), first
    finally:
        stop(alice, bob, server, coturn)
        network.close()


TESTS = [
    ("a call through TURN with static credentials (percent-encoded)", test_static_credentials),
    ("a call through TURN with credentials the signaling server issues",
     test_server_issued_credentials),
    ("wrong TURN credentials fail the call saying so", test_wrong_credentials_fail_clearly),
]

if __name__ == "__main__":
    sys.exit(tap(TESTS))
