"""Statistics and the Markdown/JSON report of a benchmark run."""
from __future__ import annotations

import math
from typing import Any, Sequence

from bench.load import BUCKETS


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0–100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_ms(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95/p99/max in milliseconds, and the count."""
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    return {
        "count": len(values),
        "p50": ms(percentile(values, 50)),
        "p95": ms(percentile(values, 95)),
        "p99": ms(percentile(values, 99)),
        "max": ms(max(values) if values else None),
    }


def _fmt(v: Any) -> str:
    return "–" if v is None else str(v)


def markdown(run: dict[str, Any]) -> str:
    """The human report; ``run`` is what bench writes as JSON."""
    p = run["parameters"]
    lines = [
        f"# Benchmark {run['started']}",
        "",
        f"{p['residents']} concurrent residents, up to {p['conversations']} conversations "
        f"of 5–30 turns (greeting, place, service questions each with follow-ups, sometimes "
        f"a change of place, then thanks or a hand-off; bench/load.py) or "
        f"{p['max_seconds']} s per set-up; between turns a resident reads for "
        f"{p.get('think', 0)} s on average (0 = stress test, no pause); bare `/model/parse`: {p['parse_requests']} "
        f"requests at the same concurrency. Host: {run['host']['cpus']} CPUs, "
        f"{run['host']['mem_gib']} GiB. All on 127.0.0.1.",
        "",
        "| set-up | turns | turns/s | p50 ms | p95 ms | p99 ms | errors | place forgotten "
        "| /model/parse p50 ms | p95 ms | chat ÷ parse (p50) | start s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in run["setups"]:
        if s.get("skipped"):
            lines.append(f"| {s['name']} | skipped: {s['skipped']} |" + " |" * 10)
            continue
        c, parse = s["chat"], s["parse"]
        lines.append(
            f"| {s['name']} | {c['turns']} | {c['turns_per_second']} | {_fmt(c['latency_ms']['p50'])} "
            f"| {_fmt(c['latency_ms']['p95'])} | {_fmt(c['latency_ms']['p99'])} | {c['errors']} "
            f"| {c['place_forgotten']} | {_fmt(parse['latency_ms']['p50'])} "
            f"| {_fmt(parse['latency_ms']['p95'])} | {_fmt(s['overhead_ratio_p50'])} "
            f"| {s['startup_seconds']} |"
        )
    lines += ["", "## Latency per turn (ms, p50 / p95 / p99)", ""]
    phases = run["phases"]
    lines.append("| set-up | " + " | ".join(phases) + " |")
    lines.append("| --- |" + " ---: |" * len(phases))
    for s in run["setups"]:
        if s.get("skipped"):
            continue
        cells = []
        for phase in phases:
            lat = s["chat"]["per_phase_ms"][phase]
            cells.append(f"{_fmt(lat['p50'])} / {_fmt(lat['p95'])} / {_fmt(lat['p99'])}")
        lines.append(f"| {s['name']} | " + " | ".join(cells) + " |")
    lines += ["", "## Latency by turn index in the conversation (ms, p50 / p95 / p99, count)", ""]
    buckets = [f"{lo}-{hi}" for lo, hi in BUCKETS]
    lines.append("| set-up | load | " + " | ".join(f"turns {b}" for b in buckets) + " |")
    lines.append("| --- | --- |" + " ---: |" * len(buckets))
    for s in run["setups"]:
        if s.get("skipped"):
            continue
        loads = [(f"reading {p.get('think', 0)} s", s["chat"])]
        if s.get("stress"):
            loads.append(("no reading time", s["stress"]))
        for label, data in loads:
            cells = []
            for b in buckets:
                lat = (data.get("by_index_ms") or {}).get(b) or {}
                cells.append(f"{_fmt(lat.get('p50'))} / {_fmt(lat.get('p95'))} / {_fmt(lat.get('p99'))} "
                             f"({lat.get('count', 0)})")
            lines.append(f"| {s['name']} | {label} | " + " | ".join(cells) + " |")
    lines += ["", "## Resident memory after the load (MiB, process and its children)", ""]
    names = sorted({n for s in run["setups"] if not s.get("skipped") for n in s["rss_mib"]},
                   key=lambda n: (n != "gateway", n != "actions", n))
    lines.append("| set-up | " + " | ".join(names) + " | total |")
    lines.append("| --- |" + " ---: |" * (len(names) + 1))
    for s in run["setups"]:
        if s.get("skipped"):
            continue
        cells = [_fmt(s["rss_mib"].get(n)) for n in names]
        lines.append(f"| {s['name']} | " + " | ".join(cells) + f" | {s['rss_mib_total']} |")
    staged = [s for s in run["setups"] if not s.get("skipped") and s.get("stages")]
    if staged:
        from bench.stages import markdown as stage_markdown

        lines += ["", "## Where a turn's time goes (same texts, one at a time, same run)", "",
                  "Each text goes to bare `/model/parse`, then as a turn to Rasa's REST webhook, "
                  "then as a turn through the gateway's `/api/chat`, back to back, so ratios "
                  "compare like with like even when other work shares the CPU (absolute "
                  "times then are not comparable between runs). Targets: answer turn ÷ parse "
                  "≤ 3, turn 30 ≤ 1.2 × turn 2. The stage tables come from the servers' own "
                  "clocks (stage_timing.py): wall time, so a stage that waits for the CPU "
                  "while other work runs counts that wait too.", ""]
        for s in staged:
            lines += stage_markdown(s["name"], s["stages"])
    stressed = [s for s in run["setups"] if not s.get("skipped") and s.get("stress")]
    if stressed:
        sampled = "without the profiler" if p.get("no_profiler") else "sampled by py-spy when installed"
        lines += [f"## No reading time, {sampled} (target ≥ 45 turns/s, p95 ≤ 400 ms, "
                  "0 errors)", "",
                  "| set-up | turns | turns/s | p50 ms | p95 ms | errors | profiles |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for s in stressed:
            st = s["stress"]
            lines.append(f"| {s['name']} | {st['turns']} | {st['turns_per_second']} "
                         f"| {_fmt(st['latency_ms']['p50'])} | {_fmt(st['latency_ms']['p95'])} "
                         f"| {st['errors']} | {', '.join(st['profiles'])} |")
    lines += [
        "",
        "*turns/s*: answered turns ÷ wall time of the load phase. *errors*: turns with an "
        "HTTP/network error or no reply. *place forgotten*: service questions answered with "
        "“您是在哪里参保的？” although the place was given the turn before. *chat ÷ parse*: "
        "p50 of a full turn through the gateway (NLU + dialogue + action server + knowledge "
        "base + tracker store) over p50 of NLU alone at the same concurrency.",
        "",
    ]
    for s in run["setups"]:
        if s.get("sample_errors"):
            lines.append(f"Errors in {s['name']}: " + "; ".join(s["sample_errors"]))
    return "\n".join(lines) + "\n"
