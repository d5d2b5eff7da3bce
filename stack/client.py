"""A minimal client of the gateway's chat API, shared by the stack tests and bench/.

It sends the stack's API key (``X-Api-Key``), so ``sender`` names the conversation;
the gateway stores it as ``api:stack:<sender>`` (:func:`stack.config.rasa_sender`).
With ``api_key=""`` it talks like the web page instead: the conversation is the
session cookie, which the caller's ``ClientSession`` must keep
(``aiohttp.CookieJar(unsafe=True)`` for 127.0.0.1).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from stack.config import rasa_sender, stack_api_key

# The reply the gateway gives while no Rasa server answers would still be a 200;
# callers check the texts, this client only times and decodes.
DEFAULT_TIMEOUT = 60.0


@dataclass
class Turn:
    """One message and what came back."""

    sender: str
    text: str
    status: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)
    handoff: dict[str, Any] | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200 and bool(self.replies)

    @property
    def reply_text(self) -> str:
        """The answer's text; the first-contact privacy notice is not part of it."""
        return "\n".join(str(r.get("text") or "") for r in self.replies
                         if r.get("kind") != "privacy")

    @property
    def rasa_sender(self) -> str:
        """The sender id Rasa stores this turn under (sent with the stack's key)."""
        return rasa_sender(self.sender)


async def chat(
    session: aiohttp.ClientSession,
    gateway_url: str,
    sender: str,
    text: str,
    city: str | None = None,
    mode: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    api_key: str | None = None,
) -> Turn:
    """POST /api/chat once; never raises for HTTP or network trouble (see ``Turn.error``).

    ``api_key``: None sends the stack's key (:func:`stack.config.stack_api_key`),
    "" none at all (a cookie session, ``sender`` is then ignored by the gateway).
    """
    key = stack_api_key() if api_key is None else api_key
    headers = {"X-Api-Key": key} if key else {}
    body: dict[str, Any] = {"sender": sender, "text": text}
    if city:
        body["city"] = city
    if mode:
        body["mode"] = mode
    turn = Turn(sender=sender, text=text)
    started = time.perf_counter()
    try:
        async with session.post(
            f"{gateway_url}/api/chat", json=body, headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            turn.status = resp.status
            data = await resp.json(content_type=None)
            if resp.status != 200:
                turn.error = f"HTTP {resp.status}: {str(data)[:200]}"
            else:
                turn.replies = list(data.get("replies") or [])
                turn.handoff = data.get("handoff")
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        turn.error = f"{exc.__class__.__name__}: {exc}"
    turn.seconds = time.perf_counter() - started
    return turn
