"""The notes that frame an answer: national practice when the place is unknown, and a
person type the rules do not single out."""
from __future__ import annotations

from actions.answers import compose
from actions.common import Context, say
from tests.actions.conftest import NATIONAL_HOTLINE, wording


def ctx(place=None, person=None, mode="standard"):
    return Context(place=place, place_text=None, mode=mode, channel="web", person_type=person, text="")


def test_a_national_answer_without_a_place_says_local_rules_decide(shared_kb):
    national = shared_kb.answer("ask_transfer", None)
    assert national.scope == "national"
    text = compose(national, ctx(), [], national)
    assert text.splitlines()[0] == say("answer.national_no_place")


def test_a_person_type_the_entry_does_not_cover_is_named(shared_kb):
    local = shared_kb.answer("ask_maternity", "连云港市")
    assert "灵活就业" not in local.applies_to
    place = next(p for p in shared_kb.places() if p.name == "连云港市")
    lines = compose(local, ctx(place, person="灵活就业"), [], None).splitlines()
    note = wording("answer.person_not_specific").format(person="灵活就业", hotline=NATIONAL_HOTLINE)
    assert note in lines
    # Covered groups get no such note, and elder mode keeps the answer brief.
    assert not any("没有专门针对" in line for line in compose(local, ctx(place, person="职工"), [], None).splitlines())
    elder = compose(local, ctx(place, person="灵活就业", mode="elder"), [], None)
    assert note not in elder


async def test_a_place_we_do_not_cover_is_said_so_and_gets_the_national_answer(shared_kb):
    from actions.answers import ActionAnswerTopic
    from tests.actions.conftest import Conversation, entity

    convo = Conversation()
    convo.user("北京门诊慢特病怎么申请", "ask_chronic_disease_outpatient", [entity("city", "北京市", "北京")])
    messages, events = await convo.run(ActionAnswerTopic(), {})
    places = "、".join(p.name for p in shared_kb.places())
    text = messages[0]["text"]
    # Asking "您是在哪里参保的？" would only offer five places the resident is not from.
    assert text.startswith(wording("whereabouts.outside").format(place="北京市", places=places,
                                                                 hotline=NATIONAL_HOTLINE))
    assert shared_kb.answer("ask_chronic_disease_outpatient", None).answer.splitlines()[0] in text
    assert wording("ask.city") not in [m["text"] for m in messages]
    assert ("city", "北京市") in [(e["name"], e["value"]) for e in events]
    assert "pending_topic" not in [e["name"] for e in events if e["value"]]
