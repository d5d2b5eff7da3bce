"""The web chat: the page (``/``, ``/static/``) and its JSON API (``/api/chat``)."""
from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from pathlib import Path

from aiohttp import web

from bot import keys
from bot.chat import MODES
from bot.http import ApiError, json_response, read_json_object
from knowledge.errors import StoreUnavailable

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# The canonical places of the conversation contract (docs/ARCHITECTURE.md), used
# only while the knowledge base cannot be read, so residents are not turned away.
CONTRACT_PLACES = ("连云港市", "开州区", "长春市", "江门市", "正宁县")
PLACES_TTL = 60.0
# A long voice transcript must reach the pipeline (which keeps its head): 10,000
# characters fit even when a client escapes each one as \\uXXXX (6 bytes).
CHAT_BODY_LIMIT = 64 * 1024
WEB_CHANNELS = ("web", "api")


async def known_places(app: web.Application) -> list[str]:
    """Canonical place names from the knowledge store, cached for a minute."""
    cached = app[keys.PLACES]
    if cached and time.monotonic() - cached[0] < PLACES_TTL:
        return cached[1]
    store = app[keys.KNOWLEDGE]
    try:
        # SQLAlchemy is synchronous: keep it off the event loop.
        places = await asyncio.get_running_loop().run_in_executor(None, store.places)
        names = [p.name for p in places]
    except StoreUnavailable as exc:
        log.warning("knowledge store unavailable (%s); using the contract's places", exc)
        names = []
    if not names:
        names = list(cached[1]) if cached else list(CONTRACT_PLACES)
        app[keys.PLACES][:] = [time.monotonic() - PLACES_TTL + 5, names]  # retry soon
        return names
    app[keys.PLACES][:] = [time.monotonic(), names]
    return names


async def chat(request: web.Request) -> web.Response:
    """``POST /api/chat``: one message in, the replies out (see docs/ARCHITECTURE.md)."""
    app = request.app
    wording = app[keys.WORDING]
    settings = app[keys.SETTINGS]
    data = await read_json_object(request, limit=CHAT_BODY_LIMIT)

    sender = data.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise ApiError(400, wording("api.sender_required"))
    if any(unicodedata.category(ch)[0] == "C" for ch in sender):
        # Control/format characters in an id end up in logs and tracker keys.
        raise ApiError(400, wording("api.sender_invalid"))
    if len(sender) > settings.max_sender_chars:
        raise ApiError(400, wording("api.sender_too_long", max=settings.max_sender_chars))
    text = data.get("text")
    if not isinstance(text, str):
        raise ApiError(400, wording("api.text_required"))
    city = data.get("city")
    if city in (None, ""):
        city = None
    else:
        allowed = await known_places(app)
        if not isinstance(city, str) or city not in allowed:
            raise ApiError(400, wording("api.city_invalid", allowed="、".join(allowed)))
    mode = data.get("mode", "standard")
    if mode not in MODES:
        raise ApiError(400, wording("api.mode_invalid"))
    channel = data.get("channel", "web")
    if channel not in WEB_CHANNELS:
        channel = "api"

    result = await app[keys.CHAT].handle(sender, text, city=city, mode=mode, channel=channel)
    return json_response(result.to_json())


async def index(request: web.Request) -> web.FileResponse:
    """The chat page; scripts and styles are separate files (strict CSP)."""
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
