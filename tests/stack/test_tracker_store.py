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
from sqlalchemy.engine import make_url

from stack import rasa_tuning
from stack.tracker_store import LATEST_INDEX, SESSION_INDEX, TunedSQLTrackerStore

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


async def _next_turn(store: TunedSQLTrackerStore, sender: str, text: str) -> DialogueStateTracker:
    """What Rasa does each turn: load, append the turn's events, save."""
    tracker = await store.retrieve(sender)
    for event in (ActionExecuted("action_listen"), UserUttered(text), ActionExecuted("action_answer"),
                  SlotSet("topic", "ask_remote_care_filing")):
        tracker.update(event)
    await store.save(tracker)
    return tracker


async def test_a_saved_session_comes_back_without_reading_it_again(tmp_path: Path, domain: Domain) -> None:
    db = str(tmp_path / "tracker.db")
    store = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=db)
    first = _conversation("api:stack:cy", domain)
    await store.save(first)
    # The first turn's tracker starts with action_session_start, which a load leaves
    # out: it is not kept, and the next load reads the database.
    loaded = await store.retrieve("api:stack:cy")
    assert loaded is not first and isinstance(loaded.events[0], SessionStarted)
    saved = await _next_turn(store, "api:stack:cy", "需要带什么材料")
    store._load_events = None  # a read of the rows now would fail the test
    again = await store.retrieve("api:stack:cy")
    assert again is saved
    # Exactly what Rasa's own store reads back from the same rows.
    plain = await SQLTrackerStore(domain=domain, dialect="sqlite", db=db).retrieve("api:stack:cy")
    assert [e.as_dict() for e in again.events] == [e.as_dict() for e in plain.events]
    assert again.current_slot_values() == plain.current_slot_values()


