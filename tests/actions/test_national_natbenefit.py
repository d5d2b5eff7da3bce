"""National follow-ups for the benefit topics: maternity, critical illness, medical
assistance and long-term care.

When a place's own entry says nothing about an aspect, the follow-up is answered
from the national entry, with the national document cited. Expected items are read
from the loaded knowledge base; only the aspects that national.yml fills for these
topics, and a few rules they must carry, are named here.
"""
from __future__ import annotations

import pytest

from actions.answers import ActionAnswerTopic, ActionInform
from actions.common import say
from knowledge.schema import ASPECT_FIELDS
from tests.actions.conftest import Conversation, entity

QUESTIONS = {
    "ask_maternity": "生孩子的费用能报销吗",
    "ask_critical_illness": "大病保险是怎么回事",
    "ask_medical_assistance": "医疗救助怎么申请",
    "ask_long_term_care": "长期护理保险是什么",
}
FOLLOW_UPS = {
    "eligibility": "谁能办",
    "time": "多久能办好",
    "steps": "流程是啥样的",
}
# The aspects national.yml answers for these topics (empty before: residents got the hotline).
FILLED = {
    "ask_maternity": ("eligibility", "time", "steps"),
    "ask_critical_illness": ("eligibility",),
    "ask_medical_assistance": ("eligibility",),
    # No national steps: a local hotline step (长春) would then count as a placeholder
    # (tests/knowledge/test_store.py), and the national rule is about who, not how.
    "ask_long_term_care": ("eligibility",),
}
CASES = [(topic, aspect) for topic, aspects in FILLED.items() for aspect in aspects]


def texts(messages) -> str:
    return "\n".join(m["text"] for m in messages if m.get("text"))


async def follow_up(place: str, topic: str, aspect: str) -> str:
    convo = Conversation(sender=f"natbenefit-{place}-{topic}-{aspect}", metadata={"city": place, "mode": "standard"})
    convo.user(QUESTIONS[topic], topic)
    await convo.run(ActionAnswerTopic(), {})
    text = FOLLOW_UPS[aspect]
    convo.user(text, "inform", [entity("aspect", aspect, text)])
    messages, _ = await convo.run(ActionInform(), {})
    return texts(messages)


@pytest.mark.parametrize("topic,aspect", CASES)
async def test_a_place_without_the_aspect_gets_the_national_rule_and_its_citation(shared_kb, topic, aspect):
    kb = shared_kb
    national = kb.answer(topic, None)
    items = tuple(v for v in getattr(national, ASPECT_FIELDS[aspect]) if v)
    assert items, f"national {topic} says nothing about {aspect}"
    places = [p for p in kb.places()
              if kb.answer(topic, p.name).scope == "local"
              and not [v for v in getattr(kb.answer(topic, p.name), ASPECT_FIELDS[aspect]) if v]]
    for place in places:
        reply = await follow_up(place.name, topic, aspect)
        case = f"{place.name} {topic} {aspect}: {reply}"
        assert say("follow_up.national_for_place", place=place.name) in reply, case
        assert f"依据：{national.source.short}" in reply, case
        assert all(item in reply for item in items), case


async def test_every_benefit_topic_reaches_the_national_rule_somewhere(shared_kb):
    """The test above is not vacuous: each topic has a place that falls back to national."""
    kb = shared_kb
    for topic, aspects in FILLED.items():
        reached = [(p.name, a) for p in kb.places() for a in aspects
                   if kb.answer(topic, p.name).scope == "local"
                   and not [v for v in getattr(kb.answer(topic, p.name), ASPECT_FIELDS[a]) if v]]
        assert reached, topic


def test_the_national_rules_carry_their_documents(shared_kb):
    kb = shared_kb
    maternity = kb.answer("ask_maternity", None)
    assert any("98天产假" in v for v in maternity.validity)
    assert "国办发〔2019〕10号" in maternity.source.short and "国务院令第619号" in maternity.source.short
    assert any("个人不用另交生育保险费" in v for v in maternity.eligibility)
    care = kb.answer("ask_long_term_care", None)
    # Long-term care is a pilot; it must never read as a benefit everyone has.
    assert "试点" in care.answer and any("不是每个地方都有" in v for v in care.eligibility)
    assert "医保发〔2020〕37号" in care.source.short
    assistance = kb.answer("ask_medical_assistance", None)
    assert "国办发〔2021〕42号" in assistance.source.short
    assert any("低保边缘家庭成员" in v for v in assistance.eligibility)
    illness = kb.answer("ask_critical_illness", None)
    assert "国办发〔2015〕57号" in illness.source.short
    assert any("城乡居民基本医保" in v for v in illness.eligibility)
