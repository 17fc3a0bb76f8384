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
    """Server CPU for the same relay traffic against the connections it holds."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for kind in COLOURS:
        mine = [s for s in steps if s["server"] == kind]
        if mine:
            ax.plot([s["clients"] for s in mine], [s["server_cpu_percent"] for s in mine], "o-",
                    color=COLOURS[kind], label=LABELS[kind])
    rate = steps[0]["relay_rate"] if steps else 0
    ax.set_title(f"Server CPU relaying {rate} candidates a second among 200 clients,\n"
                 "with the other clients connected and idle")
    ax.set_xlabel("clients connected")
    ax.set_ylabel("server CPU (% of one core)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def soak(result, path):
    samples = result["samples"]
    minutes = [s["minutes"] for s in samples]
    fig, (rss, setups) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    rss.plot(minutes, [s["rss_kib"] / 1024 for s in samples], color=COLOURS["ours"])
    rss.set_ylabel("server RSS (MiB)")
    rss.set_ylim(bottom=0)
    rss.set_title(f"Soak: {result['clients']} clients, {result['setups_per_minute']} set-ups a "
                  f"minute, {result['relay_rate']} candidates a second")
    rss.grid(True, alpha=0.3)
    setups.plot(minutes, [s["setups_completed"] for s in samples], color="tab:green")
    setups.set_ylabel("set-ups completed")
    setups.set_xlabel("minutes of traffic")
    setups.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
