"""The national baseline answers follow-ups on the service topics (drug catalogue,
designated institutions, fraud reports, e-voucher, service channels) for a place
whose own entry says nothing about the aspect, with the national citation."""
from __future__ import annotations

import pytest

from actions.answers import ActionAnswerTopic, ActionInform
from actions.common import say
from tests.actions.conftest import Conversation, entity
from tests.actions.test_aspects import FOLLOW_UPS, texts, useful

QUESTIONS = {
    "report_fraud": "我想举报有人骗医保",
    "ask_e_voucher": "医保电子凭证怎么用",
    "ask_designated_institutions": "哪些医院是医保定点的",
    "ask_drug_catalogue": "这个药医保能报吗",
    "ask_service_channels": "医保业务去哪里办",
}
# (topic, aspect, a phrase of the national rule that must reach the resident)
CASES = [
    ("report_fraud", "time", "5个工作日内"),
    ("report_fraud", "offline", "写信邮寄"),
    ("report_fraud", "eligibility", "最高不超过20万元"),
    ("report_fraud", "materials", "有效证据"),
    ("ask_e_voucher", "eligibility", "3至12个月"),
    ("ask_designated_institutions", "proxy", "代买人双方的身份证明"),
    ("ask_designated_institutions", "eligibility", "签了服务协议"),
    ("ask_drug_catalogue", "eligibility", "乙类药品要先由个人自付一定比例"),
    ("ask_drug_catalogue", "steps", "是甲类还是乙类"),
    ("ask_service_channels", "eligibility", "医保咨询服务"),
]


async def ask(place: str, topic: str, aspect: str) -> str:
    convo = Conversation(sender=f"natservice-{place}-{topic}-{aspect}", metadata={"city": place, "mode": "standard"})
    convo.user(QUESTIONS[topic], topic)
    await convo.run(ActionAnswerTopic(), {})
    convo.user(FOLLOW_UPS[aspect], "inform", [entity("aspect", aspect, FOLLOW_UPS[aspect])])
    messages, _ = await convo.run(ActionInform(), {})
    return texts(messages)


@pytest.mark.parametrize("topic,aspect,phrase", CASES)
async def test_national_rule_answers_a_follow_up_the_place_leaves_open(shared_kb, topic, aspect, phrase):
    kb = shared_kb
    national = kb.answer(topic, None)
    items = useful(national, aspect)
    assert any(phrase in item for item in items), f"national {topic} {aspect} lacks {phrase!r}: {items}"
    places = [p for p in kb.places()
              if kb.answer(topic, p.name).scope == "local" and not useful(kb.answer(topic, p.name), aspect)]
    assert places, f"every place answers {topic} {aspect} itself; nothing to test"
    for place in places:
        reply = await ask(place.name, topic, aspect)
        case = f"{place.name} {topic} {aspect}: {reply}"
        assert say("follow_up.national_for_place", place=place.name) in reply, case
        assert f"依据：{national.source.short}" in reply, case
        assert phrase in reply, case
