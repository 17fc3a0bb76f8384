#!/usr/bin/env python3
"""Runs the gst-launch-1.0 lines of README.md and docs/element.md, so the
documentation cannot drift from what works. Each document's lines are one
call (the callee's and the caller's); they run against our server on a free
port, on loopback, with fakesinks for the display, in both start orders. The
caller is interrupted after a few seconds: with -e that is an EOS, which
hangs up, and both sides must then end cleanly (exit 0, after EOS).

TAP on stdout. Needs $WEBRTCCALL_SIGNALING, $GST_PLUGIN_PATH; the documents
are found from this file's place in the source tree."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOCUMENTS = ["README.md", "docs/element.md"]
CALL_SECONDS = 8  # long enough for the call to start on a loaded machine before the hang-up
# How long each process may take to end after the hang-up: a deadline, stretched as every test's
# are under the sanitizers (tests/lib/wait_deadline.hpp).
WAIT_SCALE = float(os.environ.get("WEBRTCCALL_TEST_WAIT_SCALE", "1"))


def launch_lines(path):
    """The gst-launch-1.0 commands in a Markdown file's sh blocks, joined."""
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.strip()
            if line.startswith("gst-launch-1.0"):
                commands.append(line)
    return commands


def adapt(command, url):
    """The documented command, pointed at the test's server and made headless."""
    command = re.sub(r"server=ws://\S+", "server=" + url, command)
    command = command.replace("autovideosink", "fakesink").replace("autoaudiosink", "fakesink")
    # Loopback only, as every test here; libnice skips it unless told.
    return command.replace("webrtccall ", "webrtccall ice-addresses=127.0.0.1 ", 1)


def start_server():
    server = subprocess.Popen(
        [os.environ["WEBRTCCALL_SIGNALING"], "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = server.stdout.readline().strip()
    if not url.startswith("ws://"):
        raise RuntimeError("the server printed no URL")
    # Ws URL as the docs write it: no trailing slash needed.
    return server, url.rstrip("/")


def run_call(commands, url, callee_first):
    callee = [c for c in commands if " peer=" not in c]
    caller = [c for c in commands if " peer=" in c]
    if len(callee) != 1 or len(caller) != 1:
        return False, "expected one callee line and one caller line, found %d and %d" % (
            len(callee), len(caller))
    order = [("callee", callee[0]), ("caller", caller[0])]
    if not callee_first:
        order.reverse()
    processes = {}
    for name, command in order:
        processes[name] = subprocess.Popen(
            shlex.split(adapt(command, url)), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        time.sleep(0.5)
    time.sleep(CALL_SECONDS)
    processes["caller"].send_signal(signal.SIGINT)
    results = {}
    for name, process in processes.items():
        try:
            output, _ = process.communicate(timeout=20 * WAIT_SCALE)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            return False, "%s did not end:\n%s" % (name, output)
        results[name] = (process.returncode, output)
    for name, (code, output) in results.items():
        if code != 0 or "Got EOS" not in output or "CRITICAL" in output:
            return False, "%s ended with status %d:\n%s" % (name, code, output)
    return True, ""


def main():
    cases = []
    for document in DOCUMENTS:
        commands = launch_lines(document)
        for callee_first in (True, False):
            cases.append((document, commands, callee_first))
    print("1..%d" % len(cases))
    failed = 0
    for number, (document, commands, callee_first) in enumerate(cases, 1):
        server, url = start_server()
        try:
            ok, why = run_call(commands, url, callee_first)
        finally:
            server.terminate()
            server.wait()
        order = "callee first" if callee_first else "caller first"
        if ok:
            print("ok %d %s, %s" % (number, document, order))
        else:
            failed += 1
            print("not ok %d %s, %s" % (number, document, order))
            for line in why.splitlines()[-40:]:
                print("# " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
