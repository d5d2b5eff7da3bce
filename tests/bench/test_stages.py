"""The benchmark's arithmetic: per-stage ratios, cost by turn index, profile summaries."""
from __future__ import annotations

import random
from pathlib import Path

from bench import profile, stages
from bench.load import HANDOFF, long_conversation


def _sample(conv: int, index: int, parse: float, rasa: float, api: float,
            phase: str = "question") -> stages.Sample:
    s = stages.Sample(conv, index, phase, "t")
    s.seconds = {"parse": parse, "rasa_turn": rasa, "api_turn": api}
    return s


def test_conversations_have_the_asked_length_and_shape() -> None:
    for turns in (5, 12, 30):
        script = long_conversation(random.Random(turns), turns)
        assert len(script) == turns
        assert [p for p, _ in script[:3]] == ["greeting", "place", "question"]
        assert script[-1][0] == "thanks"
    assert long_conversation(random.Random(1), 30, handoff=True)[-1] == ("handoff", HANDOFF)


def test_ratios_and_growth_compare_like_with_like() -> None:
    samples = [_sample(0, i, 0.020, 0.040 + 0.002 * i, 0.050 + 0.002 * i) for i in range(1, 31)]
    samples.append(_sample(1, 3, 0.020, 9.0, 9.0))
    samples[-1].errors.append("rasa: HTTP 500")  # failed turns are not timed
    out = stages.summarise(samples)
    assert out["errors"] == 1 and out["turns"] == 31
    assert out["all_turns_ms"]["parse"]["p50"] == 20.0
    # p50 of turns 1..30: 0.040 + 0.002 * 15 = 70 ms (nearest rank), ratio 3.5
    assert out["all_turns_ms"]["rasa_turn"]["p50"] == 70.0
    assert out["all_turns_ratio"]["rasa_turn/parse"] == 3.5
    assert out["by_turn_index_ms"]["1-5"]["rasa_turn"]["count"] == 5
    growth = out["growth"]["rasa_turn"]
    assert growth["late÷early"] > 1.5  # 0.092..0.100 against 0.044..0.050


def test_repeat_probe_compares_the_same_texts_early_and_late() -> None:
    flat = [[0.05] * 30]
    growing = [[0.05 + 0.01 * i for i in range(30)]]
    assert stages.repeat_summary({"rasa_turn": flat})["rasa_turn"]["late÷early"] == 1.0
    assert stages.repeat_summary({"rasa_turn": growing})["rasa_turn"]["late÷early"] > 3


def test_profile_summary_counts_a_sample_once_per_stage(tmp_path: Path) -> None:
    raw = tmp_path / "rasa.raw"
    raw.write_text(
        "handle (sanic/app.py:10);parse_message (rasa/core/processor.py:5);"
        "loads (json/decoder.py:3) 6\n"
        "handle (sanic/app.py:10);_predict_next_with_tracker (rasa/core/processor.py:9);"
        "past_states (rasa/shared/core/trackers.py:1);past_states (rasa/shared/core/trackers.py:1) 4\n"
    )
    text = profile.summarise(raw, "rasa")
    assert "10 on-CPU samples" in text
    assert " 60.0 %  rasa: NLU parse (parse_message)" in text
    assert " 40.0 %  rasa: tracker events → states (past_states)" in text
    assert "100.0 %  any: sanic / aiohttp HTTP" in text
    assert " 40.0 %  past_states (rasa/shared/core/trackers.py)" in text  # not 80 %


def test_waiting_threads_are_not_counted_as_work(tmp_path: Path) -> None:
    raw = tmp_path / "actions.raw"
    raw.write_text(
        "_bootstrap (threading.py:1);_worker (/usr/lib/python3.10/concurrent/futures/thread.py:81) 90\n"
        f"_worker (concurrent/futures/thread.py:8);handle ({profile.ROOT}/actions/answers.py:3) 10\n"
        "_worker (concurrent/futures/thread.py:8);handle (actions/answers.py:3);"
        "answer (knowledge/store.py:9) 10\n"
        "run (rasa/core/actions/action.py:5) 5\n"
    )
    text = profile.summarise(raw, "actions")
    assert "25 on-CPU samples" in text and "90 more in waiting frames" in text
    # The action server's own code, by absolute or relative path; not Rasa's actions module.
    assert " 80.0 %  actions: action code (actions/)" in text
    assert " 40.0 %  actions: knowledge base (knowledge/)" in text
