"""``/api/chat``, ``/health``, the page and the middleware, against the real app."""
from __future__ import annotations

import pytest

from bot.middleware import CSP
from tests.bot import stub_rasa
from tests.bot.conftest import answers


async def test_chat_answer_carries_its_sources_as_data(client, rasa_stub):
    _, state = rasa_stub
    resp = await client.post("/api/chat", json={"sender": "u1", "text": "异地就医怎么备案", "city": "连云港市"})
    assert resp.status == 200
    data = await resp.json()
    assert data["handoff"] is None
    [first] = answers(data)
    assert first["buttons"][1] == {"title": "转人工", "payload": "/request_human"}
    assert first["meta"]["scope"] == "local" and first["meta"]["entry_id"] == stub_rasa.LOCAL_SOURCE["entry_id"]
    # Every cited source as the actions sent it, and which line of the text cites which.
    assert first["sources"] == [stub_rasa.LOCAL_SOURCE, stub_rasa.NATIONAL_SOURCE]
    assert "\n".join(line["text"] for line in first["lines"]) == first["text"]  # the text as written
    cited = {line["source"]: line["text"] for line in first["lines"] if "source" in line}
    assert cited == {0: stub_rasa.SOURCE_LINE.format(short=stub_rasa.LOCAL_SOURCE["short"]), 1: stub_rasa.SOURCE}
    sent = state.requests[-1]
    assert sent["sender"].startswith("web:") and "u1" not in sent["sender"]  # the session's, not the body's
    assert sent["metadata"] == {"city": "连云港市", "mode": "standard", "channel": "web"}


async def test_a_citation_worded_differently_is_still_found_from_the_data(client, rasa_stub):
    """The regular expression on "依据：" this replaced broke on any change of wording."""
    data = await (await client.post("/api/chat", json={"text": "怎么缴费"})).json()
    [reply] = answers(data)
    assert "依据" not in reply["text"]
    [cited] = [line for line in reply["lines"] if "source" in line]
    assert cited == {"text": f"（本条出自{stub_rasa.PAYMENT_SOURCE['short']}，2024年）", "source": 0}
    assert reply["sources"] == [stub_rasa.PAYMENT_SOURCE]


async def test_button_payload_is_sent_as_text_and_handoff_returned(client, rasa_stub):
    _, state = rasa_stub
    resp = await client.post("/api/chat", json={"sender": "u2", "text": "/request_human", "mode": "elder"})
    data = await resp.json()
    assert data["handoff"] == {"hotline": "12393", "ticket": "K7M3PQ"}
    # On the reply that announces it, and that reply's wording is the action's alone.
    [reply] = answers(data)
    assert reply["handoff"] == data["handoff"]
    assert reply["text"] == stub_rasa.answer("/request_human", {})[0]["text"]
    assert state.requests[-1]["message"] == "/request_human"
    assert state.requests[-1]["metadata"] == {"mode": "elder", "channel": "web"}


@pytest.mark.parametrize("body, expected", [
    (b"not json", "JSON"),
    (b"[1, 2]", "JSON"),
    (b'{"text": "hi"}', "sender"),
    (b'{"sender": 5, "text": "hi"}', "sender"),
    (b'{"sender": "u", "text": 7}', "text"),
    (b'{"sender": "u"}', "text"),
    (b'{"sender": "u", "text": "hi", "mode": "loud"}', "mode"),
    ('{"sender": "u", "text": "hi", "city": "北京市"}'.encode(), "city"),
    ('{"sender": "u", "text": "hi", "city": ["连云港市"]}'.encode(), "city"),
    ("{\"sender\": \"" .encode() + b"x" * 200 + b'", "text": "hi"}', "sender"),
    (b"\xff\xfe", "JSON"),
])
async def test_bad_requests_are_400_with_a_bilingual_message(api_client, body, expected):
    """An integrator's requests (with an API key), where ``sender`` is required."""
    resp = await api_client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert expected in error
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error)  # Chinese and English


async def test_oversized_body_is_413(client):
    resp = await client.post("/api/chat", data=b"{" + b" " * 70000 + b"}",
                             headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert "error" in await resp.json()


async def test_rasa_down_gives_hotline_apology_not_500(make_client, settings):
    client = await make_client(settings, rasa_urls=("http://127.0.0.1:9",))
    resp = await client.post("/api/chat", json={"sender": "u3", "text": "异地就医"})
    assert resp.status == 200
    data = await resp.json()
    assert "12393" in data["replies"][0]["text"]


async def test_health_reports_rasa_and_actions(client):
    resp = await client.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "rasa": "ok", "actions": "down"}


async def test_health_with_rasa_down(make_client, settings):
    client = await make_client(settings, rasa_urls=("http://127.0.0.1:9",))
    assert (await (await client.get("/health")).json())["rasa"] == "down"


async def test_page_is_served_with_strict_headers(client):
    resp = await client.get("/")
    assert resp.status == 200
    html = await resp.text()
    assert 'href="tel:12393"' in html and "/static/app.js" in html
    assert "<script>" not in html  # no inline script: CSP would block it anyway
    assert resp.headers["Content-Security-Policy"] == CSP
    assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    for name in ("app.js", "style.css"):
        assert (await client.get(f"/static/{name}")).status == 200


async def test_unknown_api_path_is_json_404(client):
    resp = await client.get("/api/nothing")
    assert resp.status == 404
    assert "error" in await resp.json()


async def test_wrong_method_is_json_405(client):
    resp = await client.get("/api/chat")
    assert resp.status == 405
    assert "error" in await resp.json()


async def test_app_keys_follow_the_contract(client):
    """The state other packages read (bot.staff) sits under typed keys, with those types."""
    from aiohttp import web
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import sessionmaker

    from bot import keys
    from bot.rasa_client import RasaClient
    from knowledge.store import KnowledgeStore
    from settings import GatewaySettings

    app = client.server.app
    for key, kind in [(keys.SETTINGS, GatewaySettings), (keys.RASA, RasaClient), (keys.DB_ENGINE, Engine),
                      (keys.DB_SESSIONS, sessionmaker), (keys.KNOWLEDGE, KnowledgeStore)]:
        assert isinstance(key, web.AppKey) and isinstance(app[key], kind), key
    assert [p.name for p in app[keys.KNOWLEDGE].places()][:1]
    # No state under plain string names: every reader uses the typed keys.
    assert not [k for k in app if isinstance(k, str)]


async def test_unexpected_error_is_logged_and_answered_with_hotline(client, caplog):
    from bot import keys

    async def broken(*args, **kwargs):
        raise RuntimeError("bug")

    client.server.app[keys.CHAT].handle = broken
    resp = await client.post("/api/chat", json={"sender": "u", "text": "你好"})
    assert resp.status == 503
    data = await resp.json()
    assert "12393" in data["replies"][0]["text"] and data["handoff"] is None
    assert "unhandled error" in caplog.text
