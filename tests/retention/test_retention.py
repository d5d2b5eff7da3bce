"""Retention on real stores: Rasa's own SQL tracker store and the ticket tables, on
the embedded SQLite files and on PostgreSQL (tracker and tickets in one database,
as in production)."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from hotline import tickets
from hotline.models import Ticket, Unanswered, create_schema
from knowledge.db import make_engine, make_session_factory
from retention import RetentionConfigError, RetentionSettings, forget_sender, purge

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400


def _tracker_store(url: str):
    """Rasa's SQLTrackerStore on ``url`` (what `rasa run` builds from the endpoints)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    u = make_url(url)
    domain = Domain.from_yaml("version: '3.1'\nintents: [greet]\nslots: {}\n")
    if u.drivername.startswith("sqlite"):
        return SQLTrackerStore(domain, dialect="sqlite", db=u.database)
    return SQLTrackerStore(domain, dialect="postgresql", host=u.host, port=u.port or 5432,
                           db=u.database, username=u.username, password=u.password or "")


async def _converse(store, sender: str, age_days: float, text_: str) -> None:
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    at = time.time() - age_days * DAY
    tracker = DialogueStateTracker(sender, slots=[])
    for event in (ActionExecuted("action_listen", timestamp=at),
                  UserUttered(text_, {"name": "greet", "confidence": 1.0}, timestamp=at + 1),
                  SlotSet("disease", "糖尿病", timestamp=at + 2)):
        tracker.update(event)
    await store.save(tracker)


def _events(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")).all()
    engine.dispose()
    return {s: n for s, n in rows}


@pytest.fixture
def stores(database_url, tmp_path):
    """(settings, tracker url, ticket sessions) on SQLite files or one PostgreSQL database."""
    tracker_url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'tracker.db'}"
    settings = RetentionSettings(database_url=database_url, tracker_url=tracker_url)
    engine = make_engine(database_url)
    create_schema(engine)
    yield settings, tracker_url, make_session_factory(engine)
    engine.dispose()


def _age(sessions, model, row_filter, **values) -> None:
    with sessions() as session, session.begin():
        for row in session.execute(select(model).where(row_filter)).scalars():
            for k, v in values.items():
                setattr(row, k, v)


def _ticket(sessions, sender: str, text_: str = "我要转人工"):
    return tickets.create_ticket(sessions, place="连云港市", topic="ask_remote_care_filing", channel="web",
                                 hotline="12393", reason="request_human", sender=sender,
                                 transcript=[{"from": "resident", "text": text_}], slots={"disease": "糖尿病"})


async def test_purge_deletes_old_and_keeps_new(stores):
    settings, tracker_url, sessions = stores
    store = _tracker_store(tracker_url)
    await _converse(store, "old-sender", 200, "半年前的问题")
    await _converse(store, "recent-sender", 10, "上周的问题")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    old_resolved = _ticket(sessions, "a")
    new_resolved = _ticket(sessions, "b")
    old_open = _ticket(sessions, "c")
    for info in (old_resolved, new_resolved):
        tickets.resolve(sessions, info.code, "已回电")
    _age(sessions, Ticket, Ticket.code == old_resolved.code, resolved_at=now - dt.timedelta(days=400),
         created_at=now - dt.timedelta(days=401))
    _age(sessions, Ticket, Ticket.code == new_resolved.code, resolved_at=now - dt.timedelta(days=300))
    _age(sessions, Ticket, Ticket.code == old_open.code, created_at=now - dt.timedelta(days=500))
    from hotline import accounts
    from hotline.accounts import AuditEntry

    accounts.audit(sessions, "li", "view_ticket", "OLD")
    accounts.audit(sessions, "li", "view_ticket", "NEW")
    _age(sessions, AuditEntry, AuditEntry.target == "OLD", at=now - dt.timedelta(days=366))
    tickets.record_unanswered(sessions, "连云港市", None, "很久以前没听懂", "fallback", sender="a")
    tickets.record_unanswered(sessions, "连云港市", None, "昨天没听懂", "fallback", sender="b")
    _age(sessions, Unanswered, Unanswered.text == "很久以前没听懂", created_at=now - dt.timedelta(days=181))

    before = _events(tracker_url)
    assert before["old-sender"] >= 3 and before["recent-sender"] >= 3
    report = purge(settings)

    after = _events(tracker_url)
    assert "old-sender" not in after and after["recent-sender"] == before["recent-sender"]
    assert report.events == before["old-sender"]
    with sessions() as session:
        codes = set(session.execute(select(Ticket.code)).scalars())
        texts = set(session.execute(select(Unanswered.text)).scalars())
    assert codes == {new_resolved.code, old_open.code}     # open tickets wait for staff
    assert texts == {"昨天没听懂"}
    with sessions() as session:
        assert set(session.execute(select(AuditEntry.target)).scalars()) == {"NEW"}
    assert report.as_dict() == {"events": before["old-sender"], "tickets": 1, "unanswered": 1, "audit": 1}
    assert purge(settings).as_dict() == {"events": 0, "tickets": 0, "unanswered": 0, "audit": 0}


