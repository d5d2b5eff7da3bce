"""How many local answers name a hotline before the national procedure that follows them.

`python -m devtools.hotline_first` (after `make kb`): every place's local entries, in
standard and elder mode, composed as the action server composes them. A hotline named in the
place's own part (a channel among others, the reporting step) is counted too, so the
figure is an upper bound on residents sent to the phone before they read the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from actions import common
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


def count(kb: KnowledgeStore, mode: str = "standard") -> Count:
    heading = say("elder.national_part" if mode == ELDER else "answer.national_procedure")
    numbers = common.hotline_numbers()
    result = Count()
    for place in kb.places():
        for entry in kb.entries_for_place(place.name):
            if entry.scope != "local":
                continue
            ctx = Context(place, None, mode, "web", None, "")
            answer, national = lookup(kb, ctx, entry.topic)
            reply = compose(answer, ctx, [], national, common.where_to_ask(kb, place, entry.topic))
            result.local += 1
            if heading in reply:
                result.with_national += 1
                if any(n in reply[:reply.index(heading)] for n in numbers):
                    result.hotline_first.append(entry.id)
    return result


def main() -> None:
    common.resources.start()
    for mode in ("standard", ELDER):
        print(f"{mode}: {count(common.store(), mode)}")


if __name__ == "__main__":
    main()
