""""谁能办" where no source states eligibility: the groups the entry applies to, cited."""
from __future__ import annotations

import dataclasses

import pytest

from actions.answers import ActionAnswerTopic, ActionInform
from actions.aspects import resolve
from actions.common import join, say
from tests.actions.conftest import Conversation, entity

PLACE, TOPIC = "连云港市", "ask_maternity"


@pytest.fixture
def content(content):
    """The real content with every eligibility rule for 生育保险 removed, local and
    national alike: the case of an entry that names its groups and nothing else, which
    real content can reach again whenever a topic has no eligibility rule yet."""
    def strip(place):
        entries = [dataclasses.replace(e, eligibility=()) if e.topic == TOPIC else e for e in place.entries]
        return dataclasses.replace(place, entries=entries)

    return [strip(place) for place in content]


async def test_who_can_apply_names_the_groups_the_entry_covers_with_its_source(action_db, kb):
    local = kb.answer(TOPIC, PLACE)
    national = kb.answer(TOPIC, None)
    assert local.scope == "local" and local.applies_to and resolve("eligibility", local, national).missing
    convo = Conversation(metadata={"city": PLACE})
    convo.user("连云港生育津贴怎么领", TOPIC, [entity("city", PLACE, "连云港")])
    await convo.run(ActionAnswerTopic(), {})
    convo.user("谁能办", "inform", [entity("aspect", "eligibility", "谁能办")])
    messages, _ = await convo.run(ActionInform(), {})
    lines = messages[0]["text"].splitlines()
    assert lines == [say("follow_up.eligibility_people", title=local.title, people=join(local.applies_to)),
                     say("answer.source_line", source=local.source.short)]