async def test_forget_sender_deletes_one_residents_records(stores):
    settings, tracker_url, sessions = stores
    store = _tracker_store(tracker_url)
    await _converse(store, "resident-1", 0.01, "我有糖尿病 手机13912345678")
    await _converse(store, "resident-2", 0.01, "别人的问题")
    mine = _ticket(sessions, "resident-1", "糖尿病门诊怎么报")
    theirs = _ticket(sessions, "resident-2")
    tickets.record_unanswered(sessions, "连云港市", None, "我的问题", "fallback", sender="resident-1")
    tickets.record_unanswered(sessions, "连云港市", None, "别人的", "fallback", sender="resident-2")

    counts = forget_sender("resident-1", settings)

    assert counts["events"] >= 3 and counts["tickets"] == 1 and counts["unanswered"] == 1
    assert "resident-1" not in _events(tracker_url) and "resident-2" in _events(tracker_url)
    cleared = tickets.get_by_code(sessions, mine.code)
    assert cleared.transcript == [] and cleared.slots == {} and cleared.status == "open"
    assert tickets.get_by_code(sessions, theirs.code).transcript
    with sessions() as session:
        assert set(session.execute(select(Unanswered.text)).scalars()) == {"别人的"}
    # The tracker store Rasa reads back has nothing left of the conversation.
    restored = await store.retrieve("resident-1")
    assert restored is None or not restored.events
    assert forget_sender("resident-1", settings) == {"events": 0, "tickets": 0, "unanswered": 0}


def test_forget_sender_without_any_store_yet(tmp_path):
    settings = RetentionSettings(database_url=f"sqlite:///{tmp_path / 'a.db'}",
                                 tracker_url=f"sqlite:///{tmp_path / 'missing' / 'tracker.db'}")
    assert forget_sender("nobody", settings) == {"events": 0, "tickets": 0, "unanswered": 0}
    assert not (tmp_path / "missing").exists()
    with pytest.raises(ValueError):
        forget_sender("", settings)


def test_settings_from_env():
    s = RetentionSettings.from_env({})
    assert (s.conversation_days, s.unanswered_days, s.ticket_days) == (180, 180, 365)
    assert s.tracker_url.endswith("var/tracker.db")
    s = RetentionSettings.from_env({"CONVERSATION_RETENTION_DAYS": "30", "APP_ENV": "production",
                                    "DATABASE_URL": "postgres://u:p@db/medins"})
    assert (s.conversation_days, s.unanswered_days) == (30, 30)
    assert s.tracker_url == s.database_url == "postgresql://u:p@db/medins"
    s = RetentionSettings.from_env({"TRACKER_DATABASE_URL": "sqlite:////tmp/t.db"})
    assert s.tracker_url == "sqlite:////tmp/t.db"
    # APP_ENV means what it means to the gateway (settings.py): any case, nothing else.
    s = RetentionSettings.from_env({"APP_ENV": "Production", "DATABASE_URL": "postgresql://u@db/m"})
    assert s.tracker_url == "postgresql://u@db/m"
    for bad, name in (({"CONVERSATION_RETENTION_DAYS": "0"}, "CONVERSATION_RETENTION_DAYS"),
                      ({"TICKET_RETENTION_DAYS": "a year"}, "TICKET_RETENTION_DAYS"),
                      ({"RETENTION_INTERVAL_HOURS": "-1"}, "RETENTION_INTERVAL_HOURS"),
                      ({"APP_ENV": "prod"}, "APP_ENV")):
        with pytest.raises(RetentionConfigError, match=name):
            RetentionSettings.from_env(bad)


def test_cli_purge(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
           "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}"}
    result = subprocess.run([sys.executable, "-m", "retention", "purge"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"events": 0, "tickets": 0, "unanswered": 0, "audit": 0}
    bad = subprocess.run([sys.executable, "-m", "retention", "purge"], cwd=ROOT,
                         env={**env, "CONVERSATION_RETENTION_DAYS": "never"},
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "CONVERSATION_RETENTION_DAYS" in bad.stderr


def test_cli_run_purges_periodically_and_stops_on_sigterm(tmp_path):
    """What `make run` (stack) and compose start: a purge now, then one per interval."""
    import signal

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
           "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "retention", "run", "--every-hours", str(1 / 3600)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    runs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(runs) >= 2 and all(r["events"] == 0 for r in runs)
