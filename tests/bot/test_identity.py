"""Conversations belong to their owner: a client cannot read or continue another
sender's conversation, rotating senders gains nothing, and the address used for
limits comes from a forwarded header only when a configured proxy sent it.

Against the real app (the one ``python -m bot`` builds) and the stand-in Rasa,
which remembers the last answer per sender as Rasa's tracker does.
"""
from __future__ import annotations

import asyncio
import logging
import time
from http.cookies import SimpleCookie

import aiohttp
import pytest

from bot import keys
from bot.identity import COOKIE_NAME, ProxyPolicy, SessionSigner, match_api_key
from settings import GatewaySettings
from tests.bot.conftest import API_KEY, API_KEY_ID, answers, hold_rate_window


def fresh(client) -> aiohttp.ClientSession:
    """Another browser: its own cookie jar, same server."""
    return aiohttp.ClientSession(base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True))


async def say(session, text: str, **body) -> dict:
    async with session.post("/api/chat", json={"text": text, **body}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def set_cookie(resp) -> SimpleCookie:
    jar = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar


async def test_guessed_sender_cannot_read_or_continue_another_conversation(client, rasa_stub):
    _, state = rasa_stub
    victim = await say(client, "转人工")
    assert victim["handoff"]["ticket"] == "K7M3PQ"
    victim_sender = state.requests[-1]["sender"]
    # The stand-in remembers: the victim asking again does get the ticket back.
    assert "为您转接人工服务" in answers(await say(client, "再说一遍"))[0]["text"]

    async with fresh(client) as attacker:
        # 1. Naming the victim's sender id (or a WeChat openid) in the body.
        for guess in (victim_sender, victim_sender.split(":", 1)[1], "oUser_0123456789abcdefghijkl"):
            data = await say(attacker, "再说一遍", sender=guess)
            assert "已为您转人工" not in str(data) and "K7M3PQ" not in str(data)
            assert state.requests[-1]["sender"] != victim_sender
        # 2. A cookie carrying the victim's session id with a signature of its own.
        own = attacker.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE_NAME].value
        sid, issued, signature = own.split(".")
        forged = f"{victim_sender.split(':', 1)[1]}.{issued}.{signature}"
        attacker.cookie_jar.update_cookies({COOKIE_NAME: forged}, client.make_url("/"))
        data = await say(attacker, "再说一遍")
        assert "K7M3PQ" not in str(data) and "没有可以重复的内容" in str(data)
        assert state.requests[-1]["sender"] not in (victim_sender, f"web:{sid}")
    # 3. An integrator naming the victim reaches only its own namespace.
    async with fresh(client) as integrator:
        async with integrator.post("/api/chat", json={"sender": victim_sender, "text": "再说一遍"},
                                   headers={"X-Api-Key": API_KEY}) as resp:
            data = await resp.json()
        assert "K7M3PQ" not in str(data)
        assert state.requests[-1]["sender"] == f"api:{API_KEY_ID}:{victim_sender}"
    # The victim's own conversation is untouched.
    assert "为您转接人工服务" in answers(await say(client, "再说一遍"))[0]["text"]
    assert state.requests[-1]["sender"] == victim_sender


async def test_a_client_keeping_its_cookie_continues_its_own_conversation(make_client, settings, rasa_stub):
    _, state = rasa_stub
    client = await make_client(settings, session=False)
    first = await client.post("/api/chat", json={"text": "你好"})
    issued = set_cookie(first)[COOKIE_NAME].value  # the session comes with the first answer
    await client.post("/api/chat", json={"text": "异地就医"})
    again = await client.post("/api/chat", json={"text": "再说一遍"})
    renewed = set_cookie(again)[COOKIE_NAME].value  # the same session, for another idle period
    assert renewed.split(".")[0] == issued.split(".")[0]
    assert "异地就医前先办备案" in str(await again.json())
    assert len({r["sender"] for r in state.requests}) == 1


async def test_cookie_is_httponly_lax_signed_and_tampering_gives_a_fresh_session(make_client, settings, rasa_stub):
    _, state = rasa_stub
    client = await make_client(settings, session=False)
    resp = await client.get("/api/session")
    morsel = set_cookie(resp)[COOKIE_NAME]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    assert not morsel["secure"]  # plain HTTP on a laptop; see the HTTPS test below
    assert int(morsel["max-age"]) == 120 * 60  # ends after two hours of silence
    assert (await resp.json())["replies"][0]["kind"] == "privacy"
    await say(client, "你好")
    mine = state.requests[-1]["sender"]
    sid, issued, signature = morsel.value.split(".")
    tampered = [
        f"{sid}x.{issued}.{signature}",                       # another session id
        f"{sid}.{int(issued) - 1}.{signature}",               # another issue time
        f"{sid}.{issued}.{signature[:-2]}AA",                 # another signature
        f"{sid}.{issued}",                                    # unsigned
        "web:" + sid,                                         # a sender id
        "",
    ]
    for value in tampered:
        async with fresh(client) as other:
            other.cookie_jar.update_cookies({COOKIE_NAME: value}, client.make_url("/"))
            async with other.post("/api/chat", json={"text": "你好"}) as r:
                data = await r.json()
                reissued = set_cookie(r)
            assert COOKIE_NAME in reissued, value              # a fresh session…
            assert data["replies"][0].get("kind") == "privacy"  # …is a first contact
            assert state.requests[-1]["sender"] != mine


