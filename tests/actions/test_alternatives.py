"""An answer the classifier was unsure of also offers the next likeliest topics."""
from __future__ import annotations

import json

from actions import common
from actions.answers import ActionAnswerTopic
from actions.common import say
from actions.fallback import ALTERNATIVES_BELOW, alternatives
from tests.actions.conftest import Conversation

LABELS = common.service_topics()


def ranking(*pairs) -> list[dict]:
    return [{"name": n, "confidence": c} for n, c in pairs]


UNSURE = ranking(("ask_enrolment", 0.52), ("ask_payment_channels", 0.31), ("greet", 0.1),
                 ("ask_transfer", 0.04), ("ask_maternity", 0.03))


def test_a_sure_answer_offers_nothing_and_an_unsure_one_the_next_two_topics():
    assert alternatives({"name": "ask_enrolment", "confidence": 0.52}, UNSURE, "嗯嗯") == \
        ["ask_payment_channels", "ask_transfer"]
    sure = {"name": "ask_enrolment", "confidence": ALTERNATIVES_BELOW}
    assert alternatives(sure, UNSURE, "嗯嗯") == []
    # Only answers to service questions carry alternatives; a button press is sure.
    assert alternatives({"name": "inform", "confidence": 0.3}, UNSURE, "嗯嗯") == []
    assert alternatives({"name": "nlu_fallback", "confidence": 0.3}, UNSURE, "嗯嗯") == []
    assert alternatives(None, UNSURE, "嗯嗯") == []


def test_a_long_narrative_always_offers_the_other_topics():
    story = "我父亲是农村户口，去年在县医院住院花了三万多块钱，" * 3 + "请问新农合能报多少？"
    assert len(story) >= 80
    sure = {"name": "ask_enrolment", "confidence": 0.95}
    assert alternatives(sure, UNSURE, story) == ["ask_payment_channels", "ask_transfer"]
    assert alternatives(sure, UNSURE, story[-40:]) == []


def _alternative_messages(messages: list[dict]) -> list[dict]:
    prefix = say("answer.alternatives", choices="").split("：")[0]
    return [m for m in messages if (m.get("text") or "").startswith(prefix)]


async def test_an_unsure_answer_is_given_and_then_offers_the_other_topics_for_the_same_place(action_db, domain):
    convo = Conversation(metadata={"city": "开州区"})
    convo.user("我想问下医保那个事咋整", "ask_enrolment", ranking=UNSURE)
    messages, events = await convo.run(ActionAnswerTopic(), domain)
    answer = next(m["custom"]["answer"] for m in messages if (m.get("custom") or {}).get("answer"))
    assert answer["topic"] == "ask_enrolment" and answer["city"] == "开州区"
    offered = _alternative_messages(messages)
    assert len(offered) == 1 and messages.index(offered[0]) > messages.index(
        next(m for m in messages if (m.get("custom") or {}).get("answer")))
    expected = ["ask_payment_channels", "ask_transfer"]
    choices = say("fallback.choice_or").join(LABELS[t] for t in expected)
    assert offered[0]["text"] == say("answer.alternatives", choices=choices)
    assert [b["title"] for b in offered[0]["buttons"]] == [LABELS[t] for t in expected]
    payload = offered[0]["buttons"][0]["payload"]
    assert payload.startswith("/ask_payment_channels{") and json.loads(payload[len("/ask_payment_channels"):]) == \
        {"city": "开州区"}


async def test_a_sure_answer_and_a_question_waiting_for_its_place_offer_no_alternatives(action_db, domain):
    sure = Conversation(metadata={"city": "开州区"})
    sure.user("居民医保怎么参保", "ask_enrolment", ranking=ranking(("ask_enrolment", 0.95), ("ask_payment_channels", 0.03)))
    messages, _ = await sure.run(ActionAnswerTopic(), domain)
    assert any((m.get("custom") or {}).get("answer") for m in messages) and not _alternative_messages(messages)
    # No place yet: the bot asks where first; alternatives would talk past that question.
    waiting = Conversation()
    waiting.user("我想问下医保那个事咋整", "ask_enrolment", ranking=UNSURE)
    messages, _ = await waiting.run(ActionAnswerTopic(), domain)
    assert messages[-1]["text"] == say("ask.city") and not _alternative_messages(messages)


async def test_an_unsure_question_answered_once_its_place_is_given_still_offers_the_other_topics(action_db, domain):
    """The place is asked first (no offer then); the answer that follows the place is
    the answer to the unsure question, so it carries the offer ``make eval`` counts
    (devtools/evaluate.py, answered_or_offered) instead of none."""
    from actions.answers import ActionInform
    from tests.actions.conftest import entity

    convo = Conversation()
    convo.user("我想问下医保那个事咋整", "ask_enrolment", ranking=UNSURE)
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    assert messages[-1]["text"] == say("ask.city")
    convo.user("开州区", "inform", entities=[entity("city", "开州区")],
               ranking=ranking(("inform", 0.98)))
    messages, _ = await convo.run(ActionInform(), domain)
    answer = next(m["custom"]["answer"] for m in messages if (m.get("custom") or {}).get("answer"))
    assert answer["topic"] == "ask_enrolment" and answer["city"] == "开州区"
    offered = _alternative_messages(messages)
    assert len(offered) == 1
    assert [b["title"] for b in offered[0]["buttons"]] == [LABELS["ask_payment_channels"], LABELS["ask_transfer"]]
    assert json.loads(offered[0]["buttons"][0]["payload"][len("/ask_payment_channels"):]) == {"city": "开州区"}


