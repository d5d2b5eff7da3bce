"""The benchmark's per-stage timing inside Rasa and the action server (stage_timing.py).

Off (the variable unset) nothing is patched; on, each turn through a real embedded
stack leaves one Rasa record with every stage once per call, the action server's own
time of each action, and the gateway's own time. The last test starts real processes
and needs the trained model (models/assistant.tar.gz, or MEDINS_MODEL).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterator

import pytest

import stage_timing
from bench import stages
from stack import Stack, StackConfig, rasa_tuning
from stack.config import throwaway_staff_hash

ROOT = Path(__file__).resolve().parents[2]


def _patched_methods() -> list:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.lock_store import LockStore
    from rasa.core.processor import MessageProcessor
    from rasa_sdk.executor import ActionExecutor

    return [Agent.handle_message, LockStore.issue_ticket, LockStore._acquire_lock,
            LockStore.cleanup, MessageProcessor.handle_message, MessageProcessor.get_tracker,
            MessageProcessor.parse_message, MessageProcessor._predict_next_with_tracker,
            MessageProcessor.save_tracker, RemoteAction.run, ActionExecutor.run]


@pytest.fixture
def clean() -> Iterator[None]:
    stage_timing.uninstall()
    yield
    stage_timing.uninstall()


def test_off_nothing_is_patched(clean: None, monkeypatch: pytest.MonkeyPatch,
                                tmp_path: Path) -> None:
    monkeypatch.delenv(stage_timing.VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    rasa_tuning.install()  # what the tracker store calls when Rasa loads it
    assert stage_timing.install_rasa() is False
    assert stage_timing.install_action_server() is False
    assert not stage_timing.installed()
    assert not any(hasattr(m, "__wrapped__") for m in _patched_methods())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variable, value", [("RETENTION_INTERVAL_HOURS", "0"), ("APP_ENV", "prod")])
def test_off_another_process_s_variable_cannot_stop_rasa_or_the_action_server(
        clean: None, monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    """Unset, the timing has no effect at all: a variable only the retention job or the
    gateway reads, set wrong, is theirs to refuse, not a reason for the tracker store
    (rasa_tuning.install) or rasa_sdk's plugin hook to raise."""
    monkeypatch.delenv(stage_timing.VARIABLE, raising=False)
    monkeypatch.setenv(variable, value)
    assert stage_timing.configured() is None
    rasa_tuning.install()
    assert stage_timing.install_rasa() is False and stage_timing.install_action_server() is False
    monkeypatch.setenv(stage_timing.VARIABLE, "/tmp/x")
    assert stage_timing.configured() == Path("/tmp/x")


async def test_on_every_stage_is_patched_once_and_outside_a_turn_records_nothing(
        clean: None, tmp_path: Path) -> None:
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    originals = _patched_methods()
    assert stage_timing.install_rasa(tmp_path) is True
    assert stage_timing.install_action_server(tmp_path) is True
    assert stage_timing.install_rasa(tmp_path) is False  # once per process
    assert all(m.__wrapped__ is o for m, o in zip(_patched_methods(), originals))
    # A stage called outside a turn (e.g. by /model/parse or the HTTP API) is not timed.
    processor = MessageProcessor.__new__(MessageProcessor)
    processor.tracker_store = InMemoryTrackerStore(Domain.empty())
    await processor.save_tracker(DialogueStateTracker("s", []))
    assert list(tmp_path.iterdir()) == []
    stage_timing.uninstall()
    assert _patched_methods() == originals


@pytest.mark.stack
def test_each_turn_has_each_stage_and_they_fit_in_the_turn(
        trained_model: Path, gateway_ready: None, tmp_path: Path) -> None:
    timing = tmp_path / "timing"
    config = StackConfig.for_tests(
        model=trained_model, load_knowledge=True, var_dir=tmp_path / "var",
        log_dir=ROOT / "var" / "log" / "tests", rasa_timeout=300,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'assistant.db'}", "REDIS_URL": "",
             "STAFF_PASSWORD_HASH": throwaway_staff_hash(), "RASA_TIMEOUT": "60",
             stage_timing.VARIABLE: str(timing)})
    with Stack(config) as stack:
        samples = asyncio.run(stages.run_stages(
            stack.config.rasa_urls[0], stack.config.gateway_url, None, stack.config.api_key,
            conversations=1, turns=5))
        records = stage_timing.read(timing)
    assert not any(s.errors for s in samples)
    rasa = [r for r in records if r["role"] == "rasa"]
    # One record per turn: the REST conversation's and the gateway's; none for /model/parse.
    assert len(rasa) == 2 * len(samples)
    for r in rasa:
        st = r["stages"]
        for once in ("retrieve", "parse", "save", "lock_release", "lock_hold", "handle_message"):
            assert len(st[once]) == 1, (once, r)
        assert len(st["lock_acquire"]) == 2  # the ticket, then the wait
        assert len(st["predict"]) >= 2  # at least the action and the listen after it
        assert len(st.get("action_call", [])) == len(r["actions"])
        inside = sum(sum(st.get(k, [])) for k in stages.SERVER_STAGES)
        assert 0 < inside <= r["turn"]
        assert sum(st["handle_message"]) <= sum(st["lock_hold"]) <= r["turn"]
    assert stages.attach_timing(samples, records) == len(samples)
    answers = [s for s in samples if s.phase in stages.ANSWER_PHASES]
    assert answers
    for s in answers:
        p = s.server
        assert p["action_calls"] >= 1
        assert 0 < p["action_own"] < p["action_call"]
        assert p["outside"] > 0 and p["unaccounted"] >= 0
        assert sum(p[k] for k, _ in stages.TURN_PARTS) == pytest.approx(s.seconds["rasa_turn"])
        assert 0 < p["gateway_own"] < s.seconds["api_turn"]
