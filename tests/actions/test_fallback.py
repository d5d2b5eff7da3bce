"""Not understood: the likeliest topics as buttons, the unanswered-question log,
and a hand-off with a stored ticket on the second miss in a row."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from actions import common
from actions.common import resources, say
from actions.fallback import ActionFallback, suggest_topics
from hotline import tickets
from hotline.models import Ticket, Unanswered, create_schema
from knowledge.db import make_engine
from knowledge.loader import load
from tests.actions.conftest import Conversation

LABELS = common.service_topics()


def ranking(*pairs) -> list[dict]:
    return [{"name": n, "confidence": c} for n, c in pairs]


def handoff_payload(messages) -> dict | None:
    return next((m["custom"]["handoff"] for m in messages if (m.get("custom") or {}).get("handoff")), None)


def unanswered_rows() -> list[Unanswered]:
    with resources.sessions() as session:
        return session.execute(select(Unanswered).order_by(Unanswered.id)).scalars().all()


def test_suggestions_follow_the_classifier_and_skip_control_intents():
    ranked = ranking(("nlu_fallback", 0.45), ("greet", 0.3), ("ask_enrolment", 0.25),
                     ("inform", 0.2), ("ask_payment_channels", 0.15), ("thank", 0.1),
                     ("ask_transfer", 0.05), ("ask_maternity", 0.01))
    # A text with no topic words: the classifier's order decides.
    assert suggest_topics(ranked, "嗯嗯") == ["ask_enrolment", "ask_payment_channels", "ask_transfer"]
    assert suggest_topics(ranked, "嗯嗯", limit=2) == ["ask_enrolment", "ask_payment_channels"]


def test_the_knowledge_base_fills_the_places_the_classifier_leaves():
    # The classifier offers only one service topic: the text fills the other places.
    ranked = ranking(("nlu_fallback", 0.45), ("ask_enrolment", 0.2), ("greet", 0.1))
    offered = suggest_topics(ranked, "俺家老头子的门诊慢特病")
    assert offered[:2] == ["ask_enrolment", "ask_chronic_disease_outpatient"] and len(offered) == 3
    # A full ranking is not overruled by a keyword match.
    full = ranking(("nlu_fallback", 0.45), ("ask_transfer", 0.011), ("ask_maternity", 0.0105),
                   ("ask_enrolment", 0.01), ("ask_chronic_disease_outpatient", 0.009))
    assert suggest_topics(full, "俺家老头子的门诊慢特病") == ["ask_transfer", "ask_maternity", "ask_enrolment"]
    # Without any ranking the text alone still finds the topic; noise finds nothing.
    assert suggest_topics([], "异地就医备案")[0] == "ask_remote_care_filing"
    assert suggest_topics([], "") == [] and suggest_topics([], "钱的事那个咋弄") == []


async def test_fallback_offers_the_top_ranked_topics_with_the_place_kept(action_db, domain):
    convo = Conversation(metadata={"city": "开州区"})
    ranked = ranking(("nlu_fallback", 0.45), ("ask_payment_channels", 0.3), ("out_of_scope", 0.2),
                     ("ask_enrolment", 0.15), ("ask_reimbursement", 0.1))
    convo.user("钱的事那个咋弄", "nlu_fallback", ranking=ranked)
    messages, _ = await convo.run(ActionFallback(), domain)
    expected = suggest_topics(ranked, "钱的事那个咋弄")
    assert expected[:2] == ["ask_payment_channels", "ask_enrolment"]
    buttons = messages[0]["buttons"]
    assert [b["title"] for b in buttons[:-1]] == [LABELS[t] for t in expected]
    payload = buttons[0]["payload"]
    assert payload.startswith("/ask_payment_channels{")
    assert json.loads(payload[len("/ask_payment_channels"):]) == {"city": "开州区"}
    assert buttons[-1]["payload"] == "/request_human"
    choices = say("fallback.choice_or").join(LABELS[t] for t in expected)
    assert messages[0]["text"] == say("fallback.suggest", choices=choices)
    assert handoff_payload(messages) is None


async def test_the_unanswered_question_log_records_the_text(action_db, domain):
    convo = Conversation(metadata={"city": "江门市"})
    convo.user("我那个卡的事情咋整", "nlu_fallback", ranking=ranking(("nlu_fallback", 0.45)))
    await convo.run(ActionFallback(), domain)
    rows = unanswered_rows()
    assert [(r.text, r.place, r.reason) for r in rows] == [("我那个卡的事情咋整", "江门市", "fallback")]


async def test_two_fallbacks_in_a_row_hand_off_with_a_stored_ticket(action_db, domain):
    convo = Conversation(metadata={"city": "开州区", "channel": "web"})
    convo.user("嗯那个就是那个啥", "nlu_fallback", ranking=ranking(("nlu_fallback", 0.45)))
    first, _ = await convo.run(ActionFallback(), domain)
    assert handoff_payload(first) is None
    convo.user("就那个事儿你懂的", "nlu_fallback", ranking=ranking(("nlu_fallback", 0.45)))
    messages, _ = await convo.run(ActionFallback(), domain)
    payload = handoff_payload(messages)
    assert payload and payload["hotline"] == "12393" and payload["ticket"] in messages[0]["text"]
    assert messages[0]["text"].startswith(say("handoff.fallback_reason"))
    # The ticket is really in the database, with the conversation for staff.
    ticket = tickets.get_by_code(resources.sessions, payload["ticket"])
    assert ticket.reason == "fallback" and ticket.place == "开州区" and ticket.hotline == "12393"
    said = [line["text"] for line in ticket.transcript if line["from"] == "resident"]
    assert said == ["嗯那个就是那个啥", "就那个事儿你懂的"]
    with resources.sessions() as session:
        assert session.execute(select(Ticket.code)).scalars().all() == [payload["ticket"]]
    # Both texts are in the unanswered-question log.
    assert [r.text for r in unanswered_rows()] == ["嗯那个就是那个啥", "就那个事儿你懂的"]


async def test_a_fallback_after_an_understood_message_suggests_again(action_db, domain):
    convo = Conversation()
    convo.user("嗯那个就是那个啥", "nlu_fallback")
    await convo.run(ActionFallback(), domain)
    convo.user("/ask_enrolment", "ask_enrolment")   # the resident clicked a suggestion
    convo.user("就那个事儿你懂的", "nlu_fallback")
    messages, _ = await convo.run(ActionFallback(), domain)
    assert handoff_payload(messages) is None and messages[0]["buttons"]


async def test_fallback_without_database_still_replies(convo, domain, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    resources.restart()
    try:
        convo.user("门诊慢特病那个啥", "nlu_fallback", ranking=ranking(("nlu_fallback", 0.45)))
        messages, _ = await convo.run(ActionFallback(), domain)
        convo.user("还是那个", "nlu_fallback", ranking=ranking(("nlu_fallback", 0.45)))
        second, _ = await convo.run(ActionFallback(), domain)
    finally:
        resources.stop()
    assert messages[0]["buttons"][0]["title"] == LABELS["ask_chronic_disease_outpatient"]
    assert "12393" in second[0]["text"] and handoff_payload(second) is None


@pytest.mark.postgres
async def test_fallback_log_and_hand_off_on_postgresql(postgres_url, content, domain, monkeypatch):
    """The production database: worker threads share the pool; rows really land."""
    engine = make_engine(postgres_url)
    load(engine, content)
    create_schema(engine)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    resources.restart()
    try:
        convo = Conversation(metadata={"city": "正宁县"})
        convo.user("额 那个事 咋说呢", "nlu_fallback", ranking=ranking(("nlu_fallback", 0.45)))
        await convo.run(ActionFallback(), domain)
        convo.user("就是那个嘛", "nlu_fallback", ranking=ranking(("nlu_fallback", 0.45)))
        messages, _ = await convo.run(ActionFallback(), domain)
        code = handoff_payload(messages)["ticket"]
        assert tickets.get_by_code(resources.sessions, code).place == "正宁县"
        assert [r.text for r in unanswered_rows()] == ["额 那个事 咋说呢", "就是那个嘛"]
    finally:
        resources.stop()
        engine.dispose()