async def test_a_follow_up_on_a_topic_answered_before_offers_nothing_again(action_db, domain):
    """Only the answer to the unsure question carries the offer, not later follow-ups."""
    from actions.answers import ActionInform
    from tests.actions.conftest import entity

    convo = Conversation(metadata={"city": "开州区"})
    convo.user("我想问下医保那个事咋整", "ask_enrolment", ranking=UNSURE)
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    assert len(_alternative_messages(messages)) == 1
    convo.user("需要带什么材料", "inform", entities=[entity("aspect", "materials", "材料")],
               ranking=ranking(("inform", 0.98)))
    messages, _ = await convo.run(ActionInform(), domain)
    assert any((m.get("custom") or {}).get("answer") for m in messages) and not _alternative_messages(messages)


async def test_on_a_hand_off_topic_the_offer_follows_the_hand_off(action_db, domain):
    convo = Conversation(metadata={"city": "开州区"})
    unsure = ranking(("complain", 0.5), ("ask_payment_channels", 0.3), ("ask_enrolment", 0.1))
    convo.user("窗口那个人态度太差了我交钱的事也没办成", "complain", ranking=unsure)
    messages, events = await convo.run(ActionAnswerTopic(), domain)
    answer = next(m for m in messages if (m.get("custom") or {}).get("answer"))
    assert answer["custom"]["answer"]["topic"] == "complain"
    offered = _alternative_messages(messages)
    # Answer, then the hand-off (its ticket), then "如果我理解错了…" as the last word.
    assert len(offered) == 1 and messages[-1] is offered[0]
    between = messages[messages.index(answer) + 1:-1]
    assert between and any("12393" in (m.get("text") or "") or "12345" in (m.get("text") or "") for m in between)
    assert [b["title"] for b in offered[0]["buttons"]] == [LABELS["ask_payment_channels"], LABELS["ask_enrolment"]]


def _related_messages(messages: list[dict]) -> list[dict]:
    prefix = say("answer.related", choices="").split("：")[0]
    return [m for m in messages if (m.get("text") or "").startswith(prefix)]


async def test_a_sure_answer_about_enrolment_still_offers_payment_one_tap_away(action_db, domain):
    """"交医保" is how a resident enrols in 居民医保: the other topic is one tap away."""
    convo = Conversation(metadata={"city": "开州区"})
    convo.user("居民医保怎么参保", "ask_enrolment", ranking=ranking(("ask_enrolment", 0.95), ("greet", 0.03)))
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    offered = _related_messages(messages)
    assert len(offered) == 1 and not _alternative_messages(messages)
    assert offered[0]["text"] == say("answer.related", choices=LABELS["ask_payment_channels"])
    assert [b["title"] for b in offered[0]["buttons"]] == [LABELS["ask_payment_channels"]]
    assert json.loads(offered[0]["buttons"][0]["payload"][len("/ask_payment_channels"):]) == {"city": "开州区"}
    # A topic with nothing related configured offers nothing when the classifier was sure.
    other = Conversation(metadata={"city": "开州区"})
    other.user("门诊慢特病怎么申请", "ask_chronic_disease_outpatient",
               ranking=ranking(("ask_chronic_disease_outpatient", 0.95)))
    messages, _ = await other.run(ActionAnswerTopic(), domain)
    assert not _related_messages(messages) and not _alternative_messages(messages)


async def test_an_unsure_answer_adds_the_related_topic_to_its_alternatives_once(action_db, domain):
    convo = Conversation(metadata={"city": "开州区"})
    unsure = ranking(("ask_remote_care_filing", 0.5), ("ask_transfer", 0.2), ("ask_enrolment", 0.1))
    convo.user("去外地看病那个手续咋弄", "ask_remote_care_filing", ranking=unsure)
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    offered = _alternative_messages(messages)
    assert len(offered) == 1 and not _related_messages(messages)
    titles = [b["title"] for b in offered[0]["buttons"]]
    assert titles[-1] == LABELS["ask_cross_region_settlement"] and len(titles) == len(set(titles)) == 3


async def test_related_topics_are_not_offered_again_after_a_follow_up_or_a_tapped_button(action_db, domain):
    from actions.answers import ActionInform
    from tests.actions.conftest import entity

    convo = Conversation(metadata={"city": "开州区"})
    convo.user("居民医保怎么参保", "ask_enrolment", ranking=ranking(("ask_enrolment", 0.95)))
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    assert len(_related_messages(messages)) == 1
    convo.user("需要带什么材料", "inform", entities=[entity("aspect", "materials", "材料")],
               ranking=ranking(("inform", 0.98)))
    messages, _ = await convo.run(ActionInform(), domain)
    assert any((m.get("custom") or {}).get("answer") for m in messages) and not _related_messages(messages)
    # The button itself: its answer does not offer the way back.
    tapped = Conversation(metadata={"city": "开州区"})
    tapped.user('/ask_payment_channels{"city": "开州区"}', "ask_payment_channels",
                ranking=ranking(("ask_payment_channels", 1.0)))
    messages, _ = await tapped.run(ActionAnswerTopic(), domain)
    assert any((m.get("custom") or {}).get("answer") for m in messages) and not _related_messages(messages)
