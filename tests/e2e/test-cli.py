#!/usr/bin/env python3
"""webrtccall-cli, run as a user runs it (docs/cli.md): two endpoints call
each other through our server with test sources and record each other; the
progress and statistics lines appear; Ctrl-C on one side hangs up both with
status 0; each recording decodes to the other side's picture size. README.md's
two commands, answered y at the prompt. VP9 with PCMA and H.264 with PCMU,
recorded and decoded, without a display; a media file sent, a receive-only
callee. Then the exit statuses: declined at the prompt, declined for want of
anyone to answer, busy, no common codec, bad usage, server unreachable, no
answer, name taken, login token.

Usage: test-cli.py PATH-TO-webrtccall-cli. TAP on stdout. Needs
$WEBRTCCALL_SIGNALING and $GST_PLUGIN_PATH (tests/meson.build sets them) and
gst-launch-1.0 to decode the recordings."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

CLI = sys.argv[1] if len(sys.argv) > 1 else "webrtccall-cli"
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Loopback only, as every test here (libnice skips it unless told); headless
# with test sources whatever the machine has.
COMMON = ["--headless", "--video", "test", "--audio", "test", "--ice-addresses", "127.0.0.1"]
# Set-up of a call on a loaded two-core machine takes seconds; a deadline, not a measure, and
# stretched as every test's are under the sanitizers (tests/lib/wait_deadline.hpp).
WAIT_SCALE = float(os.environ.get("WEBRTCCALL_TEST_WAIT_SCALE", "1"))
WAIT_S = 30 * WAIT_SCALE

# The exit statuses of docs/cli.md.
HUNG_UP, FAILED, USAGE, UNREACHABLE, LOGIN_REFUSED, DECLINED, BUSY, NO_ANSWER, CALL_FAILED = \
    0, 1, 2, 3, 4, 5, 6, 7, 8
INTERRUPTED = 130

# [elapsed] out, in, lost out, lost in, round trip (a figure, or "--" until known).
STATS_LINE = re.compile(
    r"^\[(\d\d):(\d\d)\] out (\d+) kbit/s, in (\d+) kbit/s, lost (\d+) out, (\d+) in, "
    r"round trip (--|\d+(?:\.\d+)? ms)$")


def no_capture_devices():
    """Whether webrtccall-cli --list-devices finds neither a camera nor a microphone."""
    listed = subprocess.run([CLI, "--list-devices"], capture_output=True, text=True, timeout=60)
    return re.search(r"Cameras \(--video\):\n  \(none\)\nMicrophones \(--audio\):\n  \(none\)",
                     listed.stdout) is not None


def without_display():
    """The environment of a machine with no display: no X11, no Wayland."""
    env = dict(os.environ)
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


class Failure(Exception):
    pass


def check(condition, why):
    if not condition:
        raise Failure(why)


class Cli:
    """One webrtccall-cli process; its output lines are collected as they come."""

    def __init__(self, name, args, stdin=subprocess.DEVNULL, env=None):
        self.name = name
        self.process = subprocess.Popen(
            [CLI] + args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1, env=env)
        self.lines, self.errors = [], []
        self.changed = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(stream, store), daemon=True)
                        for stream, store in ((self.process.stdout, self.lines),
                                              (self.process.stderr, self.errors))]
        for reader in self.readers:
            reader.start()

    def _read(self, stream, store):
        for line in stream:
            with self.changed:
                store.append(line.rstrip("\n"))
                self.changed.notify_all()

    def output(self):
        with self.changed:
            return "\n".join(self.lines + ["(stderr)"] + self.errors)

    def wait_line(self, pattern, count=1, timeout=WAIT_S):
        """The first of `count` lines matching `pattern`, waiting up to `timeout` s."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [m for m in map(regex.search, self.lines) if m]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None and not self._reading():
                    raise Failure("%s: no line matching %r (x%d) within %d s:\n%s" % (
                        self.name, pattern, count, timeout, "\n".join(self.lines + self.errors)))
                self.changed.wait(min(left, 0.5))

    def _reading(self):
        return any(reader.is_alive() for reader in self.readers)

    def has_line(self, pattern):
        with self.changed:
            return any(re.search(pattern, line) for line in self.lines)

    def exit_status(self, timeout=WAIT_S):
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise Failure("%s did not end within %d s:\n%s" % (self.name, timeout, self.output()))
        for reader in self.readers:
            reader.join(5)
        return self.process.returncode

    def expect_exit(self, status, timeout=WAIT_S):
        code = self.exit_status(timeout)
        check(code == status, "%s ended with status %d, not %d:\n%s" % (
            self.name, code, status, self.output()))

    def interrupt(self):
        self.process.send_signal(signal.SIGINT)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Server:
    def __init__(self, *args):
        self.args = list(args)

    def __enter__(self):
        self.process = subprocess.Popen(
            [os.environ["WEBRTCCALL_SIGNALING"], "--host", "127.0.0.1", "--port", "0"] + self.args,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("ws://"):
            self.process.kill()
            raise Failure("the server printed no URL")
        return self

    def __exit__(self, exc_type, *exc):
        self.process.terminate()
        status = self.process.wait()
        # A clean exit on SIGTERM (under the sanitizers: no leak found either), unless the
        # case failed already and that failure is the one to report.
        if exc_type is None:
            check(status == 0, "the server ended with status %d on SIGTERM" % status)


def decoded(path):
    """What a Matroska file decodes to: (video frames, width, height, audio buffers).
    playbin, as a player would: it plays whichever tracks the file has, where a pipeline
    naming both would wait forever for a missing one."""
    check(os.path.getsize(path) > 0, "%s is empty" % path)
    command = ["gst-launch-1.0", "-v", "playbin", "uri=file://" + os.path.abspath(path),
               "video-sink=fakesink name=v silent=false sync=false",
               "audio-sink=fakesink name=a silent=false sync=false"]
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=60)
    except subprocess.TimeoutExpired as timeout:
        output = timeout.stdout or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        raise Failure("decoding %s did not end within 60 s:\n%s" % (path, output[-3000:]))
    log = result.stdout
    check(result.returncode == 0 and "Got EOS" in log,
          "%s does not decode to the end (status %d):\n%s" % (path, result.returncode,
                                                              log[-3000:]))
    size = re.search(r"GstFakeSink:v\.GstPad:sink: caps = video/x-raw.*?width=\(int\)(\d+), "
                     r"height=\(int\)(\d+)", log)
    check(size, "%s: no decoded video caps:\n%s" % (path, log[-3000:]))
    return (log.count("v: last-message = chain"), int(size.group(1)), int(size.group(2)),
            log.count("a: last-message = chain"))


