"""Which hotline a resident is handed to, from the data in ``knowledge/hotline.yml``.

The rule: medical-insurance business (questions, fallbacks, requests for a person)
goes to the *business* number (12393); a complaint that is not about medical
insurance, or concerns several departments, goes to the *general* number (12345).
A place may override either number. When the place has its own service-channel
entry in the knowledge base, its channels are offered as local alternatives.

Data format::

    hotlines: {"12393": {name, what_to_say, source}, "12345": {...}}
    routing:
      default: {business: "12393", general: "12345"}
      places: {<place_id>: {business: ..., general: ...}}
    case_handling_topics: [complain]
"""
from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
DEFAULT_PATH = KNOWLEDGE_DIR / "hotline.yml"
WORDING_PATH = KNOWLEDGE_DIR / "wording" / "hotline.yml"
SERVICE_CHANNELS_TOPIC = "ask_service_channels"

BUSINESS = "business"
GENERAL = "general"
# What a complaint is about; only case-handling topics look at it.
Subject = Literal["medical_insurance", "other", "several_departments"]
SUBJECTS = ("medical_insurance", "other", "several_departments")
CASE_REASONS = ("complain", "case_handling")


class RoutingDataError(ValueError):
    """``knowledge/hotline.yml`` is malformed; the message names the field."""


@dataclass(frozen=True)
class Hotline:
    number: str
    name: str
    what_to_say: str
    source: dict[str, Any]


@dataclass(frozen=True)
class Routing:
    """The parsed routing data."""

    hotlines: dict[str, Hotline]
    default_business: str
    default_general: str
    places: dict[str, dict[str, str]]
    case_handling_topics: tuple[str, ...]
    # Words naming medical insurance / other departments, for routing complaints.
    subject_words: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def subject_of(self, text: str | None) -> Subject:
        """What a complaint is about, from the words it uses (data, not code)."""
        text = text or ""
        ours = any(w in text for w in self.subject_words.get("medical_insurance", ()))
        others = any(w in text for w in self.subject_words.get("other_departments", ()))
        if others and ours:
            return "several_departments"
        return "other" if others else "medical_insurance"

    def numbers_for(self, place_id: str | None) -> dict[str, str]:
        """{"business": …, "general": …} for a place (defaults where not overridden)."""
        numbers = {BUSINESS: self.default_business, GENERAL: self.default_general}
        override = self.places.get(place_id or "", {})
        numbers.update({k: v for k, v in override.items() if k in numbers and v})
        return numbers


@dataclass(frozen=True)
class Route:
    """Where to send the resident: the number, its name, what to tell the agent."""

    hotline: str
    name: str
    what_to_say: str
    local_alternatives: tuple[str, ...]
    role: str = BUSINESS          # "business" or "general"


def _parse(raw: Any, origin: str) -> Routing:
    if not isinstance(raw, dict):
        raise RoutingDataError(f"{origin}: a mapping with hotlines/routing is required")
    hotlines_raw = raw.get("hotlines")
    if not isinstance(hotlines_raw, dict) or not hotlines_raw:
        raise RoutingDataError(f"{origin}: hotlines: a mapping of numbers is required")
    hotlines: dict[str, Hotline] = {}
    for number, info in hotlines_raw.items():
        if not isinstance(info, dict) or not str(info.get("name") or "").strip():
            raise RoutingDataError(f"{origin}: hotlines.{number}.name is required")
        hotlines[str(number)] = Hotline(
            str(number), str(info["name"]).strip(), str(info.get("what_to_say") or "").strip(),
            dict(info.get("source") or {}),
        )
    routing = raw.get("routing") or {}
    default = routing.get("default") if isinstance(routing, dict) else None
    if not isinstance(default, dict):
        raise RoutingDataError(f"{origin}: routing.default is required")
    numbers = {}
    for role in (BUSINESS, GENERAL):
        value = str(default.get(role) or "")
        if value not in hotlines:
            raise RoutingDataError(f"{origin}: routing.default.{role}: {value!r} is not under hotlines")
        numbers[role] = value
    places: dict[str, dict[str, str]] = {}
    for place_id, override in (routing.get("places") or {}).items():
        if not isinstance(override, dict):
            raise RoutingDataError(f"{origin}: routing.places.{place_id} must be a mapping")
        places[str(place_id)] = {str(k): str(v) for k, v in override.items() if v is not None}
    topics = raw.get("case_handling_topics") or []
    if not isinstance(topics, list):
        raise RoutingDataError(f"{origin}: case_handling_topics must be a list")
    words = raw.get("complaint_subjects") or {}
    if not isinstance(words, dict):
        raise RoutingDataError(f"{origin}: complaint_subjects must be a mapping of word lists")
    subject_words = {str(k): tuple(map(str, v or ())) for k, v in words.items()}
    return Routing(hotlines, numbers[BUSINESS], numbers[GENERAL], places, tuple(map(str, topics)), subject_words)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Routing:
    with open(path, encoding="utf-8") as fh:
        return _parse(yaml.safe_load(fh), Path(path).name)


