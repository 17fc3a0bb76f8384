"""The servers under test, each a fresh process per measurement: ours
(webrtccall-signaling) and the tutorial's server.js, run as the interop tests
run it (node, NODE_PATH at our node_modules, the port preload). Both print the
URL they listen on as their first line of standard output."""

import os
import resource
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TUTORIAL_JS = REPO.parent / "shared" / "seed" / "server.js"
PRELOAD = REPO / "tests" / "interop" / "tutorial_port.cjs"


def raise_open_files():
    """Children inherit the hard limit as their soft one: 10,000 clients need
    10,000 descriptors on each side (ours raises its own; node does not)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """A server process on 127.0.0.1 and a free port; stop() ends it."""

    def __init__(self, kind, build, extra_args=()):
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"signaling-bench-{kind}-"))
        stdout = open(self.dir / "stdout", "wb")
        stderr = open(self.dir / "stderr", "wb")
        env = dict(os.environ)
        if kind == "ours":
            argv = [str(Path(build) / "signaling" / "webrtccall-signaling"),
                    "--host", "127.0.0.1", "--port", "0", *extra_args]
        elif kind == "tutorial":
            # Its log of every message goes to a file, as in the tests: part of its cost.
            env["NODE_PATH"] = str(REPO / "node_modules")
            env["TUTORIAL_PORT"] = "0"
            argv = ["node", "-r", str(PRELOAD), str(TUTORIAL_JS), *extra_args]
        else:
            raise ValueError(kind)
        self.process = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env,
                                        cwd=self.dir, preexec_fn=raise_open_files)
        self.url = self._read_url()

    def _read_url(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = (self.dir / "stdout").read_bytes()
            if b"\n" in text:
                return text.split(b"\n", 1)[0].decode()
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {self.log()}")
            time.sleep(0.05)  # polling a file: there is no event to wait on
        raise RuntimeError(f"{self.kind} server printed no URL: {self.log()}")

    @property
    def pid(self):
        return self.process.pid

    def rss_kib(self):
        for line in open(f"/proc/{self.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None

    def running(self):
        return self.process.poll() is None

    def log(self):
        return (self.dir / "stderr").read_text(errors="replace")[-4000:]

    def stop(self):
        """Stops it; returns its exit status (a crash shows as negative)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for name in ("stdout", "stderr"):
            (self.dir / name).unlink(missing_ok=True)
        self.dir.rmdir()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
