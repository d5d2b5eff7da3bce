"""The privacy notice on first contact, and "删除我的记录" with a confirmation,
against the real app and real databases (SQLite files, and PostgreSQL with
TEST_POSTGRES_URL): the rows are really gone, and only the resident's own."""
from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, select

from bot.identity import COOKIE_NAME
from hotline.models import Ticket, Unanswered, sender_ref
from hotline.tickets import create_ticket, record_unanswered
from knowledge.db import make_engine, make_session_factory
from tests.bot.conftest import API_KEY, answers, seed_places

# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py, SQLEvent), created here as
# Rasa creates it, so the test needs no Rasa server.
_meta = MetaData()
EVENTS = Table(
    "events", _meta,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


# -- notice ---------------------------------------------------------------------

async def test_notice_on_first_contact_of_the_page_once(make_client, settings):
    client = await make_client(settings, session=False)
    first = await (await client.get("/api/session")).json()
    [notice] = first["replies"]
    assert notice["kind"] == "privacy" and notice["notice"] is True
    text = notice["text"]
    assert "180天" in text and "1年" in text and "删除我的记录" in text
    assert (await (await client.get("/api/session")).json())["replies"] == []  # once per session
    data = await (await client.post("/api/chat", json={"text": "你好"})).json()
    assert [r for r in data["replies"] if r.get("kind") == "privacy"] == []


async def test_notice_comes_with_the_first_answer_of_a_client_that_skipped_the_page(make_client, settings):
    client = await make_client(settings, session=False)
    data = await (await client.post("/api/chat", json={"text": "你好"})).json()
    assert data["replies"][0]["kind"] == "privacy" and answers(data)[0]["text"] == "收到：你好"
    again = await (await client.post("/api/chat", json={"text": "你好"})).json()
    assert not any(r.get("kind") == "privacy" for r in again["replies"])


async def test_notice_states_the_configured_retention(make_client, settings):
    client = await make_client(settings, session=False, conversation_retention_days=90,
                               resolved_ticket_retention_days=730)
    [notice] = (await (await client.get("/api/session")).json())["replies"]
    assert "90天" in notice["text"] and "2年" in notice["text"] and "180天" not in notice["text"]


async def test_notice_once_per_integrator_sender(api_client):
    kinds = []
    for sender in ("a", "a", "b"):
        data = await (await api_client.post("/api/chat", json={"sender": sender, "text": "你好"})).json()
        kinds.append(data["replies"][0].get("kind"))
    assert kinds == ["privacy", None, "privacy"]


def test_retention_figures_come_from_the_environment():
    from settings import GatewaySettings

    s = GatewaySettings.from_env({"CONVERSATION_RETENTION_DAYS": "30", "TICKET_RETENTION_DAYS": "400"})
    assert (s.conversation_retention_days, s.resolved_ticket_retention_days) == (30, 400)
    s = GatewaySettings.from_env({})
    assert (s.conversation_retention_days, s.resolved_ticket_retention_days) == (180, 365)


# -- deletion -------------------------------------------------------------------

def _databases(tmp_path: Path) -> list[tuple[str, str, str]]:
    """(label, knowledge/tickets URL, tracker URL): SQLite files, and PostgreSQL if set."""
    out = [("sqlite", f"sqlite:///{tmp_path / 'assistant.db'}", f"sqlite:///{tmp_path / 'tracker.db'}")]
    if os.environ.get("TEST_POSTGRES_URL"):
        url = os.environ["TEST_POSTGRES_URL"]
        out.append(("postgres", url, url))
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request, tmp_path, monkeypatch):
    """Knowledge/tickets and tracker databases, configured as the gateway process and
    ``retention.forget_sender`` read them (DATABASE_URL, TRACKER_DATABASE_URL)."""
    found = {label: (db, tracker) for label, db, tracker in _databases(tmp_path)}
    if request.param not in found:
        pytest.skip("TEST_POSTGRES_URL is not set")
    db, tracker = found[request.param]
    seed_places(db)
    engine = make_engine(tracker)
    _meta.create_all(engine)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", db)
    monkeypatch.setenv("TRACKER_DATABASE_URL", tracker)
    return db, tracker


