"""Hand-off tickets and unanswered questions: create, look up, resolve, summarise.

Every text a resident wrote (transcript, slots) and every staff note is passed
through :func:`textproc.mask_pii` *before* it reaches the database, so tickets never
hold ID-card, mobile or bank-card numbers. Functions take a ``sessionmaker`` (the
knowledge base's) and return plain dataclasses, never ORM rows.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Collection
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from hotline.models import (
    REASONS,
    STATUS_OPEN,
    STATUS_RESOLVED,
    UNANSWERED_REASONS,
    Ticket,
    Unanswered,
    create_schema,
    sender_ref,
)
from textproc import mask_pii, normalize

# No 0/O, 1/I/L: a code read out over the phone cannot be misheard as another.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
CODE_ATTEMPTS = 8
TRANSCRIPT_LIMIT = 20      # messages kept on a ticket, newest last
TEXT_LIMIT = 2000          # characters kept per message / note
# Daily counts are for staff in China: days start at midnight Beijing time.
REPORT_TZ = ZoneInfo("Asia/Shanghai")
_CODE_JUNK = re.compile(r"[\s\-_.·]+")


class TicketError(Exception):
    """Base class of the ticket errors callers translate into replies."""


class TicketNotFound(TicketError):
    """No ticket has this code."""


class TicketAlreadyResolved(TicketError):
    """The ticket was resolved before."""


class CodeCollision(TicketError):
    """No free code was found after several attempts (practically impossible)."""


@dataclass(frozen=True)
class TicketInfo:
    """A ticket as callers see it; ``created_at``/``resolved_at`` are aware UTC."""

    code: str
    place: str | None
    topic: str | None
    channel: str
    hotline: str
    reason: str
    status: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution_note: str | None
    transcript: list[dict[str, Any]]
    slots: dict[str, Any]
    updated_at: dt.datetime | None = None   # last hand-off of the same sender merged in

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (ISO 8601 timestamps)."""
        return {
            "code": self.code, "place": self.place, "topic": self.topic,
            "channel": self.channel, "hotline": self.hotline, "reason": self.reason,
            "status": self.status, "created_at": self.created_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolution_note": self.resolution_note,
            "transcript": self.transcript, "slots": self.slots,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


@dataclass(frozen=True)
class QueuePage:
    """One page of the open-ticket queue."""

    tickets: list[TicketInfo]
    total: int          # open tickets matching the filter, all pages
    offset: int
    limit: int
    order: str

    def to_json(self) -> dict[str, Any]:
        return {"tickets": [t.to_json() for t in self.tickets], "total": self.total,
                "offset": self.offset, "limit": self.limit, "order": self.order}


@dataclass
class UnansweredGroup:
    """Unanswered questions of one (topic, place) over the window."""

    topic: str | None
    place: str | None
    total: int
    daily: dict[str, int]                 # ISO date → count, every day of the window
    by_reason: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)  # newest first, masked


@dataclass
class UnansweredSummary:
    """Counts per day (Beijing time) over the last ``len(days)`` days."""

    days: list[str]
    totals: dict[str, int]
    groups: list[UnansweredGroup]

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days, "totals": self.totals,
            "groups": [g.__dict__ for g in self.groups],
        }


# -- helpers -----------------------------------------------------------------

