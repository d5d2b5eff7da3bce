"""Follow-ups on transfer, personal account, reimbursement and manual reimbursement.

Where a place's own entry says nothing about an aspect, the resident gets the
national rule with its citation instead of "no source says it, call 12393".
The phrases pinned here are the national rules themselves (national.yml): emptying
one of those aspect lists sends these residents back to the hotline and fails.
"""
from __future__ import annotations

import pytest

from actions.answers import ActionAnswerTopic, ActionInform
from actions.common import say
from knowledge.schema import ASPECT_FIELDS
from tests.actions.conftest import Conversation, entity

QUESTIONS = {
    "ask_transfer": "换城市工作了医保关系怎么转",
    "ask_personal_account": "医保个人账户的钱家里人能用吗",
    "ask_reimbursement": "看病医保怎么报销",
    "ask_manual_reimbursement": "自己垫钱了怎么手工报销",
}
FOLLOW_UPS = {
    "eligibility": "谁能办",
    "time": "多久能办好",
    "offline": "不用手机怎么办",
    "proxy": "可以让我儿子帮我去办不",
}
# (topic, aspect, a phrase of the national rule the reply must carry)
CASES = [
    ("ask_transfer", "time", "10个工作日内办完转出"),
    ("ask_transfer", "time", "不超过6个月的待遇等待期"),
    ("ask_transfer", "eligibility", "参加下一年度居民医保后"),
    ("ask_transfer", "offline", "转入地或转出地医保经办机构的窗口"),
    ("ask_transfer", "proxy", "可以由单位替本人申请办理"),
    ("ask_personal_account", "proxy", "代办人要带上委托人和代办人自己的身份证明"),
    ("ask_reimbursement", "eligibility", "应当由第三人负担的"),
    ("ask_reimbursement", "proxy", "暂停医疗费用联网结算3到12个月"),
    ("ask_manual_reimbursement", "eligibility", "补办备案后，可以按参保地的规定申请手工报销"),
    ("ask_manual_reimbursement", "time", "在出院结算前补办好备案，就能直接结算"),
]


async def follow_up(place: str, topic: str, aspect: str) -> str:
    convo = Conversation(sender=f"natmoney-{place}-{topic}-{aspect}", metadata={"city": place, "mode": "standard"})
    convo.user(QUESTIONS[topic], topic)
    await convo.run(ActionAnswerTopic(), {})
    text = FOLLOW_UPS[aspect]
    convo.user(text, "inform", [entity("aspect", aspect, text)])
    messages, _ = await convo.run(ActionInform(), {})
    return "\n".join(m["text"] for m in messages if m.get("text"))


@pytest.mark.parametrize("topic,aspect,phrase", CASES)
async def test_a_place_without_the_aspect_gets_the_national_rule_and_its_source(shared_kb, topic, aspect, phrase):
    kb = shared_kb
    national = kb.answer(topic, None)
    assert any(phrase in item for item in getattr(national, ASPECT_FIELDS[aspect])), "the national rule is gone"
    places = [p for p in kb.places()
              if kb.answer(topic, p.name).scope == "local"
              and not any(getattr(kb.answer(topic, p.name), ASPECT_FIELDS[aspect]))]
    assert places, f"no place lacks its own {aspect} for {topic}; pick another case"
    for place in places:
        reply = await follow_up(place.name, topic, aspect)
        case = f"{place.name} {topic} {aspect}: {reply}"
        assert phrase in reply, case
        assert f"依据：{national.source.short}" in reply, case
        assert say("follow_up.national_for_place", place=place.name) in reply, case
        assert "都没有写明" not in reply, case
