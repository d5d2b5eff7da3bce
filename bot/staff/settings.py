"""Settings of the staff console, read from the environment once at start-up.

- ``APP_ENV``: ``production`` requires ``STAFF_PASSWORD_HASH`` (no default password).
- ``STAFF_PASSWORD_HASH``: scrypt/PBKDF2 hash from ``python -m hotline hash-password``.
- ``STAFF_PASSWORD``: plain password, development only.
- ``STAFF_SESSION_HOURS`` (8), ``STAFF_LOGIN_MAX_FAILURES`` (5 per
  ``STAFF_LOGIN_WINDOW_SECONDS``, 600), ``STAFF_NLU_TIMEOUT`` (3 s),
  ``STAFF_COOKIE_SECURE`` (default: on in production).
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

from hotline.passwords import check_hash_format, hash_password

logger = logging.getLogger(__name__)


class StaffConfigError(RuntimeError):
    """The console cannot start with this configuration (message says why)."""


@dataclass(frozen=True)
class StaffSettings:
    production: bool
    password_hash: str
    session_seconds: int
    max_failures: int
    failure_window: int
    nlu_timeout: float
    cookie_secure: bool
    generated_password: str | None = None   # development only, logged once

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, app_settings: Any = None) -> "StaffSettings":
        """Read the environment; raise :class:`StaffConfigError` when production lacks a hash."""
        env = os.environ if env is None else env
        # The gateway's Settings (if given) already read APP_ENV; the environment is the fallback.
        app_env = getattr(app_settings, "app_env", None) or env.get("APP_ENV") or "development"
        production = str(app_env).lower() in ("production", "prod")
        configured_hash = (env.get("STAFF_PASSWORD_HASH") or "").strip()
        plain = env.get("STAFF_PASSWORD") or ""
        generated = None
        if configured_hash:
            try:
                check_hash_format(configured_hash)
            except ValueError as exc:
                raise StaffConfigError(str(exc)) from exc
            password_hash = configured_hash
        elif production:
            raise StaffConfigError(
                "APP_ENV=production but STAFF_PASSWORD_HASH is not set: the staff console has "
                "no default password. Create one with `python -m hotline hash-password`.")
        elif plain:
            password_hash = hash_password(plain)
        else:
            generated = secrets.token_urlsafe(12)
            password_hash = hash_password(generated)
        try:
            return cls(
                production=production,
                password_hash=password_hash,
                session_seconds=int(float(env.get("STAFF_SESSION_HOURS", "8")) * 3600),
                max_failures=int(env.get("STAFF_LOGIN_MAX_FAILURES", "5")),
                failure_window=int(env.get("STAFF_LOGIN_WINDOW_SECONDS", "600")),
                nlu_timeout=float(env.get("STAFF_NLU_TIMEOUT", "3")),
                cookie_secure=_flag(env.get("STAFF_COOKIE_SECURE"), default=production),
                generated_password=generated,
            )
        except ValueError as exc:
            raise StaffConfigError(f"bad staff console setting: {exc}") from exc

    def announce(self) -> None:
        """Log the generated development password once (never in production)."""
        if self.generated_password and not self.production:
            logger.warning(
                "STAFF_PASSWORD_HASH/STAFF_PASSWORD not set: development staff console "
                "password for this run is %s", self.generated_password)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")
