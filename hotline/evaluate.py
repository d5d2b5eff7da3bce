"""Measure the staff console's suggestions: top-1/top-3 accuracy and latency.

Reads a held-out Rasa NLU file (``- intent: …`` / ``examples: |``), keeps the
service intents (``knowledge/topics.yml``), sends every example to
``POST /api/staff/suggest`` and checks whether the expected topic is the first
suggestion or among the first three. Latency is measured per HTTP request.

It talks HTTP to a running gateway (``--gateway-url``, default ``GATEWAY_URL`` or
http://localhost:8080) and logs in as ``STAFF_USER`` (default ``dev``) with
``STAFF_PASSWORD``. It imports nothing from the gateway: hotline sits below
``bot`` in the layering, so it measures the console from outside, as staff use
it. Needs a running gateway and Rasa, so it is not a unit test. Writes a
Markdown report to ``results/``::

    python -m bot &   # with Rasa running
    STAFF_PASSWORD=… python -m hotline.evaluate --holdout tests/nlu_holdout.yml
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from knowledge.schema import load_topics

ROOT = Path(__file__).resolve().parent.parent
_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass
class Case:
    text: str
    topic: str


@dataclass
class Outcome:
    case: Case
    topics: list[str]
    latency_ms: float
    nlu_available: bool
    status: int


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def _share(self, pred) -> float:
        return sum(1 for o in self.outcomes if pred(o)) / len(self.outcomes) if self.outcomes else 0.0

    @property
    def top1(self) -> float:
        return self._share(lambda o: o.topics[:1] == [o.case.topic])

    @property
    def top3(self) -> float:
        return self._share(lambda o: o.case.topic in o.topics[:3])

    def latency(self, q: float) -> float:
        values = sorted(o.latency_ms for o in self.outcomes)
        if not values:
            return 0.0
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def read_holdout(path: Path, topics: set[str]) -> list[Case]:
    """Service-intent examples of a Rasa NLU YAML file (entity markup removed)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = []
    for block in data.get("nlu") or []:
        intent = block.get("intent")
        if intent not in topics:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                text = _ENTITY.sub(r"\1", line[2:].strip())
                if text:
                    cases.append(Case(text, intent))
    return cases


async def _run(cases: list[Case], base: str, token: str, city: str | None, concurrency: int) -> Report:
    report = Report()
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        # One warm-up request so model loading does not count as latency.
        await http.post(f"{base}/api/staff/suggest", json={"text": "你好"}, headers=headers)

        async def one(case: Case) -> None:
            body: dict[str, Any] = {"text": case.text}
            if city:
                body["city"] = city
            async with sem:
                start = time.perf_counter()
                async with http.post(f"{base}/api/staff/suggest", json=body, headers=headers) as resp:
                    data = await resp.json(content_type=None)
                    elapsed = (time.perf_counter() - start) * 1000
            sugg = data.get("suggestions") or [] if resp.status == 200 else []
            report.outcomes.append(Outcome(case, [s["topic"] for s in sugg], elapsed,
                                           bool(data.get("nlu_available")), resp.status))

        await asyncio.gather(*(one(c) for c in cases))
    return report


async def _login(base: str, password: str) -> str:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        async with http.post(f"{base}/api/staff/login", json={"name": os.environ.get("STAFF_USER") or "dev", "password": password}) as resp:
            if resp.status != 200:
                raise SystemExit(f"staff login failed at {base}: HTTP {resp.status}")
            return (await resp.json())["token"]


def render_markdown(report: Report, args: argparse.Namespace, n_cases: int) -> str:
    """The report: headline figures, per-topic accuracy, and the misses."""
    labels = dict(load_topics()["topics"])
    by_topic: dict[str, list[Outcome]] = defaultdict(list)
    for o in report.outcomes:
        by_topic[o.case.topic].append(o)
    nlu_share = report._share(lambda o: o.nlu_available)
    errors = sum(1 for o in report.outcomes if o.status != 200)
    lines = [
        "# Staff console suggestions: accuracy and latency", "",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- held-out file: `{args.holdout}` ({n_cases} service-intent utterances)",
        f"- target: gateway {args.gateway_url}",
        f"- city: {args.city or '(none: national answers)'}; concurrency {args.concurrency}", "",
        "| metric | value |", "| --- | --- |",
        f"| top-1 accuracy | {report.top1:.1%} |",
        f"| top-3 accuracy | {report.top3:.1%} |",
        f"| latency p50 | {report.latency(0.50):.0f} ms |",
        f"| latency p95 | {report.latency(0.95):.0f} ms |",
        f"| answered with NLU (not the retrieval fallback) | {nlu_share:.1%} |",
        f"| HTTP errors | {errors} |", "",
        "## Per topic", "", "| topic | n | top-1 | top-3 |", "| --- | ---: | ---: | ---: |",
    ]
    for topic in sorted(by_topic):
        outs = by_topic[topic]
        t1 = sum(1 for o in outs if o.topics[:1] == [topic]) / len(outs)
        t3 = sum(1 for o in outs if topic in o.topics[:3]) / len(outs)
        lines.append(f"| {topic} {labels.get(topic, '')} | {len(outs)} | {t1:.0%} | {t3:.0%} |")
    misses = [o for o in report.outcomes if o.case.topic not in o.topics[:3]]
    lines += ["", f"## Misses (expected topic not in the top 3): {len(misses)}", ""]
    for o in misses[:60]:
        got = ", ".join(o.topics[:3]) or "(none)"
        lines.append(f"- `{o.case.topic}` ← “{o.case.text}” → {got}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotline.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--holdout", type=Path, default=ROOT / "tests" / "nlu_holdout.yml")
    parser.add_argument("--gateway-url", default=os.environ.get("GATEWAY_URL", "http://localhost:8080"),
                        help="the running gateway to measure (log-in: STAFF_USER / STAFF_PASSWORD)")
    parser.add_argument("--city", help="place to answer for (canonical name or alias)")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="only the first N utterances")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)

    cases = read_holdout(args.holdout, set(load_topics()["topics"]))
    if args.limit:
        cases = cases[: args.limit]
    if not cases:
        print(f"no service-intent examples in {args.holdout}", file=sys.stderr)
        return 1
    password = os.environ.get("STAFF_PASSWORD")
    if not password:
        print("needs STAFF_PASSWORD (and STAFF_USER unless it is 'dev') to log in to the console",
              file=sys.stderr)
        return 1
    base = args.gateway_url.rstrip("/")

    async def remote() -> Report:
        return await _run(cases, base, await _login(base, password), args.city, args.concurrency)

    try:
        report = asyncio.run(remote())
    except aiohttp.ClientError as exc:
        print(f"cannot reach the gateway at {base}: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"staff_suggestions_{dt.datetime.now():%Y%m%d_%H%M}.md"
    path.write_text(render_markdown(report, args, len(cases)), encoding="utf-8")
    print(f"top-1 {report.top1:.1%}  top-3 {report.top3:.1%}  p50 {report.latency(0.5):.0f} ms  "
          f"p95 {report.latency(0.95):.0f} ms  → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
