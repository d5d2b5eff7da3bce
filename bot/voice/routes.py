"""``POST /api/asr`` (recording → text) and ``GET /api/tts`` (text → WAV)."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

from bot import keys
from bot.http import ApiError, json_response, read_body
from bot.identity import client_address
from bot.voice.asr import AUDIO_TYPES, AsrBackendError, AsrNotConfigured
from bot.voice.tts import TtsUnavailable, speakable
from textproc import normalize

log = logging.getLogger(__name__)


async def _limit(request: web.Request, kind: str) -> None:
    # Voice is costlier than text: the same per-minute budget, per client address.
    address = client_address(request, request.app[keys.PROXY_POLICY])
    if not await request.app[keys.CHAT].limiter.allow(f"{kind}:{address}"):
        raise ApiError(429, request.app[keys.WORDING]("chat.rate_limited"))


async def asr(request: web.Request) -> web.Response:
    """Transcribe a push-to-talk recording. 503 when no backend is configured."""
    wording = request.app[keys.WORDING]
    settings = request.app[keys.SETTINGS]
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in AUDIO_TYPES:
        raise ApiError(415, wording("voice.asr_bad_type"))
    if settings.asr_url is None:
        raise ApiError(503, wording("voice.asr_not_configured"))
    await _limit(request, "asr")
    try:
        audio = await read_body(request, settings.asr_max_bytes)
    except ApiError as exc:
        if exc.status == 413:
            raise ApiError(413, wording("voice.asr_too_large")) from exc
        raise
    if not audio:
        raise ApiError(400, wording("voice.asr_empty"))
    try:
        text = await request.app[keys.ASR].transcribe(audio, content_type)
    except AsrNotConfigured as exc:
        raise ApiError(503, wording("voice.asr_not_configured")) from exc
    except AsrBackendError as exc:
        log.warning("asr failed: %s", exc)
        raise ApiError(502, wording("voice.asr_failed")) from exc
    # The transcript only goes back to the resident's own page; /api/chat masks it.
    return json_response({"text": normalize(text)})


async def tts(request: web.Request) -> web.Response:
    """Speak ``?text=`` with espeak-ng's Mandarin voice, slowly, as WAV."""
    wording = request.app[keys.WORDING]
    settings = request.app[keys.SETTINGS]
    text = speakable(request.query.get("text", ""))
    if not text:
        raise ApiError(400, wording("voice.tts_text_required"))
    if len(text) > settings.tts_max_chars:
        raise ApiError(400, wording("voice.tts_too_long", max=settings.tts_max_chars))
    await _limit(request, "tts")
    try:
        wav = await request.app[keys.TTS].synthesize(text)
    except TtsUnavailable as exc:
        log.warning("tts unavailable: %s", exc)
        raise ApiError(503, wording("voice.tts_unavailable")) from exc
    return web.Response(body=wav, content_type="audio/wav",
                        headers={"Cache-Control": "private, max-age=3600"})


async def voice(request: web.Request) -> web.Response:
    """``GET /api/voice``: which voice services this gateway offers (for the page)."""
    settings = request.app[keys.SETTINGS]
    asr = settings.asr_url is not None
    return json_response({
        "asr": asr,
        # Where recordings go, named on the page before anyone speaks.
        "asr_provider": (settings.asr_provider or urlsplit(settings.asr_url).hostname) if asr else None,
        "tts": request.app[keys.TTS].available,
    })


def setup(app: web.Application) -> None:
    app.router.add_get("/api/voice", voice)
    app.router.add_post("/api/asr", asr)
    app.router.add_get("/api/tts", tts)
