#!/usr/bin/python3
"""report.py - turn test/bench/run.sh's raw.csv into results.md and chart.png.

Usage: report.py OUTDIR

Reads OUTDIR/raw.csv (one line per measurement) and OUTDIR/meta.txt, takes
the median of the repetitions of each (statement, protocol, clients,
configuration) and writes OUTDIR/results.md, OUTDIR/summary.csv,
OUTDIR/chart.dat, OUTDIR/chart.gp and, with gnuplot, OUTDIR/chart.png.
"""

import csv
import math
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

CONFIGS = ["plain", "hc_off", "hc_on", "hc_noreuse", "hc_miss", "hc_l2", "pgpool_cache", "pgpool_off"]
CONFIG_TITLE = {
    "plain": "plain PG",
    "hc_off": "hc disabled",
    "hc_on": "hc on (L1 hit)",
    "hc_noreuse": "hc L1 hit, plans not kept",
    "hc_miss": "hc miss",
    "hc_l2": "hc L2 hit (standby)",
    "redis_get": "Redis GET",
    "pgpool_cache": "pgpool cache",
    "pgpool_off": "pgpool no cache",
}
STATEMENTS = ["select1", "pk", "join", "agg", "mixed", "mixed_ro", "tpcb"]
STATEMENT_TITLE = {
    "select1": "SELECT 1",
    "pk": "PK lookup (hot 1k)",
    "join": "100-row join + sort",
    "agg": "GROUP BY aggregate",
    "mixed": "mixed 90/10 Zipf",
    "mixed_ro": "mixed read-only Zipf",
    "tpcb": "TPC-B",
}
SHORT = {"select1": "SELECT 1", "pk": "PK", "join": "join", "agg": "agg",
         "mixed": "mixed", "mixed_ro": "mixed r/o", "tpcb": "TPC-B"}


def fmt_int(x):
    if x is None:
        return ""
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return ""
    r = a / b
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 0.1:
        return f"{r:.2f}×"
    return f"{r:.2g}×"