async def test_cookie_is_secure_over_https_from_a_trusted_proxy_and_in_production(make_client, settings):
    client = await make_client(settings, session=False, trusted_proxies=("127.0.0.1",))
    resp = await client.get("/api/session", headers={"X-Forwarded-Proto": "https"})
    assert set_cookie(resp)[COOKIE_NAME]["secure"]
    # The same header from a peer that is not our proxy proves nothing.
    client = await make_client(settings, session=False, trusted_proxies=("10.0.0.0/8",))
    resp = await client.get("/api/session", headers={"X-Forwarded-Proto": "https"})
    assert not set_cookie(resp)[COOKIE_NAME]["secure"]
    client = await make_client(settings, session=False, app_env="production", rasa_token="t",
                               gateway_secret="s" * 40)
    assert set_cookie(await client.get("/api/session"))[COOKIE_NAME]["secure"]


async def test_cookies_expire_when_idle_and_do_not_survive_another_secret():
    signer = SessionSigner("a" * 40, max_age_seconds=100)
    sid, value = signer.issue(now=1000.0)
    assert signer.verify(value, now=1050.0) == sid
    assert signer.verify(value, now=1101.0) is None
    _, renewed = signer.issue(now=1090.0, sid=sid)  # used again before it lapsed
    assert signer.verify(renewed, now=1180.0) == sid
    assert SessionSigner("b" * 40, 100).verify(value, now=1050.0) is None


async def test_an_idle_session_is_not_continued(make_client, settings, rasa_stub):
    """A shared phone or kiosk: after the idle period the next person starts afresh."""
    _, state = rasa_stub
    client = await make_client(settings, session=False)
    await client.post("/api/chat", json={"text": "转人工"})
    signer = client.server.app[keys.SESSIONS]
    sid = state.requests[-1]["sender"].split(":", 1)[1]
    _, stale = signer.issue(now=time.time() - signer.max_age - 1, sid=sid)
    client.session.cookie_jar.update_cookies({COOKIE_NAME: stale}, client.make_url("/"))
    data = await (await client.post("/api/chat", json={"text": "再说一遍"})).json()
    assert "K7M3PQ" not in str(data) and state.requests[-1]["sender"] != f"web:{sid}"


async def test_api_key_namespaces_senders_and_a_wrong_key_is_refused(make_client, settings, rasa_stub):
    _, state = rasa_stub
    client = await make_client(settings, session=False)
    resp = await client.post("/api/chat", json={"sender": "resident-42", "text": "你好"},
                             headers={"X-Api-Key": API_KEY})
    assert resp.status == 200 and COOKIE_NAME not in set_cookie(resp)
    assert state.requests[-1]["sender"] == f"api:{API_KEY_ID}:resident-42"
    assert state.requests[-1]["metadata"]["channel"] == "api"
    resp = await client.post("/api/chat", json={"sender": "resident-42", "text": "你好"},
                             headers={"Authorization": f"Bearer {API_KEY}"})
    assert resp.status == 200 and state.requests[-1]["sender"] == f"api:{API_KEY_ID}:resident-42"
    before = len(state.requests)
    for headers in ({"X-Api-Key": API_KEY[:-1]}, {"X-Api-Key": ""}, {"Authorization": "Bearer nope"},
                    {"X-Api-Key": API_KEY + " x"}):
        resp = await client.post("/api/chat", json={"sender": "resident-42", "text": "你好"}, headers=headers)
        assert resp.status == 401 and "API" in (await resp.json())["error"]
    assert len(state.requests) == before
    # Two keys, the same sender name: two conversations.
    keys_ = (("cityapp", API_KEY), ("kiosk", "kiosk-test-key-abcdefghijklmnop"))
    client = await make_client(settings, session=False, api_keys=keys_)
    for key in (API_KEY, "kiosk-test-key-abcdefghijklmnop"):
        await client.post("/api/chat", json={"sender": "r1", "text": "你好"}, headers={"X-Api-Key": key})
    assert [r["sender"] for r in state.requests[-2:]] == ["api:cityapp:r1", "api:kiosk:r1"]


def test_match_api_key_compares_every_key():
    configured = (("a", "x" * 24), ("b", "y" * 24))
    assert match_api_key(configured, "y" * 24) == "b"
    assert match_api_key(configured, "x" * 23) is None
    assert match_api_key((), "x" * 24) is None


