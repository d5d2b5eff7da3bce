"""A first question that names one detail through the NLU's ``aspect`` entity.

The NLU maps a resident's word to its canonical aspect with the synonyms of
data/nlu/lookups/aspect.yml ("啥时候" → time). Several of those words are only weak
cues to the action's own reading of the text, which ignores weak cues in a first
question; so the entity is what tells the action which detail was asked.

The place and person type need no such reading: Rasa fills the ``city`` and
``person_type`` slots from their entities (domain.yml, ``from_entity``) before any
action runs, and the actions read the slots (actions/common.py ``context``)."""
from __future__ import annotations

from actions.answers import ActionAnswerTopic
from actions.aspects import detect
from tests.actions.conftest import Conversation, entity
from tests.actions.test_answers import texts


async def test_when_to_pay_named_by_the_nlu_is_answered_with_the_time_rules(action_db, domain, kb):
    question = "九台居民医保啥时候交"
    assert detect([], question, service_intent=True) is None   # the words alone do not say "time"
    convo = Conversation()
    convo.user(question, "ask_payment_channels", [entity("city", "长春市", "九台"), entity("aspect", "time", "啥时候")])
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    reply = texts(messages)
    local = kb.answer("ask_payment_channels", "长春市")
    national = kb.answer("ask_payment_channels", None)
    lines = reply.splitlines()
    # "【长春市医保缴费渠道】", then when to pay, from the national rules the place's plan lacks.
    assert lines[0] == f"【长春市{local.title}】"
    assert f"{local.title}的时限和有效期：" in lines
    assert "".join(national.validity) in reply
    # Not the whole answer, where "when" would be buried under steps and channels.
    assert local.answer not in reply and not any(line.startswith("1. ") for line in lines)
    payload = next(m["custom"]["answer"] for m in messages if m.get("custom"))
    assert payload["aspect"] == "time"
