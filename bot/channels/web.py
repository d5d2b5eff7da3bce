"""The web chat: the page (``/``, ``/static/``), its session (``/api/session``) and
the JSON API (``/api/chat``).

Who is talking decides which conversation continues (see :mod:`bot.identity`):
an integrator's API key, else the server-issued session cookie; a ``sender`` in
the body means something only together with an API key.
"""
from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot import keys
from bot.chat import MODES, ChatResult, Quota
from bot.http import ApiError, json_response, read_json_object
from bot.identity import (
    COOKIE_NAME,
    api_sender,
    client_address,
    is_https,
    match_api_key,
    presented_api_key,
    web_sender,
)
from bot.places import places as places_handler
from bot.voice.tts import script

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# A long voice transcript must reach the pipeline (which keeps its head): 10,000
# characters fit even when a client escapes each one as \\uXXXX (6 bytes).
CHAT_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Caller:
    """The Rasa sender of a request, its channel and the buckets it counts against."""

    sender: str
    channel: str
    quotas: tuple[Quota, ...]
    #: The web session's cookie to send back (new, or renewed for another idle period).
    cookie: str | None = None
    #: True when this request opened the session (a first contact).
    new_session: bool = False


def _validated_sender(request: web.Request, data: dict) -> str:
    wording = request.app[keys.WORDING]
    settings = request.app[keys.SETTINGS]
    sender = data.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise ApiError(400, wording("api.sender_required"))
    if any(unicodedata.category(ch)[0] == "C" for ch in sender):
        # Control/format characters in an id end up in logs and tracker keys.
        raise ApiError(400, wording("api.sender_invalid"))
    if len(sender) > settings.max_sender_chars:
        raise ApiError(400, wording("api.sender_too_long", max=settings.max_sender_chars))
    return sender


def web_session(request: web.Request) -> tuple[str, str, bool]:
    """``(session id, cookie, new)``: the valid cookie's session renewed, else a new one."""
    signer = request.app[keys.SESSIONS]
    sid = signer.verify(request.cookies.get(COOKIE_NAME))
    if sid is not None:
        return (*signer.issue(sid=sid), False)
    return (*signer.issue(), True)


def identify(request: web.Request, data: dict) -> Caller:
    """API key → the integrator's namespaced sender; otherwise the web session."""
    app = request.app
    settings = app[keys.SETTINGS]
    presented = presented_api_key(request)
    if presented is not None:
        key_id = match_api_key(settings.api_keys, presented)
        if key_id is None:
            raise ApiError(401, app[keys.WORDING]("api.key_invalid"))
        sender = api_sender(key_id, _validated_sender(request, data))
        # An integrator's residents all come from its servers: limit per key, not address.
        return Caller(sender, "api", (Quota(sender), Quota(f"key:{key_id}", settings.rate_limit_per_api_key)))
    sid, cookie, new = web_session(request)
    sender = web_sender(sid)
    address = client_address(request, app[keys.PROXY_POLICY])
    # Per address too: a client that drops its cookie gets a new session each time.
    return Caller(sender, "web", (Quota(sender), Quota(f"addr:{address}", settings.rate_limit_per_address)),
                  cookie=cookie, new_session=new)


def set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    settings = request.app[keys.SETTINGS]
    response.set_cookie(
        COOKIE_NAME, value, path="/", httponly=True, samesite="Lax",
        max_age=request.app[keys.SESSIONS].max_age,
        secure=settings.production or is_https(request, request.app[keys.PROXY_POLICY]),
    )


async def chat(request: web.Request) -> web.Response:
    """``POST /api/chat``: one message in, the replies out (see docs/ARCHITECTURE.md)."""
    app = request.app
    wording = app[keys.WORDING]
    data = await read_json_object(request, limit=CHAT_BODY_LIMIT)
    caller = identify(request, data)

    text = data.get("text")
    if not isinstance(text, str):
        raise ApiError(400, wording("api.text_required"))
    city = data.get("city")
    if city in (None, ""):
        city = None
    else:
        allowed = await app[keys.PLACE_DIRECTORY].names(app)
        if not isinstance(city, str) or city not in allowed:
            raise ApiError(400, wording("api.city_invalid", allowed="、".join(allowed)))
    mode = data.get("mode", "standard")
    if mode not in MODES:
        raise ApiError(400, wording("api.mode_invalid"))

    result: ChatResult = await app[keys.CHAT].handle(
        caller.sender, text, city=city, mode=mode, channel=caller.channel, quotas=caller.quotas,
        # A session issued just now is a first contact; an API sender is looked up.
        first_contact=caller.new_session if caller.channel == "web" else None,
    )
    body = result.to_json()
    if mode == "elder":
        # What the page reads aloud, decided here from the replies' structure.
        body["speech"] = script(result.replies, app[keys.SETTINGS].tts_max_chars, wording("voice.choose"))
    cookie = caller.cookie
    if result.forgotten:
        body["new_session"] = True  # the page clears the screen too
        if caller.channel == "web":
            _, cookie = app[keys.SESSIONS].issue()  # the deleted conversation is not continued
    response = json_response(body)
    if cookie is not None:
        set_session_cookie(request, response, cookie)
    return response


async def session(request: web.Request) -> web.Response:
    """``GET /api/session``: make sure the page has a session; a new one gets the
    privacy notice before anything is typed."""
    _, cookie, new = web_session(request)
    replies = [request.app[keys.CHAT].privacy.notice()] if new else []
    response = json_response({"replies": replies}, headers={"Cache-Control": "no-store"})
    set_session_cookie(request, response, cookie)
    return response


async def index(request: web.Request) -> web.FileResponse:
    """The chat page; scripts and styles are separate files (strict CSP)."""
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/session", session)
    app.router.add_get("/api/places", places_handler)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
