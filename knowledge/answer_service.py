"""The one answer service: which entry answers a topic for a place.

The action server (residents) and the staff console's suggestions (hotline staff)
both answer through these functions, so a resident and the agent on the phone see
the same entry for the same question. The rule:

1. the place's own entries for the topic, if it has any, else the national ones;
2. among those, the entry written for the resident's person type, else the general
   one (no ``applies_to``), else the first by id;
3. a local answer is completed by the national entry picked by the same rule;
4. a national rule about the resident's own situation leads the answer (``situation_rules``).

Plain Python over :class:`knowledge.store.KnowledgeStore`: no Rasa, no aiohttp,
so both virtualenvs import it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from knowledge.errors import EntryNotFound
from knowledge.retrieval import matched_keywords

if TYPE_CHECKING:
    from knowledge.store import Answer, FactHit, KnowledgeStore


class _Entry(Protocol):
    id: str
    applies_to: Sequence[str] | None


E = TypeVar("E", bound=_Entry)


def pick(entries: Iterable[E], person_type: str | None = None) -> E | None:
    """Rule 2: the entry for ``person_type``, else the general one, else the first by id."""
    ordered = sorted(entries, key=lambda e: e.id)
    if not ordered:
        return None
    if person_type:
        for entry in ordered:
            if person_type in (entry.applies_to or ()):
                return entry
    return next((e for e in ordered if not e.applies_to), ordered[0])


@dataclass(frozen=True)
class Resolved:
    """The entry that answers, and the national entry completing a local one (or None)."""

    answer: Answer
    national: Answer | None = None


def answer_for(kb: KnowledgeStore, topic: str, place_name: str | None,
               person_type: str | None = None) -> Resolved:
    """Rules 1–3 for one topic. Raises EntryNotFound when no source answers it."""
    answer = kb.answer(topic, place_name, person_type)
    national = None
    if answer.scope == "local":
        try:
            national = kb.answer(topic, None, person_type)
        except EntryNotFound:
            national = None
    return Resolved(answer, national)


def situation_rules(kb: KnowledgeStore, topic: str, question: str, limit: int = 1) -> list[FactHit]:
    """Rule 4: national rules for ``topic`` whose keywords the question uses ("没备案", "断保了").

    A rule is for a topic when it is the rule's own or one of its ``also_topics``. A
    keyword must occur: shared words alone ("异地", "备案") are in every question of
    the topic and would put a rule in front of every answer.
    """
    if not question:
        return []
    # Only the national rules compete: the place's plan figures are never rules, and
    # ranking them too doubled the time this takes.
    hits = kb.facts(None, question, topic=topic, limit=5, national=True)
    return [h for h in hits if h.concerns(topic) and matched_keywords(question, h.keywords)][:limit]


def answers_by_topic(kb: KnowledgeStore, place_name: str | None, topics: Iterable[str] | None = None,
                     person_type: str | None = None) -> dict[str, Answer]:
    """Rules 1–2 for every topic the place can answer (one query, not one per topic).

    ``topics`` limits the result to those topics; the order is the topics' first
    appearance in the store's listing.
    """
    wanted = set(topics) if topics is not None else None
    grouped: dict[str, list[Answer]] = {}
    for entry in kb.entries_for_place(place_name):
        if wanted is None or entry.topic in wanted:
            grouped.setdefault(entry.topic, []).append(entry)
    # entries_for_place already keeps a place's own entries over the national ones.
    return {topic: pick(entries, person_type) for topic, entries in grouped.items()}
