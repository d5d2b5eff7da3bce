"""Answering service questions from the knowledge base with real trackers."""
from __future__ import annotations

import threading

from actions import common
from actions.answers import ActionAnswerTopic, ActionInform
from actions.common import resources
from tests.actions.conftest import NATIONAL_HOTLINE, Conversation, assert_brief_said, entity, wording

answer, inform = ActionAnswerTopic(), ActionInform()


def texts(messages) -> str:
    return "\n".join(m["text"] for m in messages if m.get("text"))


async def test_answers_for_the_place_with_its_source(action_db, convo, domain):
    convo.user("连云港异地就医备案怎么办", "ask_remote_care_filing", [entity("city", "连云港市", "连云港")])
    messages, events = await convo.run(answer, domain)
    reply = texts(messages)
    assert any(line.startswith("依据：《") for line in reply.splitlines())
    payload = next(m["custom"]["answer"] for m in messages if m.get("custom"))
    assert payload["topic"] == "ask_remote_care_filing" and payload["city"] == "连云港市"
    assert {"event": "slot", "name": "topic", "value": "ask_remote_care_filing", "timestamp": None} in events


async def test_asks_for_the_place_then_answers_the_original_question(action_db, convo, domain):
    convo.user("我妈高血压能办慢特病吗", "ask_chronic_disease_outpatient")
    messages, _ = await convo.run(answer, domain)
    assert messages[-1]["text"] == wording("ask.city") and wording("ask.city").startswith("您是在哪里参保的？")
    assert {b["title"] for b in messages[-1]["buttons"]} == {"连云港市", "开州区", "长春市", "江门市", "正宁县"}
    assert convo.slots["pending_topic"] == "ask_chronic_disease_outpatient"
    convo.user("正宁县", "inform", [entity("city", "正宁县")])
    messages, _ = await convo.run(inform, domain)
    reply = texts(messages)
    assert "慢特病" in reply and "依据：" in reply
    assert convo.slots["pending_topic"] is None and convo.slots["topic"] == "ask_chronic_disease_outpatient"


async def test_place_from_channel_metadata(action_db, domain):
    convo = Conversation(metadata={"city": "江门市", "channel": "wechat"})
    convo.user("医保电子凭证怎么激活", "ask_e_voucher")
    messages, _ = await convo.run(answer, domain)
    payload = next(m["custom"]["answer"] for m in messages if m.get("custom"))
    assert payload["city"] == "江门市"


async def test_elder_mode_uses_the_brief_variant(action_db, domain, kb):
    convo = Conversation(metadata={"city": "长春市", "mode": "elder"})
    convo.user("异地就医备案", "ask_remote_care_filing")
    messages, _ = await convo.run(answer, domain)
    expected = kb.answer("ask_remote_care_filing", "长春市")
    reply = texts(messages)
    assert_brief_said(expected, reply)
    assert expected.answer not in reply and "办理步骤：" not in reply
    # The brief's "拿不准的，可以打12393问" waits until the national way has been said.
    assert reply.index(common.say("elder.national_part")) < reply.index("拿不准的，可以打12393问。")


async def test_a_person_type_follow_up_answers_the_same_topic_again(action_db, convo, domain):
    convo.user("开州区怎么办异地就医备案", "ask_remote_care_filing", [entity("city", "开州区")])
    await convo.run(answer, domain)
    convo.user("我是灵活就业的呢", "inform", [entity("person_type", "灵活就业")])
    messages, _ = await convo.run(inform, domain)
    assert convo.slots["topic"] == "ask_remote_care_filing"
    assert kb_answer_text(action_db, "ask_remote_care_filing", "开州区", "灵活就业") in texts(messages)


def kb_answer_text(engine, topic, place, person=None) -> str:
    from knowledge.db import make_session_factory
    from knowledge.store import KnowledgeStore

    return KnowledgeStore(make_session_factory(engine)).answer(topic, place, person).answer


async def test_plan_figures_are_retrieved_from_the_place_facts(action_db, domain, kb):
    convo = Conversation(metadata={"city": "正宁县"})
    convo.user("正宁县居民慢特病有多少种", "ask_plan")
    messages, _ = await convo.run(answer, domain)
    reply = texts(messages)
    best = kb.facts("正宁县", "正宁县居民慢特病有多少种", topic="ask_plan", limit=1)[0]
    assert "52" in best.text and best.text in reply
    assert "不是现行待遇标准" in reply


async def test_database_down_gives_the_hotline(convo, domain, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    resources.restart()
    try:
        convo.user("长春怎么参保", "ask_enrolment", [entity("city", "长春市", "长春")])
        messages, _ = await convo.run(answer, domain)
        convo.slots["topic"] = "ask_enrolment"   # answered before the outage
        convo.user("要带什么材料", "inform", [entity("aspect", "materials", "材料")])
        follow, _ = await convo.run(inform, domain)
    finally:
        resources.stop()
    expected = wording("errors.store_down").format(hotline=NATIONAL_HOTLINE)
    assert expected == "抱歉，系统暂时查询不到资料。请稍后再试，或直接拨打医保服务热线12393。"
    assert texts(messages) == expected and texts(follow) == expected


async def test_database_work_runs_off_the_event_loop(action_db, convo, domain, monkeypatch):
    """A slow database must not block other residents' turns (issue 14.6)."""
    loop_thread = threading.get_ident()
    seen = []
    real = common.context

    def spy(tracker, kb):
        seen.append(threading.get_ident())
        return real(tracker, kb)

    monkeypatch.setattr(common, "context", spy)
    convo.user("连云港异地就医备案怎么办", "ask_remote_care_filing", [entity("city", "连云港市", "连云港")])
    messages, _ = await convo.run(answer, domain)
    assert seen and all(t != loop_thread for t in seen) and "依据：" in texts(messages)
