#!/usr/bin/python3
"""Plots and tabulates tools/bench/calls.mjs's results.json.

    /usr/bin/python3 tools/bench/plot.py DIR

Writes DIR/calls-setup.png, DIR/calls-latency.png, DIR/calls-concurrency.png (whichever parts
were measured) and DIR/summary.md, the tables docs/benchmarks.md quotes. Needs Debian's
python3-matplotlib (the machine's other Python has no matplotlib).
"""
import json
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402

SETUP_ROWS = [
    ("element_element", "element → element, our server (defaults)"),
    ("element_element_low", "element → element, our server (low-latency settings)"),
    ("element_element_pacing20", "element → element, our server (ice-pacing=20, libnice's)"),
    ("element_element_faststart", "element → element, defaults + jitter-buffer faststart (experiment)"),
    ("floor", "floor: two webrtcbins, SDP in-process (defaults)"),
    ("floor_low", "floor: two webrtcbins (low-latency settings)"),
    ("floor_faststart", "floor: two webrtcbins, defaults + faststart"),
    ("floor_fresh", "floor: defaults + faststart, video from a keyframe made once connected"),
    ("floor_faststart_pacing5", "floor: defaults + faststart, ICE paced at 5 ms (the element's)"),
    ("browser_browser_tutorial", "browser → browser, tutorial's server.js"),
    ("browser_browser_ours", "browser → browser, our server"),
    ("element_browser", "element → browser, our server"),
    ("browser_element", "browser → element, our server"),
]


