"""The web chat in a real browser (Debian's Chromium through Playwright) against a
running gateway (``python -m bot``) and the stand-in Rasa.

Skipped when Chromium is missing, unless CI is set (then it fails).
Screenshots go to tests/artifacts/.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.bot import stub_rasa
from tests.bot.conftest import load_with_sixth_place
from tests.browser import browser, require_chromium, screenshot  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

require_chromium()

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}; see {proc.log_path}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


@contextlib.contextmanager
def running_gateway(tmp: Path, **extra_env: str):
    """A stand-in Rasa and the real gateway process (``python -m bot``); its URL."""
    # The real places plus 测试县, a sixth one that exists only as a test fixture file.
    db = load_with_sixth_place(tmp)
    rasa_port, gw_port = free_port(), free_port()
    env = {**os.environ, "GATEWAY_PORT": str(gw_port), "RASA_URLS": f"http://127.0.0.1:{rasa_port}",
           "DATABASE_URL": db, "TRACKER_DATABASE_URL": f"sqlite:///{tmp / 'tracker.db'}",
           "ACTION_SERVER_URL": "http://127.0.0.1:9", "RASA_TIMEOUT": "3",
           "GATEWAY_SECRET_FILE": str(tmp / "gateway-secret"),
           "APP_ENV": "development", "RATE_LIMIT_PER_MINUTE": "1000", "RATE_LIMIT_PER_ADDRESS": "1000"}
    for name in ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_AES_KEY", "REDIS_URL", "ASR_URL",
                 "ASR_PROVIDER"):
        env.pop(name, None)
    env.update(extra_env)
    procs = []
    # Logs go to files: a full pipe would block the gateway's logging.
    for name, cmd in (("rasa", [sys.executable, str(HERE / "stub_rasa.py"), "--port", str(rasa_port)]),
                      ("gateway", [sys.executable, "-m", "bot"])):
        log_path = tmp / f"{name}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = log_path
        procs.append(proc)
    try:
        wait_http(f"http://127.0.0.1:{rasa_port}/", procs[0])
        wait_http(f"http://127.0.0.1:{gw_port}/health", procs[1])
        yield f"http://127.0.0.1:{gw_port}"
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """The gateway as `make run` starts it on a laptop (no ASR_URL)."""
    with running_gateway(tmp_path_factory.mktemp("browser")) as url:
        yield url


# Stand-ins for the browser's speech services, installed before the page's script:
# they record whether the page used them (headless Chromium has neither).
FAKE_SPEECH = """
window.__recognitions = 0;
window.SpeechRecognition = window.webkitSpeechRecognition = function () {
  window.__recognitions += 1; this.start = function () {}; this.stop = function () {};
};
const fakeSynth = { spoken: [], getVoices: () => VOICES,
  speak: (u) => fakeSynth.spoken.push({ text: u.text, voice: u.voice ? u.voice.name : null }),
  cancel: () => {} };
