"""PNG plots of the results, with Debian's python3-matplotlib; without it
the figures are still in results.json and summary.md."""

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # only the benchmarks need it: not installed by tools/setup
    plt = None

COLOURS = {"ours": "tab:blue", "tutorial": "tab:orange"}
LABELS = {"ours": "webrtccall-signaling", "tutorial": "tutorial server.js"}


def available():
    return plt is not None


def relay_rate(results, path):
    """Latency and CPU against offered relay rate, one line per server."""
    fig, (lat, cpu) = plt.subplots(2, 1, figsize=(8, 8), sharex=True)
    for run in results:
        kind = run["server"]
        steps = run["steps"]
        rates = [s["offered_rate"] / 1000 for s in steps]
        colour = COLOURS[kind]
        lat.plot(rates, [s["p99_ms"] for s in steps], "o-", color=colour,
                 label=f"{LABELS[kind]} p99")
        lat.plot(rates, [s["p50_ms"] for s in steps], "o--", color=colour, alpha=0.6,
                 label=f"{LABELS[kind]} p50")
        if run["max_sustained_rate"]:
            lat.axvline(run["max_sustained_rate"] / 1000, color=colour, linestyle=":")
        cpu.plot(rates, [s["server_cpu_percent"] for s in steps], "o-", color=colour,
                 label=f"{LABELS[kind]} (server)")
        # On a shared machine a saturated server is not always on a CPU: it is
        # runnable, on one or waiting for one, all the time.
        cpu.plot(rates, [(s["server_cpu_percent"] or 0) + (s.get("server_wait_percent") or 0)
                         for s in steps], "^:", color=colour, alpha=0.6,
                 label=f"{LABELS[kind]} (server) on a CPU or waiting for one")
        cpu.plot(rates, [s["generator_cpu_percent"] for s in steps], "s--", color=colour,
                 alpha=0.6, label=f"load generator, against {LABELS[kind]}")
    lat.set_yscale("log")
    lat.set_ylabel("relay latency (ms)")
    lat.axhline(50, color="grey", linewidth=0.8)
    lat.set_title("Relayed candidates: latency and CPU by offered rate\n"
                  "(dotted: highest sustained rate; grey: the 50 ms p99 bound)")
    lat.legend(fontsize="small")
    lat.grid(True, which="both", alpha=0.3)
    cpu.set_xlabel("offered rate (thousand candidates a second)")
    cpu.set_ylabel("CPU (% of one core)")
    cpu.legend(fontsize="small")
    cpu.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def scaling(steps, path):
    """Server CPU and relay latency for the same traffic against the connections it holds."""
    fig, (cpu, lat) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for kind in COLOURS:
        mine = [s for s in steps if s["server"] == kind]
        if not mine:
            continue
        clients = [s["clients"] for s in mine]
        cpu.plot(clients, [s["server_cpu_percent"] for s in mine], "o-", color=COLOURS[kind],
                 label=LABELS[kind])
        lat.plot(clients, [s["p99_ms"] for s in mine], "o-", color=COLOURS[kind],
                 label=f"{LABELS[kind]} p99")
        lat.plot(clients, [s["p50_ms"] for s in mine], "o--", color=COLOURS[kind], alpha=0.6,
                 label=f"{LABELS[kind]} p50")
    rate = steps[0]["relay_rate"] if steps else 0
    cpu.set_title(f"Relaying {rate} candidates a second among 200 clients,\n"
                  "with the other clients connected and idle")
    cpu.set_ylabel("server CPU (% of one core)")
    cpu.set_ylim(0, 105)
    cpu.grid(True, alpha=0.3)
    cpu.legend()
    lat.set_yscale("log")
    lat.set_ylabel("relay latency (ms)")
    lat.set_xlabel("clients connected")
    lat.grid(True, which="both", alpha=0.3)
    lat.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def soak(result, path):
    samples = result["samples"]
    minutes = [s["minutes"] for s in samples]
    fig, (rss, setups) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    rss_mib = [s["rss_kib"] / 1024 for s in samples]
    rss.plot(minutes, rss_mib, color=COLOURS["ours"], linewidth=2)
    rss.set_ylabel("server RSS (MiB)")
    rss.set_ylim(0, max(rss_mib, default=1) * 1.2)  # from zero: growth shows as what it is
    title = f"Soak: {result['clients']} clients, {result['setups_per_minute']} set-ups a minute"
    if result["relay_rate"]:
        title += f", {result['relay_rate']} candidates a second"
    rss.set_title(title)
    rss.grid(True, alpha=0.3)
    setups.plot(minutes, [s["setups_completed"] for s in samples], color="tab:green",
                label="completed")
    setups.plot(minutes, [m * result["setups_per_minute"] for m in minutes], ":", color="grey",
                label="due")
    setups.legend()
    setups.set_ylabel("set-ups completed")
    setups.set_xlabel("minutes of traffic")
    setups.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