def check_decodes(path, width, height):
    """The recording decodes to pictures of `width` x `height`, and to sound."""
    frames, w, h, audio = decoded(path)
    check((w, h) == (width, height) and frames > 0 and audio > 0,
          "%s decodes to %d frames of %dx%d and %d audio buffers" % (path, frames, w, h, audio))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- cases -------------------------------------------------------------------------------------

def call_record_and_hang_up(folder):
    with Server() as server:
        bob_file, alice_file = os.path.join(folder, "bob.mkv"), os.path.join(folder, "alice.mkv")
        bob = Cli("bob", ["--server", server.url, "--user", "bob", "--auto-answer",
                          "--size", "352x288", "--record", bob_file] + COMMON)
        alice = None
        try:
            bob.wait_line(r"^Waiting for a call\.")
            alice = Cli("alice", ["--server", server.url, "--user", "alice", "--call", "bob",
                                  "--size", "320x240", "--record", alice_file] + COMMON)
            alice.wait_line(r"^Logged in as alice\.$")
            alice.wait_line(r"^Calling bob\.\.\.$")
            bob.wait_line(r"^Incoming call from alice\.$")
            for me, peer, size in ((alice, "bob", "352x288"), (bob, "alice", "320x240")):
                me.wait_line(r"^In call with %s\.$" % peer)
                me.wait_line(r"^Sending VP8 .* from the test pattern and Opus from a 440 Hz")
                me.wait_line(r"^Receiving VP8 %s from %s\.$" % (size, peer))
                me.wait_line(r"^Receiving Opus 48000 Hz.* from %s\.$" % peer)
                me.wait_line(r"^Recording to .*\.mkv\.$")
                # Once a second; by the third the media flows both ways. The round trip is
                # known once RTCP has gone both ways (a few seconds in).
                stats = me.wait_line(STATS_LINE.pattern, count=3)
                check(int(stats.group(3)) > 0 and int(stats.group(4)) > 0,
                      "%s's third statistics line shows no media: %s" % (me.name, stats.group(0)))
                me.wait_line(r"^\[\d\d:\d\d\] out .*, round trip \d+(\.\d+)? ms$")
                elapsed = [int(m.group(1)) * 60 + int(m.group(2)) for m in
                           map(STATS_LINE.search, me.lines[:]) if m]
                # A line a second by the call's clock (whole seconds, so 0 to 2 apart).
                check(all(0 <= b - a <= 2 for a, b in zip(elapsed, elapsed[1:])),
                      "%s's statistics lines are not a second apart: %s" % (me.name, elapsed))
            alice.interrupt()
            alice.expect_exit(HUNG_UP)
            bob.expect_exit(HUNG_UP)
            alice.wait_line(r"^Hanging up\.\.\.$")
            alice.wait_line(r"^Call with bob ended after \d\d:\d\d: you hung up\.$")
            bob.wait_line(r"^Call with alice ended after \d\d:\d\d: alice hung up\.$")
            for me in (alice, bob):
                me.wait_line(r"^Saved the recording \(video and audio\) to .*\.mkv\.$")
        finally:
            for each in (alice, bob):
                if each:
                    each.stop()
        # Each recorded the other's picture, from its first frame to the hang-up.
        for path, width, height in ((bob_file, 320, 240), (alice_file, 352, 288)):
            frames, w, h, audio = decoded(path)
            check((w, h) == (width, height), "%s is %dx%d, not %dx%d" % (path, w, h, width, height))
            check(frames >= 15, "%s has %d video frames; 3 s of call give up to 90" % (path, frames))
            check(audio >= 10, "%s has %d audio buffers" % (path, audio))


