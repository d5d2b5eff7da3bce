"""Real rasa_sdk trackers and dispatchers over a real, loaded database."""
from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from hotline.models import create_schema
from knowledge.db import make_engine, make_session_factory
from knowledge.loader import load
from knowledge.store import KnowledgeStore
from tests.conftest import ROOT

# The number residents are given when no place has its own: the national 医保服务热线
# (knowledge/hotline.yml, routing.default.business; test_wording_seen.py checks it there).
NATIONAL_HOTLINE = "12393"
WORDING_DIR = ROOT / "knowledge" / "wording"

# The four questions residents ask most; every aspect of each is tested.
KEY_TOPICS = ("ask_remote_care_filing", "ask_chronic_disease_outpatient", "ask_enrolment", "ask_payment_channels")


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return Domain.load(str(ROOT / "domain.yml")).as_dict()


@pytest.fixture
def action_db(kb_engine, sqlite_url, monkeypatch):
    """Point the action server's engine at a loaded SQLite knowledge base."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    create_schema(kb_engine)
    common.resources.restart()
    yield kb_engine
    common.resources.stop()


@pytest.fixture(scope="module")
def shared_kb(tmp_path_factory, content):
    """One loaded knowledge base for a module of read-only tests (the matrix tests)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'assistant.db'}"
    engine = make_engine(url)
    load(engine, content)
    create_schema(engine)
    patch = pytest.MonkeyPatch()
    patch.setenv("DATABASE_URL", url)
    common.resources.restart()
    yield KnowledgeStore(make_session_factory(engine))
    common.resources.stop()
    patch.undo()
    engine.dispose()


class Conversation:
    """Builds trackers turn by turn, the way Rasa hands them to the action server."""

    def __init__(self, sender: str = "resident-1", metadata: dict | None = None):
        self.sender = sender
        self.metadata = metadata or {}
        self.slots: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.latest: dict[str, Any] = {}

    def user(self, text: str, intent: str, entities: list[dict] | None = None,
             ranking: list[dict] | None = None, **metadata) -> Tracker:
        meta = {**self.metadata, **metadata}
        entities = entities or []
        confidence = ranking[0]["confidence"] if ranking else 0.93
        self.latest = {"text": text, "intent": {"name": intent, "confidence": confidence},
                       "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
                       "entities": entities, "metadata": meta}
        self.events.append({"event": "user", "text": text, "parse_data": self.latest, "metadata": meta})
        # Slots filled from entities, as Rasa's slot mappings do before the action runs.
        for e in entities:
            if e["entity"] in ("city", "person_type", "filing_type", "disease", "aspect"):
                self.slots[e["entity"]] = e["value"]
                self.events.append({"event": "slot", "name": e["entity"], "value": e["value"]})
        return self.tracker()

    def tracker(self) -> Tracker:
        return Tracker(self.sender, dict(self.slots), dict(self.latest), list(self.events),
                       False, None, {}, "action_listen")

    async def run(self, action, domain) -> tuple[list[dict], list[dict]]:
        """Run ``action`` on the current tracker; apply its slot events; return (messages, events)."""
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.tracker(), domain)
        for e in events:
            if e["event"] == "slot":
                self.slots[e["name"]] = e["value"]
                self.events.append({"event": "slot", "name": e["name"], "value": e["value"]})
        for m in dispatcher.messages:
            self.events.append({"event": "bot", "text": m.get("text"), "data": {"buttons": m.get("buttons")}})
        return dispatcher.messages, events


@pytest.fixture
def convo() -> Conversation:
    return Conversation()


def entity(name: str, value: str, text: str | None = None) -> dict:
    return {"entity": name, "value": value, "text": text or value, "start": 0, "end": len(text or value)}


def wording(key: str) -> str:
    """The template ``section.name`` exactly as knowledge/wording holds it, read as data
    (not through ``actions.common.say``): tests fill it with the values a resident must
    see, the hotline number included, so a wrong default or key in ``say`` shows."""
    section, *rest = key.split(".")
    path = WORDING_DIR / ("hotline.yml" if section == "handoff" else "actions.yml")
    node = yaml.safe_load(path.read_text(encoding="utf-8"))[section]
    for part in rest:
        node = node[part]
    return node


def assert_brief_said(entry, reply: str) -> None:
    """Every sentence of an entry's elder brief is said; what it leaves out and where to
    ask (``brief_gap``) comes after the brief, the first step and the national way:
    the phone is the last resort."""
    marks = [m for m in (common.say("elder.national_part"), common.say("elder.first_step", step=""))
             if m in reply]
    for sentence in (s.strip() for s in re.split(r"(?<=[。！？\n])", entry.brief)):
        if sentence:
            assert sentence in reply, (sentence, reply)
    if entry.brief_gap:
        ask = reply.rindex(entry.brief_gap)
        assert reply.index(entry.brief) < ask, (entry.brief_gap, reply)
        for mark in marks:
            assert reply.index(mark) < ask, (mark, entry.brief_gap, reply)
