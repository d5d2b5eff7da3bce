"""Hand-off with a ticket staff can look up; its promises; repeating the last answer.

Fallbacks and their hand-off: test_fallback.py."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from actions.answers import ActionAnswerTopic
from actions.common import resources, say
from actions.dialogue import ActionRepeat
from actions.fallback import ActionFallback
from actions.handoff import ActionHandoff
from hotline import tickets
from hotline.models import Ticket, Unanswered
from settings import SettingsError
from tests.actions.conftest import Conversation, entity

ID_CARD, MOBILE = "11010519491231002X", "13912345678"


def texts(messages) -> str:
    return "\n".join(m["text"] for m in messages if m.get("text"))


def handoff_payload(messages) -> dict | None:
    return next((m["custom"]["handoff"] for m in messages if (m.get("custom") or {}).get("handoff")), None)


async def test_request_human_files_a_ticket_staff_can_read(action_db, domain):
    convo = Conversation(metadata={"channel": "web"})
    convo.user("长春的慢特病怎么认定", "ask_chronic_disease_outpatient", [entity("city", "长春市", "长春")])
    await convo.run(ActionAnswerTopic(), domain)
    # A resident pasting personal numbers: the gateway masks them, the ticket masks again.
    convo.user(f"我身份证{ID_CARD}电话{MOBILE}，转人工", "request_human")
    messages, _ = await convo.run(ActionHandoff(), domain)
    payload = handoff_payload(messages)
    assert payload["hotline"] == "12393"
    assert payload["ticket"] in texts(messages)
    # The ticket as the database holds it (one row, read back by its code).
    ticket = tickets.get_by_code(resources.sessions, payload["ticket"])
    assert ticket.place == "长春市" and ticket.topic == "ask_chronic_disease_outpatient"
    assert ticket.reason == "request_human" and ticket.channel == "web"
    assert ticket.hotline == payload["hotline"] and ticket.status == "open"
    with resources.sessions() as session:
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
    stored = repr(ticket.transcript) + repr(ticket.slots)
    assert "长春的慢特病怎么认定" in stored and ticket.slots.get("city") == "长春市"
    assert ID_CARD not in stored and MOBILE not in stored
    # The request is also on the staff's list of questions the bot could not settle, masked.
    with resources.sessions() as session:
        rows = session.execute(select(Unanswered)).scalars().all()
    assert [(r.reason, r.place, r.topic) for r in rows] == [("handoff", "长春市", "ask_chronic_disease_outpatient")]
    assert "转人工" in rows[0].text and ID_CARD not in rows[0].text and MOBILE not in rows[0].text


async def test_complaint_answers_and_hands_off(action_db, domain):
    convo = Conversation(metadata={"city": "江门市"})
    convo.user("我要投诉医保窗口工作人员态度差", "complain")
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    payload = handoff_payload(messages)
    assert payload and payload["hotline"] == "12393"
    assert tickets.get_by_code(resources.sessions, payload["ticket"]).reason == "case_handling"


@pytest.mark.parametrize("city", ["长春市", "江门市", "开州区", "连云港市", "正宁县"])
async def test_a_complaint_is_not_told_it_lacks_materials_or_a_place(shared_kb, city):
    """Calling 12393 is the way to complain: "资料里没有写明：在哪里办、要带哪些材料。
    请拨打12393" right after it named nothing that was missing."""
    convo = Conversation(metadata={"city": city})
    convo.user("我要投诉医保窗口工作人员态度差", "complain")
    reply = texts((await convo.run(ActionAnswerTopic(), {}))[0])
    assert "12393" in reply
    assert say("answer.missing", labels="", where="").split("：")[0] not in reply


