"""Retention settings and where the stores are, read from the environment.

- ``CONVERSATION_RETENTION_DAYS`` (180): Rasa tracker events (conversations, slots
  such as ``disease``) older than this are deleted.
- ``UNANSWERED_RETENTION_DAYS`` (same as conversations): logged unanswered questions.
- ``TICKET_RETENTION_DAYS`` (365): resolved hand-off tickets, counted from resolution.
- ``AUDIT_RETENTION_DAYS`` (365): the staff console's audit log.
- ``RETENTION_INTERVAL_HOURS`` (24): how often ``python -m retention run`` purges.
- ``DATABASE_URL``: knowledge base, tickets, unanswered questions (default: the
  embedded ``var/assistant.db``).
- ``TRACKER_DATABASE_URL``: Rasa's SQL tracker store. Default: in production the same
  database as ``DATABASE_URL`` (as ``endpoints.production.yml`` and compose set it up),
  else the embedded ``var/tracker.db`` of ``endpoints.yml``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_TRACKER_URL = f"sqlite:///{ROOT / 'var' / 'tracker.db'}"


class RetentionConfigError(ValueError):
    """A retention setting cannot be used (the message names it)."""


@dataclass(frozen=True)
class RetentionSettings:
    conversation_days: int = 180
    unanswered_days: int = 180
    ticket_days: int = 365
    audit_days: int = 365
    interval_hours: float = 24.0
    database_url: str | None = None        # None: knowledge.db's default
    tracker_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "RetentionSettings":
        env = os.environ if env is None else env

        def days(name: str, default: int) -> int:
            raw = (env.get(name) or "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise RetentionConfigError(f"{name} must be a whole number of days, got {raw!r}") from None
            if value < 1:
                raise RetentionConfigError(f"{name} must be at least 1 day, got {raw!r}")
            return value

        conversation = days("CONVERSATION_RETENTION_DAYS", cls.conversation_days)
        try:
            interval = float((env.get("RETENTION_INTERVAL_HOURS") or "").strip() or cls.interval_hours)
        except ValueError:
            raise RetentionConfigError("RETENTION_INTERVAL_HOURS must be a number of hours") from None
        if interval <= 0:
            raise RetentionConfigError("RETENTION_INTERVAL_HOURS must be positive")
        database_url = _sqlalchemy_url((env.get("DATABASE_URL") or "").strip() or None)
        tracker_url = _sqlalchemy_url((env.get("TRACKER_DATABASE_URL") or "").strip() or None)
        if tracker_url is None:
            production = (env.get("APP_ENV") or "").strip().lower() in ("production", "prod")
            if production and database_url and not database_url.startswith("sqlite"):
                tracker_url = database_url
            else:
                tracker_url = EMBEDDED_TRACKER_URL
        return cls(
            conversation_days=conversation,
            unanswered_days=days("UNANSWERED_RETENTION_DAYS", conversation),
            ticket_days=days("TICKET_RETENTION_DAYS", cls.ticket_days),
            audit_days=days("AUDIT_RETENTION_DAYS", cls.audit_days),
            interval_hours=interval,
            database_url=database_url,
            tracker_url=tracker_url,
        )


def _sqlalchemy_url(url: str | None) -> str | None:
    if url and url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    return url
