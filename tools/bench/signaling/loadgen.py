"""Runs webrtccall-loadgen against a server and returns its JSON report."""

import json
import subprocess
import tempfile
from pathlib import Path

from servers import raise_open_files


def run(build, server, *, clients=0, relay_clients=0, relay_rate=0, setup_rate=0,
        duration=10, warmup=2, settle=2, sample_interval=1, connect_timeout=900, extra=()):
    # A generous connect timeout: our server takes minutes to accept 10,000
    # clients (docs/benchmarks.md, "Signaling"), and that is measured, not failed.
    argv = [str(Path(build) / "tools" / "loadgen" / "webrtccall-loadgen"),
            "--url", server.url, "--server-pid", str(server.pid), "--quiet",
            "--duration", str(duration), "--warmup", str(warmup), "--settle", str(settle),
            "--sample-interval", str(sample_interval), "--connect-timeout", str(connect_timeout)]
    if clients:
        argv += ["--clients", str(clients)]
    if relay_clients:
        argv += ["--relay-clients", str(relay_clients), "--relay-rate", str(relay_rate)]
    if setup_rate:
        argv += ["--setup-rate", str(setup_rate)]
    argv += list(extra)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        status = subprocess.run(argv + ["--output", out.name], preexec_fn=raise_open_files).returncode
        if status not in (0, 1):
            raise RuntimeError(f"webrtccall-loadgen failed with status {status}: {argv}")
        report = json.load(open(out.name))
    report["command"] = " ".join(argv[1:])
    return report
