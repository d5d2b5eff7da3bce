"""The console's plumbing (``bot.staff.console``) in the real gateway: templates
escape what residents wrote, one error handler answers in HTML or JSON, and each
feature is one handler behind both URL shapes."""
from __future__ import annotations

import logging
import re

import pytest
from aiohttp import web
from sqlalchemy.exc import OperationalError

from bot.staff import view
from hotline import tickets
from tests.bot.staff.conftest import STAFF_PASSWORD, STAFF_USER

SCRIPT = "<script>alert('x')</script>"
ATTR = '"><img src=x onerror=alert(2)>'


async def _login_cookie(client) -> str:
    resp = await client.post("/staff/login", data={"name": STAFF_USER, "password": STAFF_PASSWORD},
                             allow_redirects=False)
    assert resp.status == 303
    html = await (await client.get("/staff")).text()
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _without_own_script(html: str) -> str:
    return html.replace('<script src="/staff/static/staff.js" defer></script>', "")


# -- autoescaping -------------------------------------------------------------------------

async def test_what_residents_wrote_is_escaped_on_every_page(client, kb_sessions):
    info = tickets.create_ticket(
        kb_sessions, place="连云港市", topic="ask_remote_care_filing", channel="web", hotline="12393",
        reason="request_human", slots={"city": ATTR},
        transcript=[{"from": "resident", "text": f"{SCRIPT}我要备案"}])
    tickets.record_unanswered(kb_sessions, "连云港市", None, f"{SCRIPT}能报销吗", "fallback")
    csrf = await _login_cookie(client)
    pages = {
        "ticket": await (await client.get(f"/staff/tickets/{info.code}")).text(),
        "unanswered": await (await client.get("/staff/unanswered?days=7")).text(),
        "suggest": await (await client.post("/staff", data={"csrf": csrf, "text": f"异地备案{SCRIPT}"})).text(),
    }
    resp = await client.post(f"/staff/tickets/{info.code}/resolve", data={"csrf": csrf, "note": SCRIPT},
                             allow_redirects=False)
    assert resp.status == 303
    pages["resolved"] = await (await client.get(resp.headers["Location"])).text()
    for name, html in pages.items():
        assert "<script>alert" not in _without_own_script(html), name
        assert "&lt;script&gt;alert(" in html, name
    assert "<img src=x" not in pages["ticket"] and "&#34;&gt;&lt;img src=x" in pages["ticket"]


def test_templates_autoescape_html():
    """The setting itself: on for the console's .html templates."""
    from aiohttp_jinja2 import get_env

    from bot.staff.auth import StaffAuth
    from bot.staff.console import make_subapp
    from settings import GatewaySettings

    env = get_env(make_subapp(StaffAuth(GatewaySettings()), json_api=False))
    assert env.autoescape("message.html") is True
    html = env.get_template("message.html").render(
        title=SCRIPT, message=SCRIPT, back="/staff", session=None, account=None, flash=None, flash_error=False)
    assert SCRIPT not in html and html.count("&lt;script&gt;") == 3   # <title>, <h1>, <p>


# -- the one error handler ---------------------------------------------------------------

async def test_known_errors_as_page_and_as_json(client, auth):
    await _login_cookie(client)
    page = await client.get("/staff/tickets/ZZZZZZ")
    assert page.status == 404 and page.content_type == "text/html"
    html = await page.text()
    assert view.say("messages.ticket_not_found", code="ZZZZZZ") in html
    assert 'href="/staff/tickets"' in html and page.headers["Cache-Control"] == "no-store"
    api = await client.get("/api/staff/tickets/ZZZZZZ", headers=auth)
    assert api.status == 404 and api.content_type == "application/json"
    assert await api.json() == {"error": "not_found",
                                "message": view.say("messages.ticket_not_found", code="ZZZZZZ")}
    # Without a session: the login form (HTML) or 401 with a Bearer challenge (JSON).
    client.session.cookie_jar.clear()
    page = await client.get("/staff/unanswered")
    assert page.status == 401 and 'id="login-form"' in await page.text()
    assert 'name="next" value="/staff/unanswered"' in await page.text()
    api = await client.get("/api/staff/unanswered")
    assert api.status == 401 and api.headers["WWW-Authenticate"] == 'Bearer realm="staff"'
    assert (await api.json())["error"] == "unauthorized"


