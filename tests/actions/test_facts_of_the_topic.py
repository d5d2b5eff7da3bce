"""Plan figures in an answer come from the topic asked about: a figure of another
topic that shares the question's words must not be offered as the answer's data."""
from __future__ import annotations

from actions.answers import ActionAnswerTopic
from tests.actions.conftest import Conversation, entity
from tests.actions.test_answers import texts


async def test_a_rate_question_is_not_answered_with_another_topics_rate(action_db, domain, kb):
    """"正宁县住院能报几成" asks what share of a hospital bill is reimbursed. The plan
    also gives a 50.9 % rate for inpatient bills settled directly across provinces
    (cross-region settlement, sharing 住院 and the question's figure): offered here, a
    resident would read it as the share reimbursed."""
    question = "正宁县住院能报几成"
    convo = Conversation()
    convo.user(question, "ask_reimbursement", [entity("city", "正宁县")])
    reply = texts((await convo.run(ActionAnswerTopic(), domain))[0])
    shown = [line[2:] for line in reply.splitlines() if line.startswith("· ")]
    topic_of = {f.text: f.topic for f in kb.facts("正宁县", question, limit=1000)}
    settlement = next(t for t, topic in topic_of.items()
                      if topic == "ask_cross_region_settlement" and "50.9%" in t)
    assert shown, reply   # the reimbursement figures are offered…
    assert {topic_of[t] for t in shown} == {"ask_reimbursement"}
    assert settlement not in reply and "50.9%" not in reply   # …and no look-alike figure


async def test_a_payment_question_is_not_answered_with_a_reimbursement_rate(action_db, domain, kb):
    """"新农合一年交多少钱" asks what residents pay; the plan's 新农合 figure is the share
    of an inpatient bill the fund pays (报销), which would read as the answer."""
    question = "正宁的新农合一年交多少钱"
    convo = Conversation()
    convo.user(question, "ask_payment_channels", [entity("city", "正宁县", "正宁")])
    reply = texts((await convo.run(ActionAnswerTopic(), domain))[0])
    rate = next(f for f in kb.facts("正宁县", question, limit=1000)
                if f.id == "zhengning.fact.resident_inpatient_ratio_2020")
    assert "新农合" in rate.keywords and rate.topic == "ask_reimbursement"
    assert rate.text not in reply and "70%" not in reply
    assert not any(line.startswith("· ") for line in reply.splitlines())
