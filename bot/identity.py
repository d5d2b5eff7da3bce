"""Who is talking: server-issued web sessions, integrator API keys, WeChat
pseudonyms and the client's network address.

A conversation belongs to whoever holds its session, never to whoever names it:

- the web page gets a signed, HttpOnly session cookie from the server; the
  Rasa sender id is ``web:<session id>`` and the client cannot choose it;
- an integrator presents an API key and chooses its own senders, namespaced
  as ``api:<key id>:<sender>`` so no key can reach another key's conversations;
- a WeChat sender is the openid of a verified message, stored only as a keyed
  hash (``wx:<hmac>``) — in Rasa's tracker, tickets, the key-value store and logs.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

COOKIE_NAME = "yb_session"
_CLIENT_ADDRESS = "bot.client_address"


def derive_key(secret: str, purpose: str) -> bytes:
    """One key per purpose from the gateway secret, so no value signed for one use
    (a cookie) is ever valid for another (a pseudonym)."""
    return hmac.new(secret.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SessionSigner:
    """Issue and verify session cookies ``<session id>.<issued>.<signature>``.

    The cookie is the whole session: nothing is stored per visitor, so a flood of
    new sessions costs the server no memory. ``issued`` is renewed with every use,
    so a session ends after ``max_age`` seconds of silence — on a shared phone or
    kiosk the next person does not continue (or read back) the previous one's.
    """

    def __init__(self, secret: str, max_age_seconds: int):
        self._key = derive_key(secret, "web-session-cookie")
        self.max_age = max_age_seconds

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, now: float | None = None, sid: str | None = None) -> tuple[str, str]:
        """``(session id, cookie value)``: a new session, or ``sid`` renewed."""
        sid = sid or secrets.token_urlsafe(18)
        payload = f"{sid}.{int(now if now is not None else time.time())}"
        return sid, f"{payload}.{self._sign(payload)}"

    def verify(self, value: str | None, now: float | None = None) -> str | None:
        """The session id of a genuine, unexpired cookie; None otherwise."""
        if not value or len(value) > 200:
            return None
        try:
            sid, issued, signature = value.split(".")
            issued_at = int(issued)
            payload = f"{sid}.{issued}"
            payload.encode("ascii")
        except (ValueError, UnicodeEncodeError):
            return None
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        age = (now if now is not None else time.time()) - issued_at
        if age < -300 or age > self.max_age:
            return None
        return sid


def web_sender(sid: str) -> str:
    return f"web:{sid}"


def api_sender(key_id: str, sender: str) -> str:
    return f"api:{key_id}:{sender}"


class Pseudonyms:
    """Keyed hashes of outside identifiers (WeChat openids).

    HMAC, not a plain hash: openids are short and can be collected, so an unkeyed
    hash could be reversed by hashing candidates.
    """

    def __init__(self, secret: str):
        self._key = derive_key(secret, "sender-pseudonym")

    def wechat(self, app_id: str, openid: str) -> str:
        digest = hmac.new(self._key, f"wechat:{app_id}:{openid}".encode("utf-8"), hashlib.sha256)
        return "wx:" + digest.hexdigest()[:32]


def match_api_key(configured: tuple[tuple[str, str], ...], presented: str) -> str | None:
    """The key id whose secret is ``presented``; every key is compared (constant time)."""
    found = None
    given = presented.encode("utf-8")
    for key_id, secret in configured:
        if hmac.compare_digest(secret.encode("utf-8"), given):
            found = key_id
    return found


def presented_api_key(request: web.Request) -> str | None:
    """The API key of the request: ``X-Api-Key`` or ``Authorization: Bearer``."""
    key = request.headers.get("X-Api-Key")
    if key is not None:
        return key.strip()
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


@dataclass(frozen=True)
class ProxyPolicy:
    """Which peers are reverse proxies we run, and the header they put the client in."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    header: str = "X-Forwarded-For"

    def trusted(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def client(self, peer: str | None, header_value: str | None) -> str:
        """The client's address: the header is read only when ``peer`` is a trusted
        proxy, right to left, skipping our own proxies (the left part is whatever
        the client wrote)."""
        peer = peer or "unknown"
        if not header_value or not self.trusted(peer):
            return peer
        hops = [h.strip() for h in header_value.split(",")]
        for hop in reversed(hops):
            try:
                address = str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed chain is not evidence of anything
            if not self.trusted(address):
                return address
        return peer


def client_address(request: web.Request, policy: ProxyPolicy) -> str:
    """The resident's address for rate limits (computed once per request)."""
    cached = request.get(_CLIENT_ADDRESS)
    if cached is None:
        cached = policy.client(request.remote, request.headers.get(policy.header))
        request[_CLIENT_ADDRESS] = cached
    return cached


def is_https(request: web.Request, policy: ProxyPolicy) -> bool:
    """Whether the resident reached us over HTTPS (directly or through our proxy)."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and policy.trusted(request.remote)