def main():
    out = Path(sys.argv[1])
    meta = {}
    for line in (out / "meta.txt").read_text().splitlines():
        k, _, v = line.partition("=")
        meta[k] = v

    ncpu = int(meta.get("ncpu", "1"))
    runs = defaultdict(list)
    with open(out / "raw.csv") as f:
        for r in csv.DictReader(f):
            runs[(r["statement"], r["protocol"], int(r["clients"]), r["config"])].append(r)

    med = {}
    for key, rs in runs.items():
        tps = [float(r["tps"]) for r in rs]
        hits = sum(int(r["cache_hits"]) for r in rs)
        lookups = sum(int(r["cache_lookups"]) for r in rs)
        med[key] = {
            "tps": statistics.median(tps),
            "lat": statistics.median(float(r["latency_ms"]) for r in rs),
            "cpu": statistics.median(int(r["cpu_us_per_txn"]) for r in rs),
            "pool_cpu": statistics.median(
                int(r["pgpool_cpu_us"]) / int(r["transactions"]) for r in rs),
            "spread": (max(tps) - min(tps)) / statistics.median(tps) if len(tps) > 1 else 0.0,
            "hit": 100.0 * hits / lookups if lookups else None,
            "other": statistics.median(
                100.0 * int(r["other_cpu_us"]) / (int(r["wall_us"]) * ncpu) for r in rs),
            "n": len(rs),
        }

    cells = sorted({k[:3] for k in med},
                   key=lambda c: (STATEMENTS.index(c[0]) if c[0] in STATEMENTS else 99,
                                  c[1] != "simple", c[2]))

    def get(cell, cfg, field):
        m = med.get(cell + (cfg,))
        return None if m is None else m[field]

    md = []
    w = md.append
    w("# hybridcache benchmark results")
    w("")
    w(f"- Date: {meta.get('date')}; run time {int(meta.get('runtime_s', 0)) // 60} min "
      f"{int(meta.get('runtime_s', 0)) % 60} s")
    w(f"- Machine: {meta.get('host')} ({meta.get('cpu_model')})")
    w(f"- {meta.get('postgresql')}; {meta.get('pgpool')}; hybridcache {meta.get('hybridcache')}")
    w(f"- Each cell: median of {meta.get('reps')} repetitions of {meta.get('seconds')} s, "
      f"configurations alternating (rotated order each repetition); the cache "
      f"configurations had a {meta.get('warmup')} s warm-up first. pgbench scale "
      f"{meta.get('scale')}, client and server on the same machine.")
    if meta.get("pin_cpu"):
        w(f"- 1-client cells: every server process and pgbench pinned to CPU "
          f"{meta.get('pin_cpu')} (a round trip is a switch on one core, not a "
          f"wake-up of the other); 4-client cells use all CPUs.")
    elif "pin_cpu" in meta:
        w("- 1-client cells unpinned (BENCH_PIN_CPU empty): their round trips "
          "wake the other CPU.")
    w(f"- Both clusters: same data (one copied from the other), shared_buffers "
      f"{meta.get('shared_buffers')}, prewarmed, synchronous_commit off, autovacuum off, "
      f"jit off, no parallel query.")
    w(f"- hybridcache cluster: {meta.get('hc_settings')} (min_exec_time 0 stores "
      f"even the cheapest results, so that PK lookups are cached).")
    if meta.get("quick") == "1":
        w("- **QUICK mode**: smoke test, single short repetition; numbers are rough.")
    w("")
    w("Cells are **tps / server CPU µs per transaction**. Server CPU is the user+system "
      "time of the PostgreSQL server processes (postmaster and all its children), plus "
      "the pgpool processes for the pgpool columns, divided by the transactions. "
      "A transaction is one statement except for TPC-B (7 statements).")
    w("")
    head = ["statement", "proto", "c"] + [CONFIG_TITLE[c] for c in CONFIGS] + [
        "hc hit %", "L2 hit %", "pgpool hit %",
        "hc on ÷ plain tps", "hc on ÷ plain CPU/q",
        "disabled ÷ plain tps", "disabled ÷ plain CPU/q",
        "hc on ÷ pgpool cache CPU/q", "hc on ÷ pgpool cache tps"]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * 3 + "---:|" * (len(head) - 3))
    for cell in cells:
        row = [STATEMENT_TITLE.get(cell[0], cell[0]), cell[1], str(cell[2])]
        for cfg in CONFIGS:
            t, c = get(cell, cfg, "tps"), get(cell, cfg, "cpu")
            row.append("" if t is None else f"{fmt_int(t)} / {c:,}")
        for cfg in ("hc_on", "hc_l2", "pgpool_cache"):
            h = get(cell, cfg, "hit")
            row.append("" if h is None else f"{h:.1f}")
        row += [
            fmt_ratio(get(cell, "hc_on", "tps"), get(cell, "plain", "tps")),
            fmt_ratio(get(cell, "hc_on", "cpu"), get(cell, "plain", "cpu")),
            fmt_ratio(get(cell, "hc_off", "tps"), get(cell, "plain", "tps")),
            fmt_ratio(get(cell, "hc_off", "cpu"), get(cell, "plain", "cpu")),
            fmt_ratio(get(cell, "hc_on", "cpu"), get(cell, "pgpool_cache", "cpu")),
            fmt_ratio(get(cell, "hc_on", "tps"), get(cell, "pgpool_cache", "tps")),
        ]
        w("| " + " | ".join(row) + " |")
    w("")
    w("Ratios: tps ratios above 1 and CPU ratios below 1 favour the first-named "
      "configuration. For the mixed workload and TPC-B, \"hc on\" is hybridcache "
      "enabled with whatever hit ratio the workload gets (shown in \"hc hit %\"); for "
      "SELECT 1 it is never a hit (no table, bypass reason `no_relation`). "
      "\"hc hit %\" and \"pgpool hit %\" come from `hybridcache_stats()` and "
      "`SHOW pool_cache` over the measured runs.")
    w("")

    w("## Average latency (ms, median)")
    w("")
    head = ["statement", "proto", "c"] + [CONFIG_TITLE[c] for c in CONFIGS] + [
        "pgpool's share of pgpool-cache CPU µs/q", "hc miss hit %", "max tps spread",
        "max other load"]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * 3 + "---:|" * (len(head) - 3))
    for cell in cells:
        row = [STATEMENT_TITLE.get(cell[0], cell[0]), cell[1], str(cell[2])]
        for cfg in CONFIGS:
            v = get(cell, cfg, "lat")
            row.append("" if v is None else f"{v:.3f}")
        pc = get(cell, "pgpool_cache", "pool_cpu")
        row.append("" if pc is None else f"{pc:,.0f}")
        h = get(cell, "hc_miss", "hit")
        row.append("" if h is None else f"{h:.1f}")
        spreads = [m["spread"] for k, m in med.items() if k[:3] == cell]
        row.append(f"{100 * max(spreads):.0f} %")
        others = [m["other"] for k, m in med.items() if k[:3] == cell]
        row.append(f"{max(others):.0f} %")
        w("| " + " | ".join(row) + " |")
    w("")
    w("\"pgpool's share\" is the part of the pgpool-cache CPU per query spent in pgpool's "
      "own processes (the rest is PostgreSQL). \"hc miss hit %\" checks that the miss "
      "runs really missed. Noise indicators: \"max tps spread\" is the largest "
      "(max − min) / median of tps over the repetitions among the configurations of the "
      "row; \"max other load\" is the largest median share of the machine's CPU used "
      "during a measurement by anything but the measured servers and pgbench (other "
      "users' jobs, the kernel, hypervisor steal).")
    w("")
    l2_table(w, cells, get)
    targets(w, cells, get)
    (out / "results.md").write_text("\n".join(md) + "\n")

    with open(out / "summary.csv", "w", newline="") as f:
        cw = csv.writer(f)
        cw.writerow(["statement", "protocol", "clients", "config", "reps", "tps_median",
                     "latency_ms_median", "cpu_us_per_txn_median", "hit_pct", "tps_spread"])
        for cell in cells:
            for cfg in CONFIGS + ["redis_get"]:
                m = med.get(cell + (cfg,))
                if m:
                    cw.writerow(list(cell) + [cfg, m["n"], f"{m['tps']:.1f}",
                                              f"{m['lat']:.3f}", m["cpu"],
                                              "" if m["hit"] is None else f"{m['hit']:.1f}",
                                              f"{m['spread']:.3f}"])

    chart(out, cells, get)


