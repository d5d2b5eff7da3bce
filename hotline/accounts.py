"""Named staff accounts and the audit log of the staff console.

An account has a name, a scrypt password hash (:mod:`hotline.passwords`), an
optional TOTP secret (RFC 6238, checked with pyotp), a role (``staff`` or
``admin``) and the places whose tickets it may see (``None``: every place, and
tickets without a place). The audit log records who viewed, copied, resolved or
exported what, and when; admins read it in the console. Functions take the
knowledge base's ``sessionmaker`` and return plain dataclasses.
"""
from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, String, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from hotline.models import Base
from hotline.passwords import hash_password, verify_password

ROLES = ("staff", "admin")
NAME_MAX = 64
MIN_PASSWORD = 10
# Audit actions (the console writes these; the admin page filters on them).
ACTIONS = ("login", "login_failed", "logout", "view_queue", "view_ticket", "resolve_ticket",
           "denied", "copy", "view_unanswered", "export_queue", "view_audit")
# A hash to verify against when the name is unknown, so a wrong name costs the same
# time as a wrong password (no account enumeration by timing).
_DUMMY_HASH = hash_password("not-a-real-password")


class AccountError(ValueError):
    """A bad account request (the message says what to change)."""


class AccountExists(AccountError):
    """An account with this name exists already."""


class AccountNotFound(AccountError):
    """No (active) account has this name."""


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(NAME_MAX), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    totp_secret = Column(String(64))            # base32; NULL = no second factor
    role = Column(String(16), nullable=False, default="staff")
    places = Column(JSON)                        # list of place names; NULL = all places
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False)


class AuditEntry(Base):
    __tablename__ = "staff_audit"

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime, nullable=False, index=True)     # naive UTC
    account = Column(String(NAME_MAX), nullable=False, index=True)
    action = Column(String(32), nullable=False)
    target = Column(String(128), nullable=False, default="")
    detail = Column(Text, nullable=False, default="")
    address = Column(String(64), nullable=False, default="")


@dataclass(frozen=True)
class Account:
    """An account as the console sees it (never the hash or the TOTP secret)."""

    name: str
    role: str
    places: tuple[str, ...] | None      # None: every place
    totp: bool
    active: bool = True

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_see(self, place: str | None) -> bool:
        """True when tickets of ``place`` are in this account's scope."""
        return self.places is None or (place is not None and place in self.places)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role,
                "places": list(self.places) if self.places is not None else None,
                "totp": self.totp, "active": self.active}


@dataclass(frozen=True)
class AuditRecord:
    at: dt.datetime          # aware UTC
    account: str
    action: str
    target: str
    detail: str
    address: str

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "account": self.account, "action": self.action,
                "target": self.target, "detail": self.detail, "address": self.address}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


_ready: "weakref.WeakSet" = weakref.WeakSet()


def ensure_schema(sessions: sessionmaker) -> None:
    engine = sessions.kw.get("bind")
    if engine is None or engine in _ready:
        return
    Base.metadata.create_all(engine, tables=[StaffAccount.__table__, AuditEntry.__table__])
    _ready.add(engine)


def _account(row: StaffAccount) -> Account:
    places = tuple(row.places) if row.places is not None else None
    return Account(row.name, row.role, places, bool(row.totp_secret), bool(row.active))


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise AccountError(f"account names are 1–{NAME_MAX} characters without spaces")
    return name


def _clean_places(places: Iterable[str] | None) -> list[str] | None:
    if places is None:
        return None
    cleaned = sorted({p.strip() for p in places if p and p.strip()})
    if not cleaned:
        raise AccountError("give at least one place, or all places")
    return cleaned


def new_totp_secret() -> str:
    import pyotp  # gateway environment (requirements-gateway.txt)

    return pyotp.random_base32()


def totp_uri(name: str, secret: str, issuer: str = "医保热线坐席") -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)


def check_totp(secret: str, code: str, at: float | None = None) -> bool:
    """A 6-digit code of the current 30 s step (one step of clock drift allowed)."""
    import pyotp

    code = "".join(ch for ch in str(code or "") if ch.isdigit())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    return totp.verify(code, for_time=at, valid_window=1) if at is not None else totp.verify(code, valid_window=1)


def add_account(sessions: sessionmaker, name: str, password: str, *, role: str = "staff",
                places: Iterable[str] | None = None, totp_secret: str | None = None) -> Account:
    """Create an account; raises AccountExists / AccountError."""
    name = clean_name(name)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"passwords have at least {MIN_PASSWORD} characters")
    ensure_schema(sessions)
    row = StaffAccount(name=name, password_hash=hash_password(password), totp_secret=totp_secret,
                       role=role, places=_clean_places(places), active=True, created_at=_utcnow())
    try:
        with sessions() as session, session.begin():
            session.add(row)
            session.flush()
            return _account(row)
    except IntegrityError:
        raise AccountExists(f"an account named {name!r} exists already") from None


