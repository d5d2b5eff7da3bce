"""Speech recognition behind one interface, so the backend can be swapped per city.

``HttpSpeechRecognizer`` posts the recording to ``ASR_URL`` — a self-hosted
recogniser (e.g. a FunASR runtime behind a small HTTP wrapper) or a city's cloud
service — and reads the transcript from its JSON answer. There is no offline
fake: without a backend the endpoint says so (503) and the page falls back to
the browser's own recognition.
"""
from __future__ import annotations

import asyncio
from typing import Any, Protocol

import aiohttp

from bot.outbound import LazySession

# Content types the page records (MediaRecorder) or uploads; parameters are ignored.
AUDIO_TYPES = ("audio/webm", "audio/ogg", "audio/wav", "audio/x-wav", "audio/wave")


class AsrError(Exception):
    """Speech recognition failed."""


class AsrNotConfigured(AsrError):
    """No recognition backend is configured (``ASR_URL`` empty)."""


class AsrBackendError(AsrError):
    """The backend was unreachable, slow, or answered something unusable."""


class SpeechRecognizer(Protocol):
    """Turn one recording into text."""

    async def transcribe(self, audio: bytes, content_type: str) -> str:
        """The transcript of ``audio`` (may be empty when nothing was said)."""
        ...


class UnconfiguredRecognizer:
    """Stands in when ``ASR_URL`` is empty: always raises :class:`AsrNotConfigured`."""

    async def transcribe(self, audio: bytes, content_type: str) -> str:
        raise AsrNotConfigured("ASR_URL is not set")


def extract_text(data: Any) -> str:
    """The transcript in common JSON shapes: ``{"text"}``, ``{"result": str | [{"text"}]}``,
    ``{"transcript"}``, or the same nested under ``"data"``."""
    if isinstance(data, dict):
        for key in ("text", "transcript", "result", "data"):
            if key in data:
                text = extract_text(data[key])
                if text or key != "data":
                    return text
        raise AsrBackendError("no transcript in the backend's answer")
    if isinstance(data, str):
        return data.strip()
    if isinstance(data, list):
        return "".join(extract_text(item) for item in data).strip()
    raise AsrBackendError("no transcript in the backend's answer")


class HttpSpeechRecognizer(LazySession):
    """POST the raw audio (with its content type) to ``url``; JSON with the text back."""

    def __init__(self, url: str, timeout: float = 10.0, session: aiohttp.ClientSession | None = None):
        self._url = url
        self._timeout = timeout
        self._session = session

    async def transcribe(self, audio: bytes, content_type: str) -> str:
        try:
            async with self._get_session().post(
                self._url,
                data=audio,
                headers={"Content-Type": content_type, "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as resp:
                if resp.status != 200:
                    raise AsrBackendError(f"ASR backend answered HTTP {resp.status}")
                try:
                    data = await resp.json(content_type=None)
                except ValueError as exc:
                    raise AsrBackendError("ASR backend answered non-JSON") from exc
        except asyncio.TimeoutError as exc:
            raise AsrBackendError(f"ASR backend did not answer within {self._timeout:.0f}s") from exc
        except aiohttp.ClientError as exc:
            raise AsrBackendError(f"ASR backend unreachable ({exc.__class__.__name__})") from exc
        return extract_text(data)


def make_recognizer(url: str | None, timeout: float) -> SpeechRecognizer:
    """The configured recogniser, or one that reports "not configured"."""
    return HttpSpeechRecognizer(url, timeout) if url else UnconfiguredRecognizer()