def l2_table(w, cells, get):
    """L2 hits on the standby against a plain Redis GET of the same size."""
    rows = [c for c in cells if get(c, "hc_l2", "lat") is not None]
    if not rows:
        return
    w("## L2 hits against a Redis GET of the same size")
    w("")
    w("\"L2 hit\" is a statement served from Redis on a standby whose own L1 is off "
      "(`hybridcache.standby_l1 = off`); its CPU includes the Redis server's. "
      "\"Redis GET\" is redis-benchmark reading a value of the size the standby read, "
      "from as many clients over TCP loopback (measured once, with the simple-protocol "
      "rows). The target is an L2 hit within 1.5 × the Redis GET plus an L1 hit.")
    w("")
    head = ["statement", "proto", "c", "L2 hit ms", "Redis GET ms", "L1 hit ms",
            "L2 ÷ (GET + L1)", "L2 ÷ (1.5 × GET + L1)", "L2 hit CPU µs/q",
            "Redis GET CPU µs/q", "L2 hit %"]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * 3 + "---:|" * (len(head) - 3))
    for cell in rows:
        l2 = get(cell, "hc_l2", "lat")
        rg = get(cell[:1] + ("simple",) + cell[2:], "redis_get", "lat")
        l1 = get(cell, "hc_on", "lat")
        rgc = get(cell[:1] + ("simple",) + cell[2:], "redis_get", "cpu")
        h = get(cell, "hc_l2", "hit")
        row = [STATEMENT_TITLE.get(cell[0], cell[0]), cell[1], str(cell[2]),
               f"{l2:.3f}", "" if rg is None else f"{rg:.3f}",
               "" if l1 is None else f"{l1:.3f}",
               fmt_ratio(l2, None if rg is None or l1 is None else rg + l1),
               fmt_ratio(l2, None if rg is None or l1 is None else 1.5 * rg + l1),
               f"{get(cell, 'hc_l2', 'cpu'):,}", "" if rgc is None else f"{rgc:,}",
               "" if h is None else f"{h:.1f}"]
        w("| " + " | ".join(row) + " |")
    w("")


