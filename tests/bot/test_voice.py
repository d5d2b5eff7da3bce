"""``/api/asr`` against a stand-in recogniser, ``/api/tts`` with the real espeak-ng."""
from __future__ import annotations

import shutil
import struct

import pytest
from aiohttp import web

from bot import keys
from bot.chat import convert, reply_lines
from bot.voice.asr import AsrBackendError, extract_text
from bot.voice.tts import script, speakable
from tests.bot import stub_rasa

WEBM = b"\x1aE\xdf\xa3" + b"\x00" * 2000  # EBML magic and padding: the stand-in does not decode


@pytest.fixture
async def asr_server(aiohttp_server):
    received: list[dict] = []
    behaviour = {"status": 200, "body": {"result": [{"text": "异地就医"}, {"text": "怎么备案"}]}}

    async def recognise(request: web.Request) -> web.Response:
        received.append({"type": request.content_type, "size": len(await request.read())})
        if behaviour["status"] != 200:
            return web.Response(status=behaviour["status"], text="engine error")
        return web.json_response(behaviour["body"])

    app = web.Application()
    app.router.add_post("/asr", recognise)
    server = await aiohttp_server(app)
    return str(server.make_url("/asr")), received, behaviour


async def test_asr_transcribes_through_the_backend(make_client, settings, asr_server):
    url, received, _ = asr_server
    client = await make_client(settings, asr_url=url)
    resp = await client.post("/api/asr", data=WEBM, headers={"Content-Type": "audio/webm;codecs=opus"})
    assert resp.status == 200
    assert await resp.json() == {"text": "异地就医怎么备案"}
    assert received == [{"type": "audio/webm", "size": len(WEBM)}]
    voice = await (await client.get("/api/voice")).json()
    assert voice["asr"] is True and voice["asr_provider"] == "127.0.0.1"  # named before anyone speaks
    client = await make_client(settings, asr_url=url, asr_provider="市政务云语音识别")
    assert (await (await client.get("/api/voice")).json())["asr_provider"] == "市政务云语音识别"


async def test_asr_backend_failure_is_502_never_a_fake_transcript(make_client, settings, asr_server):
    url, _, behaviour = asr_server
    client = await make_client(settings, asr_url=url)
    behaviour["status"] = 500
    resp = await client.post("/api/asr", data=WEBM, headers={"Content-Type": "audio/ogg"})
    assert resp.status == 502 and "text" not in await resp.json()
    behaviour.update(status=200, body={"unexpected": True})
    resp = await client.post("/api/asr", data=WEBM, headers={"Content-Type": "audio/ogg"})
    assert resp.status == 502


async def test_asr_unreachable_backend_is_502(make_client, settings):
    client = await make_client(settings, asr_url="http://127.0.0.1:9/asr")
    resp = await client.post("/api/asr", data=WEBM, headers={"Content-Type": "audio/wav"})
    assert resp.status == 502


async def test_asr_not_configured_is_503(client):
    resp = await client.post("/api/asr", data=WEBM, headers={"Content-Type": "audio/webm"})
    assert resp.status == 503 and "error" in await resp.json()
    assert (await (await client.get("/api/voice")).json()) == {"asr": False, "asr_provider": None,
                                                               "tts": client.server.app[keys.TTS].available}


async def test_asr_checks_type_size_and_emptiness(make_client, settings, asr_server):
    url, received, _ = asr_server
    client = await make_client(settings, asr_url=url, asr_max_bytes=4096)
    assert (await client.post("/api/asr", data=WEBM, headers={"Content-Type": "video/mp4"})).status == 415
    assert (await client.post("/api/asr", data=b"x" * 5000, headers={"Content-Type": "audio/wav"})).status == 413
    assert (await client.post("/api/asr", data=b"", headers={"Content-Type": "audio/wav"})).status == 400
    assert received == []


def test_extract_text_shapes():
    assert extract_text({"text": " 你好 "}) == "你好"
    assert extract_text({"data": {"result": "备案"}}) == "备案"
    assert extract_text({"transcript": ""}) == ""
    with pytest.raises(AsrBackendError):
        extract_text({"status": "ok"})


