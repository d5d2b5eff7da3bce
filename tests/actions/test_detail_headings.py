"""A follow-up detail says which service it is about ("异地就医备案的时限和有效期：")."""
from __future__ import annotations

import pytest

from actions.answers import ActionAnswerTopic, ActionInform
from actions.aspects import resolve
from actions.common import say
from tests.actions.conftest import Conversation, entity


@pytest.mark.parametrize("aspect, asked", [("time", "多久能办好"), ("offline", "不会用手机怎么办"),
                                           ("proxy", "可以让家人代办吗"), ("materials", "要带什么材料")])
async def test_a_detail_is_headed_by_the_service_it_belongs_to(shared_kb, aspect, asked):
    local = shared_kb.answer("ask_remote_care_filing", "长春市")
    national = shared_kb.answer("ask_remote_care_filing", "全国")
    if resolve(aspect, local, national).missing:
        pytest.skip(f"no source gives {aspect} for this topic")
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("长春异地就医备案怎么办", "ask_remote_care_filing", [entity("city", "长春市", "长春")])
    await convo.run(ActionAnswerTopic(), {})
    convo.user(asked, "inform", [entity("aspect", aspect, asked)])
    messages, _ = await convo.run(ActionInform(), {})
    assert say(f"aspects.{aspect}.heading", title=local.title) in messages[0]["text"].splitlines()
