"""Where a turn's time goes: the same texts, one at a time, at three depths.

For every turn of a few long conversations (:func:`bench.load.long_conversation`)
the client sends, back to back and in this order:

1. the bare text to Rasa's ``/model/parse`` (understanding only);
2. the turn to Rasa's REST webhook as one conversation (understanding, dialogue
   policies, tracker load and save, the action server and the knowledge base);
3. the turn to the gateway's ``/api/chat`` as another conversation (all of 2,
   plus the gateway: identity, masking, rate limits, privacy, its own HTTP hop).

So the three depths see the same texts under the same load from other processes,
and their ratios are fair even on a busy machine where absolute times are not.
Costs are also reported by turn index (1–5, 6–15, 16–30): a flat cost means the
growing conversation does not slow its turns.

Inside the Rasa turn, the processes time each stage themselves (``stage_timing.py``,
switched on by the bench with ``MEDINS_STAGE_TIMING_DIR``): lock, tracker retrieve,
NLU parse, policy prediction, action calls (the action server's own run and the rest:
network and (de)serialisation), tracker save, and the gateway's own time.
:func:`attach_timing` joins their records to the client's turns and
:func:`timing_summary` makes the table whose rows add up to the client's Rasa turn.
"""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.load import BUCKETS, long_conversation
from bench.report import latency_ms, percentile
from stack.client import chat
from stack.config import rasa_sender

DEPTHS = ("parse", "rasa_turn", "api_turn")
ANSWER_PHASES = ("question", "follow_up")


