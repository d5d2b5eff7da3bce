"""WeChat Official Account webhook (``/wechat``): verify → parse → chat → passive reply.

WeChat waits 5 s for a passive reply and then retries the same message up to
three times. So each message is claimed once by its MsgId (events by sender and
time) and its reply stored, a retry gets the same reply, and when Rasa is slow
the resident gets "正在为您查询…" at once and the answer follows through the
customer-service message API.

WeChat has no buttons: a reply's choices are listed as "您可以回复：A｜B", and a
message that is one of them, typed or said, is sent on as that button's payload
(which carries the place and the detail asked about), as a tap on the web page is.

The openid is a personal identifier: past verification it is replaced by a keyed
pseudonym (:class:`bot.identity.Pseudonyms`) for Rasa, the key-value store and
logs. The raw openid lives only in memory, in the task that sends a late answer.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

from aiohttp import web
from defusedxml import ElementTree as SafeET
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import create_reply
from wechatpy.utils import check_signature

from bot import keys
from bot.channels.wechat_api import WeChatApi, WeChatApiError
from bot.chat import ChatPipeline, ChatResult, reply_lines, sender_tag
from bot.identity import Pseudonyms
from bot.wording import Wording
from settings import GatewaySettings
from textproc import normalize

log = logging.getLogger(__name__)

# WeChat's limit for a text message is 2048 bytes; keep a margin.
MAX_TEXT_BYTES = 2000
# Long enough to outlive WeChat's retries (3 × 5 s) with room to spare.
DEDUP_TTL = 300
SUBSCRIBE_EVENTS = {"subscribe", "subscribe_scan"}
# How long a reply's choices can be answered by typing one of them back.
OFFER_TTL = 1800


class Rejected(Exception):
    """A request that must not be processed; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def check_xml(body: bytes | str) -> None:
    """Refuse DTDs/entities (XXE, billion laughs) before any parser expands them."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    lowered = raw.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise Rejected(400, "DTD in XML")
    try:
        SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception as exc:  # defusedxml raises several types for malformed input
        raise Rejected(400, f"bad XML ({exc.__class__.__name__})") from exc


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` UTF-8 bytes, at line ends."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(line.encode("utf-8")) > limit:  # a single over-long line
            cut = limit // 3  # three bytes per Chinese character
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        parts.append(current)
    return parts or [""]


def choice_key(text: str) -> str:
    """A choice as residents may type or say it back: script, width, spaces and
    punctuation aside ("零星手工报销。" is the choice "零星（手工）报销")."""
    return re.sub(r"[\W_]+", "", normalize(text)).lower()


def offered_choices(result: ChatResult) -> dict[str, str]:
    """The choices a rendered reply lists, by :func:`choice_key` of their titles."""
    if result.degraded or result.forgotten:
        return {}
    return {choice_key(b["title"]): b["payload"]
            for reply in result.replies for b in reply.get("buttons") or [] if choice_key(b["title"])}


def render_result(result: ChatResult, wording: Wording) -> str:
    """Replies as one WeChat text: buttons become "您可以回复：A｜B".

    Rendered from the replies' lines as the actions wrote them (source lines and
    the hand-off included): a WeChat text has no styling to give either.
    """
    blocks = []
    for reply in result.replies:
        text = "\n".join(line["text"] for line in reply_lines(reply))
        # The apology's "重新发送" button carries the whole message as its payload;
        # typed back as its title it would mean nothing, so WeChat shows none.
        buttons = [] if result.degraded else reply.get("buttons") or []
        if buttons:
            options = wording("wechat.option_separator").join(b["title"] for b in buttons)
            text += "\n" + wording("wechat.options", options=options)
        blocks.append(text)
    return "\n\n".join(blocks)


class WeChatChannel:
    """Handlers for ``GET``/``POST /wechat`` of one Official Account."""

    def __init__(self, settings: GatewaySettings, pipeline: ChatPipeline, wording: Wording,
                 api: WeChatApi | None, store, tasks: set[asyncio.Task], pseudonyms: Pseudonyms):
        self.settings = settings
        self.pseudonyms = pseudonyms
        self.pipeline = pipeline
        self.wording = wording
        self.api = api
        self.store = store
        self.tasks = tasks
        self.crypto = (
            WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
            if settings.wechat_safe_mode else None
        )

    # -- verification -------------------------------------------------------

    def _verify(self, request: web.Request) -> tuple[str, str]:
        q = request.query
        signature, timestamp, nonce = q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        if not (signature and timestamp and nonce):
            raise Rejected(403, "unsigned request")
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError as exc:
            raise Rejected(403, "bad timestamp") from exc
        if age > self.settings.wechat_timestamp_window:
            raise Rejected(403, "stale timestamp")
        try:
            check_signature(self.settings.wechat_token, signature, timestamp, nonce)
        except InvalidSignatureException as exc:
            raise Rejected(403, "bad signature") from exc
        return timestamp, nonce

    async def get(self, request: web.Request) -> web.Response:
        """Server verification: echo ``echostr`` for a correctly signed request."""
        try:
            self._verify(request)
        except Rejected as exc:
            log.warning("wechat verification rejected: %s", exc)
            return web.Response(status=exc.status, text="forbidden")
        return web.Response(text=request.query.get("echostr", ""), content_type="text/plain")

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.settings.wechat_max_bytes
        if request.content_length is not None and request.content_length > limit:
            raise Rejected(413, "body too large")
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            raise Rejected(413, "body too large")
        return body

    def _decrypt(self, request: web.Request, body: bytes, timestamp: str, nonce: str) -> str:
        encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
        if self.crypto is None:
            if encrypted:
                raise Rejected(400, "encrypted message but WECHAT_AES_KEY is not set")
            return body.decode("utf-8")
        if not encrypted:
            # Safe mode configured: a plaintext message did not come from WeChat.
            raise Rejected(403, "plaintext message in safe mode")
        try:
            xml = self.crypto.decrypt_message(body, request.query.get("msg_signature", ""), timestamp, nonce)
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise Rejected(403, f"decrypt: {exc.__class__.__name__}") from exc
        except Exception as exc:  # base64/padding/KeyError from a malformed envelope
            raise Rejected(400, f"decrypt: {exc.__class__.__name__}") from exc
        check_xml(xml)
        return xml

    def _respond(self, message: Any, content: str | None, timestamp: str, nonce: str) -> web.Response:
        if content is None:
            # "success" tells WeChat there is no reply and stops its retries.
            return web.Response(text="success", content_type="text/plain")
        # "]]>" would close the CDATA section wechatpy renders the content into.
        xml = create_reply(content.replace("]]>", "]] >"), message).render()
        if self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, nonce, timestamp)
        return web.Response(text=xml, content_type="application/xml")

    # -- messages -----------------------------------------------------------

    async def post(self, request: web.Request) -> web.Response:
        """One message or event pushed by WeChat."""
        started = time.monotonic()
        try:
            timestamp, nonce = self._verify(request)
            body = await self._read_body(request)
            check_xml(body)
            xml = self._decrypt(request, body, timestamp, nonce)
            message = parse_message(xml)
            # Well-formed XML is not yet a message: it needs a sender and a time
            # (the de-duplication key and the reply are built from them).
            if not message.source or message.create_time is None:
                raise Rejected(400, "message without FromUserName or CreateTime")
        except Rejected as exc:
            log.warning("wechat message rejected (%s): %s", exc.status, exc)
            return web.Response(status=exc.status, text="rejected")
        except (KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            # wechatpy indexes into whatever xmltodict made of the body.
            log.warning("wechat message unreadable: %s", exc.__class__.__name__)
            return web.Response(status=400, text="bad message")

        key = self._dedup_key(message)
        if not await self.store.add(key, "pending", ttl=DEDUP_TTL):
            return await self._replay(key, message, timestamp, nonce)
        try:
            content = await self._answer(message, started)
        except Exception:  # a bug must not leave WeChat retrying into a "pending" claim
            log.exception("wechat %s: failed to answer", sender_tag(self._sender(message)))
            content = self.pipeline.unavailable().replies[0]["text"]
        await self.store.set(key, json.dumps({"content": content}, ensure_ascii=False), ttl=DEDUP_TTL)
        return self._respond(message, content, timestamp, nonce)

    def _sender(self, message: Any) -> str:
        """The conversation's sender id: a keyed pseudonym of the verified openid."""
        return self.pseudonyms.wechat(self.settings.wechat_app_id or "", message.source)

    def _dedup_key(self, message: Any) -> str:
        app = self.settings.wechat_app_id
        if getattr(message, "id", 0):
            return f"wx:seen:{app}:{message.id}"
        created = int(message.create_time.timestamp())
        event = getattr(message, "event", message.type)
        return f"wx:seen:{app}:{self._sender(message)}:{created}:{event}"

    async def _replay(self, key: str, message: Any, timestamp: str, nonce: str) -> web.Response:
        """A retry: answer as the first delivery was answered, without processing again."""
        deadline = time.monotonic() + self.settings.wechat_reply_budget
        while True:
            stored = await self.store.get(key)
            if stored and stored != "pending":
                log.info("wechat %s: retry of a handled message, replaying",
                         sender_tag(self._sender(message)))
                return self._respond(message, json.loads(stored)["content"], timestamp, nonce)
            if time.monotonic() >= deadline:
                return self._respond(message, None, timestamp, nonce)
            await asyncio.sleep(0.1)

    async def _answer(self, message: Any, started: float) -> str | None:
        """The passive reply's text (None for no reply)."""
        kind = message.type
        if kind == "event":
            if message.event not in SUBSCRIBE_EVENTS:
                return None
            # The privacy notice comes with the welcome, so it is not repeated later.
            await self.pipeline.privacy.mark_seen(self._sender(message))
            return self.wording("wechat.welcome") + "\n\n" + self.pipeline.privacy.notice()["text"]
        if kind == "text":
            return await self._chat(message, message.content or "", "standard", started)
        if kind == "voice":
            heard = (getattr(message, "recognition", None) or "").strip()
            if not heard:
                return self.wording("wechat.voice_unrecognized")
            # Spoken questions get the brief, one-step-at-a-time answers.
            return await self._chat(message, heard, "elder", started)
        return self.wording("wechat.unsupported")

    async def _chosen(self, sender: str, text: str) -> str:
        """The payload of the choice ``text`` names among the last reply's, else ``text``."""
        stored = await self.store.get(f"wx:offer:{sender}")
        choices = json.loads(stored) if stored else {}
        return choices.get(choice_key(text)) or text

    async def _remember_choices(self, sender: str, result: ChatResult) -> None:
        key = f"wx:offer:{sender}"
        choices = offered_choices(result)
        if choices:
            await self.store.set(key, json.dumps(choices, ensure_ascii=False), ttl=OFFER_TTL)
        else:  # the choices of an older reply no longer fit the conversation
            await self.store.delete(key)

    async def _chat(self, message: Any, text: str, mode: str, started: float) -> str:
        openid = message.source  # kept in memory only, to send a late answer
        sender = self._sender(message)
        text = await self._chosen(sender, text)
        task = asyncio.ensure_future(self.pipeline.handle(
            sender, text, city=self.settings.wechat_city, mode=mode, channel="wechat"))
        remaining = self.settings.wechat_reply_budget - (time.monotonic() - started)
        try:
            result = await asyncio.wait_for(asyncio.shield(task), max(remaining, 0.1))
        except asyncio.TimeoutError:
            log.info("wechat %s: slow answer, replying later", sender_tag(sender))
            self._later(self._deliver_when_done(openid, sender, task))
            return self.wording("wechat.pending")
        await self._remember_choices(sender, result)
        parts = split_text(render_result(result, self.wording))
        if len(parts) > 1:
            self._later(self._deliver(openid, sender, parts[1:], continued=True))
        return parts[0]

    def _later(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)  # keep a reference until done; cancelled at shutdown
        task.add_done_callback(self.tasks.discard)

    async def _deliver_when_done(self, openid: str, sender: str, task: asyncio.Task) -> None:
        try:
            result = await task
        except Exception:  # the pipeline does not raise for Rasa trouble; anything else is a bug
            log.exception("wechat %s: chat failed", sender_tag(sender))
            result = self.pipeline.unavailable()
        await self._remember_choices(sender, result)
        await self._deliver(openid, sender, split_text(render_result(result, self.wording)))

    async def _deliver(self, openid: str, sender: str, parts: list[str], continued: bool = False) -> None:
        if self.api is None:
            log.error("wechat %s: cannot deliver a late answer: no WeChat API client", sender_tag(sender))
            return
        for i, part in enumerate(parts):
            if continued and i == 0:
                part = self.wording("wechat.continued") + part
            try:
                await self.api.send_text(openid, part)
            except WeChatApiError as exc:
                log.error("wechat %s: customer-service send failed: %s", sender_tag(sender), exc)
                return
        log.info("wechat %s: delivered %d late message(s)", sender_tag(sender), len(parts))


async def _not_configured(request: web.Request) -> web.Response:
    return web.json_response({"error": request.app[keys.WORDING]("wechat.not_configured")}, status=503)


def setup(app: web.Application) -> None:
    """Add ``/wechat``; the channel object is built at start-up (it needs the store)."""

    async def get(request: web.Request) -> web.Response:
        channel = request.app.get(keys.WECHAT)
        return await channel.get(request) if channel else await _not_configured(request)

    async def post(request: web.Request) -> web.Response:
        channel = request.app.get(keys.WECHAT)
        return await channel.post(request) if channel else await _not_configured(request)

    app.router.add_get("/wechat", get)
    app.router.add_post("/wechat", post)
