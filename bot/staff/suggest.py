"""Suggested answers for hotline staff: NLU intent ranking → knowledge base answers.

Transcripts are messy (no punctuation, homophones, spoken digits), so the text is
normalised and masked first. The top service intents of Rasa's ranking are mapped
to the answer for the place, chosen by the same answer service as the action server
(``knowledge.answer_service``). When Rasa is down or slow, a lexical
ranking over the place's entries (``knowledge.retrieval.rank``) stands in, so staff
still get suggestions.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from knowledge import answer_service
from knowledge.errors import EntryNotFound
from knowledge.retrieval import rank
from knowledge.schema import load_topics
from knowledge.store import Answer, FactHit, KnowledgeStore, PlaceRef
from textproc import mask_pii, normalize

# What a suggestion card lists of an entry (the national entry fills in those the place lacks).
SHOWN_FIELDS = ("steps", "channels", "materials")

logger = logging.getLogger(__name__)

MAX_TEXT = 1000
_LABEL_PARTS = re.compile(r"[与和及、（）()“”\s]+")


class UnknownPlace(ValueError):
    """The requested city is not one the knowledge base covers."""


@functools.lru_cache(maxsize=1)
def topic_labels() -> dict[str, str]:
    """Service topic → label staff see (``knowledge/topics.yml``)."""
    return dict(load_topics()["topics"])


@dataclass(frozen=True)
class Suggestion:
    topic: str
    label: str
    score: float
    method: str            # "nlu" (intent confidence) or "retrieval" (lexical score)
    answer: Answer
    # National rules about the caller's situation, said before the answer (as residents get them).
    rules: tuple[FactHit, ...] = ()
    # The national entry completing a local one: what residents read before the gap.
    national: Answer | None = None

    def national_part(self) -> dict[str, list[str]]:
        """Steps, channels and materials the local entry lacks and the national one gives."""
        if self.national is None:
            return {}
        return {fld: list(getattr(self.national, fld)) for fld in SHOWN_FIELDS
                if not getattr(self.answer, fld) and getattr(self.national, fld)}

    def to_json(self) -> dict[str, Any]:
        a = self.answer
        return {
            "rules": [{"id": r.id, "text": r.text, "citation": r.source.short, "document": r.source.document,
                       "section": r.source.section, "doc_no": r.source.doc_no, "date": r.source.date}
                      for r in self.rules],
            "topic": self.topic, "label": self.label, "title": a.title, "answer": a.answer, "gap": a.gap,
            "steps": list(a.steps), "channels": list(a.channels), "materials": list(a.materials),
            "applies_to": list(a.applies_to), "scope": a.scope, "place": a.place or None,
            "handoff": a.handoff, "score": round(self.score, 4), "method": self.method,
            "source": {
                "document": a.source.document, "section": a.source.section,
                "quote": a.source.quote, "as_of": a.source.as_of, "citation": a.source.short,
            },
            "national": self._national_json(),
        }

    def _national_json(self) -> dict[str, Any] | None:
        part = self.national_part()
        if not part:
            return None
        src = self.national.source
        return {**part, "citation": src.short, "document": src.document, "section": src.section,
                "doc_no": src.doc_no, "date": src.date}


@dataclass(frozen=True)
class SuggestResult:
    text: str                  # the normalised, masked text that was analysed
    place: PlaceRef | None
    suggestions: list[Suggestion]
    nlu_available: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "city": self.place.name if self.place else None,
            "nlu_available": self.nlu_available,
            "suggestions": [s.to_json() for s in self.suggestions],
        }


@dataclass(frozen=True)
class _Doc:
    """An entry as the lexical ranker sees it."""

    answer: Answer
    title: str
    label: str
    body: str
    keywords: tuple[str, ...]


def clean_text(text: str) -> str:
    """Normalised text with personal numbers masked (they never help, and must not leak)."""
    masked, _ = mask_pii(normalize(text))
    return masked


def _docs(answers: list[Answer]) -> list[_Doc]:
    labels = topic_labels()
    docs = []
    for a in answers:
        label = labels.get(a.topic, "")
        parts = {p for p in _LABEL_PARTS.split(f"{label} {a.title}") if len(p) >= 2}
        body = " ".join((a.answer, a.gap, *a.steps, *a.materials))
        docs.append(_Doc(a, a.title, label, body, tuple(sorted(parts | {a.title}))))
    return docs


def retrieval_suggestions(kb: KnowledgeStore, text: str, place: PlaceRef | None, limit: int,
                          exclude: set[str] = frozenset()) -> list[Suggestion]:
    """Lexical ranking over the place's entries (local first, national for the rest)."""
    labels = topic_labels()
    # One candidate per topic: the entry the action server would answer with.
    by_topic = answer_service.answers_by_topic(kb, place.name if place else None,
                                               topics=set(labels) - set(exclude))
    hits = rank(text, _docs(list(by_topic.values())), fields=("title", "label", "body"),
                keywords_field="keywords", limit=limit)
    return [Suggestion(h.item.answer.topic, h.item.label, h.score, "retrieval", h.item.answer,
                       national=_national(kb, h.item.answer, place)) for h in hits]


