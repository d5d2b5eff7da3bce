"""The load's residents hold conversations of realistic length, and the report gives
their latency by turn index for the load with and without reading time."""
from __future__ import annotations

import random

from bench.__main__ import by_index_ms
from bench.load import HANDOFF, LENGTHS, LoadResult, Sent, resident_conversation
from bench.report import markdown
from stack.client import Turn


def test_residents_hold_conversations_of_five_to_thirty_turns_some_ending_in_a_hand_off() -> None:
    scripts = [resident_conversation(random.Random(seed)) for seed in range(300)]
    lengths = {len(s) for s in scripts}
    assert lengths == set(LENGTHS)
    assert all([p for p, _ in s[:3]] == ["greeting", "place", "question"] for s in scripts)
    handoffs = sum(s[-1] == ("handoff", HANDOFF) for s in scripts)
    assert 20 <= handoffs <= 80  # about 15 % of 300
    # Long ones carry several questions, each with follow-ups.
    longest = max(scripts, key=len)
    assert sum(p == "question" for p, _ in longest) >= 4 and sum(p == "follow_up" for p, _ in longest) >= 8


def _turn(seconds: float, ok: bool = True) -> Turn:
    return Turn("s", "t", status=200 if ok else 500, replies=[{"text": "好"}] if ok else [],
                seconds=seconds, error=None if ok else "HTTP 500")


def test_latency_by_turn_index_counts_answered_turns_in_their_range() -> None:
    load = LoadResult([Sent("greeting", 1, _turn(0.1)), Sent("question", 5, _turn(0.2)),
                       Sent("follow_up", 6, _turn(0.3)), Sent("question", 16, _turn(0.4)),
                       Sent("follow_up", 30, _turn(9.0, ok=False))])
    table = by_index_ms(load)
    assert {k: v["count"] for k, v in table.items()} == {"1-5": 2, "6-15": 1, "16-30": 1}
    assert table["1-5"]["p99"] == 200.0 and table["16-30"]["p50"] == 400.0
    assert load.seconds_of("question") == [0.2, 0.4] and load.errors == 1


def test_the_report_shows_both_loads_by_turn_index() -> None:
    by_index = {"1-5": {"p50": 100.0, "p95": 150.0, "p99": 180.0, "count": 40},
                "6-15": {"p50": 110.0, "p95": 160.0, "p99": 190.0, "count": 30},
                "16-30": {"p50": 120.0, "p95": 170.0, "p99": 200.0, "count": 10}}
    latency = {"p50": 1.0, "p95": 2.0, "p99": 3.0, "count": 1}
    setup = {"name": "embedded", "startup_seconds": 20, "overhead_ratio_p50": 2.5,
             "rss_mib": {"gateway": 80.0}, "rss_mib_total": 80.0, "stages": None,
             "parse": {"latency_ms": latency},
             "chat": {"turns": 80, "turns_per_second": 5.0, "errors": 0, "place_forgotten": 0,
                      "latency_ms": latency, "per_phase_ms": {"greeting": latency}, "by_index_ms": by_index},
             "stress": {"turns": 500, "turns_per_second": 50.0, "errors": 0, "latency_ms": latency,
                        "profiles": [], "by_index_ms": {**by_index, "16-30": {**by_index["16-30"], "p99": 390.0}}}}
    run = {"started": "now", "host": {"cpus": 2, "mem_gib": 24},
           "parameters": {"residents": 10, "conversations": 20, "max_seconds": 30, "think": 2.0,
                          "parse_requests": 100},
           "phases": ["greeting"], "setups": [setup]}
    text = markdown(run)
    assert "| embedded | reading 2.0 s | 100.0 / 150.0 / 180.0 (40) | 110.0 / 160.0 / 190.0 (30) " \
           "| 120.0 / 170.0 / 200.0 (10) |" in text
    assert "| embedded | no reading time | 100.0 / 150.0 / 180.0 (40) |" in text and "/ 390.0 (10) |" in text