def pct(values, p):
    """The p-th percentile by linear interpolation (numpy's default)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def setup(results, out, lines):
    rows = [(k, label) for k, label in SETUP_ROWS if k in results]
    if not rows:
        return
    lines += [
        "| call | calls | both ways: median | p90 | caller's first frame: median | p90 | "
        "callee's: median | p90 | first call in the process |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, label in rows:
        r = results[key]
        both = [s["both_ms"] for s in r["samples"]]
        caller = [s["caller_ms"] for s in r["samples"]]
        callee = [s["callee_ms"] for s in r["samples"]]
        lines.append(
            f"| {label} | {len(both)} | {statistics.median(both):.0f} ms | {pct(both, 90):.0f} ms | "
            f"{statistics.median(caller):.0f} ms | {pct(caller, 90):.0f} ms | "
            f"{statistics.median(callee):.0f} ms | {pct(callee, 90):.0f} ms | "
            f"{r['warmup']['both_ms']:.0f} ms |")
    logins = [(label, r["login_ms"]) for key, label in rows
              if (r := results[key]).get("login_ms")]
    for label, login in logins:
        times = ", ".join(f"{who} {ms:.0f} ms" for who, ms in login.items() if ms is not None)
        lines.append(f"\n{label}: from PLAYING to logged in: {times}")
    fig, ax = plt.subplots(figsize=(10, 5.5))
    data = [[s["both_ms"] for s in results[k]["samples"]] for k, _ in rows]
    ax.boxplot(data, vert=False, labels=[label for _, label in rows], whis=(10, 90),
               showfliers=True)
    for i, d in enumerate(data, start=1):
        ax.scatter(d, [i] * len(d), s=8, alpha=0.5, color="tab:blue", zorder=3)
    ax.invert_yaxis()
    ax.set_xlabel("call or click → first decoded frame on both sides (ms); whiskers p10-p90")
    ax.set_title("Call set-up, 640x480 VP8, loopback (one run)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "calls-setup.png", dpi=110)
    plt.close(fig)


LATENCY_ROWS = [
    ("element_default", "element → element, defaults (vp8enc deadline=1, latency=200)"),
    ("element_low_0", "element, lag-in-frames=0, latency=0"),
    ("element_low_5", "element, lag-in-frames=0, latency=5"),
    ("element_low_20", "element, lag-in-frames=0, latency=20"),
    ("element_fast_5", "element, lag-in-frames=0 cpu-used=8, latency=5"),
    ("element_fast_20", "element, lag-in-frames=0 cpu-used=8, latency=20"),
    ("element_low_20_pd0", "element, lag-in-frames=0, latency=20, sinks' processing-deadline=0"),
    ("element_low_50_pd0", "element, lag-in-frames=0, latency=50, sinks' processing-deadline=0"),
    ("element_low_20_pd0_nosync",
     "element, lag-in-frames=0, latency=20, lip-sync=false, sinks' processing-deadline=0"),
    ("browser_browser", "browser → browser (canvas source), tutorial's server.js"),
]


def round_summary(r):
    # A round that read no frame has no median (JSON drops the undefined); runs before the
    # per-round count have no "unreadable" in their rounds.
    text = f"{r['median']:.0f}" if "median" in r else "none read"
    if r.get("unreadable"):
        text += f" ({r['unreadable']} unreadable)"
    return text


def latency(results, out, lines):
    rows = [(k, label) for k, label in LATENCY_ROWS if k in results]
    if not rows:
        return
    lines += [
        "| path and settings | frames read | unreadable | median | p90 | p99 | each round's median |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, label in rows:
        r = results[key]
        s = r["samples"]
        rounds = ", ".join(round_summary(x) for x in r.get("rounds", []))
        lines.append(f"| {label} | {len(s)} | {r['unreadable']} | {statistics.median(s):.1f} ms | "
                     f"{pct(s, 90):.1f} ms | {pct(s, 99):.1f} ms | {rounds or '-'} |")
    # What rtpbin's lip-sync delayed the received video by in each round, both sides (element
    # rows of runs that asked, since ts-offsets came to bench-peer).
    offsets = []
    for key, label in rows:
        per_round = []
        for x in results[key].get("rounds", []):
            sides = x.get("tsOffsets")
            if not sides:
                continue
            video = [o["ms"] for side in ("alice", "bob") for o in sides.get(side, [])
                     if o["media"] == "video"]
            per_round.append("/".join(f"{v:.0f}" for v in video) or "-")
        if per_round:
            offsets.append(f"| {label} | {', '.join(per_round)} |")
    if offsets:
        lines += ["", "| path and settings | video's lip-sync delay per round, alice/bob (ms) |",
                  "| --- | --- |"] + offsets
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for key, label in rows:
        s = sorted(results[key]["samples"])
        ax.plot(s, [(i + 1) / len(s) for i in range(len(s))], label=label)
    ax.axvline(60, color="grey", linestyle="--", linewidth=1)
    ax.text(61, 0.03, "60 ms target", color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("glass-to-glass latency (ms, log scale)")
    ax.set_ylabel("fraction of frames")
    ax.set_title("Glass-to-glass, 640x480 at 30 fps, VP8, loopback")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "calls-latency.png", dpi=110)
    plt.close(fig)


def cost(results, out, lines):
    per_call = results.get("per_call", [])
    if per_call:
        lines += [
            "| picture | codec, encoder | CPU per call (% of one core, both ends) | "
            "memory per call (RSS over baseline) | fps each way |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in per_call:
            enc = r["codec"].upper().replace("H264", "H.264") + f" {r['bitrate_kbps']} kbit/s"
            if r.get("encoder_options"):
                enc += f", {r['encoder_options']}"
            fps = " / ".join(f"{x:.1f}" for x in r["fps"][0])
            lines.append(f"| {r['width']}x{r['height']} | {enc} | {r['cpu_percent'] / r['calls']:.0f} % | "
                         f"{(r['rss_mb'] - r['baseline_rss_mb']) / r['calls']:.0f} MB | {fps} |")
    conc = [r for r in results.get("concurrency", []) if "error" not in r]
    if conc:
        lines += [
            "",
            "| concurrent calls | CPU (% of one core) | RSS | slowest call, fps (worst way) | "
            "slowest second of any call | held >= 29 fps? |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in sorted(conc, key=lambda r: r["calls"]):
            lines.append(f"| {r['calls']} | {r['cpu_percent']:.0f} % | {r['rss_mb']:.0f} MB | "
                         f"{r['min_fps']:.1f} | {r['min_second_fps']:.0f} | "
                         f"{'yes' if r['min_fps'] >= 29 else 'no'} |")
        conc = sorted(conc, key=lambda r: r["calls"])
        fig, ax = plt.subplots(figsize=(8, 4.5))
        n = [r["calls"] for r in conc]
        ax.plot(n, [r["min_fps"] for r in conc], "o-", label="slowest call, worse direction (fps)")
        ax.axhline(29, color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("concurrent element-to-element calls (640x480 VP8, one process)")
        ax.set_ylabel("fps over the window")
        ax.set_ylim(0, 32)
        ax2 = ax.twinx()
        ax2.plot(n, [r["cpu_percent"] for r in conc], "s--", color="tab:red", label="CPU (%)")
        ax2.set_ylabel("CPU, % of one core (2 cores = 200 %)")
        ax2.set_ylim(0, 210)
        ax.legend(loc="lower left", fontsize=8)
        ax2.legend(loc="lower right", fontsize=8)
        ax.set_xticks(n)
        ax.set_title("Concurrent calls on two cores")
        fig.tight_layout()
        fig.savefig(out / "calls-concurrency.png", dpi=110)
        plt.close(fig)


def main():
    out = Path(sys.argv[1])
    results = json.loads((out / "results.json").read_text())
    lines = [f"Machine: {results['machine']}", ""]
    if "setup" in results:
        setup(results["setup"], out, lines)
        lines.append("")
    if "latency" in results:
        latency(results["latency"], out, lines)
        lines.append("")
    if "cost" in results:
        cost(results["cost"], out, lines)
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