def readme_commands(folder):
    """README.md's two commands, as documented, with bob answering y at the prompt."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    commands = {}
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if "webrtccall-cli " not in line:
                continue
            words = shlex.split(line)
            programs = [i for i, word in enumerate(words) if word.endswith("/webrtccall-cli")]
            if programs:
                args = words[programs[0] + 1:]
                commands[args[args.index("--user") + 1]] = args
    check(set(commands) == {"alice", "bob"},
          "README.md should have bob's and alice's webrtccall-cli commands, has %s" % commands)
    recording = os.path.join(folder, "readme.mkv")
    bob_args = [recording if arg == "call.mkv" else arg for arg in commands["bob"]]
    check(recording in bob_args, "bob's README command records no call.mkv: %s" % bob_args)
    with Server() as server:
        # Pointed at the test's server, on loopback, headless, with test sources, and small
        # pictures: four 640x480 encoders would starve the tests running beside this one.
        small = ["--server", server.url, "--size", "320x240"] + COMMON
        bob = Cli("bob", bob_args + small, stdin=subprocess.PIPE)
        alice = None
        try:
            bob.wait_line(r"^Waiting for a call\.")
            alice = Cli("alice", commands["alice"] + small)
            bob.wait_line(r"^alice is calling\. Answer\? \[Y/n\]")
            bob.process.stdin.write("y\n")
            bob.process.stdin.flush()
            for me, peer in ((alice, "bob"), (bob, "alice")):
                me.wait_line(r"^In call with %s\.$" % peer)
                me.wait_line(r"^Receiving VP8 320x240 from %s\.$" % peer)
                me.wait_line(STATS_LINE.pattern, count=2)
            alice.interrupt()
            alice.expect_exit(HUNG_UP)
            bob.expect_exit(HUNG_UP)
            bob.wait_line(r"^Saved the recording \(video and audio\) to ")
        finally:
            for each in (alice, bob):
                if each:
                    each.stop()
        check_decodes(recording, 320, 240)


def declined_at_the_prompt(folder):
    with Server() as server:
        bob = Cli("bob", ["--server", server.url, "--user", "bob"] + COMMON,
                  stdin=subprocess.PIPE)
        alice = None
        try:
            bob.wait_line(r"^Waiting for a call\.")
            alice = Cli("alice", ["--server", server.url, "--user", "alice", "--call", "bob"]
                        + COMMON)
            bob.wait_line(r"^alice is calling\. Answer\? \[Y/n\]")
            bob.process.stdin.write("n\n")
            bob.process.stdin.flush()
            alice.expect_exit(DECLINED)
            check(any("bob declined the call" in line for line in alice.errors),
                  "alice was not told bob declined:\n" + alice.output())
            bob.wait_line(r"^Declined the call from alice\.$")
            # bob waits for the next call until Ctrl-C; no call took place.
            check(bob.process.poll() is None, "bob ended after declining:\n" + bob.output())
            bob.interrupt()
            bob.expect_exit(INTERRUPTED)
        finally:
            for each in (alice, bob):
                if each:
                    each.stop()


def declined_when_no_one_can_answer(folder):
    with Server() as server:
        bob = Cli("bob", ["--server", server.url, "--user", "bob"] + COMMON)  # stdin: /dev/null
        alice = None
        try:
            bob.wait_line(r"^Waiting for a call\.")
            alice = Cli("alice", ["--server", server.url, "--user", "alice", "--call", "bob"]
                        + COMMON)
            alice.expect_exit(DECLINED)
            bob.wait_line(r"^No one can answer \(standard input has ended\): declining\.")
            bob.interrupt()
            bob.expect_exit(INTERRUPTED)
        finally:
            for each in (alice, bob):
                if each:
                    each.stop()


def bad_usage(folder):
    cases = [
        ([], "--user NAME is required"),
        (["--user", "bob", "--bogus"], "Unknown option --bogus"),
        (["--user", "bob", "--size", "12"], "--size must look like 640x480"),
        (["--user", "bob", "--codec", "av1"], "--codec must be vp8, vp9 or h264"),
        (["--user", "bob", "--call", "bob"], "you cannot call yourself"),
        (["--user", "bob", "--server", "http://x"], "--server must be a ws://"),
        (["--user", "bob", "--record", os.path.join(folder, "absent", "x.mkv")],
         "does not exist"),
        # A camera or microphone that is not there (none is, here), before any connection.
        (["--user", "bob", "--video", "/dev/video9"], '--video: no camera or file named '
                                                      '"/dev/video9"'),
        (["--user", "bob", "--video", "test", "--audio", "Studio Mic"],
         '--audio: no microphone or file named "Studio Mic"'),
    ]
    for args, message in cases:
        cli = Cli("cli " + " ".join(args), args)
        cli.expect_exit(USAGE)
        check(any(message in line for line in cli.errors),
              "%s: the error does not say %r:\n%s" % (cli.name, message, cli.output()))


def server_unreachable(folder):
    url = "ws://127.0.0.1:%d" % free_port()
    cli = Cli("cli", ["--server", url, "--user", "bob", "--reconnect-timeout", "0"] + COMMON)
    cli.expect_exit(UNREACHABLE)
    check(any("Cannot reach the signaling server at " + url in line for line in cli.errors),
          "the error does not name the server:\n" + cli.output())


def no_answer(folder):
    with Server() as server:
        cli = Cli("alice", ["--server", server.url, "--user", "alice", "--call", "nobody",
                            "--timeout", "2"] + COMMON)
        cli.expect_exit(NO_ANSWER)
        # Our server's presence list says nobody is offline: not a call nobody ignored.
        check(any(re.search(r"nobody did not come online within 2 s \(--timeout\)",
                            line) for line in cli.errors),
              "the error does not say why:\n" + cli.output())


def name_taken(folder):
    with Server() as server:
        first = Cli("bob", ["--server", server.url, "--user", "bob"] + COMMON)
        try:
            first.wait_line(r"^Logged in as bob\.$")
            second = Cli("bob again", ["--server", server.url, "--user", "bob"] + COMMON)
            second.expect_exit(LOGIN_REFUSED)
            check(any("already logged in" in line for line in second.errors),
                  "the error does not say the name is taken:\n" + second.output())
        finally:
            first.stop()


def login_token(folder):
    secret = os.path.join(folder, "secret")
    with open(secret, "w") as f:
        f.write("not-so-secret\n")
    with Server("--auth-secret-file", secret) as server:
        without = Cli("bob", ["--server", server.url, "--user", "bob"] + COMMON)
        without.expect_exit(LOGIN_REFUSED)
        check(any("--token" in line for line in without.errors),
              "the error does not point at --token:\n" + without.output())
        issued = subprocess.run(
            [os.environ["WEBRTCCALL_SIGNALING"], "--auth-secret-file", secret, "--issue-token",
             "bob"], stdout=subprocess.PIPE, text=True, check=True).stdout
        token_file = os.path.join(folder, "token")
        with open(token_file, "w") as f:
            f.write(issued)
        bob = Cli("bob", ["--server", server.url, "--user", "bob", "--token-file", token_file]
                  + COMMON)
        try:
            bob.wait_line(r"^Logged in as bob\.$")
            bob.interrupt()
            bob.expect_exit(INTERRUPTED)
        finally:
            bob.stop()


def other_codecs_and_busy(folder):
    """VP9 with PCMA, then H.264 with PCMU: each call shows its codecs and its recording
    decodes. bob runs without --headless on a machine without a display, as a server would:
    nothing is shown, and the call goes on. alice sends auto, which on a machine without a
    camera or microphone (CI's) is the test sources. A third user who calls bob mid-call hears
    busy."""
    # auto is the test sources on a machine without a camera or microphone (CI's); on one with
    # them, test is asked for by name.
    sources = "auto" if no_capture_devices() else "test"
    for codec, audio_codec, video_name, audio_name in (("vp9", "pcma", "VP9", "PCMA"),
                                                       ("h264", "pcmu", "H.264", "PCMU")):
        recording = os.path.join(folder, codec + ".mkv")
        media = ["--video", "test", "--audio", "test", "--ice-addresses", "127.0.0.1",
                 "--size", "320x240", "--codec", codec, "--audio-codec", audio_codec]
        with Server() as server:
            bob = Cli("bob", ["--server", server.url, "--user", "bob", "--auto-answer",
                              "--record", recording] + media, env=without_display())
            alice = carol = None
            try:
                bob.wait_line(r"^Waiting for a call\.")
                alice = Cli("alice", ["--server", server.url, "--user", "alice", "--call", "bob",
                                      "--headless"] + media + ["--video", sources, "--audio",
                                                               sources])
                for me, peer in ((alice, "bob"), (bob, "alice")):
                    me.wait_line(r"^In call with %s\.$" % peer)
                    me.wait_line(r"^Sending %s 320x240 from the test pattern and %s from a 440 Hz"
                                 % (re.escape(video_name), audio_name))
                    me.wait_line(r"^Receiving %s 320x240 from %s\.$" % (re.escape(video_name), peer))
                    me.wait_line(r"^Receiving %s 8000 Hz.* from %s\.$" % (audio_name, peer))
                    me.wait_line(STATS_LINE.pattern, count=2)
                if codec == "vp9":
                    carol = Cli("carol", ["--server", server.url, "--user", "carol", "--call",
                                          "bob"] + COMMON)
                    carol.expect_exit(BUSY)
                    check(any("bob is in another call" in line for line in carol.errors),
                          "carol was not told bob is busy:\n" + carol.output())
                    bob.wait_line(STATS_LINE.pattern, count=4)  # his call went on
                alice.interrupt()
                alice.expect_exit(HUNG_UP)
                bob.expect_exit(HUNG_UP)
                bob.wait_line(r"^Saved the recording \(video and audio\) to ")
            finally:
                for each in (alice, bob, carol):
                    if each:
                        each.stop()
        check_decodes(recording, 320, 240)


def no_common_codec(folder):
    """A VP9 caller and a VP8 callee: the callee cannot take the call, and both end with
    status 8, the callee saying why."""
    with Server() as server:
        bob = Cli("bob", ["--server", server.url, "--user", "bob", "--auto-answer"] + COMMON)
        alice = None
        try:
            bob.wait_line(r"^Waiting for a call\.")
            alice = Cli("alice", ["--server", server.url, "--user", "alice", "--call", "bob",
                                  "--codec", "vp9"] + COMMON)
            alice.expect_exit(CALL_FAILED)
            bob.expect_exit(CALL_FAILED)
            check(any("No common video codec" in line for line in bob.errors),
                  "bob does not say what failed:\n" + bob.output())
        finally:
            for each in (alice, bob):
                if each:
                    each.stop()


def sources_chosen(folder):
    """--video FILE --audio FILE: a media file's picture and sound are sent, and when the
    file ends the call hangs up (0); the callee, --video none --audio none, sends nothing and
    receives. --list-devices on a machine without a display says video is not shown."""
    # Ten seconds: the file plays from the program's start, and must outlast the call's
    # set-up under the sanitizers.
    movie = os.path.join(folder, "ten-seconds.webm")
    subprocess.run(["gst-launch-1.0", "-q", "webmmux", "name=mux", "!", "filesink",
                    "location=" + movie, "videotestsrc", "num-buffers=300", "pattern=ball", "!",
                    "video/x-raw,width=320,height=240,framerate=30/1", "!", "vp8enc",
                    "deadline=1", "!", "mux.", "audiotestsrc", "num-buffers=470", "!",
                    "audio/x-raw,rate=48000", "!", "opusenc", "!", "mux."], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    listed = subprocess.run([CLI, "--list-devices"], env=without_display(), capture_output=True,
                            text=True, timeout=60)
    check(listed.returncode == 0 and "Display: none (video is not shown)" in listed.stdout,
          "--list-devices without a display (status %d):\n%s%s" % (
              listed.returncode, listed.stdout, listed.stderr))
    with Server() as server:
        bob = Cli("bob", ["--server", server.url, "--user", "bob", "--auto-answer", "--headless",
                          "--video", "none", "--audio", "none", "--ice-addresses", "127.0.0.1"])
        alice = None
        try:
            bob.wait_line(r"^Waiting for a call\.")
            alice = Cli("alice", ["--server", server.url, "--user", "alice", "--call", "bob",
                                  "--headless", "--video", movie, "--audio", movie,
                                  "--size", "320x240", "--ice-addresses", "127.0.0.1"])
            bob.wait_line(r"^Sending nothing \(receive only\)\.$")
            alice.wait_line(r"^Sending VP8 .* from the file %s and Opus from the file %s\.$"
                            % (re.escape(movie), re.escape(movie)))
            bob.wait_line(r"^Receiving VP8 320x240 from alice\.$")
            bob.wait_line(r"^Receiving Opus .* from alice\.$")
            alice.expect_exit(HUNG_UP)
            alice.wait_line(r"^Call with bob ended after \d\d:\d\d: what you were sending "
                            r"ended\.$")
            bob.expect_exit(HUNG_UP)
            check(not alice.has_line(r"^Receiving "),
                  "alice received media from a peer that sends none:\n" + alice.output())
        finally:
            for each in (alice, bob):
                if each:
                    each.stop()


CASES = [
    ("two endpoints call, record each other, and Ctrl-C hangs up both", call_record_and_hang_up),
    ("README.md's commands, answered y at the prompt", readme_commands),
    ("a call declined at the prompt ends the caller with status 5", declined_at_the_prompt),
    ("with standard input ended, calls are declined", declined_when_no_one_can_answer),
    ("bad usage exits with status 2 and says what is wrong", bad_usage),
    ("an unreachable server exits with status 3", server_unreachable),
    ("a peer that never comes online exits with status 7", no_answer),
    ("a name already logged in exits with status 4", name_taken),
    ("without a valid token the login fails with status 4; --token-file logs in", login_token),
    ("VP9 with PCMA and H.264 with PCMU record and decode, without a display; a third caller "
     "hears busy (6)", other_codecs_and_busy),
    ("a VP9 caller and a VP8 callee both end with status 8 (no common codec)", no_common_codec),
    ("a media file is sent and its end hangs up; none receives only", sources_chosen),
]


def main():
    print("1..%d" % len(CASES), flush=True)
    failed = 0
    folder = tempfile.mkdtemp(prefix="webrtccall-cli-test-")
    for number, (title, case) in enumerate(CASES, 1):
        started = time.monotonic()
        try:
            case(folder)
            print("ok %d %s (%.1f s)" % (number, title, time.monotonic() - started),
                  flush=True)
        except Exception as failure:  # a Failure, or a bug here: either fails the case
            failed += 1
            print("not ok %d %s" % (number, title))
            text = str(failure) if isinstance(failure, Failure) else traceback.format_exc()
            for line in text.splitlines()[-60:]:
                print("# " + line)
            sys.stdout.flush()
    if failed:
        print("# the recordings and files of the cases are kept in " + folder)
    else:
        shutil.rmtree(folder)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
