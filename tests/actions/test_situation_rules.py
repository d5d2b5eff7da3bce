"""A national rule about the resident's own situation leads the answer, with its source.

"在海南住院没备案，能报吗" needs first to hear that filing late still works, not the
whole filing procedure with that rule somewhere inside it.
"""
from __future__ import annotations

import pytest

from actions.answers import ActionAnswerTopic, ActionInform
from actions.fallback import ActionFallback
from tests.actions.conftest import Conversation, entity, wording

answer, inform = ActionAnswerTopic(), ActionInform()

NARRATIVE = ("我是长春的，上个月去海南看我闺女，突然肚子疼住了一个礼拜院，走之前没办备案，"
             "出院的时候全是自己掏的钱，回来能不能报？要带啥")


def lines(messages) -> list[str]:
    return [line for m in messages if m.get("text") for line in m["text"].splitlines()]


def payload(messages) -> dict:
    return next(m["custom"]["answer"] for m in messages if m.get("custom"))


def lead(text: str) -> str:
    return wording("answer.rule_lead").format(text=text)


async def test_a_resident_treated_without_filing_hears_the_late_filing_rule_first(action_db, domain, kb):
    convo = Conversation()
    convo.user(NARRATIVE, "ask_remote_care_filing", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(answer, domain)
    rule = next(f for f in kb.facts("长春市", NARRATIVE, limit=50, national=True) if f.id == "national.fact.filing_late")
    reply = lines(messages)
    assert reply[0] == lead(rule.text)
    assert "出院结算前补办" in reply[0] and "手工报销" in reply[0]
    # Its own source line follows it, and the payload names that document for channels.
    assert reply[1] == f"依据：{rule.source.short}" and "医保发〔2022〕22号" in reply[1]
    data = payload(messages)
    assert data["sources"][0]["entry_id"] == "national.fact.filing_late"
    assert data["sources"][0]["scope"] == "national"
    assert data["lines"][1] == {"text": reply[1], "source": 0}
    # The place's own answer still follows under its own source.
    assert data["entry_id"] in {s["entry_id"] for s in data["sources"][1:]}


async def test_words_inside_the_phrase_still_call_up_the_rule(action_db, domain, kb):
    # Residents say "没办异地备案", not the keyword's "没备案".
    story = "我老家是正宁县的，上个月我妈在西安住院花了两万多，当时没办异地备案，现在回正宁能报多少，要带啥"
    convo = Conversation()
    convo.user(story, "ask_remote_care_filing", [entity("city", "正宁县", "正宁")])
    messages, _ = await convo.run(answer, domain)
    assert payload(messages)["sources"][0]["entry_id"] == "national.fact.filing_late"
    assert lines(messages)[0].startswith(lead("")) and "手工报销" in lines(messages)[0]


async def test_the_same_story_read_as_manual_reimbursement_leads_with_the_rule_too(action_db, domain, kb):
    # "回来能不能报" is as much 手工报销 as 备案: the rule lists that topic in also_topics.
    convo = Conversation()
    convo.user(NARRATIVE, "ask_manual_reimbursement", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(answer, domain)
    reply = lines(messages)
    assert reply[0].startswith(lead("")) and "补办备案后" in reply[0]
    data = payload(messages)
    assert data["topic"] == "ask_manual_reimbursement"
    assert [s["entry_id"] for s in data["sources"]][0] == "national.fact.filing_late"


@pytest.mark.parametrize("text, intent, city, rule", [
    # The written Cantonese: "I am not of 江门 household registration, is that OK?"
    ("我唔係江门户口得唔得？", "ask_enrolment", "江门市", "national.fact.residence_enrolment"),
    ("我在江门，退休了还要交医保吗", "ask_payment_channels", "江门市", "national.fact.retiree_contribution"),
    ("断缴了半年，现在补交了啥时候能报销", "ask_payment_channels", "连云港市", "national.fact.waiting_period"),
])
async def test_each_situation_leads_with_its_rule(action_db, domain, text, intent, city, rule):
    convo = Conversation(metadata={"city": city})
    convo.user(text, intent)
    messages, _ = await convo.run(answer, domain)
    data = payload(messages)
    assert data["sources"][0]["entry_id"] == rule
    assert lines(messages)[0].startswith(lead(""))


async def test_a_plain_question_of_the_topic_gets_no_rule_in_front(action_db, domain):
    convo = Conversation()
    convo.user("长春异地就医备案怎么办", "ask_remote_care_filing", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(answer, domain)
    prefix = lead("")
    assert not any(line.startswith(prefix) for line in lines(messages))
    assert not any(s["entry_id"].startswith("national.fact.") for s in payload(messages)["sources"])


async def test_a_rule_of_another_topic_stays_out(action_db, domain):
    # "断保" is a keyword of the waiting-period rule (参保), not of filing.
    convo = Conversation()
    convo.user("我断保了两年，现在去外省看病要先备案吗", "ask_remote_care_filing",
               [entity("city", "江门市", "江门")])
    messages, _ = await convo.run(answer, domain)
    assert not any("等待期" in line for line in lines(messages))


async def test_a_break_in_cover_leads_the_enrolment_answer_with_the_waiting_period(action_db, domain, kb):
    convo = Conversation()
    convo.user("前两年在外面打工断保了，今年回正宁想重新交居民医保，交了马上能报吗",
               "ask_enrolment", [entity("city", "正宁县")])
    messages, _ = await convo.run(answer, domain)
    reply = lines(messages)
    assert reply[0].startswith(lead("")) and "3个月" in reply[0]
    assert reply[1] == "依据：" + next(
        f for f in kb.facts("正宁县", "断保", limit=50, national=True)
        if f.id == "national.fact.waiting_period").source.short


async def test_the_rule_leads_an_answer_about_one_detail_too(action_db, domain):
    # "要带啥" asks for the materials; the situation still comes first in a new question.
    convo = Conversation()
    convo.user("在海南住院忘了备案，已经出院了，回江门报销要带啥", "ask_remote_care_filing",
               [entity("city", "江门市", "江门"), entity("aspect", "materials", "要带啥")])
    messages, _ = await convo.run(answer, domain)
    reply = lines(messages)
    assert reply[0].startswith(lead("")) and "补办" in reply[0]
    assert any("材料" in line for line in reply[2:])


async def answer_after_the_place(convo: Conversation, domain, place: str) -> list[str]:
    """Answer the question; the bot asks for the place, the resident names it: the reply."""
    asked, _ = await convo.run(answer, domain)
    assert asked[-1]["text"] == wording("ask.city")
    convo.user(place, "inform", [entity("city", place)])
    messages, _ = await convo.run(inform, domain)
    return lines(messages)


async def test_the_rule_waits_with_the_question_for_the_place(action_db, domain):
    convo = Conversation()
    convo.user("我妈在外省住院，没来得及备案，咋个办", "ask_remote_care_filing")
    reply = await answer_after_the_place(convo, domain, "开州区")
    assert reply[0].startswith(lead("")) and "出院结算前补办" in reply[0]


async def test_a_topic_tapped_after_a_fallback_still_leads_with_the_rule_for_the_story(action_db, domain):
    convo = Conversation()
    convo.user(NARRATIVE, "nlu_fallback", [entity("city", "长春市", "长春")],
               ranking=[{"name": "nlu_fallback", "confidence": 0.45},
                        {"name": "ask_manual_reimbursement", "confidence": 0.3}])
    offered, _ = await convo.run(ActionFallback(), domain)
    button = next(b for m in offered for b in m.get("buttons") or [] if b["payload"].startswith("/ask_manual"))
    convo.user(button["payload"], "ask_manual_reimbursement", [entity("city", "长春市")])
    messages, _ = await convo.run(answer, domain)
    assert lines(messages)[0].startswith(lead("")) and "出院结算前补办" in lines(messages)[0]


async def test_a_tapped_topic_that_waits_for_the_place_keeps_the_story(action_db, domain):
    convo = Conversation()
    convo.user("我爸在外省住院，走之前没办备案，钱都是自己垫的", "nlu_fallback",
               ranking=[{"name": "nlu_fallback", "confidence": 0.4},
                        {"name": "ask_manual_reimbursement", "confidence": 0.35}])
    await convo.run(ActionFallback(), domain)
    convo.user("/ask_manual_reimbursement", "ask_manual_reimbursement")
    reply = await answer_after_the_place(convo, domain, "正宁县")
    assert reply[0].startswith(lead("")) and "补办备案后" in reply[0]


async def test_a_follow_up_on_the_same_question_does_not_repeat_the_rule(action_db, domain):
    convo = Conversation()
    convo.user(NARRATIVE, "ask_remote_care_filing", [entity("city", "长春市", "长春")])
    await convo.run(answer, domain)
    convo.user("在哪办", "inform", [entity("aspect", "channels", "在哪办")])
    messages, _ = await convo.run(inform, domain)
    assert not any(line.startswith(lead("")) for line in lines(messages))


async def test_elder_mode_says_the_rule_first_in_short_sentences(action_db, domain, kb):
    convo = Conversation(metadata={"mode": "elder", "city": "开州区"})
    convo.user("我在外省住院没备案咋个办", "ask_remote_care_filing")
    messages, _ = await convo.run(answer, domain)
    rule = next(f for f in kb.facts("开州区", "没备案", limit=50, national=True) if f.id == "national.fact.filing_late")
    text = "\n".join(m["text"] for m in messages if m.get("text"))
    assert rule.brief and text.startswith(lead(rule.brief) + "\n依据：")
    assert rule.text not in text
