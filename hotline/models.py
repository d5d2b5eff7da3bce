"""Tables of the hand-off: tickets and unanswered questions.

They live in the same database as the knowledge base but on their own declarative
``Base``, so loading knowledge never touches tickets and vice versa. Timestamps are
stored as naive UTC (SQLite keeps no time zone; PostgreSQL and SQLite then agree).
"""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Text
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


def create_schema(engine: Engine) -> None:
    """Create the hand-off tables if they do not exist (idempotent)."""
    Base.metadata.create_all(engine)
