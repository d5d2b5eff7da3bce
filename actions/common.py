"""Helpers shared by the actions: knowledge access, wording, conversation context."""
from __future__ import annotations

import abc
import asyncio
import functools
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import make_engine, make_session_factory
from knowledge.errors import StoreUnavailable
from knowledge.schema import load_topics
from knowledge.store import KnowledgeStore, PlaceRef
from settings import ActionSettings

logger = logging.getLogger(__name__)

WORDING_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "wording"
WORDING_FILE = WORDING_DIR / "actions.yml"
# The hand-off wording is shared with the hotline side, so it lives in hotline.yml.
HOTLINE_WORDING_FILE = WORDING_DIR / "hotline.yml"
ELDER = "elder"


@functools.lru_cache(maxsize=1)
def wording() -> dict[str, Any]:
    with open(WORDING_FILE, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    with open(HOTLINE_WORDING_FILE, encoding="utf-8") as fh:
        data["handoff"] = yaml.safe_load(fh)["handoff"]
    return data


def say(key: str, **values: Any) -> str:
    """Wording ``section.name`` (``section.name.field``) from knowledge/wording, filled in."""
    node: Any = wording()
    for part in key.split("."):
        node = node[part]
    values.setdefault("hotline", default_hotline())
    return node.format(**values)


# What the deployment really does after a hand-off (see knowledge/wording/hotline.yml):
# the settings checked when the action server started (``resources.start``).
def transcript_visible() -> bool:
    return resources.settings.handoff_transcript_visible


def callback_promised() -> bool:
    return resources.settings.handoff_callback


@functools.lru_cache(maxsize=1)
def _default_settings() -> ActionSettings:
    return ActionSettings.read({})


@functools.lru_cache(maxsize=1)
def service_topics() -> dict[str, str]:
    return dict(load_topics()["topics"])


@functools.lru_cache(maxsize=1)
def related_topics() -> dict[str, tuple[str, ...]]:
    """Topic → topics offered beside every answer to it (``related`` in topics.yml)."""
    return {topic: tuple(others) for topic, others in (load_topics().get("related") or {}).items()}


@functools.lru_cache(maxsize=1)
def care_elsewhere_topics() -> frozenset[str]:
    """Topics about care away from home (``care_elsewhere`` in topics.yml)."""
    return frozenset(load_topics().get("care_elsewhere") or ())


@functools.lru_cache(maxsize=1)
def default_hotline() -> str:
    from hotline.routing import load_routing

    return load_routing().default_business


class _Resources:
    """The process's database engine, opened and disposed with the action server.

    ``actions/lifecycle.py`` calls :meth:`start` before the server takes requests
    and :meth:`stop` after it has stopped (rasa_sdk's Sanic listeners; each
    worker process has its own engine). A lost connection is retried by the pool
    (pre-ping), not by the actions. Used before :meth:`start` (or after
    :meth:`stop`), the database counts as unavailable: the actions then degrade
    to the hotline reply like for any other database fault.
    """

    def __init__(self) -> None:
        self._settings: ActionSettings | None = None
        self._engine: Engine | None = None
        self._sessions = None
        self._store: KnowledgeStore | None = None
        # start/stop run on the server's loop while worker threads may still read.
        self._lock = threading.Lock()

    def start(self, url: str | None = None) -> None:
        """Check the settings, then create the engine (``url``, default ``DATABASE_URL``).

        A variable the settings refuse (``HANDOFF_CALLBACK=perhaps``) raises
        :class:`settings.SettingsError`, naming it, before anything is opened: the
        server does not start half-configured. No connection is made yet.
        """
        settings = ActionSettings.from_env()
        with self._lock:
            self._settings = settings
            if self._engine is None:
                self._engine = make_engine(url)
                self._sessions = make_session_factory(self._engine)
                self._store = KnowledgeStore(self._sessions)
                logger.info("database engine created (%s)", self._engine.url.get_backend_name())

    def stop(self) -> None:
        """Dispose the engine: close its pooled connections."""
        with self._lock:
            engine, self._engine, self._sessions, self._store = self._engine, None, None, None
            self._settings = None
        if engine is not None:
            engine.dispose()
            logger.info("database engine disposed")

    def restart(self, url: str | None = None) -> None:
        self.stop()
        self.start(url)

    @property
    def settings(self) -> ActionSettings:
        """The settings checked at :meth:`start`; before it (or after :meth:`stop`)
        the defaults, which promise nothing: a hand-off never reads the environment,
        so no variable can cost a resident the hotline reply."""
        settings = self._settings
        return settings if settings is not None else _default_settings()

    @property
    def engine(self) -> Engine | None:
        return self._engine

    @property
    def sessions(self):
        sessions = self._sessions
        return sessions if sessions is not None else _not_started

    @property
    def store(self) -> KnowledgeStore:
        store = self._store
        return store if store is not None else KnowledgeStore(_not_started)


class _NotStartedSession(Session):
    """Opening it fails like an unreachable database: the caller's fallback applies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        logger.error("database used before the action server started it (actions/lifecycle.py)")
        raise StoreUnavailable("the action server's database engine is not started")


_not_started = sessionmaker(class_=_NotStartedSession)


resources = _Resources()


def store() -> KnowledgeStore:
    return resources.store


class SyncAction(Action, metaclass=abc.ABCMeta):
    """An action whose work (database, jieba) is blocking: it runs in a worker thread.

    Subclasses implement ``name`` and ``handle``; the base itself is abstract, so
    rasa_sdk's executor never registers it.
    """

    @abc.abstractmethod
    def name(self) -> str: ...

    @abc.abstractmethod
    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker,
               domain: dict[str, Any]) -> list[EventType]: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        # Off the event loop: a slow database must not stall other residents' turns.
        return await asyncio.to_thread(self.handle, dispatcher, tracker, domain)


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


def resident_words(tracker: Tracker, intent: str | None = None) -> str:
    """What the resident last wrote or said (with ``intent``: in the latest question
    classified so). A tapped button's payload ("/ask_enrolment") is not their words:
    it stands for the message that brought the buttons up."""
    found = intent is None
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        found = found or (event.get("parse_data") or {}).get("intent", {}).get("name") == intent
        text = (event.get("text") or "").strip()
        if found and text and not text.startswith("/"):
            return text
    return ""


def recent_transcript(tracker: Tracker, limit: int = 12) -> list[dict[str, Any]]:
    """The last user and bot messages, oldest first, for a hand-off ticket.

    A tapped button (or, on WeChat, a listed choice typed back) reaches Rasa as its
    payload ("/request_human"); staff read the button's title instead, marked
    ``chose``, as the resident saw it.
    """
    lines: list[dict[str, Any]] = []
    offered: dict[str, str] = {}
    for event in tracker.events:
        kind, text = event.get("event"), event.get("text")
        if kind == "bot":  # the page keeps older buttons tappable: remember them all
            buttons = (event.get("data") or {}).get("buttons") or []
            offered.update({b.get("payload"): b.get("title") for b in buttons if isinstance(b, dict)})
        if kind not in ("user", "bot") or not text:
            continue
        if kind == "user" and offered.get(text):
            lines.append({"from": "resident", "text": offered[text], "chose": True})
        else:
            lines.append({"from": "resident" if kind == "user" else "bot", "text": text})
    return lines[-limit:]


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


def intent_payload(intent: str, **entities: Any) -> str:
    """A button payload Rasa reads as ``intent`` with ``entities`` (empty values dropped)."""
    values = {k: v for k, v in entities.items() if v}
    return f"/{intent}{json.dumps(values, ensure_ascii=False)}" if values else f"/{intent}"


def city_buttons(kb: KnowledgeStore) -> list[dict[str, str]]:
    """One button per place in the knowledge base: adding a place adds its button."""
    return [{"title": p.name, "payload": intent_payload("inform", city=p.name)} for p in kb.places()]


def human_button() -> dict[str, str]:
    return {"title": wording()["ask"]["human_button"], "payload": "/request_human"}


def topic_buttons(topics: Iterable[str], **entities: Any) -> list[dict[str, str]]:
    """A button per topic (label from knowledge/topics.yml), keeping the place etc."""
    labels = service_topics()
    return [{"title": labels[t], "payload": intent_payload(t, **entities)} for t in topics if t in labels]


def rephrase_buttons() -> list[dict[str, str]]:
    return topic_buttons(wording()["ask"]["rephrase_topics"]) + [human_button()]


def hotline_numbers() -> tuple[str, ...]:
    """Every hotline number of the routing data (a channel naming one is only a phone line)."""
    from hotline.routing import load_routing

    return tuple(load_routing().hotlines)


def where_to_ask(kb: KnowledgeStore | None, place: PlaceRef | None, topic: str | None) -> str:
    """"Please call … or go to …": the routed hotline and the place's own service windows."""
    from hotline import routing

    try:
        route = routing.route(place.id if place else None, topic, "no_answer", store=kb,
                              place_name=place.name if place else None)
    except Exception:  # noqa: BLE001 - the answer must still name a number
        logger.warning("hotline routing failed", exc_info=True)
        return say("where.hotline", name="", hotline=default_hotline())
    numbers = hotline_numbers()
    cues = wording()["where"]["window_cues"]
    windows = [c for c in route.local_alternatives
               if not any(n in c for n in numbers) and any(cue in c for cue in cues)][:2]
    if windows:
        return say("where.hotline_and_windows", name=route.name, hotline=route.hotline, windows=join(windows))
    return say("where.hotline", name=route.name, hotline=route.hotline)


def join(items: Iterable[str], sep: str = "、") -> str:
    return sep.join(i for i in items if i)
