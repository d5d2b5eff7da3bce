"""Turns a resident notices outside a normal answer: a complaint handed to a person,
an unclear message with nothing to suggest, and "删除我的记录" after a fallback."""
from __future__ import annotations

from actions.common import resources, say
from actions.fallback import ActionFallback
from actions.handoff import ActionHandoff
from hotline import tickets
from retention.config import RetentionSettings
from retention.purge import forget_sender
from tests.actions.conftest import Conversation


def handoff_payload(messages) -> dict | None:
    return next((m["custom"]["handoff"] for m in messages if (m.get("custom") or {}).get("handoff")), None)


async def test_a_complaint_handed_to_a_person_is_acknowledged_and_filed_as_a_complaint(action_db, domain):
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("我要投诉公积金中心，一直不给办", "complain")
    messages, _ = await convo.run(ActionHandoff(), domain)
    lines = messages[0]["text"].splitlines()
    assert lines[0] == say("handoff.complain_intro")
    payload = handoff_payload(messages)
    assert payload["hotline"] == "12345"  # not about medical insurance
    assert tickets.get_by_code(resources.sessions, payload["ticket"]).reason == "complain"


async def test_asking_for_a_person_is_not_treated_as_a_complaint(action_db, domain):
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("公积金的事也想问问，转人工", "request_human")
    messages, _ = await convo.run(ActionHandoff(), domain)
    assert say("handoff.complain_intro") not in messages[0]["text"]
    payload = handoff_payload(messages)
    assert payload["hotline"] == "12393"
    assert tickets.get_by_code(resources.sessions, payload["ticket"]).reason == "request_human"


async def test_nothing_to_suggest_asks_to_rephrase_with_common_topics(action_db, domain):
    convo = Conversation()
    convo.user("嗯嗯", "nlu_fallback", ranking=[{"name": "nlu_fallback", "confidence": 0.9}])
    messages, _ = await convo.run(ActionFallback(), domain)
    assert [m["text"] for m in messages] == [say("ask.rephrase")]
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[-1] == "/request_human" and len(payloads) > 1


async def test_forgetting_a_sender_removes_the_question_the_bot_did_not_understand(action_db, sqlite_url, domain):
    convo = Conversation(sender="resident-forget")
    convo.user("那个报销的单子丢了咋整", "nlu_fallback", ranking=[{"name": "nlu_fallback", "confidence": 0.9}])
    await convo.run(ActionFallback(), domain)
    other = Conversation(sender="resident-stays")
    other.user("嗯嗯", "nlu_fallback", ranking=[{"name": "nlu_fallback", "confidence": 0.9}])
    await other.run(ActionFallback(), domain)
    forgotten = forget_sender("resident-forget", RetentionSettings(
        database_url=sqlite_url, tracker_url=sqlite_url.replace("assistant.db", "no-tracker-yet.db")))
    assert forgotten["unanswered"] == 1
    left = tickets.unanswered_summary(resources.sessions)
    texts = [t for g in left.groups for t in g.examples]
    assert texts == ["嗯嗯"]


async def test_a_follow_up_before_any_question_asks_to_rephrase_with_common_topics(action_db, domain):
    from actions.answers import ActionAnswerTopic

    convo = Conversation()
    convo.user("那这个呢", "inform")
    messages, events = await convo.run(ActionAnswerTopic(), domain)
    assert [m["text"] for m in messages] == [say("ask.rephrase")]
    assert messages[0]["buttons"][-1]["payload"] == "/request_human" and len(messages[0]["buttons"]) > 1
    assert events == []


async def test_a_complaint_after_an_answer_is_filed_under_complaints_not_the_last_topic(action_db, domain):
    from actions.answers import ActionAnswerTopic
    from tests.actions.conftest import entity

    convo = Conversation()
    convo.user("长春怎么参保", "ask_enrolment", [entity("city", "长春市", "长春")])
    await convo.run(ActionAnswerTopic(), domain)
    convo.user("我要投诉窗口工作人员态度差", "complain")
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    ticket = tickets.get_by_code(resources.sessions, handoff_payload(messages)["ticket"])
    assert (ticket.topic, ticket.reason, ticket.place) == ("complain", "case_handling", "长春市")
    # Nothing said which channel the resident came from: the ticket does not make one up.
    assert ticket.channel == ""
