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

from dataclasses import dataclass
from typing import Mapping, Optional

from settings import Settings, SettingsError


class RetentionConfigError(ValueError):
    """A retention setting cannot be used (the message names it)."""


@dataclass(frozen=True)
class RetentionSettings:
    conversation_days: int = 180
    unanswered_days: int = 180
    ticket_days: int = 365
    audit_days: int = 365
    interval_hours: float = 24.0
    database_url: Optional[str] = None        # None: knowledge.db's default
    tracker_url: Optional[str] = None

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "RetentionSettings":
        """The periods and stores of :class:`settings.Settings` (read from ``env``)."""
        try:
            settings = Settings.from_env(env)
        except SettingsError as exc:
            raise RetentionConfigError(str(exc)) from None
        return cls(
            conversation_days=settings.conversation_retention_days,
            unanswered_days=settings.unanswered_days,
            ticket_days=settings.resolved_ticket_retention_days,
            audit_days=settings.audit_retention_days,
            interval_hours=settings.retention_interval_hours,
            database_url=settings.database_url,
            tracker_url=settings.tracker_url,
        )
