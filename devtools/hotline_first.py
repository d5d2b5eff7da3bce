"""How many answers name a hotline before the procedure that follows them.

`python -m devtools.hotline_first` (after `make kb`), in standard and elder mode, composed
as the action server composes them:
- every place's local entries: is a hotline named before the national procedure that
  completes them? A hotline named in the place's own part (a channel among others, the
  reporting step) is counted too, so the figure is an upper bound;
- the national answers a resident gets where the place has no entry of its own, or names
  no place: is a hotline named before the answer's own first step?
- every place's answers (local or national) in standard mode: do they end with two lines
  that each name a hotline (the gap, then the line on what no source gives)?
"""
from __future__ import annotations

from dataclasses import dataclass, field

from actions import aspects, common
from actions.answers import compose, lookup
from actions.common import ELDER, Context, say
from knowledge.store import KnowledgeStore


@dataclass
class Count:
    local: int = 0           # local entries composed
    with_national: int = 0   # ... whose reply goes on with the national procedure
    hotline_first: list[str] = field(default_factory=list)  # ... ids naming a hotline before it

    def __str__(self) -> str:
        return (f"local answers: {self.local}; with a national part: {self.with_national}; "
                f"a hotline named before the national part: {len(self.hotline_first)}")


def _composed(kb: KnowledgeStore, place, topic: str, mode: str, with_national: bool = True):
    """``(answer, reply)`` for ``topic`` at ``place``, composed as the action server does."""
    ctx = Context(place, None, mode, "web", None, "")
    answer, national = lookup(kb, ctx, topic)
    return answer, compose(answer, ctx, [], national if with_national else None,
                           common.where_to_ask(kb, place, topic))


def _topics(kb: KnowledgeStore) -> list[str]:
    """Every topic (the national file answers each one)."""
    return sorted({e.topic for e in kb.entries_for_place(None)})


def count(kb: KnowledgeStore, mode: str = "standard") -> Count:
    heading = say("elder.national_part" if mode == ELDER else "answer.national_procedure")
    numbers = common.hotline_numbers()
    result = Count()
    for place in kb.places():
        for entry in kb.entries_for_place(place.name):
            if entry.scope != "local":
                continue
            _, reply = _composed(kb, place, entry.topic, mode)
            result.local += 1
            if heading in reply:
                result.with_national += 1
                if any(n in reply[:reply.index(heading)] for n in numbers):
                    result.hotline_first.append(entry.id)
    return result


@dataclass
class NationalCount:
    answers: int = 0          # national answers composed (place, or no place, × topic)
    with_steps: int = 0       # ... that go on with steps of their own
    hotline_first: list[str] = field(default_factory=list)  # "place:id" naming a hotline before them

    def __str__(self) -> str:
        return (f"national answers: {self.answers}; with steps: {self.with_steps}; "
                f"a hotline named before the first step: {len(self.hotline_first)}")


def count_national(kb: KnowledgeStore, mode: str = "standard") -> NationalCount:
    numbers = common.hotline_numbers()
    result = NationalCount()
    for place in [None, *kb.places()]:
        for topic in _topics(kb):
            answer, reply = _composed(kb, place, topic, mode, with_national=False)
            if answer.scope != "national":
                continue
            result.answers += 1
            steps = aspects.resolve("steps", answer, None)
            first = reply.find(steps.items[0]) if not steps.missing else -1
            if first < 0:
                continue
            result.with_steps += 1
            if any(n in reply[:first] for n in numbers):
                result.hotline_first.append(f"{place.name if place else '-'}:{answer.id}")
    return result


def twice_at_the_end(kb: KnowledgeStore) -> list[str]:
    """"place:entry id" of the standard answers whose last two lines both name a hotline
    (the follow-up hint, which names none, left aside)."""
    numbers = common.hotline_numbers()
    hint = say("answer.follow_up_hint", questions="")[:6]
    found = []
    for place in kb.places():
        for topic in _topics(kb):
            answer, reply = _composed(kb, place, topic, "standard")
            last = [line for line in reply.split("\n") if not line.startswith(hint)][-2:]
            if len(last) == 2 and all(any(n in line for n in numbers) for line in last):
                found.append(f"{place.name}:{answer.id}")
    return found


def main() -> None:
    common.resources.start()
    for mode in ("standard", ELDER):
        print(f"{mode}: {count(common.store(), mode)}")
        print(f"{mode}: {count_national(common.store(), mode)}")
    print(f"standard: answers ending with two lines that name a hotline: {len(twice_at_the_end(common.store()))}")


if __name__ == "__main__":
    main()
