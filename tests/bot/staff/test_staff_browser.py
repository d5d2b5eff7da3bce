"""The console in a real browser (Debian Chromium via Playwright) through the real
gateway (``python -m bot`` on a real port, all its middleware and headers): log in,
get suggestions, copy one, look up and resolve a ticket, log out. A page of another
origin cannot log in. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import pytest
from aiohttp import web

from hotline import tickets
from tests.bot.staff.conftest import STAFF_PASSWORD, STAFF_USER
from tests.browser import ARTIFACTS

pytestmark = pytest.mark.browser



async def test_console_in_browser(served_gateway, kb_sessions, browser):
    info = tickets.create_ticket(
        kb_sessions, place="连云港市", topic="ask_remote_care_filing", channel="web", hotline="12393",
        reason="request_human", slots={"city": "连云港市"},
        transcript=[{"from": "resident", "text": "异地备案怎么弄 手机13912345678"},
                    {"from": "bot", "text": "请拨打12393"}])
    base = served_gateway
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # JS errors and CSP violations fail the test (401 of the first visit and a
    # missing favicon are expected resource errors).
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)

    # Every POST the console makes must carry its own origin (what the referrer
    # policy decides; browsers without Fetch Metadata are checked on it alone).
    requests = []
    page.on("request", lambda req: requests.append(req) if req.method == "POST" else None)

    # Log in.
    resp = await page.goto(f"{base}/staff")
    assert resp.status == 401
    assert resp.headers["referrer-policy"] in ("same-origin", "strict-origin-when-cross-origin")
    await page.fill("#name", STAFF_USER)
    await page.fill("#password", STAFF_PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#suggest-form")
    await page.screenshot(path=str(ARTIFACTS / "staff_01_suggest_form.png"), full_page=True)

    # Suggestions for a messy transcript.
    await page.fill("#text", "喂你好 我想问一下那个异地就医备案咋个弄")
    await page.select_option("#city", "连云港市")
    await page.click("#suggest-form button[type=submit]")
    await page.wait_for_selector("#suggestions")
    cards = page.locator("article.suggestion")
    assert await cards.count() == 3
    assert await page.locator("button.copy").count() == 3
    first = await cards.nth(0).get_attribute("data-topic")
    assert first == "ask_remote_care_filing"
    assert "依据" in await cards.nth(0).inner_text()
    await page.screenshot(path=str(ARTIFACTS / "staff_02_suggestions.png"), full_page=True)
    # The copy button is wired by the static script (no inline scripts under the CSP).
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    await page.click("button.copy >> nth=0")
    from playwright.async_api import expect  # string predicates would need unsafe-eval under the CSP

    await expect(page.locator("button.copy").first).to_have_text("已复制")

    # Ticket lookup by a code typed the way a caller reads it out.
    await page.click("nav >> text=转接工单")
    await page.fill("#code", f"{info.code[:3].lower()} {info.code[3:]}")
    await page.click("#lookup-form button[type=submit]")
    await page.wait_for_selector(f"section.ticket[data-code='{info.code}']")
    text = await page.inner_text("section.ticket")
    assert "13912345678" not in text and "[手机号]" in text
    await page.screenshot(path=str(ARTIFACTS / "staff_03_ticket.png"), full_page=True)

    # Resolve it from the form.
    await page.fill("#note", "已电话回复")
    await page.click("#resolve-form button[type=submit]")
    await page.wait_for_selector(".status-resolved")

    # Unanswered page with its chart.
    tickets.record_unanswered(kb_sessions, "连云港市", "ask_transfer", "医保关系怎么转", "fallback")
    await page.goto(f"{base}/staff/unanswered")
    assert await page.locator("svg.chart rect.bar").count() == 14
    await page.screenshot(path=str(ARTIFACTS / "staff_04_unanswered.png"), full_page=True)

    # Log out: the session is gone.
    await page.click("nav button.link")
    await page.wait_for_selector("#login-form")
    assert (await page.goto(f"{base}/staff/tickets")).status == 401
    posts = [(req.url, await req.all_headers()) for req in requests]
    await context.close()
    assert not errors, errors
    # login, suggest, the copy reported to the audit log (fetch), resolve, logout
    assert len(posts) == 5, [u for u, _ in posts]
    for url, headers in posts:
        assert headers.get("origin") == base, (url, headers.get("origin"))


EVIL_PAGE = """<!doctype html>
<html><head><meta charset="utf-8">{meta}<title>抽奖</title></head>
<body>
<form id="f" method="post" action="{target}/staff/login">
  <input type="hidden" name="name" value="{user}">
  <input type="hidden" name="password" value="{password}">
  <input type="hidden" name="next" value="/staff/tickets">
</form>
<script>
  var body = new URLSearchParams({{name: "{user}", password: "{password}"}});
  fetch("{target}/staff/login", {{method: "POST", mode: "no-cors", credentials: "include", body: body}})
    .finally(function () {{ document.getElementById("f").submit(); }});
</script>
</body></html>"""


@pytest.mark.parametrize("evil_host,meta", [
    ("localhost", ""),                                               # another site
    ("localhost", '<meta name="referrer" content="no-referrer">'),   # another site sending Origin: null
    ("127.0.0.1", ""),                                               # same site, another port
])
async def test_login_from_another_origin_is_refused(served_gateway, browser, aiohttp_server, evil_host, meta):
    """A page elsewhere that knows the password (phished, or a login-CSRF) posts the
    login form and fetches it with credentials: both refused, no session cookie."""
    async def evil(_request: web.Request) -> web.Response:
        html = EVIL_PAGE.format(target=served_gateway, user=STAFF_USER, password=STAFF_PASSWORD, meta=meta)
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", evil)
    server = await aiohttp_server(app, host="127.0.0.1")
    evil_url = f"http://{evil_host}:{server.port}/"
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    answers: list[tuple[str, int, dict]] = []

    async def record(resp) -> None:
        if resp.request.method == "POST" and resp.url.startswith(served_gateway):
            answers.append((resp.request.resource_type, resp.status, await resp.request.all_headers()))

    page.on("response", record)
    async with page.expect_navigation(url=f"{served_gateway}/staff/login"):
        await page.goto(evil_url)
    await page.wait_for_load_state()
    assert "请求校验失败" in await page.inner_text("body")
    kinds = {kind: status for kind, status, _ in answers}
    assert kinds.get("document") == 403 and kinds.get("fetch") == 403, answers
    assert not [c for c in await context.cookies() if c["name"] == "staff_session"]
    # Nothing was logged in behind the scenes either.
    assert (await page.goto(f"{served_gateway}/staff")).status == 401
    await context.close()
