"""The tuned tracker store Rasa loads from endpoints.yml, on a real SQLite file."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from stack import rasa_tuning
from stack.tracker_store import SESSION_INDEX, TunedSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def _conversation(sender: str, domain: Domain) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, domain.slots)
    for event in (ActionExecuted("action_session_start"), SessionStarted(),
                  ActionExecuted("action_listen"), UserUttered("我在长春"),
                  SlotSet("city", "长春市"), ActionExecuted("action_listen"),
                  UserUttered("异地就医备案怎么办")):
        tracker.update(event)
    return tracker


async def test_same_rows_and_trackers_as_rasas_store(tmp_path: Path, domain: Domain) -> None:
    db = tmp_path / "tracker.db"
    tuned = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    await tuned.save(_conversation("api:stack:anna", domain))
    plain = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))  # Rasa's own reader
    back = await plain.retrieve("api:stack:anna")
    assert back is not None and back.get_slot("city") == "长春市"
    # The current session, from session_started on (Rasa's rule), in order.
    assert [e.as_dict()["event"] for e in back.events] == [
        "session_started", "action", "user", "slot", "action", "user"]
    assert tuned.engine.pool.__class__.__name__ == "QueuePool"  # connections stay open
    again = await tuned.retrieve("api:stack:anna")
    assert [e.as_dict() for e in again.events] == [e.as_dict() for e in back.events]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(events)")}
        assert SESSION_INDEX in indexes
        plan = " ".join(r[-1] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT max(timestamp) FROM events "
            "WHERE sender_id = 'a' AND type_name = 'session_started'"))
        assert SESSION_INDEX in plan, plan
    finally:
        conn.close()


def test_action_replies_are_checked_as_strictly_as_rasa_checks_them() -> None:
    rasa_tuning.install()
    assert rasa_tuning.install() is False  # once per process
    action = RemoteAction("action_answer", None)
    good = {"events": [{"event": "slot", "name": "city", "value": "长春市"}],
            "responses": [{"text": "好的"}]}
    assert action._validate_action_result(good) is True
    for bad in ({"events": [{"event": "no_such_event"}]}, {"responses": "text"}, []):
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(bad)


def test_event_types_resolve_as_rasa_resolves_them() -> None:
    from rasa.shared.core.events import Event, SlotSet, UserUttered

    rasa_tuning.install()
    assert Event.resolve_by_type("user") is UserUttered and Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("topic") is None  # Rasa's backwards compatibility
    assert Event.resolve_by_type("no_such", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("no_such_either", default=UserUttered) is UserUttered  # not cached
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such")
    assert Event.from_parameters({"event": "slot", "name": "city", "value": "长春市"}) == SlotSet("city", "长春市")


async def test_saved_rows_are_rasas_rows(tmp_path: Path, domain: Domain) -> None:
    """The same tracker saved by Rasa's store and by ours: identical rows, also when
    saved again after more turns (only the new events are added)."""
    tracker = _conversation("api:stack:bo", domain)
    stores = {"rasa": SQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "r.db")),
              "tuned": TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))}
    for store in stores.values():
        await store.save(tracker)
    tracker.update(ActionExecuted("action_answer"))
    tracker.update(SlotSet("topic", "ask_remote_care_filing"))
    for store in stores.values():
        await store.save(tracker)

    def rows(name: str) -> list[tuple]:
        conn = sqlite3.connect(tmp_path / f"{name[0]}.db")
        try:
            return conn.execute("SELECT sender_id, type_name, timestamp, intent_name, action_name, "
                                "data FROM events ORDER BY id").fetchall()
        finally:
            conn.close()

    assert rows("rasa") == rows("tuned") and len(rows("tuned")) >= 9
    assert {r[3] for r in rows("tuned")} >= {None} and any(r[4] == "action_answer" for r in rows("tuned"))
