"""Deleting what is kept too long, and everything of one sender on request.

Rasa's SQL tracker store keeps every event of a conversation in one table,
``events`` (``sender_id``, ``timestamp`` as Unix seconds, …). Sessions expire after
an hour of silence, so an event older than the retention period always belongs to
a finished session and can be deleted without breaking a live conversation.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, delete, inspect, update
from sqlalchemy.engine import Engine

from hotline.models import STATUS_RESOLVED, Ticket, Unanswered, create_schema, sender_ref
from knowledge.db import make_engine
from retention.config import RetentionSettings

log = logging.getLogger(__name__)

# Rasa's SQLTrackerStore table, as far as retention needs it (never created here).
_tracker_meta = MetaData()
EVENTS = Table(
    "events", _tracker_meta,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("timestamp", Float),
)
AUDIT_TABLE = "staff_audit"


@dataclass(frozen=True)
class PurgeReport:
    """Rows deleted by one purge."""

    events: int
    tickets: int
    unanswered: int
    audit: int

    def as_dict(self) -> dict[str, int]:
        return {"events": self.events, "tickets": self.tickets, "unanswered": self.unanswered,
                "audit": self.audit}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _tracker_engine(url: str) -> Engine | None:
    """An engine on the tracker store, or None when it does not exist yet."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not Path(path).exists():
            return None   # no conversation yet: nothing to delete, nothing to create
    return make_engine(url)


def _has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def purge_events(tracker_url: str, older_than_days: int, *, now: float | None = None) -> int:
    """Delete tracker events older than ``older_than_days``; the number deleted."""
    engine = _tracker_engine(tracker_url)
    if engine is None:
        return 0
    try:
        if not _has_table(engine, "events"):
            return 0
        cutoff = (now if now is not None else time.time()) - older_than_days * 86400
        with engine.begin() as conn:
            return conn.execute(delete(EVENTS).where(EVENTS.c.timestamp < cutoff)).rowcount or 0
    finally:
        engine.dispose()


def purge_hotline(database_url: str | None, ticket_days: int, unanswered_days: int,
                  audit_days: int, *, now: dt.datetime | None = None) -> tuple[int, int, int]:
    """Delete resolved tickets, unanswered questions and audit entries past their
    periods; (tickets, unanswered, audit) deleted. Open tickets are kept: staff owe
    the resident an answer."""
    now = now or _utcnow()
    engine = make_engine(database_url)
    try:
        create_schema(engine)
        with engine.begin() as conn:
            tickets = conn.execute(delete(Ticket.__table__).where(
                Ticket.status == STATUS_RESOLVED,
                Ticket.resolved_at < now - dt.timedelta(days=ticket_days))).rowcount or 0
            unanswered = conn.execute(delete(Unanswered.__table__).where(
                Unanswered.created_at < now - dt.timedelta(days=unanswered_days))).rowcount or 0
            audit = 0
            if _has_table(engine, AUDIT_TABLE):
                table = Table(AUDIT_TABLE, MetaData(), Column("id", Integer, primary_key=True),
                              Column("at", DateTime))
                audit = conn.execute(delete(table).where(
                    table.c.at < now - dt.timedelta(days=audit_days))).rowcount or 0
        return tickets, unanswered, audit
    finally:
        engine.dispose()


def purge(settings: RetentionSettings | None = None, *, now: dt.datetime | None = None) -> PurgeReport:
    """Apply every retention period once (``python -m retention purge``)."""
    settings = settings or RetentionSettings.from_env()
    now = now or _utcnow()
    events = purge_events(settings.tracker_url, settings.conversation_days,
                          now=now.replace(tzinfo=dt.timezone.utc).timestamp())
    tickets, unanswered, audit = purge_hotline(
        settings.database_url, settings.ticket_days, settings.unanswered_days, settings.audit_days, now=now)
    report = PurgeReport(events, tickets, unanswered, audit)
    log.info("retention purge: %s", report.as_dict())
    return report


def forget_sender(sender_id: str, settings: RetentionSettings | None = None) -> dict[str, int]:
    """Delete one sender's conversation and what was kept about it.

    - every tracker event of ``sender_id`` (the conversation, its slots);
    - the transcript and known details of the sender's tickets (the ticket itself,
      its code, place and status stay, so staff can still close a call they owe);
    - the sender's logged unanswered questions.

    Returns the number of rows touched: ``{"events", "tickets", "unanswered"}``.
    Synchronous; run it off an event loop (``asyncio.to_thread``). Configuration
    from the environment like :func:`purge`.
    """
    if not isinstance(sender_id, str) or not sender_id:
        raise ValueError("sender_id must be a non-empty string")
    settings = settings or RetentionSettings.from_env()
    events = 0
    engine = _tracker_engine(settings.tracker_url)
    if engine is not None:
        try:
            if _has_table(engine, "events"):
                with engine.begin() as conn:
                    events = conn.execute(delete(EVENTS).where(EVENTS.c.sender_id == sender_id)).rowcount or 0
        finally:
            engine.dispose()
    ref = sender_ref(sender_id)
    engine = make_engine(settings.database_url)
    try:
        create_schema(engine)
        with engine.begin() as conn:
            tickets = conn.execute(
                update(Ticket.__table__).where(Ticket.sender_ref == ref)
                .values(transcript=[], slots={}, sender_ref=None)).rowcount or 0
            unanswered = conn.execute(
                delete(Unanswered.__table__).where(Unanswered.sender_ref == ref)).rowcount or 0
    finally:
        engine.dispose()
    log.info("forgot a sender: %d events, %d tickets cleared, %d unanswered", events, tickets, unanswered)
    return {"events": events, "tickets": tickets, "unanswered": unanswered}


__all__ = ["PurgeReport", "purge", "purge_events", "purge_hotline", "forget_sender"]
