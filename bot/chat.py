"""The one conversation pipeline every channel (web, WeChat, API) goes through.

Order matters: personal numbers are masked first, so Rasa, the logs and any
ticket only ever see placeholders; then the text is normalised, checked,
capped and sent to Rasa; Rasa's messages become channel-neutral replies.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Sequence

from bot.kvstore import KeyValueStore
from bot.privacy import PrivacyDesk
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.wording import Wording
from textproc import mask_pii, normalize

log = logging.getLogger(__name__)

MODES = ("standard", "elder")
# A hotline as routing data may name it: digits, perhaps an area code and dashes.
_PHONE = re.compile(r"^\d[\d-]{2,19}$")
# Where a long text may be cut without breaking a sentence (or at least a clause).
_BREAKS = re.compile(r"[。！？!?；;…\n]|[，,、 ]")


def sender_tag(sender: str) -> str:
    """A short, stable pseudonym of ``sender`` for logs (never the id itself)."""
    return hashlib.blake2b(sender.encode("utf-8"), digest_size=4).hexdigest()


@dataclass
class ChatResult:
    """Replies for the resident, and a hand-off when a ticket was filed."""

    replies: list[dict[str, Any]] = field(default_factory=list)
    handoff: dict[str, str] | None = None
    #: True when Rasa did not answer and the replies are the hotline apology.
    degraded: bool = False
    #: True when the sender's records were deleted: the channel starts a new session.
    forgotten: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"replies": self.replies, "handoff": self.handoff}


class RateLimiter:
    """At most ``per_minute`` messages per key in each one-minute window."""

    def __init__(self, store: KeyValueStore, per_minute: int, clock=time.time):
        self._store = store
        self._limit = per_minute
        self.clock = clock  # tests hold it still, so no window ends mid-test

    async def allow(self, key: str, limit: int | None = None) -> bool:
        window = int(self.clock() // 60)
        count = await self._store.incr(f"rl:{key}:{window}", ttl=61)
        return count <= (self._limit if limit is None else limit)


@dataclass(frozen=True)
class Quota:
    """One rate-limit bucket a message counts against (session, address, API key)."""

    key: str
    per_minute: int | None = None  # None: the limiter's default (per sender)


def has_content(text: str) -> bool:
    """True when ``text`` holds a letter or digit (not only spaces, emoji, punctuation)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def cap_length(text: str, limit: int) -> tuple[str, bool]:
    """The head of ``text`` within ``limit`` characters, cut at a sentence end if one
    falls in the last 40 % (voice transcripts put the question first)."""
    if len(text) <= limit:
        return text, False
    head = text[:limit]
    breaks = [m.end() for m in _BREAKS.finditer(head)]
    cut = breaks[-1] if breaks and breaks[-1] >= limit * 0.6 else limit
    return head[:cut].rstrip(), True


# Fields of a cited source the gateway passes on (see docs/ARCHITECTURE.md).
_SOURCE_FIELDS = ("scope", "entry_id", "short", "document", "section", "quote", "as_of", "doc_no", "date")


def _buttons(raw: Any) -> list[dict[str, str]]:
    out = []
    for b in raw if isinstance(raw, list) else []:
        if isinstance(b, dict) and isinstance(b.get("title"), str) and isinstance(b.get("payload"), str):
            out.append({"title": b["title"], "payload": b["payload"]})
    return out


def _sources(raw: Any) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The answer payload's cited sources, each with the fields the contract names.

    Also maps each kept source's index in the payload to its index in the result,
    as a malformed source is left out and the lines' indices must follow.
    """
    out: list[dict[str, Any]] = []
    index: dict[int, int] = {}
    for i, s in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(s, dict) and isinstance(s.get("short"), str) and s["short"].strip():
            index[i] = len(out)
            out.append({k: s[k] for k in _SOURCE_FIELDS if isinstance(s.get(k), (str, int)) and k in s})
    return out, index


def _lines(raw: Any, text: str, sources: dict[int, int]) -> list[dict[str, Any]] | None:
    """The answer payload's ``lines``: ``[{"text", "source"?}]``, checked against the text.

    The actions say which line cites which source; the gateway only checks that
    the lines are the reply text, and renumbers the sources it passes on
    (``sources``: payload index → passed-on index; a line citing a dropped source
    loses the mark). None when the lines are not the text (an older action
    server): the text is then shown without marked citations, never guessed at.
    """
    if not isinstance(raw, list):
        return None
    lines: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            return None
        line: dict[str, Any] = {"text": item["text"]}
        source = item.get("source")
        if isinstance(source, int) and not isinstance(source, bool) and source in sources:
            line["source"] = sources[source]
        lines.append(line)
    if "\n".join(line["text"] for line in lines) != text:
        return None
    return lines


def reply_lines(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """A reply's lines as channels render them: ``[{"text", "source"?}]``."""
    lines = reply.get("lines")
    if isinstance(lines, list):
        return lines
    return [{"text": line} for line in str(reply.get("text") or "").split("\n")]