def test_speakable_spells_hotlines():
    assert speakable("请拨打12393咨询<b>。") == "请拨打1 2 3 9 3咨询 b 。"


@pytest.mark.parametrize("message", ["异地就医怎么备案", "怎么缴费", "转人工"])
def test_the_reading_script_leaves_out_the_cited_sources_from_the_data(message):
    """What is read aloud follows the replies' structure: the lines citing a source
    are left out whatever their wording; everything else is read, in order."""
    replies, _ = convert(stub_rasa.answer(message, {"mode": "elder"}))
    cited = [line["text"] for r in replies for line in r.get("lines", []) if "source" in line]
    spoken = script(replies, limit=1000)
    assert all(line not in spoken for line in cited)
    assert all(s["short"] not in spoken for r in replies for s in r.get("sources", []))
    kept = [line["text"] for r in replies for line in reply_lines(r) if "source" not in line and line["text"]]
    assert [spoken.find(speakable(line)) for line in kept] == sorted(spoken.find(speakable(line)) for line in kept)
    assert all(speakable(line) in spoken for line in kept)
    if message == "转人工":
        assert "1 2 3 9 3" in spoken and stub_rasa.TICKET in spoken  # the hand-off is read, digit by digit


def test_the_reading_script_fits_the_synthesiser():
    replies = [{"text": "第一句话说得很长，" * 30 + "。"}, {"text": "第二句。"}]
    spoken = script(replies, limit=120)
    assert 0 < len(spoken) <= 120 and spoken.startswith("第一句话")


def test_the_reading_script_says_how_to_choose_after_a_reply_with_buttons():
    replies, _ = convert(stub_rasa.answer("按钮", {"mode": "elder"}))
    assert script(replies, limit=200, choose="点屏幕上的按钮就行。") == "请选择：点屏幕上的按钮就行。"
    plain, _ = convert(stub_rasa.answer("你好", {"mode": "elder"}))
    assert "点屏幕" not in script(plain, limit=200, choose="点屏幕上的按钮就行。")


async def test_elder_chat_reads_how_to_choose_only_where_there_are_buttons(client, rasa_stub):
    choose = client.app[keys.WORDING]("voice.choose")
    with_buttons = await (await client.post("/api/chat", json={"text": "按钮", "mode": "elder"})).json()
    assert with_buttons["replies"][0]["buttons"] and with_buttons["speech"].endswith(choose)
    assert choose not in with_buttons["replies"][0]["text"]  # the page shows buttons, not the words
    plain = await (await client.post("/api/chat", json={"text": "怎么缴费", "mode": "elder"})).json()
    assert choose not in plain["speech"]


async def test_elder_chat_says_what_to_read_aloud(client, rasa_stub):
    elder = await (await client.post("/api/chat", json={"text": "怎么缴费", "mode": "elder"})).json()
    assert elder["speech"].startswith("居民医保一般每年集中缴费一次")
    assert stub_rasa.PAYMENT_SOURCE["short"] not in elder["speech"] and "各地具体渠道" in elder["speech"]
    standard = await (await client.post("/api/chat", json={"text": "怎么缴费"})).json()
    assert "speech" not in standard  # only elder mode reads aloud


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="espeak-ng is not installed (apt-get install espeak-ng)")
async def test_tts_returns_a_valid_wav(client):
    resp = await client.get("/api/tts", params={"text": "您好，医保服务热线12393。"})
    assert resp.status == 200 and resp.content_type == "audio/wav"
    wav = await resp.read()
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert struct.unpack("<I", wav[4:8])[0] == len(wav) - 8  # sizes filled in
    assert struct.unpack("<I", wav[40:44])[0] == len(wav) - 44
    assert len(wav) > 10_000  # more than a header: actual speech


async def test_tts_bounds_text(client):
    assert (await client.get("/api/tts")).status == 400
    assert (await client.get("/api/tts", params={"text": "长" * 301})).status == 400


async def test_tts_missing_synthesiser_is_503(make_client, settings):
    client = await make_client(settings, tts_command="no-such-espeak")
    resp = await client.get("/api/tts", params={"text": "您好"})
    assert resp.status == 503 and "error" in await resp.json()
