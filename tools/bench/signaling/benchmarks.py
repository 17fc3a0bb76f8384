"""The signaling benchmarks of docs/benchmarks.md ("Signaling"). Each takes
the build directory and its parameters and returns a dict of results; each
measurement runs against a server process of its own."""

import os
import time

import loadgen
from servers import Server

# A step of relay traffic is sustained when everything sent arrived (no loss,
# no error), the server delivered at least this share of the offered rate
# while it was offered, and p99 latency stayed under this bound: past its
# capacity a server queues, and latency grows by the second.
DELIVERED_SHARE = 0.97
P99_LIMIT_MS = 50
# Candidates a second per relay client: under the server's per-connection
# limit (50 a second), with room.
PER_CLIENT_RATE = 40
# Offered rates tried in turn until one is not sustained; then halved between.
RATES = [2000, 5000, 10000, 20000, 30000, 40000, 50000, 60000, 80000, 100000, 125000, 150000]


def conditions():
    """What else the machine was doing: its 1-minute load average, and the share
    of the last 10 s in which some task waited for a CPU (Linux's pressure
    stall information, 0 to 100; None where the kernel has none)."""
    load = round(os.getloadavg()[0], 2)
    try:
        with open("/proc/pressure/cpu") as f:
            some = f.readline().split()  # some avg10=... avg60=... avg300=... total=...
        return {"load": load, "cpu_pressure": float(some[1].split("=")[1])}
    except OSError:
        return {"load": load, "cpu_pressure": None}


