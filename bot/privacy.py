"""The privacy notice on first contact, and "删除我的记录" with a confirmation step.

Both are handled in the gateway, before Rasa: a deletion request must work even
when the dialogue model misunderstands it, and the confirmation is remembered
in the key-value store for a few minutes only.
"""
from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from typing import Any, Callable

from bot.kvstore import KeyValueStore
from bot.wording import Wording

log = logging.getLogger(__name__)

# How long "确认删除" is accepted after the request.
CONFIRM_TTL = 300
# Deletion requests are short; a long message mentioning 删除…记录 is a question.
MAX_COMMAND_CHARS = 24

Forget = Callable[[str], dict[str, int]]


def default_forget(sender_id: str) -> dict[str, int]:
    """``retention.forget_sender``: deletes the sender's conversation and tickets."""
    from retention import forget_sender  # imported late: its database set-up is its own

    return forget_sender(sender_id)


def _squash(text: str) -> str:
    """The text without spaces, punctuation or symbols, for matching commands."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def period(wording: Wording, days: int) -> str:
    """``365`` → ``1年``, ``180`` → ``180天`` (units from the wording file)."""
    if days % 365 == 0:
        return wording("privacy.years", n=days // 365)
    return wording("privacy.days", n=days)


class PrivacyDesk:
    """First-contact notice and deletion of a sender's records."""

    def __init__(self, store: KeyValueStore, wording: Wording, conversation_days: int,
                 ticket_days: int, forget: Forget = default_forget):
        self.store = store
        self.wording = wording
        self.forget = forget
        self._seen_ttl = conversation_days * 86400
        self._notice = wording("privacy.notice",
                               conversation_period=period(wording, conversation_days),
                               ticket_period=period(wording, ticket_days))
        self._delete = re.compile(wording.raw("privacy.delete_pattern"))
        self._confirm = {_squash(p) for p in wording.phrases("privacy.confirm_phrases")}
        self._cancel = {_squash(p) for p in wording.phrases("privacy.cancel_phrases")}

    def notice(self) -> dict[str, Any]:
        return {"text": self._notice, "notice": True, "kind": "privacy"}

    async def first_contact(self, sender: str) -> bool:
        """True the first time ``sender`` is seen (within the conversation retention)."""
        return await self.store.add(f"seen:{sender}", "1", ttl=self._seen_ttl)

    async def mark_seen(self, sender: str) -> None:
        await self.store.set(f"seen:{sender}", "1", ttl=self._seen_ttl)

    def is_delete_request(self, text: str) -> bool:
        squashed = _squash(text)
        return len(squashed) <= MAX_COMMAND_CHARS and bool(self._delete.search(squashed))

    async def handle(self, sender: str, text: str) -> tuple[list[dict[str, Any]], bool] | None:
        """``(replies, deleted)`` when ``text`` is a deletion command or answers one;
        None for anything else (it goes to Rasa)."""
        key = f"forget:{sender}"
        squashed = _squash(text)
        pending = await self.store.get(key) is not None
        if pending and squashed in self._confirm:
            await self.store.delete(key)
            return await self._forget(sender)
        if pending and squashed in self._cancel:
            await self.store.delete(key)
            return [{"text": self.wording("privacy.cancelled")}], False
        if self.is_delete_request(text) or squashed == _squash(self.wording("privacy.confirm_button")):
            # A bare "确认删除" without a request asks first as well.
            await self.store.set(key, "1", ttl=CONFIRM_TTL)
            return [{"text": self.wording("privacy.delete_confirm"), "buttons": [
                {"title": self.wording("privacy.confirm_button"),
                 "payload": self.wording("privacy.confirm_button")},
                {"title": self.wording("privacy.cancel_button"),
                 "payload": self.wording("privacy.cancel_button")},
            ]}], False
        if pending:
            await self.store.delete(key)  # moved on: a later "确认" must not delete
        return None

    async def _forget(self, sender: str) -> tuple[list[dict[str, Any]], bool]:
        try:
            # Synchronous database work: off the event loop.
            counts = await asyncio.get_running_loop().run_in_executor(None, self.forget, sender)
        except Exception:
            log.exception("privacy: deleting a sender's records failed")
            return [{"text": self.wording("privacy.delete_failed")}], False
        await self.store.delete(f"seen:{sender}")
        log.info("privacy: records deleted on request (%s)",
                 ", ".join(f"{k}={v}" for k, v in sorted((counts or {}).items())))
        return [{"text": self.wording("privacy.deleted")}], True
