"""Personal data, end to end: every spelling of the masker's table that holds a
personal number (tests/textproc/spellings.py: grouped, dictated with 幺/两/拐,
大写, full-width, landlines, cards, passports, e-mail…) goes through every way in:

- ``/api/chat`` (an integrator with the stack's API key),
- ``/wechat`` as a text message and as a voice message whose ``Recognition``
  holds the spelling (signed and AES-encrypted, as WeChat sends them),
- ``/api/asr`` (a stand-in recogniser answers with the spelling), whose
  transcript the page then sends to ``/api/chat``.

A resident also asks for a person (a ticket is written) and says things the bot
does not understand (unanswered rows). Afterwards no database (SQLite files, or
PostgreSQL with every table), no Redis key or value, and no file the stack
wrote (logs, journals) holds any of the numbers, in any spelling: the search
folds JSON escapes, full-width, spoken and 大写 digits back to ASCII and allows
separators between the digits.

Runs on the embedded stack and on the production stack (PostgreSQL, Redis).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import threading
import time
import unicodedata
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from sqlalchemy import create_engine, inspect, text

from stack import Stack, StackConfig
from tests.e2e.conftest import STAFF_PASSWORD, Resident, production_env
from tests.stack.conftest import scale_database  # noqa: F401 - module fixture
from tests.textproc.spellings import KEPT, PERSONAL

pytestmark = pytest.mark.stack

WECHAT_TOKEN = "privacytesttoken"
WECHAT_APP_ID = "wx00privacy0test0"
WECHAT_AES_KEY = base64.b64encode(b"p" * 32).decode().rstrip("=")  # 43 characters
OPENID = "oPrivacy_0123456789abcdefghij"

# Each distinct number of the table, and how the search finds it.
NUMBERS = sorted({number for _, _, number in PERSONAL})
_DIGIT_WORDS = {**{c: "0" for c in "零〇○洞"}, **{c: "1" for c in "一幺壹"},
                **{c: "2" for c in "二两兩贰貳"}, **{c: "3" for c in "三叁"}, **{c: "4" for c in "四肆"},
                **{c: "5" for c in "五伍"}, **{c: "6" for c in "六陆陸"}, **{c: "7" for c in "七拐柒"},
                **{c: "8" for c in "八捌"}, **{c: "9" for c in "九勾玖"}, "叉": "X"}
# Between two digits of a stored number: what residents put between groups.
_GAP = r"[\s,，、。．·./\-－—()（）\u200b]{0,6}"


def fold(content: str) -> str:
    """Stored text → one spelling: JSON \\u escapes undone (PostgreSQL's row text
    doubles the backslash), full-width folded, spoken and 大写 digits as ASCII."""
    content = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), content)
    content = unicodedata.normalize("NFKC", content)
    return "".join(_DIGIT_WORDS.get(ch, ch) for ch in content).upper()


def _pattern(number: str) -> re.Pattern:
    return re.compile(_GAP.join(re.escape(ch) for ch in number.upper()))


_PATTERNS = {number: [_pattern(number)] for number in NUMBERS}
for _number in NUMBERS:
    if len(_number) == 18:
        _PATTERNS[_number].append(_pattern(_number[:17]))  # an ID without its check character


def leaks(content: str) -> list[str]:
    """Which numbers of the table ``content`` still holds, in any spelling."""
    folded = fold(content)
    return [n for n, patterns in _PATTERNS.items() if any(p.search(folded) for p in patterns)]


# -- stand-ins for the outside services: a recogniser and WeChat's API --------

class _Outside(BaseHTTPRequestHandler):
    """``POST /asr``: the "recording" is the spelling's UTF-8, answered as the
    transcript. ``/cgi-bin/…``: WeChat's token and customer-service send."""

    sent: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/asr"):
            self._json({"result": [{"text": body.decode("utf-8")}]})
        elif self.path.startswith("/cgi-bin/message/custom/send"):
            self.sent.append(json.loads(body))
            self._json({"errcode": 0, "errmsg": "ok"})
        else:
            self._json({"errcode": 404}, 404)

    def do_GET(self) -> None:  # noqa: N802
        self._json({"access_token": "PRIVACYTOKEN", "expires_in": 7200})

    def _json(self, data: dict, status: int = 200) -> None:
        raw = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def outside() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Outside)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module", params=["embedded", "production"])
