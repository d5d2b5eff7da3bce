"""The development bootstrap account of the staff console.

In development, ``STAFF_PASSWORD`` (plain) or ``STAFF_PASSWORD_HASH`` makes an admin
account ``STAFF_USER`` for every place at start-up; with neither, a random password
is generated and logged once. Production has named accounts only
(``python -m hotline staff add``): :attr:`GatewaySettings.staff_dev_password` and
``staff_dev_password_hash`` are None there, and ``settings.warnings()`` (logged by
``create_app``) says that a shared password was ignored.

Why here and not in ``settings.py``: hashing needs :mod:`hotline.passwords`, which
sits above the settings module.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

from hotline.passwords import check_hash_format, hash_password
from settings import GatewaySettings, SettingsError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DevAccount:
    name: str
    password_hash: str = field(repr=False)
    generated_password: str | None = field(default=None, repr=False)   # logged once at start-up

    def announce(self) -> None:
        """Log a generated password (the developer has no other way to learn it)."""
        if self.generated_password:
            logger.warning(
                "STAFF_PASSWORD/STAFF_PASSWORD_HASH not set: development staff console account "
                "%r, password for this run: %s", self.name, self.generated_password)


def dev_account(settings: GatewaySettings) -> DevAccount | None:
    """The bootstrap admin for ``settings``; None in production.

    Raises :class:`SettingsError` when ``STAFF_PASSWORD_HASH`` is not a usable hash.
    """
    if settings.production:
        return None
    configured = (settings.staff_dev_password_hash or "").strip()
    if configured:
        try:
            check_hash_format(configured)
        except ValueError as exc:
            raise SettingsError([str(exc)]) from None
        return DevAccount(settings.staff_user, configured)
    if settings.staff_dev_password:
        return DevAccount(settings.staff_user, hash_password(settings.staff_dev_password))
    generated = secrets.token_urlsafe(12)
    return DevAccount(settings.staff_user, hash_password(generated), generated)