def targets(w, cells, get):
    """The performance targets of the project, checked against the medians."""
    def cell(stmt, proto, c):
        return (stmt, proto, c)

    def ratio(a, b):
        return None if a is None or b is None or b == 0 else a / b

    checks = []

    def add(what, value, goal, higher_is_better=True):
        if value is None:
            return
        ok = value >= goal if higher_is_better else value <= goal
        checks.append((what, value, ("≥ " if higher_is_better else "≤ ") + f"{goal:g}", ok))

    for proto, goal in (("simple", 2000), ("prepared", 4000)):
        add(f"GROUP BY: uncached ÷ L1 hit latency, {proto}, 1 client",
            ratio(get(cell("agg", proto, 1), "plain", "lat"),
                  get(cell("agg", proto, 1), "hc_on", "lat")), goal)
    for stmt in ("join", "agg"):
        for c in (1, 4):
            add(f"{stmt}: CPU per hit ÷ pgpool's hit, simple, {c} client{'s' * (c > 1)}",
                ratio(get(cell(stmt, "simple", c), "hc_on", "cpu"),
                      get(cell(stmt, "simple", c), "pgpool_cache", "cpu")), 1.5, False)
            best = [get(cell(stmt, p, c), "pgpool_cache", "cpu") for p in ("simple", "prepared")]
            best = [b for b in best if b]
            add(f"{stmt}: CPU per hit ÷ pgpool's best hit, prepared, {c} client{'s' * (c > 1)}",
                ratio(get(cell(stmt, "prepared", c), "hc_on", "cpu"),
                      min(best) if best else None), 1.0, False)
    for stmt in ("select1", "pk"):
        for proto in ("simple", "prepared"):
            for c in (1, 4):
                for cfg in ("hc_on", "hc_off"):
                    add(f"{SHORT[stmt]}: tps {CONFIG_TITLE[cfg]} ÷ plain, {proto}, {c} client{'s' * (c > 1)}",
                        ratio(get(cell(stmt, proto, c), cfg, "tps"),
                              get(cell(stmt, proto, c), "plain", "tps")), 0.95)
    for proto in ("simple", "prepared"):
        for c in (1, 4):
            m = cell("mixed", proto, c)
            add(f"mixed: tps ÷ pgpool cache, {proto}, {c} client{'s' * (c > 1)}",
                ratio(get(m, "hc_on", "tps"), get(m, "pgpool_cache", "tps")), 1.5)
            add(f"mixed: tps ÷ plain, {proto}, {c} client{'s' * (c > 1)}",
                ratio(get(m, "hc_on", "tps"), get(m, "plain", "tps")), 3.0)
    for c in (1, 4):
        add(f"TPC-B: tps ÷ plain, simple, {c} client{'s' * (c > 1)}",
            ratio(get(cell("tpcb", "simple", c), "hc_on", "tps"),
                  get(cell("tpcb", "simple", c), "plain", "tps")), 0.95)
    for stmt in ("pk", "join", "agg"):
        for proto in ("simple", "prepared"):
            for c in (1, 4):
                k = cell(stmt, proto, c)
                rg = get(cell(stmt, "simple", c), "redis_get", "lat")
                l1 = get(k, "hc_on", "lat")
                add(f"{stmt}: L2 hit ÷ (1.5 × Redis GET + L1 hit) latency, {proto}, {c} client{'s' * (c > 1)}",
                    ratio(get(k, "hc_l2", "lat"), None if rg is None or l1 is None else 1.5 * rg + l1),
                    1.0, False)
    for stmt in ("pk", "join", "agg"):
        for proto in ("simple", "prepared"):
            add(f"{stmt}: L1 hit tps, 4 clients ÷ 1 client, {proto}",
                ratio(get(cell(stmt, proto, 4), "hc_on", "tps"),
                      get(cell(stmt, proto, 1), "hc_on", "tps")), 1.8)
    if not checks:
        return
    w("## Targets")
    w("")
    w(f"{sum(ok for *_, ok in checks)} of {len(checks)} met.")
    w("")
    w("| target | measured | goal | met |")
    w("|---|---:|---:|---|")
    for what, value, goal, ok in checks:
        w(f"| {what} | {value:.3g} | {goal} | {'yes' if ok else '**no**'} |")
    w("")
    rows = []
    for stmt in ("pk", "join", "agg"):
        for proto in ("simple", "prepared"):
            hc = ratio(get(cell(stmt, proto, 4), "hc_on", "tps"),
                       get(cell(stmt, proto, 1), "hc_on", "tps"))
            pg = ratio(get(cell(stmt, proto, 4), "plain", "tps"),
                       get(cell(stmt, proto, 1), "plain", "tps"))
            if hc is not None and pg is not None:
                rows.append(f"| {stmt} | {proto} | {hc:.2f} | {pg:.2f} |")
    if rows:
        w("The scaling checks beside the machine's own scaling: plain "
          "PostgreSQL's tps with 4 clients ÷ 1 client for the same statement "
          "(for the aggregate, of a query that is CPU-bound in the server).")
        w("")
        w("| statement | proto | L1 hit 4 ÷ 1 client | plain PG 4 ÷ 1 client |")
        w("|---|---|---:|---:|")
        for r in rows:
            w(r)
        w("")


