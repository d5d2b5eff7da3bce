"""The console in a real browser (Debian Chromium via Playwright): log in, get
suggestions, see the copy buttons, look up a ticket. Screenshots go to tests/artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

from hotline import tickets
from tests.bot.staff.conftest import STAFF_PASSWORD, make_app
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium

pytestmark = pytest.mark.browser



async def _gateway_csp(request, response) -> None:
    """The gateway's Content-Security-Policy, so inline scripts/styles would break here too."""
    from bot.middleware import CSP

    response.headers["Content-Security-Policy"] = CSP


@pytest.fixture
async def browser():
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


async def test_console_in_browser(aiohttp_server, staff_env, kb_sessions, rasa, browser):
    info = tickets.create_ticket(
        kb_sessions, place="连云港市", topic="ask_remote_care_filing", channel="web", hotline="12393",
        reason="request_human", slots={"city": "连云港市"},
        transcript=[{"from": "resident", "text": "异地备案怎么弄 手机13912345678"},
                    {"from": "bot", "text": "请拨打12393"}])
    app = make_app(kb_sessions, rasa)
    app.on_response_prepare.append(_gateway_csp)
    server = await aiohttp_server(app)
    base = str(server.make_url("/")).rstrip("/")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # JS errors and CSP violations fail the test (401 of the first visit and a
    # missing favicon are expected resource errors).
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)

    # Log in.
    resp = await page.goto(f"{base}/staff")
    assert resp.status == 401
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
    from playwright.async_api import expect   # string predicates would need unsafe-eval under the CSP

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
    await context.close()
    assert not errors, errors
