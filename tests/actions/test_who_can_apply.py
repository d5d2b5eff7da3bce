""""谁能办" where no source states eligibility: the groups the entry applies to, cited."""
from __future__ import annotations

import pytest

from actions.answers import ActionAnswerTopic, ActionInform
from actions.aspects import resolve
from actions.common import join, say
from tests.actions.conftest import Conversation, entity

# Topics whose entries name groups (applies_to); the first one whose local entry and
# national entry both say nothing about eligibility is the case tested. (It was
# 生育保险 in 连云港 until national.yml gained the national eligibility rules for
# maternity; tests/actions/test_national_natbenefit.py covers that fallback now.)
QUESTIONS = {
    "ask_supplementary_insurance": "补充医疗保险是什么",
    "ask_reimbursement": "看病能报销多少",
    "ask_maternity": "生育津贴怎么领",
}


def a_place_with_groups_but_no_eligibility(kb):
    for topic in QUESTIONS:
        national = kb.answer(topic, None)
        for place in kb.places():
            local = kb.answer(topic, place.name)
            if local.scope == "local" and local.applies_to and resolve("eligibility", local, national).missing:
                return place, topic, local
    return None


async def test_who_can_apply_names_the_groups_the_entry_covers_with_its_source(shared_kb):
    found = a_place_with_groups_but_no_eligibility(shared_kb)
    if found is None:
        pytest.skip("every entry with groups now has an eligibility rule, locally or nationally")
    place, topic, local = found
    convo = Conversation(metadata={"city": place.name})
    convo.user(QUESTIONS[topic], topic)
    await convo.run(ActionAnswerTopic(), {})
    convo.user("谁能办", "inform", [entity("aspect", "eligibility", "谁能办")])
    messages, _ = await convo.run(ActionInform(), {})
    lines = messages[0]["text"].splitlines()
    assert lines == [say("follow_up.eligibility_people", title=local.title, people=join(local.applies_to)),
                     say("answer.source_line", source=local.source.short)], (place.name, topic)
