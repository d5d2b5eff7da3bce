"""Staff console routes: login, suggested answers, tickets, unanswered questions.

HTML pages live under ``/staff``, JSON under ``/api/staff``. Every route except the
login form and the static files needs a valid staff session (cookie or Bearer
token); without one the answer is 401 and carries no ticket data. Database and
knowledge calls are synchronous (SQLAlchemy) and run in a worker thread.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.staff import render as r
from bot.staff.auth import StaffAuth, StaffSession, client_key, csrf_ok, same_origin
from bot.staff.render import Safe, esc, label, say, tag
from bot.staff.settings import StaffSettings
from bot.staff.suggest import MAX_TEXT, UnknownPlace, suggest
from hotline import tickets
from hotline.tickets import TicketAlreadyResolved, TicketInfo, TicketNotFound, clean_code
from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STAFF_AUTH = web.AppKey("staff_auth", StaffAuth)
SESSION_KEY = "staff_session"
DAY_CHOICES = (7, 14, 30, 90)
DEFAULT_DAYS = 14
BEIJING = tickets.REPORT_TZ

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- responses -----------------------------------------------------------------

def _no_store(response: web.StreamResponse) -> web.StreamResponse:
    # Pages and answers hold residents' questions: never cache them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(data: Any, status: int = 200) -> web.Response:
    return _no_store(web.json_response(data, status=status, dumps=functools.partial(json.dumps, ensure_ascii=False)))


def _api_error(status: int, error: str, message: str, **extra: Any) -> web.Response:
    return _json({"error": error, "message": message, **extra}, status=status)


def _page(title: str, body: Any, *, session: StaffSession | None = None, flash: str | None = None,
          flash_error: bool = False, status: int = 200) -> web.Response:
    nav = r.render("nav.html", csrf=session.csrf) if session else ""
    flash_html = tag("div", flash, cls="flash error" if flash_error else "flash", role="status") if flash else ""
    text = r.render("layout.html", title=title, nav=Safe(nav), flash=flash_html, body=Safe(body))
    return _no_store(web.Response(text=text, status=status, content_type="text/html", charset="utf-8"))


def _message(title: str, message: str, *, session: StaffSession | None, status: int,
             back: str = "/staff") -> web.Response:
    return _page(title, r.render("message.html", title=title, message=message, back=back),
                 session=session, status=status)


def _login_page(request: web.Request, *, status: int = 200, error: str | None = None) -> web.Response:
    nxt = request.path_qs if request.method == "GET" and request.path.startswith("/staff") else "/staff"
    if request.path.startswith("/staff/login"):
        nxt = request.query.get("next", "/staff")
    body = r.render("login.html", next=_safe_next(nxt))
    return _page(say("pages.login"), body, flash=error, flash_error=bool(error), status=status)


def _safe_next(target: str | None) -> str:
    """Only redirect to our own console pages (no open redirect)."""
    if target and target.startswith("/staff") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff"


# -- guards ------------------------------------------------------------------------

def _auth(request: web.Request) -> StaffAuth:
    return request.app[STAFF_AUTH]


def staff_page(handler: Handler) -> Handler:
    """HTML route guard: session required; POST forms need the CSRF token."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        session, bearer = _auth(request).session_of(request)
        if session is None:
            return _login_page(request, status=401)
        if request.method == "POST" and not bearer:
            form = await request.post()
            if not same_origin(request) or not csrf_ok(session, form.get("csrf")):
                return _message(say("pages.error"), say("api_errors.forbidden"), session=session, status=403)
        request[SESSION_KEY] = session
        return await handler(request)
    return wrapper


