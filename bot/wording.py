"""Resident-facing wording of the gateway, read from ``knowledge/wording/gateway.yml``."""
from __future__ import annotations

from pathlib import Path
from string import Formatter
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "knowledge" / "wording" / "gateway.yml"

# Keys the code uses; checked when the file is loaded so a typo fails at start-up.
REQUIRED_KEYS = (
    "chat.empty", "chat.pii_masked", "chat.too_long", "chat.rate_limited",
    "chat.unavailable", "chat.retry_button",
    "api.bad_json", "api.body_too_large", "api.sender_required", "api.sender_invalid",
    "api.sender_too_long",
    "api.text_required", "api.city_invalid", "api.mode_invalid", "api.not_found",
    "api.method_not_allowed", "api.internal",
    "voice.asr_not_configured", "voice.asr_failed", "voice.asr_bad_type", "voice.asr_empty",
    "voice.asr_too_large", "voice.tts_text_required", "voice.tts_too_long",
    "voice.tts_unavailable", "voice.choose",
    "wechat.welcome", "wechat.pending", "wechat.voice_unrecognized", "wechat.unsupported",
    "wechat.options", "wechat.option_separator", "wechat.continued", "wechat.not_configured",
    "api.key_invalid",
    "privacy.notice", "privacy.days", "privacy.years", "privacy.delete_confirm",
    "privacy.confirm_button", "privacy.cancel_button", "privacy.deleted", "privacy.cancelled",
    "privacy.delete_failed", "privacy.delete_pattern",
)
# Lists of phrases (matched after normalisation), also required.
REQUIRED_LISTS = ("privacy.confirm_phrases", "privacy.cancel_phrases")


class WordingError(ValueError):
    """The wording file is missing keys or is not a mapping."""


def _flatten(data: dict[str, Any], prefix: str = "",
             lists: dict[str, list[str]] | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if name == "topics":
            continue
        if isinstance(value, dict):
            out.update(_flatten(value, name + ".", lists))
        elif isinstance(value, list):
            if lists is not None:
                lists[name] = [str(v) for v in value]
        else:
            out[name] = str(value)
    return out


class Wording:
    """Look up a message by dotted key and fill its ``{placeholders}``."""

    def __init__(self, texts: dict[str, str], topics: list[dict[str, str]] | None = None,
                 lists: dict[str, list[str]] | None = None):
        lists = lists or {}
        missing = [k for k in REQUIRED_KEYS if k not in texts]
        missing += [k for k in REQUIRED_LISTS if not lists.get(k)]
        if missing:
            raise WordingError("gateway wording is missing: " + ", ".join(missing))
        self._texts = texts
        self._lists = lists
        self.hotline = texts.get("hotline", "12393")
        #: Quick topics as reply buttons: ``[{"title", "payload"}]``.
        self.topics = [
            {"title": str(t["title"]), "payload": str(t["payload"])} for t in (topics or [])
        ]

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH) -> "Wording":
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        if not isinstance(data, dict):
            raise WordingError(f"{path}: expected a mapping")
        topics = data.get("topics") or []
        if not isinstance(topics, list) or not all(
            isinstance(t, dict) and "title" in t and "payload" in t for t in topics
        ):
            raise WordingError(f"{path}: topics must be a list of {{title, payload}}")
        lists: dict[str, list[str]] = {}
        texts = _flatten(data, lists=lists)
        return cls(texts, topics, lists)

    def phrases(self, key: str) -> list[str]:
        """A list of phrases (e.g. what confirms a deletion)."""
        return list(self._lists[key])

    def raw(self, key: str) -> str:
        """A text as written, without filling placeholders (e.g. a pattern)."""
        return self._texts[key]

    def __call__(self, key: str, **values: Any) -> str:
        """The text of ``key``; ``{hotline}`` is always available."""
        template = self._texts[key]
        fields = {f for _, f, _, _ in Formatter().parse(template) if f}
        if not fields:
            return template
        return template.format(**{"hotline": self.hotline, **values})