def relay_clients_for(rate):
    clients = max(2000, -(-int(rate) // PER_CLIENT_RATE))
    return clients + clients % 2


def relay_step(build, kind, rate, seconds, clients=None):
    clients = clients or relay_clients_for(rate)
    load_before = conditions()
    with Server(kind, build) as server:
        report = loadgen.run(build, server, relay_clients=clients, relay_rate=rate,
                             duration=seconds, warmup=min(3, seconds / 5))
        alive = server.running()
    relay = report["relay"]
    latency = relay["latency_us"]
    step = {
        "server": kind,
        "offered_rate": rate,
        "clients": clients,
        "delivered_rate": relay["window_receive_rate"],
        "sent_rate": relay["window_send_rate"],
        "lost": relay["lost"],
        "errors": report["errors"]["total"],
        "error_kinds": report["errors"]["by_kind"],
        "p50_ms": latency["p50"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "p999_ms": latency["p999"] / 1000,
        "max_ms": latency["max"] / 1000,
        "server_cpu_percent": report["server_process"].get("cpu_window_percent"),
        "generator_cpu_percent": report["generator"].get("cpu_window_percent"),
        # Ready to run but kept off the CPU by other processes (this machine is shared).
        "server_wait_percent": report["server_process"].get("runqueue_wait_window_percent"),
        "generator_wait_percent": report["generator"].get("runqueue_wait_window_percent"),
        "server_survived": alive,
        "conditions": [load_before, conditions()],
        "command": report["command"],
    }
    step["sustained"] = (alive and step["errors"] == 0 and step["lost"] == 0 and
                         step["delivered_rate"] >= DELIVERED_SHARE * rate and
                         step["p99_ms"] < P99_LIMIT_MS)
    # The generator kept to its own schedule: the step measured the server.
    step["generator_kept_up"] = step["sent_rate"] >= 0.99 * rate
    return step


def max_relay_rate(build, kind, seconds, log):
    """Steps the offered rate up until it is not sustained, then bisects."""
    steps = []
    good, bad = None, None
    for rate in RATES:
        step = relay_step(build, kind, rate, seconds)
        steps.append(step)
        log(describe_step(step))
        if step["sustained"]:
            good = rate
        else:
            bad = rate
            break
    for _ in range(3):
        if good is None or bad is None or bad - good <= max(1000, good // 10):
            break
        rate = (good + bad) // 2 // 500 * 500
        step = relay_step(build, kind, rate, seconds)
        steps.append(step)
        log(describe_step(step))
        if step["sustained"]:
            good = rate
        else:
            bad = rate
    return {"server": kind, "max_sustained_rate": good, "first_unsustained_rate": bad,
            "step_seconds": seconds, "steps": sorted(steps, key=lambda s: s["offered_rate"])}


def describe_step(step):
    return (f"{step['server']:8} {step['offered_rate']:>7}/s offered, "
            f"{step['delivered_rate']:>8.0f}/s delivered, p50 {step['p50_ms']:.2f} ms, "
            f"p99 {step['p99_ms']:.2f} ms, lost {step['lost']}, errors {step['errors']}, "
            f"server CPU {step['server_cpu_percent']}% (waited {step['server_wait_percent']}%), "
            f"generator CPU {step['generator_cpu_percent']}%: "
            f"{'sustained' if step['sustained'] else 'NOT sustained'}")


def latency(build, kind, rate, clients, seconds, log):
    step = relay_step(build, kind, rate, seconds, clients)
    log("latency: " + describe_step(step))
    return step


def memory(build, kind, clients, settle, log):
    load_before = conditions()
    with Server(kind, build) as server:
        time.sleep(2)  # the process settles after start-up (node compiles and collects)
        report = loadgen.run(build, server, clients=clients, duration=0, warmup=0,
                             settle=settle)
        alive = server.running()
    process = report["server_process"]
    result = {
        "server": kind,
        "clients": clients,
        "logged_in": report["clients"]["logged_in"],
        "errors": report["errors"]["total"],
        "connect_seconds": report["clients"]["connect_seconds"],
        "rss_before_kib": process["rss_before_kib"],
        "rss_loaded_kib": process["rss_loaded_kib"],
        "kib_per_client": process.get("rss_per_client_kib"),
        "settle_seconds": settle,
        "server_survived": alive,
        "conditions": [load_before, conditions()],
        "command": report["command"],
    }
    log(f"memory: {kind}: {result['logged_in']} idle clients, RSS {result['rss_before_kib']} -> "
        f"{result['rss_loaded_kib']} KiB, {result['kib_per_client']} KiB a client "
        f"(connected in {result['connect_seconds']:.1f} s), errors {result['errors']}")
    return result


def soak(build, clients, setups_per_minute, relay_clients, relay_rate, minutes, log):
    load_before = conditions()
    with Server("ours", build) as server:
        report = loadgen.run(build, server, clients=clients, relay_clients=relay_clients,
                             relay_rate=relay_rate, setup_rate=setups_per_minute / 60,
                             duration=minutes * 60, warmup=min(60, minutes * 6), settle=5,
                             sample_interval=5)
        alive = server.running()
    traffic = report["traffic"]
    samples = [s for s in report["samples"]
               if traffic["start"] <= s["t"] <= traffic["end"] and s["server_rss_kib"] > 0]
    # Growth: a least-squares line through the RSS samples after the first
    # tenth of the traffic (allocator pools and buffers reach their working size).
    skip = traffic["start"] + (traffic["end"] - traffic["start"]) / 10
    fit = [(s["t"], s["server_rss_kib"]) for s in samples if s["t"] >= skip]
    slope = least_squares_slope(fit) * 60 if len(fit) >= 3 else None
    setups = report["setups"]
    result = {
        "clients": report["clients"]["logged_in"],
        "minutes": minutes,
        "setups_per_minute": setups_per_minute,
        "relay_clients": relay_clients,
        "relay_rate": relay_rate,
        "setups_due": setups["due"],
        "setups_completed": setups["completed"],
        "setup_p99_ms": setups["duration_us"]["p99"] / 1000,
        "relay_lost": report["relay"]["lost"],
        "relay_p99_ms": report["relay"]["latency_us"]["p99"] / 1000,
        "errors": report["errors"]["total"],
        "error_kinds": report["errors"]["by_kind"],
        "rss_first_kib": fit[0][1] if fit else None,
        "rss_last_kib": fit[-1][1] if fit else None,
        "rss_max_kib": max((s["server_rss_kib"] for s in samples), default=None),
        "rss_slope_kib_per_minute": round(slope, 2) if slope is not None else None,
        "server_cpu_percent": report["server_process"].get("cpu_window_percent"),
        "generator_cpu_percent": report["generator"].get("cpu_window_percent"),
        # Ready to run but kept off the CPU by other processes (this machine is shared).
        "server_wait_percent": report["server_process"].get("runqueue_wait_window_percent"),
        "generator_wait_percent": report["generator"].get("runqueue_wait_window_percent"),
        "server_survived": alive,
        "samples": [{"minutes": round((s["t"] - traffic["start"]) / 60, 3),
                     "rss_kib": s["server_rss_kib"], "setups_completed": s["setups_completed"]}
                    for s in samples],
        "conditions": [load_before, conditions()],
        "command": report["command"],
    }
    log(f"soak: {result['clients']} clients, {minutes} min: {result['setups_completed']}/"
        f"{result['setups_due']} set-ups, errors {result['errors']}, RSS "
        f"{result['rss_first_kib']} -> {result['rss_last_kib']} KiB (max {result['rss_max_kib']}), "
        f"slope {result['rss_slope_kib_per_minute']} KiB/min")
    return result


def least_squares_slope(points):
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxy / sxx if sxx else 0.0


def scaling(build, kind, rate, relay_clients, totals, seconds, log):
    """The same relay traffic with more and more idle clients beside it: what
    each connection costs the server while it does nothing."""
    steps = []
    for total in totals:
        load_before = conditions()
        with Server(kind, build) as server:
            report = loadgen.run(build, server, clients=total, relay_clients=relay_clients,
                                 relay_rate=rate, duration=seconds, warmup=min(3, seconds / 5))
            alive = server.running()
        latency = report["relay"]["latency_us"]
        step = {
            "server": kind, "clients": report["clients"]["logged_in"], "relay_rate": rate,
            "relay_clients": relay_clients, "lost": report["relay"]["lost"],
            "errors": report["errors"]["total"],
            "p50_ms": latency["p50"] / 1000, "p99_ms": latency["p99"] / 1000,
            "server_cpu_percent": report["server_process"].get("cpu_window_percent"),
            "generator_cpu_percent": report["generator"].get("cpu_window_percent"),
            "server_wait_percent": report["server_process"].get("runqueue_wait_window_percent"),
            "connect_seconds": report["clients"]["connect_seconds"],
            "server_survived": alive, "conditions": [load_before, conditions()],
            "command": report["command"],
        }
        steps.append(step)
        log(f"scaling: {kind:8} {step['clients']:>6} clients, {rate}/s relayed: server CPU "
            f"{step['server_cpu_percent']}%, p50 {step['p50_ms']:.2f} ms, p99 "
            f"{step['p99_ms']:.2f} ms, lost {step['lost']}, errors {step['errors']}")
    return steps