def _store_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict:
    """One database two stores share: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    url = make_url(request.getfixturevalue("scale_database"))
    return {"dialect": "postgresql", "host": url.host, "port": url.port, "db": url.database,
            "username": url.username, "password": url.password}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_rows_written_or_deleted_elsewhere_are_read_again(
        backend: str, tmp_path: Path, domain: Domain, request: pytest.FixtureRequest) -> None:
    settings = _store_settings(backend, tmp_path, request)
    here = TunedSQLTrackerStore(domain=domain, **settings)
    other = TunedSQLTrackerStore(domain=domain, **settings)  # a second Rasa server
    await here.save(_conversation("api:stack:di", domain))
    await _next_turn(here, "api:stack:di", "异地就医备案怎么办")
    await _next_turn(other, "api:stack:di", "要带啥子")
    back = await here.retrieve("api:stack:di")
    assert [e.text for e in back.events if isinstance(e, UserUttered)][-1] == "要带啥子"
    # "删除我的记录" / retention delete the rows: nothing comes back from memory.
    with other.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events WHERE sender_id = 'api:stack:di'")
    assert await here.retrieve("api:stack:di") is None
    if backend == "postgresql":  # built CONCURRENTLY, so it must also be valid
        with here.engine.connect() as conn:
            valid = dict(conn.exec_driver_sql(
                "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname LIKE 'ix_events_%%'").all())
        assert valid[SESSION_INDEX] is True and valid[LATEST_INDEX] is True
    here.engine.dispose()
    other.engine.dispose()


async def test_a_tracker_changed_but_not_saved_is_read_again(tmp_path: Path, domain: Domain) -> None:
    store = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    await store.save(_conversation("api:stack:ed", domain))
    saved = await _next_turn(store, "api:stack:ed", "异地就医备案怎么办")
    saved.update(UserUttered("这句没有保存"))  # a turn that failed before Rasa saved it
    back = await store.retrieve("api:stack:ed")
    assert back is not saved and back.latest_message.text == "异地就医备案怎么办"


async def test_the_cache_keeps_the_most_recent_senders(tmp_path: Path, domain: Domain) -> None:
    store = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"), cache_size=2)
    for name in ("a", "b", "c"):
        await store.save(_conversation(name, domain))
        await _next_turn(store, name, "你好")
    assert list(store._saved) == ["b", "c"]
    off = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"), cache_size=0)
    await _next_turn(off, "a", "你好")
    assert not off._saved


def test_the_action_server_gets_the_session_without_what_no_action_reads() -> None:
    ranking = [{"name": f"intent_{i}", "confidence": 0.01} for i in range(30)]
    earlier = [
        {"event": "session_started"},
        {"event": "user", "text": "异地就医备案怎么办", "metadata": {"channel": "web"},
         "parse_data": {"intent": {"name": "ask_remote_care_filing", "confidence": 0.9},
                        "entities": [{"entity": "city", "value": "长春市"}], "intent_ranking": ranking}},
        {"event": "action", "name": "action_answer"},
        {"event": "bot", "text": "答复……", "data": {"buttons": [{"title": "在哪里办"}], "custom": None}},
        {"event": "bot", "text": None, "data": {"custom": {"answer": {"sources": ["很长的依据"]}}}},
        {"event": "slot", "name": "last_answer", "value": {"text": "答复……" * 200}},
    ]
    now = [{"event": "user", "text": "要带啥子", "parse_data": {"intent": {"name": "inform"},
                                                             "intent_ranking": ranking}},
           {"event": "slot", "name": "aspect", "value": "materials"}]
    out = rasa_tuning.compact_events(earlier + now)
    assert out[-2:] == now  # the current turn exactly as Rasa sent it
    user = out[1]
    assert user["text"] == "异地就医备案怎么办" and user["metadata"] == {"channel": "web"}
    assert user["parse_data"] == {"intent": {"name": "ask_remote_care_filing", "confidence": 0.9},
                                  "entities": [{"entity": "city", "value": "长春市"}]}
    assert out[3] == earlier[3] and out[4]["data"] == {"custom": None}
    assert not [e for e in out[:-2] if e["event"] == "slot"]
    assert earlier[1]["parse_data"]["intent_ranking"] == ranking  # Rasa's own state untouched
    assert rasa_tuning.compact_events([]) == [] and rasa_tuning.compact_events(now[1:]) == now[1:]


def test_actions_read_the_compacted_session_as_they_read_the_whole_one() -> None:
    from rasa_sdk import Tracker

    from actions import common

    events = [{"event": "session_started"},
              {"event": "user", "text": "门诊慢特病咋申请", "parse_data": {
                  "intent": {"name": "ask_chronic_disease_outpatient"}, "intent_ranking": []}},
              {"event": "bot", "text": "答复", "data": {"custom": {"answer": {}}}},
              {"event": "slot", "name": "topic", "value": "ask_chronic_disease_outpatient"},
              {"event": "user", "text": "啥", "parse_data": {"intent": {"name": "nlu_fallback"}}},
              {"event": "bot", "text": "您是想问", "data": {}},
              {"event": "user", "text": "还是不懂", "parse_data": {"intent": {"name": "nlu_fallback"}}}]

    def tracker(evs: list[dict]) -> Tracker:
        return Tracker("s", {"topic": "ask_chronic_disease_outpatient"}, evs[-1], evs, False, None, {}, "")

    whole, compact = tracker(events), tracker(rasa_tuning.compact_events(events))
    for read in (lambda t: common.resident_words(t, "ask_chronic_disease_outpatient"),
                 common.recent_transcript, common.consecutive_fallbacks):
        assert read(compact) == read(whole)
    assert common.consecutive_fallbacks(compact) == 2


async def test_a_new_model_s_domain_is_not_answered_from_memory(tmp_path: Path, domain: Domain) -> None:
    """Rasa gives the store the new domain when it loads another model (PUT /model, a
    model server): a load then builds the tracker's slots from it, so must the cache."""
    db = str(tmp_path / "t.db")
    store = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=db)
    await store.save(_conversation("api:stack:fu", domain))
    await _next_turn(store, "api:stack:fu", "异地就医备案怎么办")
    spec = domain.as_dict()
    spec["slots"]["hotswap_flag"] = {"type": "bool", "initial_value": True, "influence_conversation": False,
                                     "mappings": [{"type": "custom"}]}
    new_domain = Domain.from_dict(spec)
    store.domain = new_domain    # what Agent.load_model does
    back = await store.retrieve("api:stack:fu")
    plain = await SQLTrackerStore(domain=new_domain, dialect="sqlite", db=db).retrieve("api:stack:fu")
    assert back.current_slot_values() == plain.current_slot_values()
    assert back.get_slot("hotswap_flag") is True