async def test_rotating_senders_files_no_more_tickets_than_the_address_limit(make_client, settings, rasa_stub):
    _, state = rasa_stub
    client = await make_client(settings, session=False, rate_limit_per_address=5, rate_limit_per_minute=100)
    hold_rate_window(client)
    tickets = 0
    for i in range(20):
        # A new sender each time: no cookie, a sender of its own choosing, a forged
        # forwarded address (this peer is no configured proxy).
        async with fresh(client) as bot:
            async with bot.post("/api/chat", json={"sender": f"rot-{i}", "text": "转人工"},
                                headers={"X-Forwarded-For": f"198.51.100.{i}"}) as resp:
                data = await resp.json()
        tickets += data["handoff"] is not None
    assert tickets == 5
    assert sum("转人工" in r["message"] for r in state.requests) == 5
    assert len({r["sender"] for r in state.requests}) == 5  # each a fresh session, none chosen


async def test_forwarded_address_is_believed_only_from_a_configured_proxy(make_client, settings, rasa_stub):
    _, state = rasa_stub
    limited = dict(session=False, rate_limit_per_address=2, rate_limit_per_minute=100)

    async def burst(client, forwarded: str, n: int = 3) -> list[bool]:
        """Answered or not, for ``n`` new sessions claiming to come from ``forwarded``."""
        out = []
        for _ in range(n):
            async with fresh(client) as c:
                async with c.post("/api/chat", json={"text": "你好"},
                                  headers={"X-Forwarded-For": forwarded}) as resp:
                    data = await resp.json()
            out.append(any("收到" in r["text"] for r in data["replies"]))
        return out

    # Behind our proxy (127.0.0.1 is the test peer): each resident has its own budget.
    client = await make_client(settings, trusted_proxies=("127.0.0.1",), **limited)
    hold_rate_window(client)
    assert await burst(client, "203.0.113.1") == [True, True, False]
    assert await burst(client, "203.0.113.2", 1) == [True]
    # A client prepending addresses gains nothing: the proxy appended the real one.
    assert await burst(client, "192.0.2.99, 203.0.113.1", 1) == [False]
    # Not behind a configured proxy: the header is the client's word, and ignored.
    client = await make_client(settings, trusted_proxies=("10.1.2.3",), **limited)
    hold_rate_window(client)
    assert await burst(client, "203.0.113.1", 2) == [True, True]
    assert await burst(client, "203.0.113.2", 1) == [False]


@pytest.mark.parametrize("peer, header, expected", [
    ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
    ("10.0.0.5", "203.0.113.7, 10.0.0.9", "203.0.113.7"),     # through two of our proxies
    ("10.0.0.5", "1.1.1.1, 203.0.113.7", "203.0.113.7"),       # spoofed left part
    ("10.0.0.5", "not-an-ip", "10.0.0.5"),
    ("10.0.0.5", None, "10.0.0.5"),
    ("198.51.100.1", "203.0.113.7", "198.51.100.1"),           # not our proxy
    ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
])
def test_proxy_policy(peer, header, expected):
    policy = ProxyPolicy(GatewaySettings(trusted_proxies=("10.0.0.0/8",)).proxy_networks)
    assert policy.client(peer, header) == expected


async def test_openids_never_reach_rasa_store_or_logs(make_client, settings, rasa_stub, aiohttp_server, caplog):
    """Only a keyed hash of the openid is kept; the raw one only for the late reply."""
    from tests.bot.test_wechat import APP_ID, OPENID, TOKEN, FakeWeChatApi, event_xml, signed_query, text_xml

    caplog.set_level(logging.DEBUG)
    _, state = rasa_stub
    fake = FakeWeChatApi()
    server = await aiohttp_server(fake.app())
    client = await make_client(settings, session=False, wechat_token=TOKEN, wechat_app_id=APP_ID,
                               wechat_app_secret="appsecret", wechat_city="连云港市",
                               wechat_api_base=str(server.make_url("")).rstrip("/"), wechat_reply_budget=0.5)
    await client.post("/wechat", params=signed_query(), data=event_xml("subscribe", int(time.time())))
    await client.post("/wechat", params=signed_query(), data=text_xml("转人工", 1))
    state.delay = 1.0
    await client.post("/wechat", params=signed_query(), data=text_xml("慢一点，异地就医", 2))
    for _ in range(40):
        if fake.sent:
            break
        await asyncio.sleep(0.1)
    assert fake.sent and fake.sent[0]["touser"] == OPENID  # the late reply reached the resident
    app = client.server.app
    pseudonym = app[keys.PSEUDONYMS].wechat(APP_ID, OPENID)
    assert {r["sender"] for r in state.requests} == {pseudonym}
    stored = " ".join(f"{k}={v}" for k, (v, _) in app[keys.STORE]._data.items())
    assert f"seen:{pseudonym}" in stored and OPENID not in stored
    assert OPENID not in caplog.text
    # Keyed: another secret gives another pseudonym (an unkeyed hash could be recomputed).
    other = await make_client(settings, session=False, gateway_secret="z" * 40)
    assert other.server.app[keys.PSEUDONYMS].wechat(APP_ID, OPENID) != pseudonym
