"""Tables of the hand-off: tickets and unanswered questions.

They live in the same database as the knowledge base but on their own declarative
``Base``, so loading knowledge never touches tickets and vice versa. Timestamps are
stored as naive UTC (SQLite keeps no time zone; PostgreSQL and SQLite then agree).
"""
from __future__ import annotations

import hashlib

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Text, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base

Base = declarative_base()

REASONS = ("request_human", "fallback", "complain", "case_handling", "no_answer")
UNANSWERED_REASONS = ("fallback", "handoff", "no_answer")
STATUS_OPEN = "open"
STATUS_RESOLVED = "resolved"


class Ticket(Base):
    """One hand-off: what the resident asked, which hotline they were sent to."""

    __tablename__ = "hotline_tickets"

    id = Column(Integer, primary_key=True, autoincrement=True)
    code = Column(String(6), nullable=False, unique=True)
    place = Column(String(64), index=True)          # canonical place name, or NULL
    topic = Column(String(64))
    channel = Column(String(16), nullable=False, default="")
    hotline = Column(String(16), nullable=False)
    reason = Column(String(16), nullable=False)
    created_at = Column(DateTime, nullable=False)   # naive UTC
    status = Column(String(16), nullable=False, default=STATUS_OPEN)
    resolved_at = Column(DateTime)
    resolution_note = Column(Text)
    transcript = Column(JSON, nullable=False, default=list)
    slots = Column(JSON, nullable=False, default=dict)
    # Who handed off, as :func:`sender_ref` (never the sender id itself): one open
    # ticket per sender, and "删除我的记录" finds the sender's tickets.
    sender_ref = Column(String(64), index=True)
    updated_at = Column(DateTime)                   # naive UTC; last hand-off merged in

    __table_args__ = (Index("ix_hotline_tickets_status_place", "status", "place"),)


class Unanswered(Base):
    """A question the bot could not answer (fallback, hand-off, no knowledge)."""

    __tablename__ = "hotline_unanswered"

    id = Column(Integer, primary_key=True, autoincrement=True)
    place = Column(String(64))
    topic = Column(String(64))
    text = Column(Text, nullable=False, default="")
    reason = Column(String(16), nullable=False)
    created_at = Column(DateTime, nullable=False, index=True)  # naive UTC
    sender_ref = Column(String(64), index=True)


def sender_ref(sender_id: str | None) -> str | None:
    """A stable reference to a conversation's sender that does not reveal it.

    Sender ids are openids or random session ids; their SHA-256 lets the same sender
    be found again (one open ticket, deletion on request) without storing the id.
    """
    if not sender_id:
        return None
    return hashlib.sha256(f"medins-sender:{sender_id}".encode("utf-8")).hexdigest()


# Columns added after the first release: (table, column, DDL type). create_all does
# not alter existing tables, so they are added here, once, on databases made before.
_ADDED_COLUMNS = (
    ("hotline_tickets", "sender_ref", "VARCHAR(64)"),
    ("hotline_tickets", "updated_at", "TIMESTAMP"),
    ("hotline_unanswered", "sender_ref", "VARCHAR(64)"),
)


def create_schema(engine: Engine) -> None:
    """Create the hand-off tables if they do not exist, add newer columns (idempotent)."""
    Base.metadata.create_all(engine)
    inspector = inspect(engine)
    for table, column, ddl in _ADDED_COLUMNS:
        present = {c["name"] for c in inspector.get_columns(table)}
        if column in present:
            continue
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))
            if column == "sender_ref":
                conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{table}_sender_ref ON {table} (sender_ref)"))