async def test_a_tracker_the_store_did_not_load_is_not_kept(tmp_path: Path, domain: Domain) -> None:
    """Rasa's PUT /conversations/<id>/tracker/events saves a tracker built from the
    request; the SQL store writes only the events past the rows it has, so what a load
    returns afterwards is the rows, not that tracker. Only a tracker the store loaded
    (the rows are its beginning) may be answered from memory."""
    db = str(tmp_path / "t.db")
    store = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=db)
    await store.save(_conversation("api:stack:gu", domain))
    await _next_turn(store, "api:stack:gu", "异地就医备案怎么办")
    replaced = DialogueStateTracker.from_dict(
        "api:stack:gu", [e.as_dict() for e in (SessionStarted(), ActionExecuted("action_listen"),
                                               UserUttered("换掉的对话"))], domain.slots)
    await store.save(replaced)
    back = await store.retrieve("api:stack:gu")
    plain = await SQLTrackerStore(domain=domain, dialect="sqlite", db=db).retrieve("api:stack:gu")
    assert [e.as_dict() for e in back.events] == [e.as_dict() for e in plain.events]


def _statements(store: TunedSQLTrackerStore) -> list[str]:
    """Every statement the store sends from now on."""
    import sqlalchemy as sa

    seen: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: seen.append(statement))
    return seen


def _count_queries(store: TunedSQLTrackerStore) -> list[str]:
    """Rasa's count of the session's rows, each time the store runs it."""
    import sqlalchemy as sa

    seen: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: seen.append(statement)
                    if "count(" in statement.lower() else None)
    return seen


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_tracker_the_store_saved_is_saved_again_without_counting_its_rows(
        backend: str, tmp_path: Path, domain: Domain, request: pytest.FixtureRequest) -> None:
    """Rasa's store and ours save the same turns: the same rows, and ours counts the
    session's rows only while it does not know them (the first turns)."""
    settings = _store_settings(backend, tmp_path, request)
    sender = f"api:stack:fu-{backend}"
    tuned = TunedSQLTrackerStore(domain=domain, **settings)
    counts = _count_queries(tuned)
    rasa = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    first = _conversation(sender, domain).events
    turns = [[ActionExecuted("action_listen"), UserUttered(text), ActionExecuted("action_answer"),
              SlotSet("topic", "ask_remote_care_filing")]
             for text in ("异地就医备案怎么办", "需要带什么材料", "谢谢", "还有别的吗")]
    for store in (tuned, rasa):
        await store.save(DialogueStateTracker.from_events(sender, list(first), domain.slots))
        for events in turns:  # what Rasa does each turn: load, append, save
            tracker = await store.retrieve(sender)
            for event in events:
                tracker.update(event)
            await store.save(tracker)
    # The first save and the first turn after a load count; the three after do not.
    assert len(counts) == 2
    # A kept tracker's save: the newest-id check and the insert, nothing after the commit.
    statements = _statements(tuned)
    tracker = await tuned.retrieve(sender)
    statements.clear()
    tracker.update(UserUttered("好的"))
    await tuned.save(tracker)
    assert [s.split()[0] for s in statements] == ["SELECT", "INSERT"]
    assert "max(" in statements[0].lower()
    assert await tuned.retrieve(sender) is tracker  # its newest id is the one remembered
    if backend == "postgresql":
        # A turn's events go in one statement, not a round trip per row.
        statements.clear()
        for event in turns[0]:
            tracker.update(event)
        await tuned.save(tracker)
        assert [s.split()[0] for s in statements] == ["SELECT", "INSERT"]
        assert await tuned.retrieve(sender) is tracker

    def rows(store: SQLTrackerStore) -> list[tuple]:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                f"FROM events WHERE sender_id = '{sender}' ORDER BY id")]

    await rasa.save(tracker)
    assert rows(tuned) == rows(rasa) and len(rows(tuned)) == 7 + 4 * 4 + 1 + (4 if backend == "postgresql" else 0)
    tuned.engine.dispose()


async def test_rows_changed_elsewhere_during_a_turn_are_counted_as_rasa_counts(
        tmp_path: Path, domain: Domain) -> None:
    store = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    await store.save(_conversation("api:stack:gu", domain))
    await _next_turn(store, "api:stack:gu", "异地就医备案怎么办")
    await _next_turn(store, "api:stack:gu", "需要带什么材料")  # now kept, count known
    tracker = await store.retrieve("api:stack:gu")
    tracker.update(UserUttered("谢谢"))
    # "删除我的记录" while the turn runs: Rasa's count is 0, so it stores every event again.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events WHERE sender_id = 'api:stack:gu'")
    await store.save(tracker)
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT count(*) FROM events WHERE sender_id = 'api:stack:gu'").scalar()
    assert stored == len(tracker.events)
