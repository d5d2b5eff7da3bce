"""Read replies aloud with espeak-ng's Mandarin voice (offline, no cloud).

``script`` decides what elder mode reads out (``/api/chat`` sends it as ``speech``);
espeak-ng reads it when the browser has no Chinese voice of its own (``/api/tts``).
"""
from __future__ import annotations

import asyncio
import re
import shutil
import struct
from typing import Any, Iterable

from bot.chat import cap_length, reply_lines

_LONG_NUMBER = re.compile(r"\d{5,}")
_UNSPEAKABLE = re.compile(r"[<>\[\]{}|\\^`*_#~]")


class TtsUnavailable(Exception):
    """The synthesiser is missing, failed or timed out."""


# A line ending in one of these already makes a pause when read.
_PAUSE_MARKS = "。！？!?；;：:，,、…"


def speakable(text: str) -> str:
    """Text as it should be read: hotlines digit by digit, no markup characters."""
    # "12393" read as a number ("一万两千…") is wrong for a phone number.
    text = _LONG_NUMBER.sub(lambda m: " ".join(m.group(0)), text)
    return _UNSPEAKABLE.sub(" ", text).strip()


def script(replies: Iterable[dict[str, Any]], limit: int, choose: str = "") -> str:
    """What elder mode reads aloud from a turn's replies, at most ``limit`` characters.

    Decided from the replies' structure: lines that cite a source are on the
    screen and not read out; everything else is read in order, each line a pause.
    A reply with buttons is followed by ``choose``: the replies say what can be
    chosen, only the channel knows how (on this page, by tapping).
    """
    spoken = []
    for reply in replies:
        lines = [str(line.get("text") or "").strip() for line in reply_lines(reply) if "source" not in line]
        if reply.get("buttons") and choose:
            lines.append(choose)
        for words in lines:
            if words:
                spoken.append(words if words[-1] in _PAUSE_MARKS else words + "。")
    text, _ = cap_length(speakable("".join(spoken)), limit)
    return text


def fix_wav_header(wav: bytes) -> bytes:
    """espeak-ng --stdout writes a streaming header with unknown sizes; fill them in."""
    if len(wav) >= 44 and wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" and wav[36:40] == b"data":
        return wav[:4] + struct.pack("<I", len(wav) - 8) + wav[8:40] + struct.pack("<I", len(wav) - 44) + wav[44:]
    return wav


class EspeakSynthesizer:
    """``espeak-ng -v cmn -s 130 --stdout`` as an async subprocess with a timeout."""

    def __init__(self, command: str = "espeak-ng", voice: str = "cmn", speed: int = 130,
                 timeout: float = 10.0, concurrency: int = 2):
        self._command = command
        self._voice = voice
        self._speed = speed
        self._timeout = timeout
        # Synthesis is CPU-bound: a few at a time so one page cannot starve the rest.
        self._slots = asyncio.Semaphore(concurrency)

    @property
    def available(self) -> bool:
        return shutil.which(self._command) is not None

    async def synthesize(self, text: str) -> bytes:
        """WAV audio of ``text``. Text goes through stdin, never argv (no option injection)."""
        if not self.available:
            raise TtsUnavailable(f"{self._command} is not installed")
        async with self._slots:
            proc = await asyncio.create_subprocess_exec(
                self._command, "-v", self._voice, "-s", str(self._speed), "--stdin", "--stdout",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                wav, _ = await asyncio.wait_for(proc.communicate(text.encode("utf-8")), self._timeout)
            except asyncio.TimeoutError as exc:
                proc.kill()
                await proc.wait()
                raise TtsUnavailable("espeak-ng timed out") from exc
        if proc.returncode != 0 or not wav.startswith(b"RIFF"):
            raise TtsUnavailable(f"espeak-ng failed (exit {proc.returncode})")
        return fix_wav_header(wav)