def _nlu_suggestions(kb: KnowledgeStore, parsed: dict[str, Any], place: PlaceRef | None,
                     limit: int) -> list[Suggestion]:
    labels = topic_labels()
    ranking = parsed.get("intent_ranking") or ([parsed["intent"]] if parsed.get("intent") else [])
    out: list[Suggestion] = []
    for item in ranking:
        topic = (item or {}).get("name")
        if topic not in labels or any(s.topic == topic for s in out):
            continue    # control intents (greet, inform…) and nlu_fallback are no answer
        try:
            found = answer_service.answer_for(kb, topic, place.name if place else None)
        except EntryNotFound:
            continue
        out.append(Suggestion(topic, labels[topic], float(item.get("confidence") or 0.0), "nlu", found.answer,
                              national=found.national))
        if len(out) >= limit:
            break
    return out


def _national(kb: KnowledgeStore, answer: Answer, place: PlaceRef | None) -> Answer | None:
    """The national entry that completes a local answer found by retrieval, as residents get it."""
    if answer.scope != "local" or place is None:
        return None
    return answer_service.answer_for(kb, answer.topic, place.name).national


def _place_from_entities(kb: KnowledgeStore, parsed: dict[str, Any]) -> PlaceRef | None:
    for ent in parsed.get("entities") or ():
        if ent.get("entity") == "city" and ent.get("value"):
            place = kb.resolve_place(str(ent["value"]))
            if place:
                return place
    return None


def _rank_sync(kb: KnowledgeStore, text: str, city: str | None, parsed: dict[str, Any] | None,
               limit: int) -> SuggestResult:
    place = None
    if city:
        place = kb.resolve_place(city)
        if place is None:
            raise UnknownPlace(city)
    elif parsed:
        place = _place_from_entities(kb, parsed)
    suggestions = _nlu_suggestions(kb, parsed, place, limit) if parsed else []
    if len(suggestions) < limit:
        # NLU down, or fewer service intents than wanted: fill in lexically.
        suggestions += retrieval_suggestions(
            kb, text, place, limit - len(suggestions), exclude={s.topic for s in suggestions})
    suggestions = [replace(s, rules=tuple(answer_service.situation_rules(kb, s.topic, text))) for s in suggestions]
    return SuggestResult(text, place, suggestions, parsed is not None)


async def suggest(text: str, city: str | None, *, rasa: Any, kb: KnowledgeStore,
                  limit: int = 3, timeout: float = 3.0) -> SuggestResult:
    """Top ``limit`` suggestions for a transcript. Raises UnknownPlace, KnowledgeError."""
    cleaned = clean_text(text)
    parsed: dict[str, Any] | None = None
    if rasa is not None:
        try:
            parsed = await asyncio.wait_for(rasa.parse(cleaned), timeout)
            if not isinstance(parsed, dict):
                parsed = None
        except Exception as exc:  # noqa: BLE001 - any NLU failure degrades to retrieval
            logger.warning("NLU unavailable for staff suggestions: %s", exc.__class__.__name__)
            parsed = None
    # The knowledge store is synchronous (SQLAlchemy): run it off the event loop.
    return await asyncio.to_thread(_rank_sync, kb, cleaned, city, parsed, limit)
