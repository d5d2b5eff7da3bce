"""Helpers shared by the actions: knowledge access, wording, conversation context."""
from __future__ import annotations

import atexit
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from rasa_sdk import Tracker

from knowledge.db import make_engine, make_session_factory
from knowledge.schema import load_topics
from knowledge import retrieval
from knowledge.store import KnowledgeStore, PlaceRef

logger = logging.getLogger(__name__)

WORDING_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "wording" / "actions.yml"
ELDER = "elder"


@functools.lru_cache(maxsize=1)
def wording() -> dict[str, Any]:
    with open(WORDING_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def say(key: str, **values: Any) -> str:
    """Wording ``section.name`` from knowledge/wording/actions.yml, filled in."""
    section, name = key.split(".", 1)
    values.setdefault("hotline", default_hotline())
    return wording()[section][name].format(**values)


@functools.lru_cache(maxsize=1)
def service_topics() -> dict[str, str]:
    return dict(load_topics()["topics"])


@functools.lru_cache(maxsize=1)
def default_hotline() -> str:
    from hotline.routing import load_routing

    return load_routing().default_business


class _Resources:
    """The process's database engine, created on first use.

    rasa_sdk only offers lifecycle hooks through a separate plugin package, so the
    engine is created lazily and disposed at exit; a lost connection is retried by
    the pool (pre-ping) rather than by the actions.
    """

    def __init__(self) -> None:
        self._engine = None
        self._sessions = None
        self._store: KnowledgeStore | None = None

    @property
    def sessions(self):
        if self._sessions is None:
            self._engine = make_engine()
            self._sessions = make_session_factory(self._engine)
            atexit.register(self._engine.dispose)
        return self._sessions

    @property
    def store(self) -> KnowledgeStore:
        if self._store is None:
            self._store = KnowledgeStore(self.sessions)
        return self._store

    def reset(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = self._sessions = self._store = None


resources = _Resources()
# jieba loads its dictionaries in ~0.5 s: do it when the action server starts.
retrieval.warm_up()


def store() -> KnowledgeStore:
    return resources.store


@dataclass(frozen=True)
class Context:
    """What the current turn knows about the resident."""

    place: PlaceRef | None
    place_text: str | None   # what the resident called it, if not resolvable
    mode: str                # "standard" or "elder"
    channel: str
    person_type: str | None
    text: str


def intent_of(tracker: Tracker) -> str | None:
    """The intent Rasa classified the latest message as (``nlu_fallback`` included)."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def metadata(tracker: Tracker) -> dict[str, Any]:
    meta = tracker.latest_message.get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def context(tracker: Tracker, kb: KnowledgeStore) -> Context:
    """Place from the slot (entities), else from the channel's metadata."""
    meta = metadata(tracker)
    slot_city = tracker.get_slot("city")
    place = kb.resolve_place(slot_city) if slot_city else None
    if place is None and meta.get("city"):
        place = kb.resolve_place(str(meta["city"]))
    return Context(
        place=place,
        place_text=slot_city if slot_city and place is None else None,
        mode=ELDER if meta.get("mode") == ELDER else "standard",
        channel=str(meta.get("channel") or tracker.get_latest_input_channel() or ""),
        person_type=tracker.get_slot("person_type"),
        text=tracker.latest_message.get("text") or "",
    )


def last_user_text_for(tracker: Tracker, intent: str) -> str:
    """The most recent thing the resident said that was classified as ``intent``."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (event.get("parse_data") or {}).get("intent", {}).get("name") == intent:
            return event.get("text") or ""
    return ""


def recent_transcript(tracker: Tracker, limit: int = 12) -> list[dict[str, str]]:
    """The last user and bot messages, oldest first, for a hand-off ticket."""
    lines: list[dict[str, str]] = []
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("user", "bot") and event.get("text"):
            lines.append({"from": "resident" if kind == "user" else "bot", "text": event["text"]})
            if len(lines) >= limit:
                break
    return list(reversed(lines))


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the latest user messages in a row were not understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if (event.get("parse_data") or {}).get("intent", {}).get("name") == "nlu_fallback":
            count += 1
        else:
            break
    return count


def city_buttons(kb: KnowledgeStore) -> list[dict[str, str]]:
    """One button per place in the knowledge base: adding a place adds its button."""
    return [{"title": p.name, "payload": f'/inform{{"city": "{p.name}"}}'} for p in kb.places()]


def rephrase_buttons() -> list[dict[str, str]]:
    topics = service_topics()
    buttons = [{"title": topics[t], "payload": f"/{t}"} for t in wording()["ask"]["rephrase_topics"]]
    return buttons + [{"title": wording()["ask"]["human_button"], "payload": "/request_human"}]


def join(items: Iterable[str], sep: str = "、") -> str:
    return sep.join(i for i in items if i)
