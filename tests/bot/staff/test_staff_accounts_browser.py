"""Named accounts in real Chromium through the real gateway (``python -m bot``):
a staff member of one place sees only that place's tickets, cannot open another
place's ticket or the audit log; the admin reads in the audit log what she viewed,
copied, resolved and exported. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import pytest

from hotline import accounts, tickets
from tests.browser import ARTIFACTS

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-42"


def _ticket(sessions, place, sender):
    return tickets.create_ticket(sessions, place=place, topic="ask_remote_care_filing", channel="web",
                                 hotline="12393", reason="request_human", sender=sender,
                                 transcript=[{"from": "resident", "text": f"{place}异地备案怎么办"}])


async def _log_in(page, base, name):
    await page.goto(f"{base}/staff/login")
    await page.fill("#name", name)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#suggest-form")
    assert await page.inner_text("#account-name") == name


async def test_accounts_places_and_audit_in_browser(served_gateway, kb_sessions, browser):
    from playwright.async_api import expect

    accounts.add_account(kb_sessions, "li", PASSWORD, places=["连云港市"])
    accounts.add_account(kb_sessions, "wang", PASSWORD, role="admin")
    mine = _ticket(kb_sessions, "连云港市", "a")
    other = _ticket(kb_sessions, "长春市", "b")
    base = served_gateway
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    # li, staff for 连云港市.
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _log_in(page, base, "li")
    assert await page.locator("nav >> text=审计日志").count() == 0
    # Only her place in the suggestion form; a copy is reported to the audit log.
    options = await page.locator("#city option").all_inner_texts()
    assert "连云港市" in options and "长春市" not in options
    await page.fill("#text", "异地就医备案咋个弄")
    await page.select_option("#city", "连云港市")
    await page.click("#suggest-form button[type=submit]")
    await page.wait_for_selector("#suggestions")
    async with page.expect_response(lambda r: r.url.endswith("/api/staff/audit")) as copied:
        await page.click("button.copy >> nth=0")
    assert (await copied.value).status == 200
    # The queue holds her place's ticket only.
    await page.goto(f"{base}/staff/tickets")
    queue = await page.inner_text("#queue")
    assert mine.code in queue and other.code not in queue
    await page.screenshot(path=str(ARTIFACTS / "staff_accounts_01_scoped_queue.png"), full_page=True)
    # Another place's ticket, typed in: not found.
    await page.fill("#code", other.code)
    await page.click("#lookup-form button[type=submit]")
    await expect(page.locator("main")).to_contain_text("没有找到编号为")
    # Her own: open, resolve, export.
    await page.goto(f"{base}/staff/tickets/{mine.code}")
    await page.fill("#note", "已电话回复")
    await page.click("#resolve-form button[type=submit]")
    await page.wait_for_selector(".status-resolved")
    async with page.expect_download() as download:
        await page.goto(f"{base}/staff/tickets")
        await page.click("#export-link")
    assert (await download.value).suggested_filename == "tickets.csv"
    # The audit log is for admins.
    assert (await page.goto(f"{base}/staff/audit")).status == 403
    await context.close()

    # wang, the admin, reads what li did.
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _log_in(page, base, "wang")
    await page.click("nav >> text=审计日志")
    await page.fill("#account", "li")
    await page.click("#audit-form button[type=submit]")
    await page.wait_for_selector("#audit")
    rows = [await r.inner_text() for r in await page.locator("#audit tbody tr").all()]
    actions = [await c.get_attribute("data-action") for c in await page.locator("#audit tbody td[data-action]").all()]
    for expected in ("login", "copy", "view_queue", "denied", "view_ticket", "resolve_ticket", "export_queue"):
        assert expected in actions, (expected, actions)
    assert any(mine.code in r and "处理工单" in r for r in rows)
    assert any(other.code in r and "越权访问被拒绝" in r for r in rows)
    assert set(await page.locator("#audit tbody tr td:nth-child(2)").all_inner_texts()) == {"li"}
    await page.screenshot(path=str(ARTIFACTS / "staff_accounts_02_audit_log.png"), full_page=True)
    # The admin sees both places' tickets, oldest waiting first, 25 a page.
    more = [_ticket(kb_sessions, "江门市", f"q{i}") for i in range(25)]
    await page.goto(f"{base}/staff/tickets")
    codes = await page.locator("#queue tbody tr td:first-child").all_inner_texts()
    assert len(codes) == 25 and codes[0] == other.code and other.code in await page.inner_text("#queue")
    assert "第1/2页，共26条" in await page.inner_text("#queue-pager")
    await page.click("#queue-pager >> text=下一页")
    assert await page.locator("#queue tbody tr td:first-child").all_inner_texts() == [more[-1].code]
    # Newest first: the last hand-off on top.
    await page.select_option("#order", "newest")
    await page.click("#queue-form button[type=submit]")
    await page.wait_for_url("**/staff/tickets?*order=newest*")
    assert (await page.locator("#queue tbody tr td:first-child").all_inner_texts())[0] == more[-1].code
    await page.screenshot(path=str(ARTIFACTS / "staff_accounts_03_queue_newest.png"), full_page=True)
    await context.close()
    assert not errors, errors