def update_account(sessions: sessionmaker, name: str, *, password: str | None = None,
                   role: str | None = None, places: Iterable[str] | None | bool = False,
                   active: bool | None = None, totp_secret: str | None | bool = False) -> Account:
    """Change an account; ``places=None`` means all places (``False``: unchanged)."""
    ensure_schema(sessions)
    with sessions() as session, session.begin():
        row = session.execute(select(StaffAccount).where(StaffAccount.name == name)).scalar_one_or_none()
        if row is None:
            raise AccountNotFound(f"no account named {name!r}")
        if password is not None:
            if len(password) < MIN_PASSWORD:
                raise AccountError(f"passwords have at least {MIN_PASSWORD} characters")
            row.password_hash = hash_password(password)
        if role is not None:
            if role not in ROLES:
                raise AccountError(f"role must be one of {', '.join(ROLES)}")
            row.role = role
        if places is not False:
            row.places = _clean_places(places)   # type: ignore[arg-type]
        if active is not None:
            row.active = active
        if totp_secret is not False:
            row.totp_secret = totp_secret or None
        session.flush()
        return _account(row)


def get_account(sessions: sessionmaker, name: str) -> Account:
    ensure_schema(sessions)
    with sessions() as session:
        row = session.execute(select(StaffAccount).where(StaffAccount.name == name)).scalar_one_or_none()
        if row is None:
            raise AccountNotFound(f"no account named {name!r}")
        return _account(row)


def list_accounts(sessions: sessionmaker) -> list[Account]:
    ensure_schema(sessions)
    with sessions() as session:
        return [_account(r) for r in session.execute(select(StaffAccount).order_by(StaffAccount.name)).scalars()]


def count_active(sessions: sessionmaker) -> int:
    ensure_schema(sessions)
    with sessions() as session:
        return int(session.execute(
            select(func.count()).select_from(StaffAccount).where(StaffAccount.active.is_(True))).scalar_one())


@dataclass(frozen=True)
class Credentials:
    """What :func:`authenticate` found: the account if the password matched, and
    the TOTP secret when a second factor is still to be checked."""

    account: Account
    totp_secret: str | None


def authenticate(sessions: sessionmaker, name: str, password: str) -> Credentials | None:
    """The active account whose password matches, else None (same cost either way)."""
    ensure_schema(sessions)
    try:
        name = clean_name(name)
    except AccountError:
        verify_password(password or "", _DUMMY_HASH)
        return None
    with sessions() as session:
        row = session.execute(select(StaffAccount).where(StaffAccount.name == name)).scalar_one_or_none()
        if row is None or not row.active:
            verify_password(password or "", _DUMMY_HASH)
            return None
        if not verify_password(password or "", row.password_hash):
            return None
        return Credentials(_account(row), row.totp_secret)


# -- audit log ---------------------------------------------------------------------

def audit(sessions: sessionmaker, account: str, action: str, target: str = "", detail: str = "",
          address: str = "") -> None:
    """Append one entry (never edited, deleted only by the retention job)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    ensure_schema(sessions)
    with sessions() as session, session.begin():
        session.add(AuditEntry(at=_utcnow(), account=account[:NAME_MAX], action=action,
                               target=(target or "")[:128], detail=(detail or "")[:500],
                               address=(address or "")[:64]))


def audit_log(sessions: sessionmaker, *, account: str | None = None, action: str | None = None,
              offset: int = 0, limit: int = 100) -> tuple[list[AuditRecord], int]:
    """Newest first; (entries of this page, total matching)."""
    ensure_schema(sessions)
    query = select(AuditEntry)
    if account:
        query = query.where(AuditEntry.account == account)
    if action:
        query = query.where(AuditEntry.action == action)
    counted = select(func.count()).select_from(query.subquery())
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(max(0, offset)).limit(
        max(1, min(limit, 500)))
    with sessions() as session:
        total = int(session.execute(counted).scalar_one())
        rows = [AuditRecord(r.at.replace(tzinfo=dt.timezone.utc), r.account, r.action, r.target, r.detail,
                            r.address) for r in session.execute(query).scalars()]
    return rows, total


def ensure_dev_account(sessions: sessionmaker, name: str, password_hash: str) -> Account:
    """Development only: an admin for every place with this password hash (created
    or updated), so `make run` has a console login without extra steps."""
    ensure_schema(sessions)
    name = clean_name(name)
    with sessions() as session, session.begin():
        row = session.execute(select(StaffAccount).where(StaffAccount.name == name)).scalar_one_or_none()
        if row is None:
            row = StaffAccount(name=name, created_at=_utcnow())
            session.add(row)
        row.password_hash, row.role, row.places, row.active, row.totp_secret = (
            password_hash, "admin", None, True, None)
        session.flush()
        return _account(row)