def keep_conversation(db: str, tracker: str, sender: str, text: str) -> str:
    """What Rasa and the actions keep of a conversation: tracker events, a ticket
    with its transcript, a logged unanswered question."""
    engine = make_engine(tracker)
    with engine.begin() as conn:
        for kind in ("action", "user", "bot"):
            conn.execute(EVENTS.insert().values(
                sender_id=sender, type_name=kind, timestamp=time.time(),
                data=json.dumps({"event": kind, "text": text}, ensure_ascii=False)))
    engine.dispose()
    engine = make_engine(db)
    sessions = make_session_factory(engine)
    ticket = create_ticket(sessions, place="连云港市", topic="ask_remote_care_filing", channel="web", hotline="12393",
                  reason="request_human", transcript=[{"from": "resident", "text": text}],
                  slots={"disease": "高血压"}, sender=sender)
    record_unanswered(sessions, "连云港市", None, text, "fallback", sender=sender)
    engine.dispose()
    return ticket.code


def kept(db: str, tracker: str, sender: str, code: str) -> dict[str, object]:
    """What is left of ``sender``'s conversation and of its ticket ``code``."""
    engine = make_engine(tracker)
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(EVENTS)
                              .where(EVENTS.c.sender_id == sender)).scalar_one()
    engine.dispose()
    engine = make_engine(db)
    ref = sender_ref(sender)
    with engine.connect() as conn:
        ticket = conn.execute(select(Ticket.transcript, Ticket.slots, Ticket.sender_ref)
                              .where(Ticket.code == code)).one()
        unanswered = conn.execute(select(func.count()).select_from(Unanswered)
                                  .where(Unanswered.sender_ref == ref)).scalar_one()
    engine.dispose()
    return {"events": events, "transcript": ticket.transcript, "slots": ticket.slots,
            "linked": ticket.sender_ref == ref, "unanswered": unanswered}


async def test_delete_my_records_after_confirmation(make_client, settings, rasa_stub, stores):
    db, tracker = stores
    _, state = rasa_stub
    client = await make_client(settings, database_url=db)
    await client.post("/api/chat", json={"text": "我有高血压，异地就医怎么备案"})
    mine = state.requests[-1]["sender"]
    other = f"web:someone-else-{secrets.token_hex(4)}"
    code = keep_conversation(db, tracker, mine, "我有高血压，异地就医怎么备案")
    other_code = keep_conversation(db, tracker, other, "别人的问题")
    before = kept(db, tracker, mine, code)
    assert before["events"] == 3 and before["unanswered"] == 1 and before["linked"]
    assert before["slots"] == {"disease": "高血压"}

    # The request: a confirmation, nothing deleted yet, nothing sent to Rasa.
    asked = len(state.requests)
    data = await (await client.post("/api/chat", json={"text": "删除我的记录"})).json()
    confirm = data["replies"][-1]
    assert "确认删除" in confirm["text"]
    assert [b["title"] for b in confirm["buttons"]] == ["确认删除", "取消"]
    assert kept(db, tracker, mine, code) == before
    # Confirmed with the button: deleted, and a fresh session begins.
    resp = await client.post("/api/chat", json={"text": confirm["buttons"][0]["payload"]})
    data = await resp.json()
    assert "已删除" in data["replies"][-1]["text"] and data["new_session"] is True
    assert len(state.requests) == asked  # handled in the gateway, before Rasa
    # The ticket itself stays (staff may owe a call back), without what was said.
    assert kept(db, tracker, mine, code) == {"events": 0, "transcript": [], "slots": {}, "linked": False,
                                             "unanswered": 0}
    theirs = kept(db, tracker, other, other_code)
    assert theirs["events"] == 3 and theirs["unanswered"] == 1 and theirs["transcript"] and theirs["linked"]
    new_cookie = resp.cookies[COOKIE_NAME].value
    assert new_cookie and mine.split(":", 1)[1] not in new_cookie
    data = await (await client.post("/api/chat", json={"text": "再说一遍"})).json()
    assert state.requests[-1]["sender"] != mine  # the deleted conversation is not continued
    assert answers(data)[0]["text"] == "没有可以重复的内容"


