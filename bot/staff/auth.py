"""Staff sessions, login throttling and CSRF for the console.

Sessions are random tokens kept in memory *hashed* (SHA-256) with an expiry: a
memory dump does not reveal usable tokens, and a restart logs everybody out
(acceptable for a single gateway process). The same token works as a cookie
(HttpOnly, SameSite=Strict) for the pages and as ``Authorization: Bearer`` for
the API. Every cookie-authenticated POST also needs the session's CSRF token.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from urllib.parse import urlsplit

from aiohttp import web

from bot.staff.settings import StaffSettings
from hotline.passwords import verify_password

COOKIE_NAME = "staff_session"
MAX_SESSIONS = 1000
GLOBAL_FAILURE_FACTOR = 20   # all clients together may fail this many times the per-client limit



def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class StaffSession:
    csrf: str
    expires_at: float
    via_bearer: bool = False


@dataclass
class LoginThrottle:
    """Failed logins per client and overall within a sliding window."""

    max_failures: int
    window: int
    _by_client: dict[str, deque] = field(default_factory=dict)
    _all: deque = field(default_factory=deque)

    def _trim(self, q: deque, now: float) -> None:
        while q and q[0] <= now - self.window:
            q.popleft()

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds until ``client`` may try again (0 = allowed now)."""
        now = now or time.monotonic()
        q = self._by_client.get(client, deque())
        self._trim(q, now)
        self._trim(self._all, now)
        waits = []
        if len(q) >= self.max_failures:
            waits.append(q[0] + self.window - now)
        if len(self._all) >= self.max_failures * GLOBAL_FAILURE_FACTOR:
            waits.append(self._all[0] + self.window - now)
        return int(max(waits) + 1) if waits else 0

    def failed(self, client: str, now: float | None = None) -> None:
        now = now or time.monotonic()
        self._by_client.setdefault(client, deque()).append(now)
        self._all.append(now)
        if len(self._by_client) > 10_000:    # bound memory under a distributed attack
            self._by_client.clear()

    def succeeded(self, client: str) -> None:
        self._by_client.pop(client, None)


class SessionStore:
    """Hashed session tokens with expiry, in memory."""

    def __init__(self, ttl_seconds: int):
        self.ttl = ttl_seconds
        self._sessions: dict[str, StaffSession] = {}

    def create(self, via_bearer: bool = False) -> tuple[str, StaffSession]:
        """A new (token, session); only the token's hash is kept."""
        now = time.time()
        if len(self._sessions) >= MAX_SESSIONS:
            self._purge(now)
            if len(self._sessions) >= MAX_SESSIONS:   # drop the oldest
                oldest = min(self._sessions, key=lambda k: self._sessions[k].expires_at)
                self._sessions.pop(oldest)
        token = secrets.token_urlsafe(32)
        session = StaffSession(secrets.token_urlsafe(24), now + self.ttl, via_bearer)
        self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: str | None) -> StaffSession | None:
        if not token or len(token) > 200:
            return None
        key = _digest(token)
        session = self._sessions.get(key)
        if session is None:
            return None
        if session.expires_at <= time.time():
            self._sessions.pop(key, None)
            return None
        return session

    def revoke(self, token: str | None) -> None:
        if token:
            self._sessions.pop(_digest(token), None)

    def _purge(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            self._sessions.pop(key, None)


class StaffAuth:
    """Everything the console needs to authenticate a request."""

    def __init__(self, settings: StaffSettings):
        self.settings = settings
        self.sessions = SessionStore(settings.session_seconds)
        self.throttle = LoginThrottle(settings.max_failures, settings.failure_window)

    async def check_password(self, password: str) -> bool:
        # scrypt takes tens of milliseconds: keep it off the event loop.
        return await asyncio.to_thread(verify_password, password, self.settings.password_hash)

    def token_of(self, request: web.Request) -> tuple[str | None, bool]:
        """(token, is_bearer) from the Authorization header or the cookie."""
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip(), True
        return request.cookies.get(COOKIE_NAME), False

    def session_of(self, request: web.Request) -> tuple[StaffSession | None, bool]:
        token, bearer = self.token_of(request)
        return self.sessions.get(token), bearer

    def set_cookie(self, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            COOKIE_NAME, token, max_age=self.settings.session_seconds, path="/",
            httponly=True, samesite="Strict", secure=self.settings.cookie_secure,
        )

    @staticmethod
    def clear_cookie(response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE_NAME, path="/")


def client_key(request: web.Request) -> str:
    """Who is logging in, for throttling (the peer address; the gateway may sit behind a proxy)."""
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
