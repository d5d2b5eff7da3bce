"""Staff sessions, login throttling and CSRF for the console.

Accounts are named (:mod:`hotline.accounts`). Sessions and throttle counters live
in the gateway's key-value store (:mod:`bot.kvstore`): Redis in production, so every
gateway process shares them; the process's memory on a laptop. Session tokens are
kept only as SHA-256 digests. The same token works as a cookie (HttpOnly,
SameSite=Strict) for the pages and as ``Authorization: Bearer`` for the API; every
cookie-authenticated POST also needs the session's CSRF token.

Throttling is per address, per account and per device, arranged so that nobody
can lock staff out:

- failures from one address block that address (``max_failures`` per window);
- failures against one account from unknown devices block unknown devices for
  that account (``ACCOUNT_FACTOR`` × more, so rotating addresses does not help);
- a browser that logged in to an account before holds a signed device cookie for
  it; its attempts count only against that device, so an attacker hammering the
  account or sharing the call centre's address never blocks the staff member's
  own browser.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.kvstore import KeyValueStore, MemoryStore
from hotline import accounts
from hotline.accounts import Account
from settings import GatewaySettings

COOKIE_NAME = "staff_session"
DEVICE_COOKIE = "staff_device"
DEVICE_DAYS = 90
ACCOUNT_FACTOR = 4          # unknown devices may fail this many times the per-address limit
TOTP_REPLAY_SECONDS = 120
_PREFIX = "staff:"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StaffSession:
    """A logged-in session: whose, its CSRF token, and how it authenticates."""

    account: str
    csrf: str
    via_bearer: bool = False

    def to_store(self) -> str:
        return json.dumps({"a": self.account, "c": self.csrf, "b": self.via_bearer})

    @classmethod
    def from_store(cls, raw: str | None) -> "StaffSession | None":
        try:
            data = json.loads(raw) if raw else None
            return cls(str(data["a"]), str(data["c"]), bool(data.get("b"))) if data else None
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt gave: a token, or why not (``retry_after`` seconds when throttled)."""

    token: str | None = None
    session: StaffSession | None = None
    account: Account | None = None
    retry_after: int = 0
    device: str | None = None      # a fresh device cookie value to set


