"""The WeChat webhook, driven the way WeChat's servers drive it: signed query
strings, plaintext and safe (AES) mode, retries, and the customer-service API."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time

import pytest
from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat import Rejected, check_xml, split_text
from tests.bot import stub_rasa

TOKEN = "gatewaytesttoken"
APP_ID = "wx1234567890abcdef"
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")  # 43 characters
OPENID = "oUser_0123456789abcdefghijkl"


def sign(timestamp: str, nonce: str, *extra: str) -> str:
    """WeChat's signature: SHA-1 of the sorted, concatenated strings."""
    return hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce, *extra])).encode()).hexdigest()


def text_xml(content: str, msg_id: int, msg_type: str = "text", extra: str = "") -> str:
    body = f"<Content><![CDATA[{content}]]></Content>" if msg_type == "text" else extra
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"{body}<MsgId>{msg_id}</MsgId></xml>")


def event_xml(event: str, created: int) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event></xml>")


def signed_query(timestamp: int | None = None, nonce: str = "n0nce") -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {"signature": sign(ts, nonce), "timestamp": ts, "nonce": nonce, "openid": OPENID}


class FakeWeChatApi:
    """Stand-in for api.weixin.qq.com: token and customer-service send."""

    def __init__(self):
        self.token_calls = 0
        self.sent: list[dict] = []
        self.reject_first_send = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.send)
        return app

    async def token(self, request: web.Request) -> web.Response:
        assert request.query["appid"] == APP_ID and request.query["secret"] == "appsecret"
        self.token_calls += 1
        return web.json_response({"access_token": f"TOKEN{self.token_calls}", "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        if self.reject_first_send and not self.sent:
            self.reject_first_send = False
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        body = json.loads(await request.read())
        self.sent.append({**body, "access_token": request.query["access_token"]})
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@pytest.fixture
async def wechat_api(aiohttp_server):
    fake = FakeWeChatApi()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
def wechat_settings(settings, wechat_api):
    return settings.replace(wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_app_secret="appsecret",
                            wechat_city="连云港市", wechat_api_base=wechat_api.url, wechat_reply_budget=1.0)


@pytest.fixture
async def wx(make_client, wechat_settings):
    return await make_client(wechat_settings)


def reply_content(xml: str) -> str:
    return parse_message(xml).content


# -- verification ---------------------------------------------------------------

async def test_get_verification_echoes_echostr(wx):
    resp = await wx.get("/wechat", params={**signed_query(), "echostr": "hello123"})
    assert resp.status == 200 and await resp.text() == "hello123"


def _bad_query(case: str, window: int) -> dict[str, str]:
    """A query that fails verification for one reason; built when the test runs."""
    now = int(time.time())
    if case == "unsigned request":
        return {}
    if case == "bad signature":
        return {**signed_query(now), "signature": "0" * 40}
    if case == "stale timestamp":  # correctly signed, just outside the window
        return signed_query(now - window - 60)
    if case == "bad timestamp":
        return {**signed_query(now), "timestamp": "yesterday"}
    raise ValueError(case)


@pytest.mark.parametrize("case", ["unsigned request", "bad signature", "stale timestamp", "bad timestamp"])
async def test_bad_or_stale_signatures_are_403(wx, wechat_settings, rasa_stub, caplog, case):
    _, state = rasa_stub
    query = _bad_query(case, wechat_settings.wechat_timestamp_window)
    caplog.clear()
    assert (await wx.get("/wechat", params={**query, "echostr": "x"})).status == 403
    resp = await wx.post("/wechat", params=query, data=text_xml("异地就医", 1))
    assert resp.status == 403
    # Refused for this case's own reason, by GET and POST alike (not by chance of timing).
    reasons = [r.getMessage().rsplit(": ", 1)[-1] for r in caplog.records if "rejected" in r.getMessage()]
    assert reasons == [case, case]
    assert state.requests == []


async def test_a_signature_inside_the_window_is_accepted(wx, wechat_settings):
    """The other side of the stale case: just inside the window is still fresh."""
    query = signed_query(int(time.time()) - wechat_settings.wechat_timestamp_window + 60)
    resp = await wx.get("/wechat", params={**query, "echostr": "fresh"})
    assert resp.status == 200 and await resp.text() == "fresh"


async def test_doctype_and_oversized_bodies_are_refused(wx, rasa_stub):
    _, state = rasa_stub
    evil = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + text_xml("&x;", 2))
    assert (await wx.post("/wechat", params=signed_query(), data=evil)).status == 400
    big = text_xml("啊" * 20000, 3)
    assert (await wx.post("/wechat", params=signed_query(), data=big)).status == 413
    assert (await wx.post("/wechat", params=signed_query(), data="<xml><unclosed>")).status == 400
    assert state.requests == []


def test_check_xml_refuses_entities_in_any_case():
    with pytest.raises(Rejected):
        check_xml(b"<!doctype x><xml/>")
    with pytest.raises(Rejected):
        check_xml("<xml><!ENTITY a 'b'></xml>")
    check_xml(text_xml("你好", 1))


# -- messages -------------------------------------------------------------------

async def test_text_message_goes_through_the_pipeline(wx, rasa_stub):
    _, state = rasa_stub
    resp = await wx.post("/wechat", params=signed_query(), data=text_xml("异地就医怎么备案", 101).encode())
    assert resp.status == 200
    content = reply_content(await resp.text())
    assert "依据：" in content and "您可以回复：需要什么材料｜转人工" in content
    assert content.startswith("隐私说明") and "180天" in content  # first contact: the notice first
    sent = state.requests[-1]
    # Rasa sees a keyed pseudonym of the openid, never the openid itself.
    assert sent["sender"].startswith("wx:") and OPENID not in sent["sender"]
    assert sent["metadata"] == {"city": "连云港市", "mode": "standard", "channel": "wechat"}
    again = await wx.post("/wechat", params=signed_query(), data=text_xml("异地就医怎么备案", 102).encode())
    assert "隐私说明" not in reply_content(await again.text())  # once only
    assert state.requests[-1]["sender"] == sent["sender"]  # the same conversation continues


async def test_retried_msgid_is_answered_once(wx, rasa_stub):
    _, state = rasa_stub
    xml = text_xml("转人工", 202)
    first = await wx.post("/wechat", params=signed_query(nonce="a"), data=xml)
    retry = await wx.post("/wechat", params=signed_query(nonce="b"), data=xml)
    assert reply_content(await first.text()) == reply_content(await retry.text())
    assert "K7M3PQ" in reply_content(await retry.text())
    assert len(state.requests) == 1  # one ticket, not two


async def test_hand_off_and_sources_are_rendered_from_the_replies_data(wx, rasa_stub):
    """WeChat shows the actions' text as written: the hand-off in their words only
    (the gateway adds none), a citation whatever its wording."""
    handoff = await wx.post("/wechat", params=signed_query(), data=text_xml("转人工", 401))
    content = reply_content(await handoff.text()).split("\n\n")[-1]  # after the notice
    assert content == stub_rasa.answer("转人工", {})[0]["text"]
    assert content.count(stub_rasa.TICKET) == 1
    paid = await wx.post("/wechat", params=signed_query(), data=text_xml("怎么缴费", 402))
    lines = reply_content(await paid.text()).split("\n")
    assert lines[1] == f"（本条出自{stub_rasa.PAYMENT_SOURCE['short']}，2024年）" and lines[2].startswith("各地具体渠道")


async def test_voice_uses_recognition_in_elder_mode(wx, rasa_stub):
    _, state = rasa_stub
    voice = ("<MediaId><![CDATA[m1]]></MediaId><Format><![CDATA[amr]]></Format>"
             "<Recognition><![CDATA[异地就医怎么备案]]></Recognition>")
    resp = await wx.post("/wechat", params=signed_query(), data=text_xml("", 303, "voice", voice))
    answer = reply_content(await resp.text()).split("\n\n")[-1]  # after the notice
    assert answer.startswith("规划提出") and "第一步" in answer  # the brief elder variant
    assert state.requests[-1]["metadata"]["mode"] == "elder"
    empty = "<MediaId><![CDATA[m2]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[]]></Recognition>"
    resp = await wx.post("/wechat", params=signed_query(), data=text_xml("", 304, "voice", empty))
    assert "没听清" in reply_content(await resp.text())
    assert len(state.requests) == 1


async def test_a_choice_typed_or_said_back_is_sent_as_its_button(wx, rasa_stub):
    """WeChat lists a reply's choices ("您可以回复：连云港市"): answering with one is a
    tap on it, its payload carrying the place; anything else is the resident's words."""
    _, state = rasa_stub
    payload = '/inform{"city": "连云港市"}'
    offered = await wx.post("/wechat", params=signed_query(), data=text_xml("按钮", 701))
    assert "您可以回复：连云港市" in reply_content(await offered.text())
    await wx.post("/wechat", params=signed_query(), data=text_xml(" 連雲港市。", 702))
    assert state.requests[-1]["message"] == payload
    said = "<MediaId><![CDATA[m9]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[连云港市。]]></Recognition>"
    await wx.post("/wechat", params=signed_query(), data=text_xml("按钮", 703))
    await wx.post("/wechat", params=signed_query(), data=text_xml("", 704, "voice", said))
    assert state.requests[-1]["message"] == payload
    await wx.post("/wechat", params=signed_query(), data=text_xml("按钮", 705))
    await wx.post("/wechat", params=signed_query(), data=text_xml("连云港市怎么备案", 706))
    assert state.requests[-1]["message"] == "连云港市怎么备案"
    # A reply without choices ends the offer: the name is then just the resident's words.
    await wx.post("/wechat", params=signed_query(), data=text_xml("按钮", 707))
    await wx.post("/wechat", params=signed_query(), data=text_xml("你好", 708))
    await wx.post("/wechat", params=signed_query(), data=text_xml("连云港市", 709))
    assert state.requests[-1]["message"] == "连云港市"


async def test_subscribe_welcome_once_and_other_types_explained(wx, rasa_stub):
    created = int(time.time())
    first = await wx.post("/wechat", params=signed_query(), data=event_xml("subscribe", created))
    assert "异地就医备案" in reply_content(await first.text())
    assert "隐私说明" in reply_content(await first.text())  # the notice comes with the welcome
    again = await wx.post("/wechat", params=signed_query(nonce="z"), data=event_xml("subscribe", created))
    assert reply_content(await again.text()) == reply_content(await first.text())
    unsub = await wx.post("/wechat", params=signed_query(), data=event_xml("unsubscribe", created))
    assert await unsub.text() == "success"
    image = "<PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId>"
    resp = await wx.post("/wechat", params=signed_query(), data=text_xml("", 404, "image", image))
    assert "文字和语音" in reply_content(await resp.text())
    _, state = rasa_stub
    assert state.requests == []


async def test_slow_rasa_replies_pending_then_sends_customer_service_message(wx, rasa_stub, wechat_api):
    _, state = rasa_stub
    state.delay = 1.3  # beyond the 1.0 s reply budget, within the 1.5 s Rasa timeout
    started = time.monotonic()
    resp = await wx.post("/wechat", params=signed_query(), data=text_xml("慢慢来，异地就医怎么备案", 505))
    assert time.monotonic() - started < 1.3
    assert "正在为您查询" in reply_content(await resp.text())
    # A retry meanwhile replays the same reply instead of asking Rasa again.
    retry = await wx.post("/wechat", params=signed_query(nonce="r"), data=text_xml("慢慢来，异地就医怎么备案", 505))
    assert "正在为您查询" in reply_content(await retry.text())
    for _ in range(50):
        if wechat_api.sent:
            break
        await asyncio.sleep(0.1)
    assert len(wechat_api.sent) == 1
    sent = wechat_api.sent[0]
    assert sent["touser"] == OPENID and sent["msgtype"] == "text"
    assert "依据：" in sent["text"]["content"] and sent["access_token"] == "TOKEN1"
    assert len(state.requests) == 1


async def test_choices_sent_late_can_be_typed_back_too(wx, rasa_stub, wechat_api):
    _, state = rasa_stub
    state.delay = 1.3  # the answer comes through the customer-service API
    resp = await wx.post("/wechat", params=signed_query(), data=text_xml("慢慢来，给我按钮", 801))
    assert "正在为您查询" in reply_content(await resp.text())
    for _ in range(50):
        if wechat_api.sent:
            break
        await asyncio.sleep(0.1)
    assert "您可以回复：连云港市" in wechat_api.sent[0]["text"]["content"]
    await wx.post("/wechat", params=signed_query(), data=text_xml("连云港市", 802))
    assert state.requests[-1]["message"] == '/inform{"city": "连云港市"}'


async def test_access_token_is_cached_and_refreshed_when_rejected(wx, wechat_api):
    from bot import keys

    api = wx.server.app[keys.WECHAT_API]
    await api.send_text(OPENID, "一")
    await api.send_text(OPENID, "二")
    assert wechat_api.token_calls == 1
    wechat_api.reject_first_send = True
    wechat_api.sent.clear()
    await api.send_text(OPENID, "三")
    assert wechat_api.token_calls == 2 and wechat_api.sent[0]["access_token"] == "TOKEN2"


async def test_long_answers_are_split_for_wechat():
    parts = split_text("第一段" * 400 + "\n" + "第二段" * 400)
    assert len(parts) >= 2 and all(len(p.encode()) <= 2000 for p in parts)
    assert "".join(parts).replace("\n", "") == ("第一段" * 400 + "第二段" * 400)


# -- safe mode ----------------------------------------------------------------------

@pytest.fixture
async def wx_safe(make_client, wechat_settings):
    return await make_client(wechat_settings, wechat_aes_key=AES_KEY)


async def test_safe_mode_round_trip(wx_safe, rasa_stub):
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    ts, nonce = str(int(time.time())), "safe1"
    envelope = crypto.encrypt_message(text_xml("异地就医怎么备案", 606), nonce, ts)
    msg_signature = parse_envelope(envelope)["MsgSignature"]
    params = {**signed_query(int(ts), nonce), "encrypt_type": "aes", "msg_signature": msg_signature}
    resp = await wx_safe.post("/wechat", params=params, data=envelope)
    assert resp.status == 200
    body = await resp.text()
    answer = parse_envelope(body)
    plain = crypto.decrypt_message(body, answer["MsgSignature"], answer["TimeStamp"], answer["Nonce"])
    assert "依据：" in parse_message(plain).content


async def test_safe_mode_rejects_bad_msg_signature_and_plaintext(wx_safe, rasa_stub):
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    ts, nonce = str(int(time.time())), "safe2"
    envelope = crypto.encrypt_message(text_xml("你好", 707), nonce, ts)
    params = {**signed_query(int(ts), nonce), "encrypt_type": "aes", "msg_signature": "f" * 40}
    assert (await wx_safe.post("/wechat", params=params, data=envelope)).status == 403
    assert (await wx_safe.post("/wechat", params=signed_query(), data=text_xml("你好", 708))).status == 403
    _, state = rasa_stub
    assert state.requests == []


def parse_envelope(xml: str) -> dict[str, str]:
    import xmltodict

    return dict(xmltodict.parse(xml)["xml"])


async def test_not_configured_is_503(client):
    assert (await client.get("/wechat")).status == 503