def _utcnow() -> dt.datetime:
    """Naive UTC, as the tables store it."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.timezone.utc) if value is not None else None


def mask_text(text: str | None, limit: int = TEXT_LIMIT) -> str:
    """Normalised, PII-masked and length-capped text for storage.

    Normalising first turns full-width and spoken digits (１３９…, 幺三九…) into
    ASCII digits, so the masking patterns catch them too.
    """
    if not text:
        return ""
    masked, _ = mask_pii(normalize(str(text)))
    return masked[:limit]


def mask_value(value: Any) -> Any:
    """Mask every string inside a JSON-like value (dicts, lists, scalars)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {str(k): mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        # Long integers (a card number sent as a number) are masked as text.
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**10:
            return mask_text(str(value))
        return value
    return mask_text(str(value))


def new_code() -> str:
    """A random ticket code from :data:`CODE_ALPHABET` (``secrets``, not ``random``)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def clean_code(code: str) -> str:
    """Canonical form of a code as typed or read out: 'k7m 3pq' → 'K7M3PQ'."""
    return _CODE_JUNK.sub("", unicodedata.normalize("NFKC", code or "")).upper()


def valid_code(code: str) -> bool:
    """True when ``code`` (already cleaned) could be a ticket code."""
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


# The actions call create_ticket before anybody ran a migration: create the tables
# once per engine on first use rather than failing the hand-off.
_schema_ready: "weakref.WeakSet" = weakref.WeakSet()


def _ensure_schema(sessions: sessionmaker) -> None:
    engine = sessions.kw.get("bind")
    if engine is None or engine in _schema_ready:
        return
    create_schema(engine)
    _schema_ready.add(engine)


def _info(row: Ticket) -> TicketInfo:
    return TicketInfo(
        code=row.code, place=row.place, topic=row.topic, channel=row.channel or "",
        hotline=row.hotline, reason=row.reason, status=row.status,
        created_at=_aware(row.created_at), resolved_at=_aware(row.resolved_at),
        resolution_note=row.resolution_note, transcript=list(row.transcript or []),
        slots=dict(row.slots or {}), updated_at=_aware(row.updated_at),
    )


# -- tickets -----------------------------------------------------------------

def create_ticket(
    sessions: sessionmaker,
    *,
    place: str | None,
    topic: str | None,
    channel: str | None,
    hotline: str,
    reason: str,
    transcript: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    sender: str | None = None,
    code_factory: Callable[[], str] = new_code,
) -> TicketInfo:
    """Store an open ticket; return it.

    With ``sender`` (the conversation's sender id, stored only as
    :func:`hotline.models.sender_ref`), a sender holds at most one open ticket: a new
    hand-off updates that ticket (same code, newest transcript, ``updated_at``) and
    keeps its place in the queue, so rotating hand-offs cannot flood it.

    ``transcript`` is a list of ``{"from": "resident"|"bot", "text": …}`` in order
    (``"chose": true`` on a resident line that is a button's title they chose);
    only the last :data:`TRANSCRIPT_LIMIT` are kept. Raises ``ValueError`` for an
    unknown ``reason`` and SQLAlchemy errors when the database is down.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown hand-off reason {reason!r}; expected one of {REASONS}")
    _ensure_schema(sessions)
    stored_transcript = mask_value(list(transcript or [])[-TRANSCRIPT_LIMIT:])
    stored_slots = mask_value(dict(slots or {}))
    ref = sender_ref(sender)
    if ref is not None:
        with sessions() as session, session.begin():
            row = session.execute(
                select(Ticket).where(Ticket.sender_ref == ref, Ticket.status == STATUS_OPEN)
                .order_by(Ticket.created_at).limit(1).with_for_update()
            ).scalar_one_or_none()
            if row is not None:
                row.place = place or row.place
                row.topic = topic or row.topic
                row.channel = (channel or row.channel or "")[:16]
                row.hotline, row.reason = str(hotline), reason
                row.transcript, row.slots = stored_transcript, {**(row.slots or {}), **stored_slots}
                row.updated_at = _utcnow()
                session.flush()
                return _info(row)
    for _ in range(CODE_ATTEMPTS):
        code = code_factory()
        row = Ticket(
            code=code, place=place, topic=topic, channel=(channel or "")[:16],
            hotline=str(hotline), reason=reason, created_at=_utcnow(), status=STATUS_OPEN,
            transcript=stored_transcript, slots=stored_slots, sender_ref=ref,
        )
        try:
            with sessions() as session, session.begin():
                session.add(row)
                session.flush()
                info = _info(row)
            return info
        except IntegrityError:
            # The unique index on code rejected a duplicate: draw again.
            continue
    raise CodeCollision(f"no free ticket code after {CODE_ATTEMPTS} attempts")


def get_by_code(sessions: sessionmaker, code: str) -> TicketInfo:
    """The ticket with ``code`` (any case, spaces/dashes ignored) or :class:`TicketNotFound`."""
    cleaned = clean_code(code)
    if not valid_code(cleaned):
        raise TicketNotFound(cleaned)
    _ensure_schema(sessions)
    with sessions() as session:
        row = session.execute(select(Ticket).where(Ticket.code == cleaned)).scalar_one_or_none()
        if row is None:
            raise TicketNotFound(cleaned)
        return _info(row)


QUEUE_ORDERS = ("oldest", "newest")
ALL_PLACES = None   # ``places=ALL_PLACES``: no place scoping (admin, CLI)


def _open_query(place: str | None, places: Collection[str] | None):
    query = select(Ticket).where(Ticket.status == STATUS_OPEN)
    if place:
        query = query.where(Ticket.place == place)
    if places is not None:
        # A scoped account sees its places only (tickets without a place: admins).
        query = query.where(Ticket.place.in_(list(places)))
    return query


def open_queue(sessions: sessionmaker, *, place: str | None = None,
               places: Collection[str] | None = ALL_PLACES, order: str = "oldest",
               offset: int = 0, limit: int = 50) -> QueuePage:
    """A page of open tickets: ``oldest`` waiting first (the queue) or ``newest`` first.

    ``places`` limits the queue to an account's places; ``None`` means all.
    """
    if order not in QUEUE_ORDERS:
        raise ValueError(f"order must be one of {QUEUE_ORDERS}")
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    _ensure_schema(sessions)
    query = _open_query(place, places)
    if order == "oldest":
        query = query.order_by(Ticket.created_at, Ticket.id)
    else:
        query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    counted = select(func.count()).select_from(_open_query(place, places).subquery())
    with sessions() as session:
        total = int(session.execute(counted).scalar_one())
        rows = [_info(r) for r in session.execute(query.offset(offset).limit(limit)).scalars()]
    return QueuePage(rows, total, offset, limit, order)


def list_open(sessions: sessionmaker, place: str | None = None, limit: int = 200) -> list[TicketInfo]:
    """Open tickets, oldest first (the queue order), optionally of one place."""
    return open_queue(sessions, place=place, limit=limit).tickets


def resolve(sessions: sessionmaker, code: str, note: str) -> TicketInfo:
    """Mark a ticket resolved with a (masked) note; raises TicketNotFound / TicketAlreadyResolved."""
    cleaned = clean_code(code)
    if not valid_code(cleaned):
        raise TicketNotFound(cleaned)
    _ensure_schema(sessions)
    with sessions() as session, session.begin():
        row = session.execute(
            select(Ticket).where(Ticket.code == cleaned).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise TicketNotFound(cleaned)
        if row.status == STATUS_RESOLVED:
            raise TicketAlreadyResolved(cleaned)
        row.status = STATUS_RESOLVED
        row.resolved_at = _utcnow()
        row.resolution_note = mask_text(note)
        session.flush()
        return _info(row)


# -- unanswered questions ------------------------------------------------------

def record_unanswered(
    sessions: sessionmaker, place: str | None, topic: str | None, text: str | None, reason: str,
    sender: str | None = None,
) -> None:
    """Remember a question the bot could not answer (text masked before storing)."""
    if reason not in UNANSWERED_REASONS:
        raise ValueError(f"unknown reason {reason!r}; expected one of {UNANSWERED_REASONS}")
    _ensure_schema(sessions)
    with sessions() as session, session.begin():
        session.add(Unanswered(
            place=place, topic=topic, text=mask_text(text, limit=500), reason=reason,
            created_at=_utcnow(), sender_ref=sender_ref(sender),
        ))


def unanswered_summary(
    sessions: sessionmaker, days: int = 14, *, now: dt.datetime | None = None, examples: int = 3,
    places: Collection[str] | None = ALL_PLACES,
) -> UnansweredSummary:
    """Unanswered questions of the last ``days`` days, grouped by (topic, place).

    Days are calendar days in Beijing time, oldest first, each with a count (zeros
    included) so a chart can be drawn directly. Groups are sorted by total, largest first.
    """
    days = max(1, min(int(days), 366))
    now_local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(REPORT_TZ)
    first_day = now_local.date() - dt.timedelta(days=days - 1)
    since_local = dt.datetime.combine(first_day, dt.time(), tzinfo=REPORT_TZ)
    since_utc = since_local.astimezone(dt.timezone.utc).replace(tzinfo=None)
    day_keys = [(first_day + dt.timedelta(days=i)).isoformat() for i in range(days)]

    _ensure_schema(sessions)
    query = (
        select(Unanswered.topic, Unanswered.place, Unanswered.reason, Unanswered.text, Unanswered.created_at)
        .where(Unanswered.created_at >= since_utc)
        .order_by(Unanswered.created_at.desc())
    )
    if places is not None:   # an account sees its places only
        query = query.where(Unanswered.place.in_(list(places)))
    with sessions() as session:
        rows = session.execute(query).all()

    totals = dict.fromkeys(day_keys, 0)
    groups: dict[tuple, UnansweredGroup] = {}
    for topic, place, reason, text, created_at in rows:
        day = _aware(created_at).astimezone(REPORT_TZ).date().isoformat()
        if day not in totals:   # clock skew: a row from "tomorrow"
            continue
        group = groups.get((topic, place))
        if group is None:
            group = groups[(topic, place)] = UnansweredGroup(
                topic, place, 0, dict.fromkeys(day_keys, 0), defaultdict(int))
        group.total += 1
        group.daily[day] += 1
        group.by_reason[reason] += 1
        totals[day] += 1
        if text and len(group.examples) < examples and text not in group.examples:
            group.examples.append(text)
    ordered = sorted(groups.values(), key=lambda g: (-g.total, g.topic or "", g.place or ""))
    for g in ordered:
        g.by_reason = dict(g.by_reason)
    return UnansweredSummary(day_keys, totals, ordered)
