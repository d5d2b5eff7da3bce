"""Settings of the staff console, read from the environment once at start-up.

Staff log in with named accounts (``python -m hotline staff add NAME --places …``).

- ``APP_ENV``: in ``production`` only named accounts exist; ``STAFF_PASSWORD`` and
  ``STAFF_PASSWORD_HASH`` are ignored there (with a warning): no shared login.
- Development convenience: ``STAFF_PASSWORD`` (plain) or ``STAFF_PASSWORD_HASH``
  creates or updates an admin account ``STAFF_USER`` (default ``dev``) for every
  place at start-up; with neither, a random password is generated and logged once.
- ``STAFF_SESSION_HOURS`` (8), ``STAFF_LOGIN_MAX_FAILURES`` (5 per address per
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
    session_seconds: int
    max_failures: int
    failure_window: int
    nlu_timeout: float
    cookie_secure: bool
    dev_user: str = "dev"
    dev_password_hash: str | None = None      # development only: the bootstrap admin
    generated_password: str | None = None     # development only, logged once

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, app_settings: Any = None) -> "StaffSettings":
        """Read the environment; raise :class:`StaffConfigError` on unusable values."""
        env = os.environ if env is None else env
        # The gateway's Settings (if given) already read APP_ENV; the environment is the fallback.
        app_env = getattr(app_settings, "app_env", None) or env.get("APP_ENV") or "development"
        production = str(app_env).lower() in ("production", "prod")
        configured_hash = (env.get("STAFF_PASSWORD_HASH") or "").strip()
        plain = env.get("STAFF_PASSWORD") or ""
        dev_hash, generated = None, None
        if production:
            if configured_hash or plain:
                logger.warning(
                    "APP_ENV=production uses named staff accounts only: STAFF_PASSWORD and "
                    "STAFF_PASSWORD_HASH are ignored; create accounts with `python -m hotline staff "
                    "add NAME --places …`.")
        elif configured_hash:
            try:
                check_hash_format(configured_hash)
            except ValueError as exc:
                raise StaffConfigError(str(exc)) from exc
            dev_hash = configured_hash
        elif plain:
            dev_hash = hash_password(plain)
        else:
            generated = secrets.token_urlsafe(12)
            dev_hash = hash_password(generated)
        try:
            return cls(
                production=production,
                session_seconds=int(float(env.get("STAFF_SESSION_HOURS", "8")) * 3600),
                max_failures=int(env.get("STAFF_LOGIN_MAX_FAILURES", "5")),
                failure_window=int(env.get("STAFF_LOGIN_WINDOW_SECONDS", "600")),
                nlu_timeout=float(env.get("STAFF_NLU_TIMEOUT", "3")),
                cookie_secure=_flag(env.get("STAFF_COOKIE_SECURE"), default=production),
                dev_user=(env.get("STAFF_USER") or "dev").strip() or "dev",
                dev_password_hash=dev_hash,
                generated_password=generated,
            )
        except ValueError as exc:
            raise StaffConfigError(f"bad staff console setting: {exc}") from exc

    def announce(self) -> None:
        """Log the generated development password once (never in production)."""
        if self.generated_password and not self.production:
            logger.warning(
                "STAFF_PASSWORD/STAFF_PASSWORD_HASH not set: development staff console account "
                "%r, password for this run: %s", self.dev_user, self.generated_password)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")