async def test_store_failure_is_503_in_both_shapes(client, auth, monkeypatch):
    def down(*_a, **_kw):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(tickets, "open_queue", down)
    api = await client.get("/api/staff/tickets", headers=auth)
    assert api.status == 503
    assert await api.json() == {"error": "store_unavailable", "message": view.say("messages.store_down")}
    await _login_cookie(client)
    page = await client.get("/staff/tickets")
    assert page.status == 503 and view.say("messages.store_down") in await page.text()
    assert "connection refused" not in await page.text()


async def test_unknown_error_is_a_logged_500_without_traceback(client, auth, monkeypatch, caplog):
    def bug(*_a, **_kw):
        raise RuntimeError("internal detail 42")

    monkeypatch.setattr(tickets, "unanswered_summary", bug)
    with caplog.at_level(logging.ERROR, logger="bot.staff.console"):
        api = await client.get("/api/staff/unanswered", headers=auth)
        await _login_cookie(client)
        page = await client.get("/staff/unanswered")
    assert api.status == 500
    assert await api.json() == {"error": "internal", "message": view.say("pages.error")}
    assert page.status == 500 and page.content_type == "text/plain"
    assert await page.text() == view.say("pages.error")
    for body in (await api.text(), await page.text()):
        assert "internal detail" not in body and "Traceback" not in body and "RuntimeError" not in body
    logged = [r for r in caplog.records if r.exc_info and "internal detail 42" in str(r.exc_info[1])]
    assert len(logged) == 2


# -- one handler per feature --------------------------------------------------------------

def _subapps(app: web.Application) -> dict[str, web.Application]:
    return {info["prefix"]: info["app"] for info in (r.get_info() for r in app.router.resources())
            if "app" in info}


def _handlers(sub: web.Application, prefix: str) -> dict[tuple[str, str], object]:
    out = {}
    for route in sub.router.routes():
        path = route.resource.canonical[len(prefix):] if route.resource else ""
        out[(route.method, path)] = route.handler
    return out


def test_each_feature_is_one_handler_for_html_and_json(make_gateway):
    subs = _subapps(make_gateway())
    assert set(subs) == {"/staff", "/api/staff"}
    pages, api = _handlers(subs["/staff"], "/staff"), _handlers(subs["/api/staff"], "/api/staff")
    for key in [("POST", "/login"), ("POST", "/logout"), ("GET", "/tickets"), ("GET", "/tickets/{code}"),
                ("POST", "/tickets/{code}/resolve"), ("GET", "/unanswered"), ("GET", "/audit")]:
        assert pages[key] is api[key], key
    assert pages[("POST", "")] is api[("POST", "/suggest")]


async def test_one_handler_answers_the_same_ticket_in_both_formats(client, auth, kb_sessions):
    info = tickets.create_ticket(kb_sessions, place="长春市", topic="ask_transfer", channel="wechat",
                                 hotline="12393", reason="fallback", slots={"city": "长春市"},
                                 transcript=[{"from": "resident", "text": "转移接续"},
                                             {"from": "resident", "text": "转人工", "chose": True}])
    data = await (await client.get(f"/api/staff/tickets/{info.code}", headers=auth)).json()
    await _login_cookie(client)
    html = await (await client.get(f"/staff/tickets/{info.code}")).text()
    assert data["code"] == info.code and f'data-code="{info.code}"' in html
    for value in (data["place"], data["hotline"], data["channel"], view.label("reason", data["reason"]),
                  view.label("status", data["status"]), data["transcript"][0]["text"]):
        assert value in html, value
    # A line the resident chose from the bot's buttons says so; one they wrote does not.
    assert data["transcript"][1] == {"from": "resident", "text": "转人工", "chose": True}
    assert html.count(view.say("pages.chose")) == 1 and f"转人工<span class=\"hint\">{view.say('pages.chose')}" in html


@pytest.mark.parametrize("path", ["/staff", "/staff/tickets", "/staff/unanswered", "/staff/login"])
async def test_console_answers_are_not_cached(client, path):
    await _login_cookie(client)
    resp = await client.get(path, allow_redirects=False)
    assert resp.headers["Cache-Control"] == "no-store"
    static = await client.get("/staff/static/staff.css")
    assert static.status == 200 and static.headers.get("Cache-Control") != "no-store"
