"""Per-stage timing of a turn: the records' join and the table (no processes started)."""
from __future__ import annotations

from pathlib import Path

import pytest

import stage_timing
from bench import stages

PARSE = 0.010  # bare /model/parse, seconds


def _turn(conv: int, index: int, run: str, rasa_turn: float, phase: str = "question"
          ) -> stages.Sample:
    s = stages.Sample(conv, index, phase, "t",
                      senders={"rasa_turn": f"stage-rasa-{run}",
                               "api_turn": f"api:stack:stage-api-{run}"})
    s.seconds = {"parse": PARSE, "rasa_turn": rasa_turn, "api_turn": rasa_turn + 0.004}
    return s


def _records(run: str, index: int, start: float) -> list[dict]:
    """What the three processes write for one turn of 30 ms inside Rasa."""
    rasa = {"role": "rasa", "sender": f"stage-rasa-{run}", "start": start, "turn": 0.030,
            "stages": {"lock_acquire": [0.0005, 0.0005], "retrieve": [0.002], "parse": [0.009],
                       "predict": [0.003, 0.002, 0.001], "action_call": [0.008],
                       "save": [0.003], "lock_release": [0.0005], "lock_hold": [0.028],
                       "handle_message": [0.0275]},
            "actions": [{"name": "action_answer", "start": start + 0.015, "seconds": 0.008}]}
    action = {"role": "actions", "sender": f"stage-rasa-{run}", "action": "action_answer",
              "start": start + 0.0151, "own": 0.005}
    # The same turn through the gateway: its own Rasa turn (ignored here) and its request.
    gateway = {"role": "gateway", "sender": f"api:stack:stage-api-{run}", "path": "/api/chat",
               "start": start + 0.05, "total": 0.036, "rasa": 0.033}
    return [rasa, action, gateway]


def test_the_parts_add_up_to_the_client_turn_and_the_action_splits() -> None:
    samples = [_turn(0, i, "a", 0.034) for i in (1, 2, 3)]
    records = [r for i in (1, 2, 3) for r in _records("a", i, 1000.0 + i)]
    # Another conversation's records do not land on these turns.
    records += _records("other", 1, 1001.0)
    assert stages.attach_timing(samples, records) == 3
    for s in samples:
        p = s.server
        added = sum(p[key] for key, _ in stages.TURN_PARTS)
        assert added == pytest.approx(s.seconds["rasa_turn"])
        assert p["outside"] == pytest.approx(0.004)
        assert p["lock_acquire"] == pytest.approx(0.001)
        assert p["predict"] == pytest.approx(0.006) and p["predict_calls"] == 3
        assert p["unaccounted"] == pytest.approx(0.030 - 0.0295)
        assert p["action_own"] == pytest.approx(0.005)
        assert p["action_network"] == pytest.approx(0.003)
        assert p["gateway_own"] == pytest.approx(0.003)


def test_a_conversation_whose_records_do_not_match_its_turns_gets_no_breakdown() -> None:
    samples = [_turn(0, i, "a", 0.034) for i in (1, 2)]
    records = _records("a", 1, 1000.0)  # one Rasa record for two turns
    assert stages.attach_timing(samples, records) == 0
    assert all("parse" not in s.server for s in samples)


def test_the_table_has_each_stage_its_share_and_its_ratio_to_parse() -> None:
    samples = [_turn(0, i, "a", 0.034) for i in range(1, 5)]
    samples.append(_turn(0, 5, "a", 0.5, phase="greeting"))  # not an answer turn
    records = [r for i in range(1, 6) for r in _records("a", i, 1000.0 + i)]
    stages.attach_timing(samples, records)
    summary = stages.timing_summary(samples, parse_p50_ms=PARSE * 1000)
    assert summary["turns"] == 4
    parts = summary["parts"]
    assert parts["rasa_turn"]["p50"] == 34.0 and parts["rasa_turn"]["share"] == 1.0
    assert sum(parts[key]["share"] for key, _ in stages.TURN_PARTS) == pytest.approx(1.0, abs=0.005)
    assert parts["parse"]["÷ parse"] == 0.9
    assert parts["save"]["p50"] == 3.0
    text = "\n".join(stages.timing_markdown(summary))
    assert "| tracker save | 3.0 / 3.0 | 8.8 % | 0.3 |" in text
    assert "gateway's own time" in text


def test_records_are_json_lines_per_process_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    recorder = stage_timing.Recorder(tmp_path / "t", "rasa")
    recorder.write({"sender": "s", "turn": 0.1})
    recorder.write({"sender": "s", "turn": 0.2})
    [path] = (tmp_path / "t").glob("rasa-*.jsonl")
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"role": "rasa", "sen')  # being written right now
    assert [r["turn"] for r in stage_timing.read(tmp_path / "t")] == [0.1, 0.2]


def test_timing_is_off_unless_the_variable_names_a_folder(tmp_path: Path) -> None:
    assert stage_timing.configured({}) is None
    assert stage_timing.configured({"MEDINS_STAGE_TIMING_DIR": " "}) is None
    assert stage_timing.configured({"MEDINS_STAGE_TIMING_DIR": str(tmp_path)}) == tmp_path
