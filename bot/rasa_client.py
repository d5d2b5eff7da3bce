"""REST client for one or more Rasa servers, with sender affinity and failover.

Rasa's lock store is per process, so two replicas handling the same conversation
at once could interleave its events. Each sender is therefore pinned to one
server by rendezvous hashing: when a server fails only its own senders move,
to their next-ranked server, and they come back when it recovers.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """No Rasa server could answer (all down, or errors)."""


class RasaTimeout(RasaUnavailable):
    """A Rasa server did not answer in time.

    Not retried on another server: the first one may still be handling the
    message, and a second run would repeat its side effects (e.g. a ticket).
    """


class RasaBadResponse(RasaUnavailable):
    """A Rasa server answered with something that is not the REST channel's JSON."""


@dataclass
class _Server:
    url: str
    down_until: float = 0.0
    failures: int = 0

    def healthy(self, now: float) -> bool:
        return now >= self.down_until


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _same_service(server_url: str, configured: str) -> bool:
    return urlsplit(server_url).port == urlsplit(configured).port


def _score(sender: str, url: str) -> int:
    # blake2b, not hash(): the ranking must agree across processes and restarts.
    digest = hashlib.blake2b(f"{url}\x00{sender}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class RasaClient:
    """Talk to Rasa's REST channel and HTTP API.

    ``session`` is created lazily (inside the running loop) unless given.
    """

    def __init__(
        self,
        urls: tuple[str, ...] | list[str],
        token: str | None = None,
        timeout: float = 8.0,
        backoff: float = 15.0,
        session: aiohttp.ClientSession | None = None,
    ):
        if not urls:
            raise ValueError("at least one Rasa URL is required")
        self._servers = {u.rstrip("/"): _Server(u.rstrip("/")) for u in urls}
        # The URLs as configured; with DNS discovery each name expands to its replicas.
        self._configured = tuple(self._servers)
        self._token = token
        self._timeout = timeout
        self._backoff = backoff
        self._session = session
        self._own_session = session is None

    @property
    def urls(self) -> list[str]:
        return list(self._servers)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()

    async def discover(self, resolve=None) -> list[str]:
        """Expand each configured host name to one server per address it resolves to.

        A scaled service (``docker compose --scale rasa=N``) is one name with N
        addresses; pinning senders needs each replica as a server of its own.
        Servers keep their back-off state across refreshes; a name that does not
        resolve keeps its current servers.
        """
        resolve = resolve or _resolve
        found: list[str] = []
        for url in self._configured:
            parts = urlsplit(url)
            try:
                addresses = sorted(set(await resolve(parts.hostname, parts.port or 80)))
            except OSError as exc:
                log.warning("cannot resolve %s: %s", parts.hostname, exc)
                found += [u for u in self._servers if _same_service(u, url)] or [url]
                continue
            port = f":{parts.port}" if parts.port else ""
            found += [f"{parts.scheme}://{_host(a)}{port}{parts.path}" for a in addresses] or [url]
        if found and set(found) != set(self._servers):
            log.info("rasa servers: %s", ", ".join(found))
            self._servers = {u: self._servers.get(u) or _Server(u) for u in found}
        return self.urls

    def ranking(self, sender: str) -> list[str]:
        """Servers in the order ``sender`` should try them (stable, per sender)."""
        return sorted(self._servers, key=lambda url: _score(sender, url), reverse=True)

    def route(self, sender: str) -> list[str]:
        """The ranking with servers in back-off moved to the end (still tried last)."""
        now = time.monotonic()
        ranked = self.ranking(sender)
        return [u for u in ranked if self._servers[u].healthy(now)] + [
            u for u in ranked if not self._servers[u].healthy(now)
        ]

    def _mark_down(self, url: str, reason: str) -> None:
        server = self._servers[url]
        server.failures += 1
        # Back-off grows with repeated failures, capped at four times the base.
        delay = self._backoff * min(2 ** (server.failures - 1), 4)
        server.down_until = time.monotonic() + delay
        log.warning("rasa %s marked down for %.0fs: %s", url, delay, reason)

    def _mark_up(self, url: str) -> None:
        server = self._servers[url]
        if server.failures:
            log.info("rasa %s is answering again", url)
        server.failures = 0
        server.down_until = 0.0

    def _params(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    async def _post(self, sender: str, path: str, payload: dict[str, Any]) -> Any:
        """POST to the sender's server, failing over on connection errors and 5xx."""
        deadline = time.monotonic() + self._timeout
        last_error: Exception | None = None
        for url in self.route(sender):
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                break
            try:
                async with self._get_session().post(
                    url + path,
                    json=payload,
                    params=self._params(),
                    timeout=aiohttp.ClientTimeout(total=remaining),
                ) as resp:
                    if resp.status >= 500:
                        self._mark_down(url, f"HTTP {resp.status}")
                        last_error = RasaUnavailable(f"{url} answered HTTP {resp.status}")
                        continue
                    if resp.status != 200:
                        # 4xx (bad token, bad request) is not fixed by another replica.
                        raise RasaBadResponse(f"{url} answered HTTP {resp.status}")
                    try:
                        data = await resp.json(content_type=None)
                    except (ValueError, aiohttp.ContentTypeError) as exc:
                        raise RasaBadResponse(f"{url} answered non-JSON") from exc
                    self._mark_up(url)
                    return data
            except asyncio.TimeoutError as exc:
                # A hung server moves its *next* messages elsewhere; this one is not resent.
                self._mark_down(url, "timeout")
                raise RasaTimeout(f"{url} did not answer within {self._timeout:.1f}s") from exc
            except aiohttp.ClientError as exc:
                # Connection refused/reset: the message never reached Rasa, so retry elsewhere.
                self._mark_down(url, exc.__class__.__name__)
                last_error = exc
        raise RasaUnavailable(f"no Rasa server answered ({last_error})") from last_error

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict]:
        """Send one message through the REST channel; Rasa's messages in order."""
        data = await self._post(
            sender,
            "/webhooks/rest/webhook",
            {"sender": sender, "message": text, "metadata": metadata or {}},
        )
        if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
            raise RasaBadResponse("REST channel did not return a list of messages")
        return data

    async def parse(self, text: str) -> dict:
        """NLU only (``/model/parse``): intent and entities, no dialogue."""
        data = await self._post(text, "/model/parse", {"text": text})
        if not isinstance(data, dict):
            raise RasaBadResponse("/model/parse did not return an object")
        return data

    async def health(self, timeout: float = 2.0) -> dict[str, Any]:
        """``{"status": "ok"|"down", "servers": {url: "ok"|"down"}}`` (ok = any server up)."""

        async def probe(url: str) -> str:
            try:
                async with self._get_session().get(
                    url + "/", timeout=aiohttp.ClientTimeout(total=timeout)
                ) as resp:
                    if resp.status == 200:
                        self._mark_up(url)
                        return "ok"
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            return "down"

        results = await asyncio.gather(*(probe(u) for u in self._servers))
        servers = dict(zip(self._servers, results))
        return {"status": "ok" if "ok" in results else "down", "servers": servers}
