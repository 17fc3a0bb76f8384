"""What the network tests share: running commands, element-peer processes
in namespaces and their JSON events, our server in a namespace, and TAP."""

import json
import os
import queue
import subprocess
import sys
import threading
import time

# Under the sanitizers (WEBRTCCALL_TEST_SANITIZERS, tests/sanitizers/meson.build) our processes
# must exit cleanly when stopped: LeakSanitizer checks them at exit, and a report ends them with
# status 1. Their stops run in the tests' cleanup, so what went wrong is kept here, and tap()
# fails the test with it.
SANITIZERS = bool(os.environ.get("WEBRTCCALL_TEST_SANITIZERS"))
unclean_exits = []


def run(*command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def add_namespace(name):
    run("ip", "netns", "add", name)
    run("ip", "-n", name, "link", "set", "lo", "up")


def delete_namespace(name):
    subprocess.run(["ip", "netns", "delete", name], stderr=subprocess.DEVNULL)


def start_server(namespace, host, *extra):
    """Our signaling server in `namespace`, listening on `host`; returns the
    process and its ws:// URL."""
    log_name = os.path.join(os.environ.get("NET_TEST_LOGS", "/tmp"), "signaling-%s.log" % namespace)
    with open(log_name, "w") as log:
        server = subprocess.Popen(
            ["ip", "netns", "exec", namespace, os.environ["WEBRTCCALL_SIGNALING"],
             "--host", host, "--port", "0"] + list(extra),
            stdout=subprocess.PIPE, stderr=log, text=True)
    server.log_name = log_name
    url = server.stdout.readline().strip()
    if not url.startswith("ws://"):
        server.kill()
        raise RuntimeError("the server printed no URL")
    return server, url


class Peer:
    """An element-peer (tests/browser/element-peer.cpp) in a namespace; its
    events arrive on a queue, each stamped with when it came."""

    def __init__(self, namespace, server, user, label, properties=""):
        self.label = label
        self.log = open(os.path.join(os.environ.get("NET_TEST_LOGS", "/tmp"), label + ".log"), "w")
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, os.environ["WEBRTCCALL_ELEMENT_PEER"],
             "--server", server, "--user", user, "--video", "vp8", "--properties", properties],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["at"] = time.monotonic()
            self.events.put(event)
        self.events.put({"event": "exited", "at": time.monotonic()})

    def send(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def wait_for(self, what, match, timeout, fail_on=("exited", "error")):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s: %s did not happen within %.0f s" % (self.label, what, timeout))
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if match(event):
                return event
            if event.get("event") in fail_on:
                raise AssertionError("%s: while waiting for %s: %s" % (self.label, what, event))

    def close(self):
        if self.process.poll() is None:
            try:
                self.send("quit")
                self.process.wait(timeout=30 if SANITIZERS else 10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.log.close()
        if SANITIZERS and self.process.returncode != 0:
            unclean_exits.append("%s: element-peer ended with status %d; a sanitizer's report is "
                                 "at the end of %s" % (self.label, self.process.returncode,
                                                       self.log.name))


def call(alice, bob, timeout=30):
    """alice calls bob (both logged in); returns once both are in the call."""
    for peer in (bob, alice):
        peer.wait_for("the login", lambda e: e.get("state") == "logged-in", 60)
    alice.send("call bob")
    for peer in (alice, bob):
        peer.wait_for("the call", lambda e: e.get("state") == "in-call", timeout)


def stop(*processes):
    for process in processes:
        if process is None:
            continue
        if isinstance(process, Peer):
            process.close()
        elif SANITIZERS and is_our_server(process):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.returncode != 0:
                unclean_exits.append("the signaling server ended with status %d when stopped; "
                                     "its log: %s" % (process.returncode, process.log_name))
        else:
            process.kill()
            process.wait()


def is_our_server(process):
    return os.environ.get("WEBRTCCALL_SIGNALING") in process.args


def tap(tests):
    """Runs (name, function) pairs, printing TAP; returns the exit status."""
    print("1..%d" % len(tests))
    failed = 0
    for number, (name, test) in enumerate(tests, 1):
        try:
            del unclean_exits[:]
            test()
            if unclean_exits:
                raise AssertionError("\n".join(unclean_exits))
            print("ok %d %s" % (number, name))
        except Exception as error:  # every failure is reported, then the next test runs
            failed += 1
            print("not ok %d %s" % (number, name))
            # A process that ended badly may be why: say so too.
            for line in str(error).splitlines() + unclean_exits:
                print("# " + line)
        sys.stdout.flush()
    return 1 if failed else 0