def stack(request, trained_model: Path, gateway_ready: None, tmp_path_factory,
          outside: str) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp(f"privacy-{request.param}")
    if request.param == "production":
        database = request.getfixturevalue("scale_database")
        redis_url = request.getfixturevalue("redis_url")
        import redis

        redis.Redis.from_url(redis_url).flushdb()  # this test's own Redis database
        env = production_env(database, redis_url)
    else:
        env = {"DATABASE_URL": f"sqlite:///{var / 'assistant.db'}", "STAFF_PASSWORD": STAFF_PASSWORD,
               "RATE_LIMIT_PER_MINUTE": "1000"}
    env.update({
        "RASA_TIMEOUT": "20",
        "RATE_LIMIT_PER_ADDRESS": "100000",
        "RATE_LIMIT_PER_API_KEY": "100000",
        "WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_APP_ID": WECHAT_APP_ID,
        "WECHAT_APP_SECRET": "privacy-app-secret", "WECHAT_AES_KEY": WECHAT_AES_KEY,
        "WECHAT_CITY": "长春市", "WECHAT_API_BASE": outside,
        "ASR_URL": f"{outside}/asr", "ASR_PROVIDER": "测试用语音识别",
    })
    config = StackConfig.for_tests(model=trained_model, var_dir=var, env=env, load_knowledge=True,
                                   production=request.param == "production", rasa_timeout=300)
    with Stack(config) as running:
        yield running


# -- the ways in ----------------------------------------------------------------