class StaffAuth:
    """Everything the console needs to authenticate a request."""

    def __init__(self, settings: GatewaySettings, secret: bytes | None = None):
        self.settings = settings
        # Signs device cookies; the gateway's secret, so every process agrees.
        self._secret = secret or secrets.token_bytes(32)
        self._fallback_store = MemoryStore()

    # -- plumbing ------------------------------------------------------------------

    def store(self, request: web.Request) -> KeyValueStore:
        from bot import keys

        # The gateway's store: request.config_dict reaches it from the console's sub-app.
        return request.config_dict.get(keys.STORE) or self._fallback_store

    @staticmethod
    def token_of(request: web.Request) -> tuple[str | None, bool]:
        """(token, is_bearer) from the Authorization header or the cookie."""
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip(), True
        return request.cookies.get(COOKIE_NAME), False

    async def session_of(self, request: web.Request) -> tuple[StaffSession | None, bool]:
        token, bearer = self.token_of(request)
        if not token or len(token) > 200:
            return None, bearer
        raw = await self.store(request).get(_PREFIX + "session:" + _digest(token))
        return StaffSession.from_store(raw), bearer

    async def create_session(self, request: web.Request, account: str, bearer: bool) -> tuple[str, StaffSession]:
        token = secrets.token_urlsafe(32)
        session = StaffSession(account, secrets.token_urlsafe(24), bearer)
        await self.store(request).set(_PREFIX + "session:" + _digest(token), session.to_store(),
                                      self.settings.staff_session_seconds)
        return token, session

    async def revoke(self, request: web.Request) -> None:
        token, _ = self.token_of(request)
        if token and len(token) <= 200:
            await self.store(request).delete(_PREFIX + "session:" + _digest(token))

    def set_cookie(self, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            COOKIE_NAME, token, max_age=self.settings.staff_session_seconds, path="/",
            httponly=True, samesite="Strict", secure=self.settings.staff_secure_cookies,
        )

    def set_device_cookie(self, response: web.StreamResponse, value: str) -> None:
        response.set_cookie(
            DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, path="/",
            httponly=True, samesite="Strict", secure=self.settings.staff_secure_cookies,
        )

    @staticmethod
    def clear_cookie(response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE_NAME, path="/")

    # -- device cookies ------------------------------------------------------------

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def new_device(self, account: str) -> str:
        nonce = secrets.token_urlsafe(12)
        expires = int(time.time()) + DEVICE_DAYS * 86400
        body = f"{nonce}.{expires}"
        return f"{body}.{self._sign(account + '|' + body)}"

    def device_of(self, request: web.Request, account: str) -> str | None:
        """The device id when the request carries a valid device cookie for ``account``."""
        value = request.cookies.get(DEVICE_COOKIE) or ""
        parts = value.split(".")
        if len(parts) != 3 or len(value) > 200:
            return None
        nonce, expires, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"{account}|{nonce}.{expires}")):
            return None
        try:
            if int(expires) < time.time():
                return None
        except ValueError:
            return None
        return nonce

    # -- login -------------------------------------------------------------------------

    def _throttle_keys(self, address: str, name: str, device: str | None) -> list[tuple[str, int]]:
        limit = self.settings.staff_login_max_failures
        if device:
            return [(f"{_PREFIX}fail:device:{device}", limit)]
        return [(f"{_PREFIX}fail:addr:{address}", limit),
                (f"{_PREFIX}fail:account:{_digest(name)[:32]}", limit * ACCOUNT_FACTOR)]

    async def login(self, request: web.Request, sessions: Any, name: Any, password: Any, code: Any,
                    *, bearer: bool) -> LoginResult:
        """Check name, password and (when the account has one) the TOTP code."""
        store = self.store(request)
        address = client_key(request)
        name = name.strip() if isinstance(name, str) else ""
        device = self.device_of(request, name) if name else None
        keys = self._throttle_keys(address, name, device)
        for key, limit in keys:
            count = int(await store.get(key) or 0)
            if count >= limit:
                return LoginResult(retry_after=self.settings.staff_login_window_seconds)
        ok = isinstance(password, str) and 0 < len(password) <= 256 and 0 < len(name) <= accounts.NAME_MAX
        credentials = None
        if ok:
            # scrypt takes tens of milliseconds: keep it off the event loop.
            credentials = await asyncio.to_thread(accounts.authenticate, sessions, name, password)
        if credentials is not None and credentials.totp_secret:
            # A missing or wrong code fails like a wrong password (no hint that the
            # password was right); a code is good once (no replay within its window).
            code = str(code or "").strip()
            fresh = bool(code) and await store.add(
                f"{_PREFIX}totp:{_digest(name)[:32]}:{code[:12]}", "1", TOTP_REPLAY_SECONDS)
            if not fresh or not accounts.check_totp(credentials.totp_secret, code):
                credentials = None
        if credentials is None:
            for key, _ in keys:
                await store.incr(key, self.settings.staff_login_window_seconds)
            return LoginResult(account=None)
        for key, _ in keys:
            await store.delete(key)
        token, session = await self.create_session(request, credentials.account.name, bearer)
        return LoginResult(token=token, session=session, account=credentials.account,
                           device=None if device else self.new_device(credentials.account.name))


def client_key(request: web.Request) -> str:
    """The client's address: from the trusted proxy's header when the gateway is behind one."""
    try:
        from bot import keys
        from bot.identity import client_address

        policy = request.config_dict.get(keys.PROXY_POLICY)
        if policy is not None:
            return client_address(request, policy)
    except ImportError:   # the console on its own (evaluation), without the gateway's identity module
        pass
    return request.remote or "unknown"


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request comes from another origin.

    Two signals, both from the browser and out of a page's reach:

    - ``Sec-Fetch-Site`` (Fetch Metadata, Chromium/Firefox/Safari 16.4+): anything but
      ``same-origin`` (``cross-site``, ``same-site``, ``none``) is refused;
    - ``Origin``: when sent it must name this host. ``null`` is refused: it is what a
      sandboxed frame or a cross-site page with ``no-referrer`` sends, and our own
      pages never send it because the gateway's ``Referrer-Policy: same-origin``
      keeps the origin on same-origin requests.

    A request with neither header comes from no browser (curl, an integrator with
    a Bearer token); session requests still need the CSRF token.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site.strip().lower() != "same-origin":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin.strip().lower() == "null":
        return False
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()


def csrf_ok(session: StaffSession, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(session.csrf, str(supplied))
