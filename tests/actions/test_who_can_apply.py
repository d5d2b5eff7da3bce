""""谁能办" where no source states eligibility: the groups the entry applies to, cited."""
from __future__ import annotations

from actions.answers import ActionAnswerTopic, ActionInform
from actions.aspects import resolve
from actions.common import join, say
from tests.actions.conftest import Conversation, entity


async def test_who_can_apply_names_the_groups_the_entry_covers_with_its_source(shared_kb):
    local = shared_kb.answer("ask_maternity", "连云港市")
    # The content this relies on: a local entry with groups but no eligibility text.
    assert local.scope == "local" and local.applies_to and resolve("eligibility", local, None).missing
    convo = Conversation(metadata={"city": "连云港市"})
    convo.user("连云港生育津贴怎么领", "ask_maternity", [entity("city", "连云港市", "连云港")])
    await convo.run(ActionAnswerTopic(), {})
    convo.user("谁能办", "inform", [entity("aspect", "eligibility", "谁能办")])
    messages, _ = await convo.run(ActionInform(), {})
    lines = messages[0]["text"].splitlines()
    assert lines == [say("follow_up.eligibility_people", title=local.title, people=join(local.applies_to)),
                     say("answer.source_line", source=local.source.short)]