class WeChatResident:
    """WeChat's servers posting one resident's messages: signed and encrypted."""

    def __init__(self, gateway_url: str):
        from wechatpy.crypto import WeChatCrypto

        self.url = f"{gateway_url}/wechat"
        self.crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID)
        self.msg_id = int(time.time() * 1000)

    def _xml(self, kind: str, body: str) -> str:
        self.msg_id += 1
        return (f"<xml><ToUserName><![CDATA[gh_privacy]]></ToUserName>"
                f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
                f"{body}<MsgId>{self.msg_id}</MsgId></xml>")

    def text(self, content: str) -> str:
        return self._post(self._xml("text", f"<Content><![CDATA[{content}]]></Content>"))

    def voice(self, recognition: str) -> str:
        return self._post(self._xml("voice", "<MediaId><![CDATA[m1]]></MediaId><Format><![CDATA[amr]]>"
                                    f"</Format><Recognition><![CDATA[{recognition}]]></Recognition>"))

    def _post(self, xml: str) -> str:
        from urllib.parse import urlencode

        import xmltodict
        from wechatpy import parse_message

        ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        envelope = self.crypto.encrypt_message(xml, nonce, ts)
        signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, ts, nonce])).encode()).hexdigest()
        query = urlencode({"signature": signature, "timestamp": ts, "nonce": nonce, "openid": OPENID,
                           "encrypt_type": "aes",
                           "msg_signature": xmltodict.parse(envelope)["xml"]["MsgSignature"]})
        req = urllib.request.Request(f"{self.url}?{query}", data=envelope.encode(), method="POST",
                                     headers={"Content-Type": "application/xml"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
            body = resp.read().decode()
        if body == "success":
            return ""
        answer = xmltodict.parse(body)["xml"]
        plain = self.crypto.decrypt_message(body, answer["MsgSignature"], answer["TimeStamp"], answer["Nonce"])
        return parse_message(plain).content or ""


def _asr(gateway_url: str, spelling: str) -> str:
    req = urllib.request.Request(f"{gateway_url}/api/asr", data=spelling.encode(), method="POST",
                                 headers={"Content-Type": "audio/wav"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["text"]


@pytest.fixture(scope="module")
def conversation(stack: Stack) -> dict:
    """Every spelling through every way in (processes log unbuffered)."""
    url = stack.config.gateway_url
    web = Resident(url, f"privacy-{uuid.uuid4().hex[:10]}", city="长春市")
    page = Resident(url, f"privacy-asr-{uuid.uuid4().hex[:8]}", city="长春市")
    wechat = WeChatResident(url)
    chat_replies, wechat_replies, transcripts = [], [], []
    for spelling, _, _ in PERSONAL:
        chat_replies.append((spelling, web.say(f"我的号码是{spelling}，异地就医备案怎么办")))
        wechat_replies.append((spelling, wechat.text(f"号码{spelling}")))
        wechat_replies.append((spelling, wechat.voice(f"我的号码是{spelling}")))
        heard = _asr(url, spelling)
        transcripts.append(heard)
        chat_replies.append((spelling, page.say(heard)))
    # Not understood, twice in a row (an unanswered row, then a hand-off), and
    # asking for a person: both write rows that hold what the resident said. Korean
    # words, because the model knows none of them (nor the placeholders; Latin
    # letters it does know, from words like CT and app).
    for spelling in ("번호 幺三八 幺二三四 五六七八 주세요", "신분증 110 105 1949 1231 002X 입니다",
                     "我要转人工，电话0755-8888 6666，护照E12345678，邮箱zhang.san99@qq.com"):
        chat_replies.append((spelling, web.say(spelling)))
    time.sleep(2)  # late WeChat answers (slow turns) are sent through the stand-in API
    return {"sender": web.rasa_sender, "chat": chat_replies, "wechat": wechat_replies,
            "transcripts": transcripts}


# -- what the resident sees -----------------------------------------------------

def test_the_bot_never_echoes_a_number_and_says_it_was_hidden(conversation: dict) -> None:
    for said, reply in conversation["chat"]:
        body = json.dumps(reply, ensure_ascii=False)
        assert leaks(body) == [], (said, body)
        notices = [x for x in reply["replies"] if x.get("notice") and x.get("kind") != "privacy"]
        assert notices and "隐去" in notices[0]["text"], (said, reply)
    for said, content in conversation["wechat"]:
        assert leaks(content) == [], (said, content)
    late = json.dumps(_Outside.sent, ensure_ascii=False)
    assert leaks(late) == [], late
    assert conversation["chat"][-1][1]["handoff"]["ticket"]


def test_asr_transcripts_carried_the_numbers(conversation: dict) -> None:
    """The search below is meaningful for /api/asr too: the transcripts went back
    to the resident's page holding the numbers (normalised, not masked: only the
    resident sees them), and the page's next /api/chat turn sent them on."""
    assert len(conversation["transcripts"]) == len(PERSONAL)
    assert sum(bool(leaks(t)) for t in conversation["transcripts"]) >= len(PERSONAL) - 5


# -- what the stack keeps ---------------------------------------------------------

def _sqlite_dump(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def _tracker_db(stack: Stack) -> Path | None:
    """The SQLite tracker file named in the endpoints file the stack generated."""
    for endpoints in sorted((stack.config.var_dir / "run").glob("endpoints-*.yml")):
        tracker = yaml.safe_load(endpoints.read_text(encoding="utf-8")).get("tracker_store") or {}
        if tracker.get("dialect", "sqlite") == "sqlite" and tracker.get("db"):
            return Path(tracker["db"])
    return None


def _postgres_dump(url: str) -> dict[str, str]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            return {t: "\n".join(conn.execute(text(f'SELECT t::text FROM "{t}" t')).scalars().all())
                    for t in tables}
    finally:
        engine.dispose()


def _redis_dump(url: str) -> str:
    """Every key and value of the stack's Redis database, whatever the type."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=False)
    out = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = repr(client.hgetall(key))
        elif kind == "list":
            value = repr(client.lrange(key, 0, -1))
        elif kind == "set":
            value = repr(client.smembers(key))
        elif kind == "zset":
            value = repr(client.zrange(key, 0, -1, withscores=True))
        else:
            value = kind
        value = value if isinstance(value, str) else (value or b"").decode("utf-8", "replace") \
            if isinstance(value, bytes) else str(value)
        out.append(f"{key.decode('utf-8', 'replace')} = {value}")
    return "\n".join(out)


def test_no_database_redis_or_log_holds_any_number(stack: Stack, conversation: dict) -> None:
    searched: dict[str, str] = {}
    if stack.config.production:
        for table, rows in _postgres_dump(stack.config.env["DATABASE_URL"]).items():
            searched[f"postgres:{table}"] = rows
        stored = searched["postgres:events"]
        searched["redis"] = _redis_dump(stack.config.env["REDIS_URL"])
        assert searched["redis"], "the production gateway keeps its state in Redis"
    else:
        kb_file = Path(stack.config.env["DATABASE_URL"].removeprefix("sqlite:///"))
        tracker_file = _tracker_db(stack)
        assert tracker_file is not None and tracker_file.is_file(), tracker_file
        searched["sqlite:knowledge+tickets"] = _sqlite_dump(kb_file)
        searched["sqlite:tracker"] = stored = _sqlite_dump(tracker_file)
    # Every file under the stack's var dir, raw: databases (and journals), logs.
    files = [p for p in stack.config.var_dir.rglob("*") if p.is_file()]
    for path in files:
        searched[str(path)] = path.read_bytes().decode("utf-8", "replace")
    logs = [p for p in files if p.suffix == ".log"]
    assert {p.name.split("-")[0] for p in logs} >= {"actions", "rasa", "gateway"}, logs

    # The search is meaningful: the conversations, placeholders and ticket are there.
    assert conversation["sender"] in stored
    folded = fold(stored)
    for placeholder in ("[身份证号]", "[手机号]", "[银行卡号]", "[电话号码]", "[证件号码]", "[邮箱]", "[号码]"):
        assert placeholder in folded, placeholder
    everything = "\n".join(searched.values())
    assert conversation["chat"][-1][1]["handoff"]["ticket"] in everything

    found = {where: leaks(content) for where, content in searched.items()}
    assert {w: f for w, f in found.items() if f} == {}


def test_tickets_and_unanswered_rows_hold_only_placeholders(stack: Stack, conversation: dict) -> None:
    engine = create_engine(stack.config.env["DATABASE_URL"], future=True)
    try:
        with engine.connect() as conn:
            ticket = conn.execute(text("SELECT transcript FROM hotline_tickets WHERE code = :c"),
                                  {"c": conversation["chat"][-1][1]["handoff"]["ticket"]}).scalar_one()
            rows = conn.execute(text("SELECT reason, text FROM hotline_unanswered")).all()
    finally:
        engine.dispose()
    transcript = ticket if isinstance(ticket, str) else json.dumps(ticket, ensure_ascii=False)
    assert "[电话号码]" in fold(transcript) and leaks(transcript) == []
    assert rows and all(leaks(t) == [] for _, t in rows), rows
    assert any("[手机号]" in t or "[身份证号]" in t for _, t in rows), rows


# -- the search itself ----------------------------------------------------------

def test_the_search_finds_every_spelling() -> None:
    """The checks above could pass by not looking: the search must find each
    spelling stored raw, JSON-escaped (Rasa's events) and as PostgreSQL row text."""
    for spelling, _, number in PERSONAL:
        escaped = json.dumps({"text": f"我的号码{spelling}。"})
        for stored in (spelling, escaped, escaped.replace("\\", "\\\\")):
            assert number in leaks(stored), (number, stored)
    placeholders = "[身份证号] [手机号] [银行卡号] [电话号码] [证件号码] [邮箱] [号码] K7M3PQ"
    assert leaks(placeholders) == []
    assert leaks("\n".join(KEPT)) == []