def chart(out, cells, get):
    clients = sorted({c[2] for c in cells})
    used = [cfg for cfg in CONFIGS if any(get(c, cfg, "tps") for c in cells)]
    ymax = max(get(c, cfg, "tps") or 1 for c in cells for cfg in used)
    for n in clients:
        with open(out / f"chart-c{n}.dat", "w") as f:
            for cell in cells:
                if cell[2] != n:
                    continue
                label = f"{SHORT.get(cell[0], cell[0])} {cell[1]}"
                vals = [get(cell, cfg, "tps") for cfg in used]
                f.write(label + "\t" + "\t".join("?" if v is None else f"{v:.2f}" for v in vals)
                        + "\n")
    colors = {"plain": "#4d4d4d", "hc_off": "#9e9e9e", "hc_on": "#1f77b4",
              "hc_noreuse": "#17becf",
              "hc_miss": "#aec7e8", "hc_l2": "#2ca02c", "pgpool_cache": "#d62728",
              "pgpool_off": "#ff9896"}
    gp = [
        f"set terminal pngcairo size 1700,{450 * len(clients) + 60} font 'DejaVu Sans,11'",
        "set output 'chart.png'",
        "set datafile separator '\\t'",
        "set datafile missing '?'",
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 1.0 border rgb '#303030'",
        "set boxwidth 0.9",
        "set logscale y",
        # headroom above the tallest bar for the key
        f"set yrange [1:{10 ** math.ceil(math.log10(ymax * 4)):g}]",
        "set format y '%.0s%c'",
        "set ylabel 'transactions per second (log scale)'",
        "set grid ytics mytics",
        "set key top right horizontal",
        "set xtics nomirror font ',10'",
        f"set multiplot layout {len(clients)},1 title 'hybridcache vs plain PostgreSQL vs "
        "pgpool-II query cache: tps by statement and protocol (median)'",
    ]
    for i, n in enumerate(clients):
        groups = sum(1 for c in cells if c[2] == n)
        gp.append(f"set xrange [-0.6:{groups - 0.4}]")
        gp.append(f"set title '{n} client{'s' if n != 1 else ''} (pgbench -c {n} -j {n})'")
        gp.append("set key top right horizontal" if i == 0 else "unset key")
        plots = []
        for j, cfg in enumerate(used):
            src = f"'chart-c{n}.dat'" if j == 0 else "''"
            xt = ":xtic(1)" if j == 0 else ""
            plots.append(f"{src} using {j + 2}{xt} title '{CONFIG_TITLE[cfg]}' "
                         f"lc rgb '{colors[cfg]}'")
        gp.append("plot " + ", \\\n     ".join(plots))
    gp.append("unset multiplot")
    (out / "chart.gp").write_text("\n".join(gp) + "\n")
    subprocess.run(["gnuplot", "chart.gp"], cwd=out, check=True)


if __name__ == "__main__":
    main()
