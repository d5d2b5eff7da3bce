"""The web chat in Chromium against the real assistant: a real answer with its source
line, and elder mode's large type and brief, listenable reply."""
from __future__ import annotations

import pytest

from tests.browser import browser, require_chromium, screenshot  # noqa: F401 - fixture

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.stack, pytest.mark.browser]


@pytest.fixture
def page(browser, gateway):
    context = browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 900})
    page = context.new_page()
    page.goto(gateway + "/")
    yield page
    context.close()


def ask(page, text: str):
    """Type a question; the first new bot bubble is its answer (buttons may follow it)."""
    before = page.locator("#log .msg.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    answer = page.locator("#log .msg.bot").nth(before)
    answer.wait_for(timeout=30000)
    return answer


def test_real_answer_with_source_then_elder_mode(page):
    expect = sync_api.expect
    page.select_option("#place", "长春市")
    standard = ask(page, "异地就医备案怎么办")
    expect(standard.locator("p.source").first).to_contain_text("依据：《")
    standard_text = standard.inner_text()
    screenshot(page, "e2e-standard")
    # After filing, settling the bill is one tap away, answered for the same place.
    related = page.locator("#log .msg.bot .buttons button", has_text="异地就医直接结算").last
    expect(related).to_be_visible()
    before = page.locator("#log .msg.bot").count()
    related.click()
    settled = page.locator("#log .msg.bot").nth(before)
    settled.wait_for(timeout=30000)
    expect(settled.locator("p.source").first).to_contain_text("依据：")
    expect(settled).to_contain_text("结算")

    page.click("#elder-toggle")
    body_size = page.locator("body").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert body_size >= 22
    elder = ask(page, "异地就医备案怎么办")
    expect(elder).to_contain_text("第一步")
    # The brief variant: shorter than the standard answer, no list of all the steps.
    assert len(elder.inner_text()) < len(standard_text)
    assert "办理步骤：" not in elder.inner_text()
    reply_size = elder.locator("p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert reply_size >= 22
    screenshot(page, "e2e-elder")