def staff_api(handler: Handler) -> Handler:
    """API guard: Bearer token, or cookie plus ``X-CSRF-Token`` for anything but GET."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        session, bearer = _auth(request).session_of(request)
        if session is None:
            resp = _api_error(401, "unauthorized", say("api_errors.unauthorized"))
            resp.headers["WWW-Authenticate"] = 'Bearer realm="staff"'
            return resp
        if request.method not in ("GET", "HEAD") and not bearer:
            if not same_origin(request) or not csrf_ok(session, request.headers.get("X-CSRF-Token")):
                return _api_error(403, "forbidden", say("api_errors.forbidden"))
        request[SESSION_KEY] = session
        return await handler(request)
    return wrapper


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _sessions(request: web.Request):
    return request.app["db_sessions"]


async def _db(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


def _local(ts: dt.datetime | None) -> str:
    return ts.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if ts else say("pages.unknown")


# -- login ---------------------------------------------------------------------------

async def _attempt_login(request: web.Request, password: Any) -> tuple[str | None, int]:
    """(token or None, retry_after seconds). Counts failures for throttling."""
    auth = _auth(request)
    client = client_key(request)
    wait = auth.throttle.retry_after(client)
    if wait:
        return None, wait
    if not isinstance(password, str) or not password or len(password) > 256 \
            or not await auth.check_password(password):
        auth.throttle.failed(client)
        logger.warning("failed staff login from %s", client)
        return None, 0
    auth.throttle.succeeded(client)
    token, _ = auth.sessions.create(via_bearer=False)
    return token, 0


async def login_form(request: web.Request) -> web.StreamResponse:
    session, _ = _auth(request).session_of(request)
    if session is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return _login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        return _message(say("pages.error"), say("api_errors.forbidden"), session=None, status=403)
    form = await request.post()
    token, wait = await _attempt_login(request, form.get("password"))
    if wait:
        resp = _login_page(request, status=429, error=say("messages.login_throttled", minutes=max(1, wait // 60)))
        resp.headers["Retry-After"] = str(wait)
        return resp
    if token is None:
        return _login_page(request, status=401, error=say("messages.login_failed"))
    resp = web.HTTPSeeOther(_safe_next(str(form.get("next") or "")))
    _auth(request).set_cookie(resp, token)
    raise resp


@staff_page
async def logout(request: web.Request) -> web.StreamResponse:
    auth = _auth(request)
    auth.sessions.revoke(auth.token_of(request)[0])
    resp = web.HTTPSeeOther("/staff/login")
    auth.clear_cookie(resp)
    raise resp


async def api_login(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    if body is None:
        return _api_error(400, "bad_request", say("api_errors.bad_json"))
    auth = _auth(request)
    token, wait = await _attempt_login(request, body.get("password"))
    if wait:
        resp = _api_error(429, "throttled", say("api_errors.throttled"), retry_after=wait)
        resp.headers["Retry-After"] = str(wait)
        return resp
    if token is None:
        return _api_error(401, "unauthorized", say("messages.login_failed"))
    session = auth.sessions.get(token)
    return _json({"token": token, "token_type": "Bearer", "expires_in": auth.settings.session_seconds,
                  "csrf": session.csrf if session else None})


@staff_api
async def api_logout(request: web.Request) -> web.StreamResponse:
    auth = _auth(request)
    auth.sessions.revoke(auth.token_of(request)[0])
    resp = _json({"ok": True})
    auth.clear_cookie(resp)
    return resp


# -- suggestions ---------------------------------------------------------------------

def _validate_suggest(text: Any, city: Any) -> tuple[str | None, str | None, str | None]:
    """(text, city, error message)."""
    if not isinstance(text, str) or not text.strip():
        return None, None, say("messages.empty_text")
    if len(text) > MAX_TEXT:
        return None, None, say("messages.text_too_long", limit=MAX_TEXT)
    if city is not None and not isinstance(city, str):
        return None, None, say("api_errors.bad_field", field="city")
    return text, (city or "").strip() or None, None


async def _suggest(request: web.Request, text: str, city: str | None):
    return await suggest(text, city, rasa=request.app.get("rasa"), kb=request.app["knowledge"],
                         timeout=_auth(request).settings.nlu_timeout)


@staff_api
async def api_suggest(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    if body is None:
        return _api_error(400, "bad_request", say("api_errors.bad_json"))
    text, city, error = _validate_suggest(body.get("text"), body.get("city"))
    if error:
        return _api_error(400, "bad_request", error)
    try:
        result = await _suggest(request, text, city)
    except UnknownPlace:
        return _api_error(400, "unknown_city", say("messages.unknown_city", city=city))
    except KnowledgeError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    return _json(result.to_json())


async def _places(request: web.Request) -> list[str]:
    try:
        return [p.name for p in await _db(request.app["knowledge"].places)]
    except KnowledgeError:
        return []


def _options(values: list[tuple[str, str]], selected: str | None) -> Safe:
    return r.join(tag("option", text, value=value, selected="selected" if value == (selected or "") else None)
                  for value, text in values)


def _list_block(heading: str, items: tuple[str, ...], ordered: bool = False) -> Safe:
    if not items:
        return Safe("")
    lst = tag("ol" if ordered else "ul", r.join(tag("li", i) for i in items))
    return Safe(tag("h3", heading) + lst)


def _suggestion_html(rank: int, s: dict[str, Any]) -> str:
    score_key = "pages.score_nlu" if s["method"] == "nlu" else "pages.score_retrieval"
    src = s["source"]
    return r.render(
        "suggestion.html", rank=rank, topic=s["topic"], title=s["title"], label=s["label"],
        score_text=say(score_key, score=s["score"]), score_title=label("method", s["method"]),
        scope=s["scope"], scope_label=label("scope", s["scope"]), answer=s["answer"],
        steps=_list_block(say("pages.steps"), tuple(s["steps"]), ordered=True),
        channels=_list_block(say("pages.channels"), tuple(s["channels"])),
        materials=_list_block(say("pages.materials"), tuple(s["materials"])),
        citation=src["citation"], document=src["document"], section=src["section"] or say("pages.unknown"),
        as_of=src["as_of"] or say("pages.unknown"), quote=src["quote"],
    )


async def _suggest_page(request: web.Request, text: str = "", city: str | None = None,
                        results: Any = "", flash: str | None = None, flash_error: bool = False,
                        status: int = 200) -> web.Response:
    session = request[SESSION_KEY]
    places = await _places(request)
    options = _options([("", label("national_place", None) or "")] + [(p, p) for p in places], city)
    body = r.render("suggest.html", csrf=session.csrf, text=text, city_options=options,
                    max_text=MAX_TEXT, results=Safe(results))
    return _page(say("pages.suggest"), body, session=session, flash=flash, flash_error=flash_error, status=status)


@staff_page
async def suggest_page(request: web.Request) -> web.StreamResponse:
    if request.method == "GET":
        return await _suggest_page(request)
    form = await request.post()
    raw_text, raw_city = form.get("text"), form.get("city")
    text, city, error = _validate_suggest(raw_text, raw_city)
    if error:
        return await _suggest_page(request, str(raw_text or "")[:MAX_TEXT], flash=error, flash_error=True, status=400)
    try:
        result = await _suggest(request, text, city)
    except UnknownPlace:
        return await _suggest_page(request, text, flash=say("messages.unknown_city", city=city),
                                   flash_error=True, status=400)
    except KnowledgeError:
        return await _suggest_page(request, text, city, flash=say("messages.store_down"),
                                   flash_error=True, status=503)
    data = result.to_json()
    cards = "".join(_suggestion_html(i, s) for i, s in enumerate(data["suggestions"], 1))
    heading = tag("h2", say("pages.suggestions_heading", n=len(data["suggestions"])))
    results = Safe(f'<section id="suggestions">{heading}{cards}</section>')
    flash = None if result.nlu_available else say("messages.nlu_down")
    if not data["suggestions"]:
        flash = say("messages.no_suggestions")
    # Show the masked text back: staff see what was analysed, and no number lingers.
    return await _suggest_page(request, result.text, data["city"], results, flash=flash,
                               flash_error=not result.nlu_available)


# -- tickets ---------------------------------------------------------------------

def _queue_html(rows: list[TicketInfo]) -> Safe:
    if not rows:
        return tag("p", say("messages.no_open_tickets"), cls="hint")
    head = tag("tr", r.join(tag("th", say(f"pages.col_{c}"))
                            for c in ("code", "place", "topic", "reason", "hotline", "created")))
    labels = _topic_labels()
    body = r.join(tag("tr", r.join([
        tag("td", tag("a", t.code, href=f"/staff/tickets/{t.code}", cls="code")),
        tag("td", t.place or label("no_place", None)),
        tag("td", labels.get(t.topic or "", t.topic or say("pages.unknown"))),
        tag("td", label("reason", t.reason)),
        tag("td", t.hotline),
        tag("td", _local(t.created_at)),
    ])) for t in rows)
    return tag("table", Safe(tag("thead", head) + tag("tbody", body)), id="queue")


def _topic_labels() -> dict[str, str]:
    from bot.staff.suggest import topic_labels

    return topic_labels()


@staff_page
async def tickets_page(request: web.Request) -> web.StreamResponse:
    code = request.query.get("code")
    if code is not None:
        raise web.HTTPSeeOther(f"/staff/tickets/{quote(clean_code(code)) or '-'}")
    place = request.query.get("place") or None
    try:
        rows = await _db(tickets.list_open, _sessions(request), place)
    except SQLAlchemyError:
        logger.exception("ticket queue unavailable")
        return _message(say("pages.error"), say("messages.store_down"), session=request[SESSION_KEY], status=503)
    places = await _places(request)
    options = _options([("", label("all_places", None))] + [(p, p) for p in places], place)
    body = r.render("tickets.html", place_options=options, queue=_queue_html(rows))
    return _page(say("pages.tickets"), body, session=request[SESSION_KEY])


def _ticket_html(t: TicketInfo, session: StaffSession) -> str:
    lines = r.join(tag("li", Safe(tag("strong", label("from", m.get("from"))) + esc("：") + esc(m.get("text"))),
                       cls=f"from-{m.get('from', '')}") for m in t.transcript if isinstance(m, dict))
    transcript = tag("ol", lines, cls="transcript") if t.transcript else tag("p", say("pages.unknown"), cls="hint")
    slots = (tag("dl", r.join(Safe(tag("dt", k) + tag("dd", v)) for k, v in t.slots.items()))
             if t.slots else tag("p", say("pages.unknown"), cls="hint"))
    form = r.render("resolve_form.html", code=t.code, csrf=session.csrf) if t.status == "open" else ""
    labels = _topic_labels()
    return r.render(
        "ticket.html", code=t.code, status=t.status, status_label=label("status", t.status),
        place=t.place or label("no_place", None),
        topic=labels.get(t.topic or "", t.topic or label("no_topic", None)),
        reason=label("reason", t.reason), hotline=t.hotline, channel=t.channel or say("pages.unknown"),
        created_at=_local(t.created_at), resolved_at=_local(t.resolved_at),
        note=t.resolution_note or say("pages.unknown"), transcript=transcript, slots=slots,
        resolve_form=Safe(form),
    )


async def _ticket_or_page(request: web.Request, code: str):
    session = request[SESSION_KEY]
    try:
        return await _db(tickets.get_by_code, _sessions(request), code)
    except TicketNotFound:
        return _message(say("pages.not_found"), say("messages.ticket_not_found", code=clean_code(code)[:20]),
                        session=session, status=404, back="/staff/tickets")
    except SQLAlchemyError:
        logger.exception("ticket lookup failed")
        return _message(say("pages.error"), say("messages.store_down"), session=session, status=503)


@staff_page
async def ticket_page(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    if clean_code(code) != code and clean_code(code):
        raise web.HTTPSeeOther(f"/staff/tickets/{quote(clean_code(code))}")
    found = await _ticket_or_page(request, code)
    if isinstance(found, web.Response):
        return found
    flash = say("messages.resolved", code=found.code) if request.query.get("resolved") else None
    return _page(say("pages.ticket", code=found.code), _ticket_html(found, request[SESSION_KEY]),
                 session=request[SESSION_KEY], flash=flash)


@staff_page
async def ticket_resolve(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    session = request[SESSION_KEY]
    note = str((await request.post()).get("note") or "").strip()
    if not note:
        found = await _ticket_or_page(request, code)
        if isinstance(found, web.Response):
            return found
        return _page(say("pages.ticket", code=found.code), _ticket_html(found, session), session=session,
                     flash=say("messages.note_required"), flash_error=True, status=400)
    try:
        info = await _db(tickets.resolve, _sessions(request), code, note)
    except TicketNotFound:
        return _message(say("pages.not_found"), say("messages.ticket_not_found", code=clean_code(code)[:20]),
                        session=session, status=404, back="/staff/tickets")
    except TicketAlreadyResolved:
        return _message(say("pages.error"), say("messages.already_resolved", code=clean_code(code)),
                        session=session, status=409, back=f"/staff/tickets/{quote(clean_code(code))}")
    except SQLAlchemyError:
        logger.exception("ticket resolve failed")
        return _message(say("pages.error"), say("messages.store_down"), session=session, status=503)
    raise web.HTTPSeeOther(f"/staff/tickets/{info.code}?resolved=1")


@staff_api
async def api_tickets(request: web.Request) -> web.StreamResponse:
    try:
        rows = await _db(tickets.list_open, _sessions(request), request.query.get("place") or None)
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    return _json({"tickets": [t.to_json() for t in rows]})


@staff_api
async def api_ticket(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    try:
        info = await _db(tickets.get_by_code, _sessions(request), code)
    except TicketNotFound:
        return _api_error(404, "not_found", say("messages.ticket_not_found", code=clean_code(code)[:20]))
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    return _json(info.to_json())


@staff_api
async def api_ticket_resolve(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    body = await _json_body(request)
    if body is None:
        return _api_error(400, "bad_request", say("api_errors.bad_json"))
    note = body.get("note")
    if not isinstance(note, str) or not note.strip() or len(note) > 2000:
        return _api_error(400, "bad_request", say("messages.note_required"))
    try:
        info = await _db(tickets.resolve, _sessions(request), code, note.strip())
    except TicketNotFound:
        return _api_error(404, "not_found", say("messages.ticket_not_found", code=clean_code(code)[:20]))
    except TicketAlreadyResolved:
        return _api_error(409, "already_resolved", say("messages.already_resolved", code=clean_code(code)))
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    return _json(info.to_json())


# -- unanswered --------------------------------------------------------------------

def _days(request: web.Request) -> int | None:
    raw = request.query.get("days", str(DEFAULT_DAYS))
    try:
        days = int(raw)
    except ValueError:
        return None
    return days if 1 <= days <= 366 else None


def _unanswered_table(summary: tickets.UnansweredSummary) -> Safe:
    if not summary.groups:
        return tag("p", say("messages.no_unanswered"), cls="hint")
    labels = _topic_labels()
    head = tag("tr", r.join(tag("th", say(f"pages.col_{c}"))
                            for c in ("topic", "place", "total", "trend", "examples")))
    body = r.join(tag("tr", r.join([
        tag("td", labels.get(g.topic or "", g.topic or label("no_topic", None))),
        tag("td", g.place or label("no_place", None)),
        tag("td", g.total, cls="count"),
        tag("td", r.sparkline(summary.days, g.daily)),
        tag("td", tag("ul", r.join(tag("li", e) for e in g.examples))),
    ])) for g in summary.groups)
    return tag("table", Safe(tag("thead", head) + tag("tbody", body)), id="unanswered")


@staff_page
async def unanswered_page(request: web.Request) -> web.StreamResponse:
    session = request[SESSION_KEY]
    days = _days(request) or DEFAULT_DAYS
    try:
        summary = await _db(tickets.unanswered_summary, _sessions(request), days)
    except SQLAlchemyError:
        logger.exception("unanswered summary failed")
        return _message(say("pages.error"), say("messages.store_down"), session=session, status=503)
    choices = sorted({*DAY_CHOICES, days})
    options = _options([(str(d), say("pages.days", n=d)) for d in choices], str(days))
    body = r.render(
        "unanswered.html", day_options=options, total=sum(summary.totals.values()),
        chart=r.bar_chart(summary.days, summary.totals, title=say("pages.unanswered")),
        table=_unanswered_table(summary),
    )
    return _page(say("pages.unanswered"), body, session=session)


@staff_api
async def api_unanswered(request: web.Request) -> web.StreamResponse:
    days = _days(request)
    if days is None:
        return _api_error(400, "bad_request", say("api_errors.bad_field", field="days"))
    try:
        summary = await _db(tickets.unanswered_summary, _sessions(request), days)
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    return _json(summary.to_json())


# -- registration -----------------------------------------------------------------

def register(app: web.Application) -> None:
    """Add the console's routes to ``app``; raise StaffConfigError on bad settings."""
    settings = StaffSettings.from_env(app_settings=app.get("settings"))
    settings.announce()
    app[STAFF_AUTH] = StaffAuth(settings)
    app.router.add_get("/staff/login", login_form)
    app.router.add_post("/staff/login", login_submit)
    app.router.add_post("/staff/logout", logout)
    app.router.add_get("/staff", suggest_page)
    app.router.add_post("/staff", suggest_page)
    app.router.add_get("/staff/tickets", tickets_page)
    app.router.add_get("/staff/tickets/{code}", ticket_page)
    app.router.add_post("/staff/tickets/{code}/resolve", ticket_resolve)
    app.router.add_get("/staff/unanswered", unanswered_page)
    app.router.add_static("/staff/static/", STATIC_DIR, name="staff_static", append_version=False)
    app.router.add_post("/api/staff/login", api_login)
    app.router.add_post("/api/staff/logout", api_logout)
    app.router.add_post("/api/staff/suggest", api_suggest)
    app.router.add_get("/api/staff/tickets", api_tickets)
    app.router.add_get("/api/staff/tickets/{code}", api_ticket)
    app.router.add_post("/api/staff/tickets/{code}/resolve", api_ticket_resolve)
    app.router.add_get("/api/staff/unanswered", api_unanswered)