Object.defineProperty(window, "speechSynthesis", { value: fakeSynth, configurable: true });
window.SpeechSynthesisUtterance = function (text) { this.text = text; };
window.__spoken = fakeSynth.spoken;
"""


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(context, gateway):
    page = context.new_page()
    page.csp_errors = []
    page.on("console", lambda m: page.csp_errors.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.goto(gateway + "/")
    return page


def shot(page, name: str) -> None:
    screenshot(page, f"browser-{name}")


def ask(page, text: str) -> None:
    before = page.locator("#log .msg.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    # A locator wait, not wait_for_function: the page's CSP forbids string evaluation.
    page.locator("#log .msg.bot").nth(before).wait_for()


def test_question_answer_source_and_buttons(page):
    expect = sync_api.expect
    notice = page.locator("#log .msg.notice").first
    expect(notice).to_contain_text("隐私说明")  # first contact: what is kept and for how long
    expect(notice).to_contain_text("180天")
    expect(page.locator('a[href="tel:12393"]')).to_be_visible()
    expect(page.get_by_label("请输入您的问题")).to_be_visible()
    expect(page.locator("#repeat")).to_be_hidden()  # elder-only controls
    expect(page.locator("#mic")).to_be_hidden()
    ask(page, "异地就医怎么备案")
    last = page.locator("#log .msg.bot").last
    expect(last).to_contain_text("备案")
    # The lines the answer's data marks as citing its two sources, styled as such.
    sources = last.locator("p.source")
    expect(sources).to_have_count(2)
    expect(sources.nth(0)).to_have_text(stub_rasa.SOURCE_LINE.format(short=stub_rasa.LOCAL_SOURCE["short"]))
    expect(sources.nth(1)).to_have_text(stub_rasa.SOURCE)
    assert sources.nth(0).get_attribute("title") == stub_rasa.LOCAL_SOURCE["quote"]  # the quoted passage
    assert sources.nth(1).get_attribute("data-entry") == stub_rasa.NATIONAL_SOURCE["entry_id"]
    styles = sources.first.evaluate("e => { const s = getComputedStyle(e); return [s.backgroundColor, s.borderLeftWidth]; }")
    assert styles[0] not in ("rgba(0, 0, 0, 0)", "transparent") and styles[1] != "0px"
    expect(last.locator("p:not(.source)").first).to_contain_text("异地就医前先办备案")
    buttons = last.locator(".buttons button")
    expect(buttons).to_have_count(2)
    shot(page, "answer")
    buttons.nth(1).click()  # "转人工": posts its payload
    # The hand-off is the action's message, with the ticket and the hotline from its data.
    handoff = page.locator("#log .msg.handoff")
    expect(handoff).to_have_count(1)
    expect(handoff.locator("p").first).to_have_text("好的，为您转接人工服务。请拨打医保服务热线12393。")
    expect(handoff.locator(".handoff-controls .ticket")).to_have_text(stub_rasa.TICKET)
    expect(handoff.locator('.handoff-controls a[href="tel:12393"]')).to_be_visible()
    shot(page, "handoff")
    assert page.csp_errors == []


def test_a_citation_in_other_words_is_still_shown_as_the_source(page):
    """The page used to find "依据：" with a regular expression; the data does not care."""
    ask(page, "怎么缴费")
    last = page.locator("#log .msg.bot").last
    source = last.locator("p.source")
    sync_api.expect(source).to_have_count(1)
    sync_api.expect(source).to_have_text(f"（本条出自{stub_rasa.PAYMENT_SOURCE['short']}，2024年）")
    assert source.get_attribute("title") == "\n".join(
        stub_rasa.PAYMENT_SOURCE[k] for k in ("quote", "doc_no", "date"))
    sync_api.expect(last.locator("p")).to_have_count(3)  # the text as written, line by line


def test_place_selector_lists_the_knowledge_base_and_is_sent_and_remembered(page, gateway):
    sync_api.expect(page.locator("#place option[value='测试县']")).to_have_count(1)
    options = page.locator("#place option").all_text_contents()
    assert options[0] == "未选择" and "测试县" in options and "连云港市" in options and len(options) == 7
    page.select_option("#place", "测试县")  # a sixth place, added as one data file
    ask(page, "你好")
    sync_api.expect(page.locator("#log .msg.bot").last).to_contain_text("（测试县）")
    page.reload()
    sync_api.expect(page.locator("#place option[value='测试县']")).to_have_count(1)
    assert page.input_value("#place") == "测试县"


def test_conversation_is_the_servers_httponly_session(page, context, gateway):
    with page.expect_request(lambda r: r.url.endswith("/api/chat")) as sent:
        ask(page, "异地就医怎么备案")
    assert "sender" not in sent.value.post_data_json  # the page names no conversation
    [cookie] = [c for c in context.cookies() if c["name"] == "yb_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "yb_session" not in page.evaluate("document.cookie")  # out of scripts' reach
    assert page.evaluate("Object.keys(localStorage).filter(k => /sender/.test(k))") == []
    page.reload()
    sync_api.expect(page.locator("#log .msg.notice")).to_have_count(0)  # not a first contact
    ask(page, "再说一遍")  # the same conversation continues after a reload
    sync_api.expect(page.locator("#log .msg.bot").last).to_contain_text("异地就医前先办备案")


def test_delete_my_records_with_confirmation_starts_afresh(page, context):
    ask(page, "异地就医怎么备案")
    before = next(c["value"] for c in context.cookies() if c["name"] == "yb_session")
    ask(page, "删除我的记录")
    confirm = page.locator("#log .msg.bot").last
    sync_api.expect(confirm).to_contain_text("确认删除")
    shot(page, "delete-confirm")
    count = page.locator("#log .msg.bot").count()
    confirm.get_by_role("button", name="确认删除").click()
    sync_api.expect(page.locator("#log .msg.bot").last).to_contain_text("已删除")
    assert page.locator("#log .msg.bot").count() < count  # the screen starts afresh too
    sync_api.expect(page.locator("#log")).not_to_contain_text("异地就医前先办备案")
    after = next(c["value"] for c in context.cookies() if c["name"] == "yb_session")
    assert after != before
    ask(page, "再说一遍")
    sync_api.expect(page.locator("#log .msg.bot").last).to_contain_text("没有可以重复的内容")


def test_no_silent_cloud_speech_recognition(context, gateway):
    """No ASR_URL: the page says voice input is not available, and never starts the
    browser's own (cloud) recognition."""
    context.add_init_script("const VOICES = [];" + FAKE_SPEECH)
    page = context.new_page()
    page.goto(gateway + "/")
    page.click("#elder-toggle")
    sync_api.expect(page.locator("#mic-help")).to_contain_text("暂未开通语音输入")
    page.locator("#mic").dispatch_event("pointerdown")
    page.locator("#mic").dispatch_event("pointerup")
    sync_api.expect(page.locator("#status")).to_contain_text("暂未开通语音输入")
    assert page.evaluate("window.__recognitions") == 0