def convert(messages: list[dict[str, Any]], default_hotline: str = "12393",
            ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """Rasa REST messages → ``(replies, handoff)`` as the gateway's contract has them.

    The actions' custom payloads become data on the reply they follow: an answer
    brings its ``sources`` and its ``lines`` (the text line by line, a citation
    line carrying its source's index, as the actions marked it), a hand-off its
    ``handoff``. The text is passed on as the actions wrote it.
    The hand-off's hotline is passed through as routing chose it; only something
    that is not a phone number at all is replaced by ``default_hotline``.
    """
    replies: list[dict[str, Any]] = []
    handoff: dict[str, str] | None = None
    for msg in messages:
        text = msg.get("text")
        buttons = _buttons(msg.get("buttons"))
        if isinstance(text, str) and text.strip():
            reply: dict[str, Any] = {"text": text}
            if buttons:
                reply["buttons"] = buttons
            replies.append(reply)
        elif buttons and replies:
            replies[-1].setdefault("buttons", []).extend(buttons)
        custom = msg.get("custom")
        if not isinstance(custom, dict):
            continue
        if isinstance(custom.get("handoff"), dict):
            h = custom["handoff"]
            hotline = str(h.get("hotline") or "").strip()
            handoff = {
                "hotline": hotline if _PHONE.match(hotline) else default_hotline,
                "ticket": str(h.get("ticket") or ""),
            }
            if replies:
                replies[-1]["handoff"] = handoff
        if isinstance(custom.get("answer"), dict) and replies:
            answer = custom["answer"]
            last = replies[-1]
            last["meta"] = answer
            sources, index = _sources(answer.get("sources"))
            if sources:
                last["sources"] = sources
            lines = _lines(answer.get("lines"), last["text"], index)
            if lines is not None:
                last["lines"] = lines
            elif sources:
                log.warning("answer payload's lines do not match its text: citations not marked")
    return replies, handoff


class ChatPipeline:
    """Mask → rate-limit → normalise → check → cap → Rasa → replies."""

    def __init__(
        self,
        rasa: RasaClient,
        wording: Wording,
        limiter: RateLimiter,
        max_text_chars: int = 500,
        privacy: PrivacyDesk | None = None,
    ):
        self.rasa = rasa
        self.wording = wording
        self.limiter = limiter
        self.max_text_chars = max_text_chars
        self.privacy = privacy

    def _notice(self, key: str, **values: Any) -> dict[str, Any]:
        return {"text": self.wording(key, **values), "notice": True}

    def unavailable(self, retry: str | None = None) -> ChatResult:
        """The apology with the hotline, for when no answer can be produced.

        ``retry``: the (masked) text that got no answer; it comes back as a
        "重新发送" button, so the resident can send it again with one tap once
        the assistant has recovered.
        """
        reply: dict[str, Any] = {"text": self.wording("chat.unavailable")}
        if retry:
            reply["buttons"] = [{"title": self.wording("chat.retry_button"), "payload": retry}]
        return ChatResult([reply], None, degraded=True)

    async def handle(
        self,
        sender: str,
        text: str,
        city: str | None = None,
        mode: str = "standard",
        channel: str = "web",
        quotas: Sequence[Quota] | None = None,
        first_contact: bool | None = None,
    ) -> ChatResult:
        """Answer one message from ``sender``; never raises for Rasa trouble.

        ``quotas``: the rate-limit buckets this message counts against (default:
        the sender's own). ``first_contact``: whether the privacy notice is due;
        None asks the key-value store whether ``sender`` was seen before.
        """
        started = time.monotonic()
        tag = sender_tag(sender)
        masked, findings = mask_pii(text or "")
        normalised = normalize(masked)
        # Normalising can reveal numbers (full-width or spoken digits): mask again.
        normalised, more = mask_pii(normalised)
        pii_found = findings.found or more.found

        notices: list[dict[str, Any]] = []
        if pii_found:
            notices.append(self._notice("chat.pii_masked"))
            log.info("chat %s: masked personal numbers (%s)", tag,
                     ",".join(sorted({**findings.counts, **more.counts})))

        # Every bucket is counted, so a client over one limit cannot save up another.
        allowed = [await self.limiter.allow(q.key, q.per_minute)
                   for q in (quotas or [Quota(sender)])]
        if not all(allowed):
            log.info("chat %s: rate limited", tag)
            return ChatResult([{"text": self.wording("chat.rate_limited")}])

        if self.privacy is not None:
            if first_contact is None:
                first_contact = await self.privacy.first_contact(sender)
            if first_contact:
                notices.insert(0, self.privacy.notice())
            command = await self.privacy.handle(sender, normalised)
            if command is not None:
                replies, forgotten = command
                log.info("chat %s: privacy command%s", tag, " (records deleted)" if forgotten else "")
                return ChatResult(notices + replies, forgotten=forgotten)

        if not has_content(normalised):
            prompt = {"text": self.wording("chat.empty"), "buttons": list(self.wording.topics)}
            return ChatResult(notices + [prompt])

        capped, truncated = cap_length(normalised, self.max_text_chars)
        if truncated:
            notices.append(self._notice("chat.too_long"))

        metadata: dict[str, Any] = {"mode": mode, "channel": channel}
        if city:
            metadata["city"] = city
        try:
            messages = await self.rasa.send(sender, capped, metadata)
        except RasaUnavailable as exc:
            log.warning("chat %s: rasa unavailable after %.2fs: %s", tag,
                        time.monotonic() - started, exc)
            result = self.unavailable(retry=capped)
            result.replies = notices + result.replies
            return result

        replies, handoff = convert(messages, self.wording.hotline)
        if not replies and not handoff:
            # Rasa answers [] when it could not finish the turn (action server or
            # tracker database down): an apology, never silence.
            log.warning("chat %s: rasa returned no reply after %.2fs", tag, time.monotonic() - started)
            result = self.unavailable(retry=capped)
            result.replies = notices + result.replies
            return result
        log.info("chat %s: %s/%s %d chars → %d replies%s in %.2fs", tag, channel, mode,
                 len(capped), len(replies), " +handoff" if handoff else "",
                 time.monotonic() - started)
        return ChatResult(notices + replies, handoff)