def load_routing(path: Path | str | None = None) -> Routing:
    """Parse the routing data (cached until the file changes).

    Without ``knowledge/hotline.yml`` (not yet written) the ``fallback`` section of
    ``knowledge/wording/hotline.yml`` is used, so a reply can still name 12393.
    """
    target = Path(path) if path else DEFAULT_PATH
    if target.exists():
        return _load_cached(str(target), target.stat().st_mtime)
    if path:
        raise FileNotFoundError(f"hotline routing data not found: {target}")
    logger.warning("%s is missing; using the fallback hotlines of %s", target, WORDING_PATH)
    with open(WORDING_PATH, encoding="utf-8") as fh:
        return _parse((yaml.safe_load(fh) or {}).get("fallback"), f"{WORDING_PATH.name}: fallback")


def local_alternatives(store: Any, place_name: str | None) -> tuple[str, ...]:
    """The place's own service channels (``ask_service_channels``), or () if only national."""
    if store is None or not place_name:
        return ()
    try:
        answer = store.answer(SERVICE_CHANNELS_TOPIC, place_name)
    except KnowledgeError:
        return ()
    return tuple(answer.channels) if answer.scope == "local" else ()


def _place_name(store: Any, place_id: str | None) -> str | None:
    if store is None or not place_id:
        return None
    try:
        return next((p.name for p in store.places() if p.id == place_id), None)
    except KnowledgeError:
        return None


def route(
    place_id: str | None,
    topic: str | None,
    reason: str,
    *,
    subject: Subject = "medical_insurance",
    store: Any = None,
    place_name: str | None = None,
    routing: Routing | None = None,
) -> Route:
    """Choose the hotline for a hand-off.

    ``reason`` is the hand-off reason (request_human, fallback, complain,
    case_handling, no_answer). For a case-handling topic or reason, ``subject``
    says what the complaint is about: ``"other"`` (not medical insurance) or
    ``"several_departments"`` routes to the general number. ``store`` (a
    KnowledgeStore) supplies local alternatives; ``place_name`` saves a lookup.
    """
    if subject not in SUBJECTS:
        raise ValueError(f"unknown subject {subject!r}; expected one of {SUBJECTS}")
    data = routing or load_routing()
    is_case = reason in CASE_REASONS or (topic or "") in data.case_handling_topics
    role = GENERAL if is_case and subject != "medical_insurance" else BUSINESS
    number = data.numbers_for(place_id)[role]
    # An override may name a local number that is not described under hotlines:
    # it keeps the name and script of the default number of the same role.
    default_number = data.default_business if role == BUSINESS else data.default_general
    info = data.hotlines.get(number) or data.hotlines[default_number]
    name = place_name or _place_name(store, place_id)
    return Route(
        hotline=number, name=info.name, what_to_say=info.what_to_say,
        local_alternatives=local_alternatives(store, name), role=role,
    )