@pytest.mark.parametrize("local, spoken_here", [(False, False), (True, True)])
def test_read_aloud_uses_only_local_voices(context, gateway, local, spoken_here):
    """A network voice would send the reply to the browser maker's service: then
    the gateway reads it (espeak-ng) instead."""
    voices = [{"name": "Cloud zh", "lang": "zh-CN", "localService": False}]
    if local:
        voices.append({"name": "Local zh", "lang": "zh-CN", "localService": True})
    context.add_init_script(f"const VOICES = {json.dumps(voices)};" + FAKE_SPEECH)
    page = context.new_page()
    tts = []
    page.on("request", lambda r: tts.append(r.url) if "/api/tts?" in r.url else None)
    page.goto(gateway + "/")
    page.click("#elder-toggle")
    ask(page, "异地就医怎么备案")
    if spoken_here:
        sync_api.expect(page.locator("#log .msg.bot").last).to_contain_text("第一步")
        page.wait_for_timeout(300)
        assert [s["voice"] for s in page.evaluate("window.__spoken")] == ["Local zh"]
        assert tts == []
    else:
        page.wait_for_timeout(1000)
        assert page.evaluate("window.__spoken") == [] and len(tts) == 1


def test_elder_mode_is_large_remembered_and_reads_aloud(page):
    page.click("#elder-toggle")
    assert page.get_attribute("#elder-toggle", "aria-pressed") == "true"
    page.reload()  # remembered in localStorage
    assert page.get_attribute("#elder-toggle", "aria-pressed") == "true"
    for selector in ("body", "#log .msg p", "#text", "#repeat"):
        size = page.locator(selector).first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 22, (selector, size)
    height = page.locator("#repeat").evaluate("e => e.getBoundingClientRect().height")
    assert height >= 56
    sync_api.expect(page.locator("#mic")).to_be_visible()
    sync_api.expect(page.locator("#next")).to_be_visible()
    # Headless Chromium has no Chinese voice, so the reply is fetched from /api/tts.
    with page.expect_request(lambda r: "/api/tts?" in r.url, timeout=10000) as tts:
        ask(page, "异地就医怎么备案")
    spoken = urllib.parse.unquote(tts.value.url.split("text=", 1)[1])
    # The lines citing sources are shown, not read out; the answer itself is.
    assert stub_rasa.LOCAL_SOURCE["short"] not in spoken and stub_rasa.NATIONAL_SOURCE["short"] not in spoken
    assert spoken.startswith("规划提出") and "第一步" in spoken
    sync_api.expect(page.locator("#log .msg.bot").last).to_contain_text("第一步")  # brief elder variant
    page.click("#repeat")
    sync_api.expect(page.locator("#log .msg.user").last).to_have_text("我：再说一遍")
    shot(page, "elder")


def test_reply_markup_is_shown_as_text_never_run(page):
    ask(page, "脚本")
    last = page.locator("#log .msg.bot").last
    sync_api.expect(last).to_contain_text("<script>window.__xss=1</script>")
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#log script, #log img").count() == 0
    ask(page, "<img src=x onerror=\"window.__xss=3\">")
    assert page.evaluate("typeof window.__xss") == "undefined"
    shot(page, "markup")


def test_the_page_names_where_recordings_go(browser, tmp_path):
    """With a recogniser configured, the page says whose it is before anyone speaks."""
    with running_gateway(tmp_path, ASR_URL="http://127.0.0.1:9/asr", ASR_PROVIDER="测试市政务云语音识别") as url:
        context = browser.new_context(locale="zh-CN")
        try:
            page = context.new_page()
            page.goto(url + "/")
            page.click("#elder-toggle")
            help_ = page.locator("#mic-help")
            sync_api.expect(help_).to_contain_text("录音会发送到“测试市政务云语音识别”")
            sync_api.expect(help_).to_be_visible()
        finally:
            context.close()