async def test_handoff_without_database_still_gives_the_number(convo, domain, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    resources.restart()
    try:
        convo.user("转人工", "request_human")
        messages, _ = await convo.run(ActionHandoff(), domain)
    finally:
        resources.stop()
    assert "12393" in texts(messages) and handoff_payload(messages) is None


async def test_repeat_says_the_last_answer_again(action_db, convo, domain):
    convo.user("再说一遍", "repeat")
    messages, _ = await convo.run(ActionRepeat(), domain)
    assert "还没有回答过" in messages[0]["text"]
    convo.user("正宁县医保电子凭证怎么弄", "ask_e_voucher", [entity("city", "正宁县")])
    first, _ = await convo.run(ActionAnswerTopic(), domain)
    convo.user("没听清 再说一遍", "repeat")
    again, _ = await convo.run(ActionRepeat(), domain)
    assert again[0]["text"] == first[0]["text"]
    # The sources come again as data, so channels do not read the citation aloud.
    answer_data = [m["custom"] for m in first if m.get("custom")]
    assert answer_data and [m["custom"] for m in again if m.get("custom")] == answer_data


async def test_repeat_after_a_hand_off_gives_the_ticket_again_as_data(action_db, domain):
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("转人工", "request_human")
    first, _ = await convo.run(ActionHandoff(), domain)
    convo.user("再说一遍", "repeat")
    again, _ = await convo.run(ActionRepeat(), domain)
    assert handoff_payload(again) == handoff_payload(first) is not None


async def test_a_complaint_about_another_department_goes_to_12345(action_db, domain):
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("我要投诉公积金中心和社保局互相推诿", "complain")
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    assert handoff_payload(messages)["hotline"] == "12345"
    assert "12345" in texts(messages)


async def _hand_off(domain, metadata: dict, text: str) -> tuple[str, str]:
    """A resident asks for a person: the ticket code and the whole reply."""
    convo = Conversation(metadata=metadata)
    convo.user(text, "request_human")
    messages, _ = await convo.run(ActionHandoff(), domain)
    return handoff_payload(messages)["ticket"], texts(messages)


async def test_handoff_promises_nothing_the_deployment_does_not_do(action_db, domain, monkeypatch):
    """Off by default: no "staff can see our chat", no "we will call you back"."""
    monkeypatch.delenv("HANDOFF_TRANSCRIPT_VISIBLE", raising=False)
    monkeypatch.delenv("HANDOFF_CALLBACK", raising=False)
    code, reply = await _hand_off(domain, {"city": "长春市"}, "转人工")
    assert say("handoff.ticket", code=code) in reply
    assert say("handoff.ticket_transcript", code=code) not in reply and say("handoff.callback") not in reply
    assert "刚才的对话" not in reply and "联系您" not in reply


async def test_handoff_promises_follow_the_settings(action_db, domain, monkeypatch):
    monkeypatch.setenv("HANDOFF_TRANSCRIPT_VISIBLE", "1")
    monkeypatch.setenv("HANDOFF_CALLBACK", "true")
    resources.restart()   # the settings are read when the action server starts
    code, reply = await _hand_off(domain, {"city": "长春市"}, "转人工")
    assert say("handoff.ticket_transcript", code=code) in reply and say("handoff.callback") in reply


async def test_elder_handoff_names_the_code_plainly_too(action_db, domain, monkeypatch):
    """The gateway adds its own ticket line when the code is missing from the text;
    spelled out for listening only, the code would be missing."""
    monkeypatch.delenv("HANDOFF_TRANSCRIPT_VISIBLE", raising=False)
    monkeypatch.delenv("HANDOFF_CALLBACK", raising=False)
    code, reply = await _hand_off(domain, {"city": "江门市", "mode": "elder"}, "帮我转人工")
    assert code in reply and "、".join(code) in reply
    assert "刚才的对话" not in reply and "联系您" not in reply


async def test_a_malformed_promise_setting_still_gives_the_hotline(action_db, domain, monkeypatch):
    """A deployment variable the settings cannot read (here a word instead of a
    boolean) stops the action server at start (test_settings_at_start.py); should a
    hand-off run anyway in that process, it must not cost the resident the hotline:
    no promise is made, as when the variable is unset, and the number is given."""
    monkeypatch.setenv("HANDOFF_TRANSCRIPT_VISIBLE", "enabled")
    monkeypatch.setenv("HANDOFF_CALLBACK", "是")
    with pytest.raises(SettingsError):
        resources.restart()
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("转人工", "request_human")
    messages, _ = await convo.run(ActionHandoff(), domain)
    reply = texts(messages)
    assert "12393" in reply and say("handoff.no_ticket") in reply
    assert say("handoff.callback") not in reply and "刚才的对话" not in reply


async def test_a_tapped_button_reads_as_its_title_for_staff(action_db, domain):
    """"转人工" tapped under an answer reaches Rasa as "/request_human": the ticket shows
    staff what the resident chose, and the unanswered log keeps the question itself."""
    convo = Conversation(metadata={"channel": "web", "city": "正宁县"})
    convo.user("我那个卡的事情咋整", "nlu_fallback")
    offered, _ = await convo.run(ActionFallback(), domain)
    assert any(b["payload"] == "/request_human" for m in offered for b in m.get("buttons") or [])
    convo.user("/request_human", "request_human")
    messages, _ = await convo.run(ActionHandoff(), domain)
    ticket = tickets.get_by_code(resources.sessions, handoff_payload(messages)["ticket"])
    resident = [line for line in ticket.transcript if line["from"] == "resident"]
    assert resident == [{"from": "resident", "text": "我那个卡的事情咋整"},
                        {"from": "resident", "text": say("ask.human_button"), "chose": True}]
    with resources.sessions() as session:
        rows = session.execute(select(Unanswered).where(Unanswered.reason == "handoff")).scalars().all()
    assert [r.text for r in rows] == ["我那个卡的事情咋整"]
