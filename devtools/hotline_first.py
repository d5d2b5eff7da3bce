"""How many local answers name a hotline before the national procedure that follows them.

`python -m devtools.hotline_first` (after `make kb`): every place's local entries, in
standard mode, composed as the action server composes them. A hotline named in the
place's own part (a channel among others, the reporting step) is counted too, so the
figure is an upper bound on residents sent to the phone before they read the rest.
"""
from __future__ import annotations

from actions import common
from actions.answers import compose, lookup
from actions.common import Context, say


def main() -> None:
    common.resources.start()
    kb = common.store()
    heading = say("answer.national_procedure")
    numbers = common.hotline_numbers()
    total = with_national = first = 0
    for place in kb.places():
        for entry in kb.entries_for_place(place.name):
            if entry.scope != "local":
                continue
            ctx = Context(place, None, "standard", "web", None, "")
            answer, national = lookup(kb, ctx, entry.topic)
            reply = compose(answer, ctx, [], national, common.where_to_ask(kb, place, entry.topic))
            total += 1
            if heading in reply:
                with_national += 1
                first += any(n in reply[:reply.index(heading)] for n in numbers)
    print(f"local answers: {total}; with a national part: {with_national}; "
          f"a hotline named before the national part: {first}")


if __name__ == "__main__":
    main()