@pytest.mark.parametrize("request_text", ["删除我的记录", "请删除我的聊天记录", "删掉我的对话记录！",
                                          "清除我的全部记录", "我的记录请删除", "删除 我的 记录。"])
async def test_deletion_request_variants_ask_first(client, rasa_stub, request_text):
    data = await (await client.post("/api/chat", json={"text": request_text})).json()
    assert "确认删除" in data["replies"][-1]["text"]
    assert rasa_stub[1].requests == []


@pytest.mark.parametrize("question", ["怎么删除医保缴费记录", "删除记录以后还能报销吗？我上个月在医院看病花了很多钱"])
async def test_questions_about_deleting_other_records_go_to_rasa(client, rasa_stub, question):
    await client.post("/api/chat", json={"text": question})
    assert rasa_stub[1].requests[-1]["message"].startswith(question[:4])


async def test_cancel_or_moving_on_deletes_nothing(make_client, settings, rasa_stub, stores):
    db, tracker = stores
    _, state = rasa_stub
    client = await make_client(settings, database_url=db)
    await client.post("/api/chat", json={"text": "你好"})
    mine = state.requests[-1]["sender"]
    code = keep_conversation(db, tracker, mine, "你好")
    await client.post("/api/chat", json={"text": "删除我的记录"})
    data = await (await client.post("/api/chat", json={"text": "取消"})).json()
    assert "没有删除" in data["replies"][-1]["text"]
    await client.post("/api/chat", json={"text": "删除我的记录"})
    await client.post("/api/chat", json={"text": "异地就医怎么备案"})   # moved on
    data = await (await client.post("/api/chat", json={"text": "确认删除"})).json()
    assert "确认删除" in data["replies"][-1]["text"] and "已删除" not in str(data)  # asked again
    assert kept(db, tracker, mine, code)["events"] == 3
    assert state.requests[-1]["sender"] == mine


async def test_deletion_through_an_api_key_and_wechat(make_client, settings, rasa_stub, stores):
    db, tracker = stores
    from wechatpy import parse_message

    from bot import keys
    from tests.bot.test_wechat import APP_ID, OPENID, TOKEN, signed_query, text_xml

    client = await make_client(settings, session=False, database_url=db, wechat_token=TOKEN,
                               wechat_app_id=APP_ID, wechat_app_secret="appsecret", wechat_city="连云港市")
    api_sender = "api:cityapp:resident-7"
    code = keep_conversation(db, tracker, api_sender, "你好")
    for text in ("删除我的记录", "确认删除"):
        resp = await client.post("/api/chat", json={"sender": "resident-7", "text": text},
                                 headers={"X-Api-Key": API_KEY})
    assert (await resp.json())["new_session"] is True
    assert kept(db, tracker, api_sender, code)["events"] == 0

    wx_sender = client.server.app[keys.PSEUDONYMS].wechat(APP_ID, OPENID)
    code = keep_conversation(db, tracker, wx_sender, "你好")
    replies = []
    for i, text in enumerate(("删除我的记录", "确认删除")):
        resp = await client.post("/wechat", params=signed_query(nonce=f"d{i}"), data=text_xml(text, 9100 + i))
        replies.append(parse_message(await resp.text()).content)
    assert "您可以回复：确认删除｜取消" in replies[0] and "已删除" in replies[1]
    assert kept(db, tracker, wx_sender, code)["events"] == 0
    resp = await client.post("/wechat", params=signed_query(nonce="d9"), data=text_xml("你好", 9199))
    assert "隐私说明" in parse_message(await resp.text()).content  # a fresh start: the notice again


async def test_failed_deletion_says_so_with_the_hotline(make_client, settings, rasa_stub):
    def broken(sender_id: str) -> dict[str, int]:
        raise RuntimeError("database down")

    client = await make_client(settings, forget=broken)
    await client.post("/api/chat", json={"text": "删除我的记录"})
    data = await (await client.post("/api/chat", json={"text": "确认删除"})).json()
    assert "没能删除" in data["replies"][-1]["text"] and "12393" in data["replies"][-1]["text"]
    assert "new_session" not in data
