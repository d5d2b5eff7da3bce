"""One detail of a topic (materials, channels, steps…): which one was asked, and
which source gives it — the place's own entry, else the national one, else none.

Pure functions over the store's ``Answer`` objects, so the composition rules can be
tested and reused without a tracker.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from actions import common
from knowledge.schema import ASPECT_FIELDS
from knowledge.store import Answer
from textproc import normalize

# Aspect → the entry field that holds it (the knowledge contract); ``next_step``
# walks through ``steps``. A full answer lists them in this display order.
FIELDS = ASPECT_FIELDS
ASPECTS = ("steps", "channels", "materials", "eligibility", "time", "offline", "proxy")
CANONICAL = frozenset(FIELDS) | {"next_step"}
# Short names, listed with "、"; the other aspects are sentences.
LIST_ASPECTS = frozenset({"channels", "materials"})
# Parts of a procedure every answer should cover; if no source has one, the answer says so.
CORE = ("steps", "channels", "materials")
# Topics whose answers are not procedures: no aspect answers for them.
NOT_PROCEDURES = frozenset({"ask_plan", "complain"})
# A service question longer than this is a story or several questions: whole answer.
SHORT_QUESTION = 40


@dataclass(frozen=True)
class Part:
    """An aspect as answered: its items and the entry they come from (None: no source)."""

    aspect: str
    items: tuple[str, ...]
    source: Answer | None

    @property
    def missing(self) -> bool:
        return self.source is None


def _only_hotlines(items: Iterable[str]) -> bool:
    numbers = common.hotline_numbers()
    return all(any(n in item for n in numbers) for item in items)


def items_of(answer: Answer | None, aspect: str) -> tuple[str, ...]:
    """What ``answer`` says about ``aspect``; () when it says nothing useful.

    A channel list that is only hotline numbers does not say where to go: the
    national channels (app, window) then complete it.
    """
    if answer is None:
        return ()
    field = FIELDS["steps" if aspect == "next_step" else aspect]
    values = tuple(v for v in getattr(answer, field) if v)
    if aspect == "channels" and values and _only_hotlines(values):
        return ()
    return values


def resolve(aspect: str, answer: Answer, national: Answer | None) -> Part:
    """``aspect`` from the entry answered, else from the national entry, else missing."""
    own = items_of(answer, aspect)
    if own:
        return Part(aspect, own, answer)
    if national is not None and national is not answer:
        supplement = items_of(national, aspect)
        if supplement:
            return Part(aspect, supplement, national)
    return Part(aspect, (), None)


def resolve_all(answer: Answer, national: Answer | None) -> dict[str, Part]:
    return {a: resolve(a, answer, national) for a in ASPECTS}


def _cues(strong_only: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    fields = ("cues",) if strong_only else ("cues", "weak_cues")
    return [(name, tuple(c for f in fields for c in spec.get(f) or ()))
            for name, spec in common.wording()["aspects"].items()]


def all_from_text(text: str, exclude: Iterable[str] = (), strong_only: bool = False) -> list[str]:
    """Every aspect the resident's words ask about, by the cues of the wording file, in cue order."""
    if not text:
        return []
    skip = set(exclude)
    plain = normalize(text).lower()
    return [name for name, cues in _cues(strong_only)
            if name not in skip and any(cue.lower() in plain for cue in cues)]


def from_text(text: str, exclude: Iterable[str] = ()) -> str | None:
    """The first aspect (in cue order) the resident's words ask about."""
    found = all_from_text(text, exclude)
    return found[0] if found else None


def detect(entities: list[dict], text: str, *, service_intent: bool = False, follow_up: bool = False) -> str | None:
    """The aspect a message asks about: the NLU's ``aspect`` entity, else the words.

    An entity value that is not canonical (an older model, a raw span such as
    "啥子材料") is read by the cues too. A full service question is answered with one
    aspect only when it is short and asks exactly one thing ("正宁县的居民医保在哪交");
    a long story or a list of questions ("要什么材料？到哪里办理？") gets the whole
    answer, and "怎么办" in a service question asks for the procedure, not steps alone.
    Right after an answer on the same topic (``follow_up``) weak cues count too: "能在网上
    交吗" after the payment answer asks where, not for the whole answer again.
    """
    values = [str(e.get("value") or "") for e in entities if e.get("entity") == "aspect"]
    if service_intent:
        if len(normalize(text or "").strip()) > SHORT_QUESTION:
            return None
        exclude = ("steps", "next_step")
        asked = {v for v in values if v in CANONICAL} | set(all_from_text(text, exclude, strong_only=not follow_up))
        asked |= {a for v in values if v not in CANONICAL for a in all_from_text(v, exclude)}
        asked -= set(exclude)
        return asked.pop() if len(asked) == 1 else None
    for value in values:
        if value in CANONICAL:
            return value
    for value in values:
        found = from_text(value)
        if found:
            return found
    return from_text(text)