@dataclass
class Sample:
    conversation: int
    index: int  # 1-based turn index in its conversation
    phase: str
    text: str
    seconds: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # The sender Rasa saw at each depth, to find the servers' own timing of the turn.
    senders: dict[str, str] = field(default_factory=dict)
    # Server-side seconds per stage of the Rasa REST turn (attach_timing), and the
    # gateway's own part of the /api/chat turn.
    server: dict[str, float] = field(default_factory=dict)


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any],
                params: dict[str, str], timeout: float) -> tuple[float, str | None]:
    started = time.perf_counter()
    try:
        async with session.post(url, json=body, params=params,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            data = await resp.json(content_type=None)
            if resp.status != 200:
                return time.perf_counter() - started, f"HTTP {resp.status}"
            if isinstance(data, list) and not data:
                return time.perf_counter() - started, "no reply"
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        return time.perf_counter() - started, exc.__class__.__name__
    return time.perf_counter() - started, None


async def run_stages(rasa_url: str, gateway_url: str | None, token: str | None, api_key: str,
                     conversations: int = 4, turns: int = 30, seed: int = 13,
                     timeout: float = 60.0) -> list[Sample]:
    """Every turn of ``conversations`` conversations of ``turns`` turns at each depth."""
    params = {"token": token} if token else {}
    samples: list[Sample] = []
    async with aiohttp.ClientSession() as session:
        for c in range(conversations):
            rng = random.Random(seed * 100 + c)
            script = long_conversation(rng, turns, handoff=(c % 2 == 1))
            run = uuid.uuid4().hex[:10]
            for i, (phase, text) in enumerate(script, start=1):
                sample = Sample(c, i, phase, text, senders={
                    "rasa_turn": f"stage-rasa-{run}", "api_turn": rasa_sender(f"stage-api-{run}")})
                took, err = await _post(session, f"{rasa_url}/model/parse", {"text": text},
                                        params, timeout)
                sample.seconds["parse"] = took
                if err:
                    sample.errors.append(f"parse: {err}")
                took, err = await _post(session, f"{rasa_url}/webhooks/rest/webhook",
                                        {"sender": f"stage-rasa-{run}", "message": text},
                                        {}, timeout)
                sample.seconds["rasa_turn"] = took
                if err:
                    sample.errors.append(f"rasa: {err}")
                if gateway_url:
                    turn = await chat(session, gateway_url, f"stage-api-{run}", text,
                                      timeout=timeout, api_key=api_key)
                    sample.seconds["api_turn"] = turn.seconds
                    if not turn.ok:
                        sample.errors.append(f"api: {turn.error or 'no reply'}")
                samples.append(sample)
    return samples


REPEAT = ("我在长春", ("异地就医备案怎么办", "需要带什么材料"))


async def run_repeat(rasa_url: str, gateway_url: str | None, api_key: str, turns: int = 30,
                     rounds: int = 3, timeout: float = 60.0) -> dict[str, list[list[float]]]:
    """Like-for-like growth: a place, then the same question and follow-up in turn,
    ``turns`` turns long; seconds per turn index, ``rounds`` conversations per depth."""
    place, pair = REPEAT
    texts = [place] + [pair[i % 2] for i in range(turns - 1)]
    out: dict[str, list[list[float]]] = {"rasa_turn": [], "api_turn": []}
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            run = uuid.uuid4().hex[:10]
            rasa_row, api_row = [], []
            for text in texts:
                took, err = await _post(session, f"{rasa_url}/webhooks/rest/webhook",
                                        {"sender": f"repeat-rasa-{run}", "message": text},
                                        {}, timeout)
                rasa_row.append(took if not err else float("nan"))
                if gateway_url:
                    turn = await chat(session, gateway_url, f"repeat-api-{run}", text,
                                      timeout=timeout, api_key=api_key)
                    api_row.append(turn.seconds if turn.ok else float("nan"))
            out["rasa_turn"].append(rasa_row)
            if api_row:
                out["api_turn"].append(api_row)
    return out


def repeat_summary(rows: dict[str, list[list[float]]]) -> dict[str, Any]:
    """p50 of turns 2–5 against 26–29 (the same question/follow-up mix) per depth."""
    out: dict[str, Any] = {}
    for depth, runs in rows.items():
        if not runs:
            continue
        def window(lo: int, hi: int, runs: list[list[float]] = runs) -> list[float]:
            # NaN (a turn that failed) is the only value not equal to itself.
            return [r[i - 1] for r in runs for i in range(lo, hi + 1)
                    if i <= len(r) and r[i - 1] == r[i - 1]]
        early, late = _p50_ms(window(2, 5)), _p50_ms(window(26, 29))
        out[depth] = {"turns 2-5 p50 ms": early, "turns 26-29 p50 ms": late,
                      "late÷early": _ratio(late, early),
                      "p50 ms by turn": [_p50_ms([r[i] for r in runs if r[i] == r[i]])
                                         for i in range(len(runs[0]))]}
    return out


def _p50_ms(values: list[float]) -> float | None:
    v = percentile(values, 50)
    return None if v is None else round(v * 1000, 1)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


# The Rasa REST turn, measured by the client, split into parts that add up to it
# (bench/stages.attach_timing): key, label. "action_own" and "action_network" split
# "action_call"; "lock_hold" overlaps the stages inside the lock. None of those three
# is added again.
TURN_PARTS = (
    ("outside", "HTTP, Sanic, REST channel (client turn − handle_message)"),
    ("lock_acquire", "lock acquire"),
    ("retrieve", "tracker retrieve"),
    ("parse", "NLU parse"),
    ("predict", "policy prediction (all calls)"),
    ("action_call", "action calls (RemoteAction.run)"),
    ("save", "tracker save"),
    ("lock_release", "lock release"),
    ("unaccounted", "unaccounted (handle_message − stages)"),
)
DETAIL_PARTS = (
    ("action_own", "… of which the actions' own run (action server)"),
    ("action_network", "… of which network + (de)serialisation"),
    ("lock_hold", "lock held (acquired → release)"),
)
SERVER_STAGES = ("lock_acquire", "retrieve", "parse", "predict", "action_call", "save",
                 "lock_release")


def attach_timing(samples: list[Sample], records: list[dict[str, Any]]) -> int:
    """Fill each sample's ``server`` from the processes' stage records (stage_timing):
    the n-th Rasa turn of a sender is the n-th sample of its conversation (one turn at a
    time), an action belongs to the Rasa turn of its sender that it started in, the
    gateway's n-th request of a sender to the n-th /api/chat turn. Returns how many
    samples got a breakdown; a conversation whose counts differ gets none."""
    by_role: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for record in sorted(records, key=lambda r: r.get("start", 0.0)):
        by_role.setdefault(record.get("role", ""), {}).setdefault(
            record.get("sender") or "", []).append(record)
    rasa, actions, gateway = (by_role.get(r, {}) for r in ("rasa", "actions", "gateway"))
    conversations: dict[int, list[Sample]] = {}
    for sample in samples:
        conversations.setdefault(sample.conversation, []).append(sample)
    done = 0
    for turns in conversations.values():
        turns.sort(key=lambda s: s.index)
        sender = turns[0].senders.get("rasa_turn", "")
        found = rasa.get(sender, [])
        if len(found) == len(turns):
            for sample, record in zip(turns, found):
                sample.server.update(_turn_parts(sample, record, actions.get(sender, [])))
                done += 1
        api = gateway.get(turns[0].senders.get("api_turn", ""), [])
        if len(api) == len(turns):
            for sample, record in zip(turns, api):
                sample.server["gateway_own"] = record["total"] - record["rasa"]
    return done


def _turn_parts(sample: Sample, record: dict[str, Any],
                actions: list[dict[str, Any]]) -> dict[str, float]:
    stages = {name: sum(values) for name, values in record.get("stages", {}).items()}
    turn = record["turn"]
    parts = {name: stages.get(name, 0.0) for name in SERVER_STAGES}
    parts["unaccounted"] = turn - sum(parts.values())
    if "rasa_turn" in sample.seconds:
        parts["outside"] = sample.seconds["rasa_turn"] - turn
    start, end = record["start"], record["start"] + turn
    parts["action_own"] = sum(a["own"] for a in actions if start <= a["start"] <= end)
    parts["action_network"] = parts["action_call"] - parts["action_own"]
    parts["lock_hold"] = stages.get("lock_hold", 0.0)
    parts["handle_message"] = turn
    parts["predict_calls"] = float(len(record.get("stages", {}).get("predict", [])))
    parts["action_calls"] = float(len(record.get("actions", [])))
    return parts


def timing_summary(samples: list[Sample], parse_p50_ms: float | None) -> dict[str, Any]:
    """Answer turns: p50/p95 ms per part, its share of all the Rasa REST turns' time,
    and its p50 over bare parse's p50."""
    timed = [s for s in samples if s.server.get("handle_message") is not None
             and "outside" in s.server and not s.errors and s.phase in ANSWER_PHASES]
    total = sum(s.seconds["rasa_turn"] for s in timed)
    rows: dict[str, Any] = {}
    for key, _ in TURN_PARTS + DETAIL_PARTS + (("rasa_turn", ""), ("gateway_own", "")):
        values = [s.seconds["rasa_turn"] if key == "rasa_turn" else s.server[key]
                  for s in timed if key == "rasa_turn" or key in s.server]
        lat = latency_ms(values)
        rows[key] = {"p50": lat["p50"], "p95": lat["p95"], "count": lat["count"],
                     "share": round(sum(values) / total, 3) if total and key != "gateway_own"
                     else None,
                     "÷ parse": (None if lat["p50"] is None or not parse_p50_ms
                                 else round(lat["p50"] / parse_p50_ms, 2))}
    return {"turns": len(timed), "parts": rows,
            "predict_calls_p50": percentile([s.server["predict_calls"] for s in timed], 50),
            "action_calls_p50": percentile([s.server["action_calls"] for s in timed], 50)}


def summarise(samples: list[Sample]) -> dict[str, Any]:
    """p50/p95 per depth, turn ÷ parse ratios, and cost by turn index."""
    def values(depth: str, keep=lambda s: True) -> list[float]:
        return [s.seconds[depth] for s in samples if depth in s.seconds and not s.errors and keep(s)]

    answer = lambda s: s.phase in ANSWER_PHASES  # noqa: E731
    out: dict[str, Any] = {
        "turns": len(samples),
        "conversations": len({s.conversation for s in samples}),
        "errors": sum(1 for s in samples if s.errors),
        "sample_errors": sorted({e for s in samples for e in s.errors})[:3],
        "all_turns_ms": {d: latency_ms(values(d)) for d in DEPTHS},
        "answer_turns_ms": {d: latency_ms(values(d, answer)) for d in DEPTHS},
    }
    for scope in ("all_turns_ms", "answer_turns_ms"):
        lat = out[scope]
        out[scope.replace("_ms", "_ratio")] = {
            "rasa_turn/parse": _ratio(lat["rasa_turn"]["p50"], lat["parse"]["p50"]),
            "api_turn/parse": _ratio(lat["api_turn"]["p50"], lat["parse"]["p50"]),
            "api_turn/rasa_turn": _ratio(lat["api_turn"]["p50"], lat["rasa_turn"]["p50"]),
        }
    by_index: dict[str, dict[str, Any]] = {}
    for lo, hi in BUCKETS:
        inside = lambda s, lo=lo, hi=hi: lo <= s.index <= hi  # noqa: E731
        by_index[f"{lo}-{hi}"] = {d: latency_ms(values(d, inside)) for d in DEPTHS}
    out["by_turn_index_ms"] = by_index
    # Growth with length on like-for-like work: each turn's cost over its own parse,
    # late turns against early ones (the same mix of texts appears in both).
    def over_parse(depth: str, lo: int, hi: int) -> float | None:
        ratios = [s.seconds[depth] / s.seconds["parse"] for s in samples
                  if lo <= s.index <= hi and not s.errors and depth in s.seconds
                  and s.seconds.get("parse")]
        return percentile(ratios, 50)

    out["growth"] = {}
    for depth in ("rasa_turn", "api_turn"):
        early, late = over_parse(depth, 2, 5), over_parse(depth, 26, 30)
        out["growth"][depth] = {
            "turn÷parse, turns 2-5": None if early is None else round(early, 2),
            "turn÷parse, turns 26-30": None if late is None else round(late, 2),
            "late÷early": _ratio(late, early),
        }
    return out


def markdown(name: str, summary: dict[str, Any]) -> list[str]:
    """Report lines for one set-up."""
    def cell(lat: dict[str, Any]) -> str:
        return f"{lat['p50']} / {lat['p95']}" if lat["count"] else "–"

    lines = [f"### {name}: {summary['turns']} turns in {summary['conversations']} conversations "
             f"of up to 30 turns, one at a time, errors {summary['errors']}", "",
             "| turns | /model/parse p50 / p95 ms | Rasa REST turn | /api/chat turn "
             "| Rasa turn ÷ parse | /api/chat ÷ parse | /api/chat ÷ Rasa turn |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scope, label in (("all_turns", "all"), ("answer_turns", "answers")):
        lat, ratio = summary[f"{scope}_ms"], summary[f"{scope}_ratio"]
        lines.append(f"| {label} | {cell(lat['parse'])} | {cell(lat['rasa_turn'])} "
                     f"| {cell(lat['api_turn'])} | {ratio['rasa_turn/parse']} "
                     f"| {ratio['api_turn/parse']} | {ratio['api_turn/rasa_turn']} |")
    lines += ["", "| turn index | /model/parse p50 / p95 ms | Rasa REST turn | /api/chat turn |",
              "| --- | ---: | ---: | ---: |"]
    for bucket, lat in summary["by_turn_index_ms"].items():
        lines.append(f"| {bucket} | {cell(lat['parse'])} | {cell(lat['rasa_turn'])} "
                     f"| {cell(lat['api_turn'])} |")
    g = summary["growth"]
    lines += ["", "Growth (p50 of each turn's cost ÷ its own parse): Rasa turn "
              f"{g['rasa_turn']['turn÷parse, turns 2-5']} at turns 2–5, "
              f"{g['rasa_turn']['turn÷parse, turns 26-30']} at turns 26–30 "
              f"(×{g['rasa_turn']['late÷early']}); /api/chat "
              f"{g['api_turn']['turn÷parse, turns 2-5']} → {g['api_turn']['turn÷parse, turns 26-30']} "
              f"(×{g['api_turn']['late÷early']}).", ""]
    if summary["sample_errors"]:
        lines += ["Errors: " + "; ".join(summary["sample_errors"]), ""]
    timing = summary.get("server_stages")
    if timing and timing["turns"]:
        lines += timing_markdown(timing)
    for depth, label in (("rasa_turn", "Rasa REST"), ("api_turn", "/api/chat")):
        r = summary.get("repeat", {}).get(depth)
        if r:
            lines.append(f"Same question and follow-up repeated ({label}): turns 2–5 p50 "
                         f"{r['turns 2-5 p50 ms']} ms, turns 26–29 p50 {r['turns 26-29 p50 ms']} ms "
                         f"(turn 30 ÷ turn 2 target ≤ 1.2: ×{r['late÷early']}).")
    return lines + [""]


def timing_markdown(timing: dict[str, Any]) -> list[str]:
    """The server-side stages of the answer turns' Rasa REST turn."""
    parts = timing["parts"]

    def row(key: str, label: str) -> str:
        r = parts[key]
        share = "–" if r["share"] is None else f"{r['share'] * 100:.1f} %"
        return f"| {label} | {r['p50']} / {r['p95']} | {share} | {r['÷ parse']} |"

    lines = [f"Server-side stages of the Rasa REST turn, {timing['turns']} answer turns "
             f"(policy predictions per turn p50 {timing['predict_calls_p50']:.0f}, action "
             f"calls {timing['action_calls_p50']:.0f}); *share*: of all these turns' time; "
             "the rows above the line add up to the turn:", "",
             "| stage | p50 / p95 ms | share | p50 ÷ bare parse p50 |",
             "| --- | ---: | ---: | ---: |"]
    lines += [row(key, label) for key, label in TURN_PARTS]
    lines.append(row("rasa_turn", "**Rasa REST turn (client)**"))
    lines += [row(key, label) for key, label in DETAIL_PARTS]
    if parts["gateway_own"]["count"]:
        lines.append(row("gateway_own", "gateway's own time (its /api/chat request − its Rasa call)"))
    return lines + [""]
