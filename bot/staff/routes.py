"""Staff console routes: login, suggested answers, tickets, unanswered questions.

HTML pages live under ``/staff``, JSON under ``/api/staff``. Every route except the
login form and the static files needs a valid staff session (cookie or Bearer
token); without one the answer is 401 and carries no ticket data. Database and
knowledge calls are synchronous (SQLAlchemy) and run in a worker thread.
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import functools
import io
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
from hotline import accounts, tickets
from hotline.accounts import Account, AccountNotFound
from hotline.tickets import TicketAlreadyResolved, TicketInfo, TicketNotFound, clean_code
from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STAFF_AUTH = web.AppKey("staff_auth", StaffAuth)
SESSION_KEY = "staff_session"
ACCOUNT_KEY = "staff_account"
QUEUE_PAGE = 25
AUDIT_PAGE = 50
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
          flash_error: bool = False, status: int = 200, account: Account | None = None) -> web.Response:
    nav = ""
    if session:
        admin = tag("a", say("pages.audit"), href="/staff/audit") if account and account.is_admin else ""
        nav = r.render("nav.html", csrf=session.csrf, account=session.account, admin_links=Safe(admin))
    flash_html = tag("div", flash, cls="flash error" if flash_error else "flash", role="status") if flash else ""
    text = r.render("layout.html", title=title, nav=Safe(nav), flash=flash_html, body=Safe(body),
                    csrf=session.csrf if session else "")
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


async def _account_of(request: web.Request, session: StaffSession | None) -> Account | None:
    """The session's account, re-read every request: a disabled account or changed
    places take effect at once."""
    if session is None:
        return None
    try:
        account = await _db(accounts.get_account, _sessions(request), session.account)
    except AccountNotFound:
        return None
    return account if account.active else None


def staff_page(handler: Handler) -> Handler:
    """HTML route guard: session required; POST forms need the CSRF token."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        session, bearer = await _auth(request).session_of(request)
        account = await _account_of(request, session)
        if session is None or account is None:
            return _login_page(request, status=401)
        if request.method == "POST" and not bearer:
            form = await request.post()
            if not same_origin(request) or not csrf_ok(session, form.get("csrf")):
                return _message(say("pages.error"), say("api_errors.forbidden"), session=session, status=403)
        request[SESSION_KEY] = session
        request[ACCOUNT_KEY] = account
        return await handler(request)
    return wrapper


def staff_api(handler: Handler) -> Handler:
    """API guard: Bearer token, or cookie plus ``X-CSRF-Token`` for anything but GET."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        session, bearer = await _auth(request).session_of(request)
        account = await _account_of(request, session)
        if session is None or account is None:
            resp = _api_error(401, "unauthorized", say("api_errors.unauthorized"))
            resp.headers["WWW-Authenticate"] = 'Bearer realm="staff"'
            return resp
        if request.method not in ("GET", "HEAD") and not bearer:
            if not same_origin(request) or not csrf_ok(session, request.headers.get("X-CSRF-Token")):
                return _api_error(403, "forbidden", say("api_errors.forbidden"))
        request[SESSION_KEY] = session
        request[ACCOUNT_KEY] = account
        return await handler(request)
    return wrapper


def _me(request: web.Request) -> Account:
    return request[ACCOUNT_KEY]


async def _audit(request: web.Request, action: str, target: str = "", detail: str = "",
                 account: str | None = None) -> None:
    """Record who did what; a failure to record is logged, never shown to staff."""
    name = account or (request[ACCOUNT_KEY].name if ACCOUNT_KEY in request else "-")
    try:
        await _db(accounts.audit, _sessions(request), name, action, target, detail, client_key(request))
    except SQLAlchemyError:
        logger.exception("could not write the staff audit log")


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

async def _attempt_login(request: web.Request, name: Any, password: Any, code: Any, *, bearer: bool):
    result = await _auth(request).login(request, _sessions(request), name, password, code, bearer=bearer)
    if result.token:
        await _audit(request, "login", account=result.account.name, detail=say("audit.via_api" if bearer else "audit.via_form"))
    elif not result.retry_after:
        logger.warning("failed staff login from %s", client_key(request))
        # Only names of real accounts are recorded: people type passwords into the
        # name field, and an attacker's guesses are no account.
        shown = "?"
        if isinstance(name, str) and name.strip():
            try:
                shown = (await _db(accounts.get_account, _sessions(request), name.strip())).name
            except (AccountNotFound, accounts.AccountError):
                shown = "?"
        await _audit(request, "login_failed", account=shown)
    return result


async def login_form(request: web.Request) -> web.StreamResponse:
    session, _ = await _auth(request).session_of(request)
    if session is not None and await _account_of(request, session) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return _login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        return _message(say("pages.error"), say("api_errors.forbidden"), session=None, status=403)
    form = await request.post()
    result = await _attempt_login(request, form.get("name"), form.get("password"), form.get("code"),
                                  bearer=False)
    if result.retry_after:
        wait = result.retry_after
        resp = _login_page(request, status=429, error=say("messages.login_throttled", minutes=max(1, wait // 60)))
        resp.headers["Retry-After"] = str(wait)
        return resp
    if result.token is None:
        return _login_page(request, status=401, error=say("messages.login_failed"))
    resp = web.HTTPSeeOther(_safe_next(str(form.get("next") or "")))
    _auth(request).set_cookie(resp, result.token)
    if result.device:
        _auth(request).set_device_cookie(resp, result.device)
    raise resp


@staff_page
async def logout(request: web.Request) -> web.StreamResponse:
    auth = _auth(request)
    await auth.revoke(request)
    await _audit(request, "logout")
    resp = web.HTTPSeeOther("/staff/login")
    auth.clear_cookie(resp)
    raise resp


async def api_login(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    if body is None:
        return _api_error(400, "bad_request", say("api_errors.bad_json"))
    auth = _auth(request)
    result = await _attempt_login(request, body.get("name"), body.get("password"), body.get("code"),
                                  bearer=True)
    if result.retry_after:
        resp = _api_error(429, "throttled", say("api_errors.throttled"), retry_after=result.retry_after)
        resp.headers["Retry-After"] = str(result.retry_after)
        return resp
    if result.token is None:
        return _api_error(401, "unauthorized", say("messages.login_failed"))
    return _json({"token": result.token, "token_type": "Bearer", "expires_in": auth.settings.session_seconds,
                  "csrf": result.session.csrf, "account": result.account.to_json()})


@staff_api
async def api_logout(request: web.Request) -> web.StreamResponse:
    auth = _auth(request)
    await auth.revoke(request)
    await _audit(request, "logout")
    resp = _json({"ok": True})
    auth.clear_cookie(resp)
    return resp


@staff_api
async def api_me(request: web.Request) -> web.StreamResponse:
    return _json(_me(request).to_json())


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


class OutOfScope(Exception):
    """The account may not work on this place."""


async def _suggest(request: web.Request, text: str, city: str | None):
    account = _me(request)
    if city and account.places is not None:
        place = await _db(request.app["knowledge"].resolve_place, city)
        if place is not None and place.name not in account.places:
            raise OutOfScope(place.name)
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
    except OutOfScope as exc:
        return _api_error(403, "out_of_scope", say("messages.out_of_scope", place=str(exc)))
    except UnknownPlace:
        return _api_error(400, "unknown_city", say("messages.unknown_city", city=city))
    except KnowledgeError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    return _json(result.to_json())


async def _places(request: web.Request) -> list[str]:
    """The places this account works on, in the knowledge base's order."""
    try:
        names = [p.name for p in await _db(request.app["knowledge"].places)]
    except KnowledgeError:
        names = []
    account = request.get(ACCOUNT_KEY)
    if account is not None and account.places is not None:
        names = [n for n in names if n in account.places]
    return names


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
    return _page(say("pages.suggest"), body, session=session, flash=flash, flash_error=flash_error, status=status,
                 account=_me(request))


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
    except OutOfScope as exc:
        return await _suggest_page(request, text, flash=say("messages.out_of_scope", place=str(exc)),
                                   flash_error=True, status=403)
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


def _queue_params(request: web.Request) -> tuple[str | None, str, int]:
    """(place, order, page) from the query, with safe defaults."""
    place = request.query.get("place") or None
    order = request.query.get("order", "oldest")
    order = order if order in tickets.QUEUE_ORDERS else "oldest"
    try:
        page = max(1, min(int(request.query.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    return place, order, page


async def _queue(request: web.Request, limit: int = QUEUE_PAGE) -> tickets.QueuePage:
    place, order, page = _queue_params(request)
    return await _db(tickets.open_queue, _sessions(request), place=place, places=_me(request).places,
                     order=order, offset=(page - 1) * limit, limit=limit)


def _pager(queue: tickets.QueuePage, place: str | None) -> Safe:
    page = queue.offset // queue.limit + 1
    pages = max(1, -(-queue.total // queue.limit))

    def link(n: int, text: str) -> Safe:
        query = f"order={queue.order}&page={n}" + (f"&place={quote(place)}" if place else "")
        return tag("a", text, href=f"/staff/tickets?{query}", rel="prev" if n < page else "next")

    parts = [tag("span", say("pages.page_of", page=page, pages=pages, total=queue.total), cls="count")]
    if page > 1:
        parts.insert(0, link(page - 1, say("pages.prev")))
    if page < pages:
        parts.append(link(page + 1, say("pages.next")))
    return tag("nav", r.join(parts), cls="pager", id="queue-pager")


@staff_page
async def tickets_page(request: web.Request) -> web.StreamResponse:
    code = request.query.get("code")
    if code is not None:
        raise web.HTTPSeeOther(f"/staff/tickets/{quote(clean_code(code)) or '-'}")
    place, order, page = _queue_params(request)
    try:
        queue = await _queue(request)
    except SQLAlchemyError:
        logger.exception("ticket queue unavailable")
        return _message(say("pages.error"), say("messages.store_down"), session=request[SESSION_KEY], status=503)
    await _audit(request, "view_queue", place or "", say("audit.queue", order=label("order", order), page=page))
    places = await _places(request)
    options = _options([("", label("all_places", None))] + [(p, p) for p in places], place)
    orders = _options([(o, label("order", o)) for o in tickets.QUEUE_ORDERS], order)
    body = r.render("tickets.html", place_options=options, order_options=orders,
                    queue=_queue_html(queue.tickets), pager=_pager(queue, place))
    return _page(say("pages.tickets"), body, session=request[SESSION_KEY], account=_me(request))


@staff_page
async def tickets_export(request: web.Request) -> web.StreamResponse:
    """The account's open queue as CSV (no transcripts), for the shift hand-over."""
    place, order, _ = _queue_params(request)
    try:
        queue = await _db(tickets.open_queue, _sessions(request), place=place, places=_me(request).places,
                          order=order, offset=0, limit=200)
    except SQLAlchemyError:
        return _message(say("pages.error"), say("messages.store_down"), session=request[SESSION_KEY], status=503)
    await _audit(request, "export_queue", place or "", say("audit.export", n=len(queue.tickets)))
    out = io.StringIO()
    writer = csv.writer(out)
    labels = _topic_labels()
    writer.writerow([say(f"pages.col_{c}") for c in ("code", "place", "topic", "reason", "hotline", "created")])
    for t in queue.tickets:
        writer.writerow([t.code, t.place or "", labels.get(t.topic or "", t.topic or ""), label("reason", t.reason),
                         t.hotline, _local(t.created_at)])
    resp = web.Response(body=out.getvalue().encode("utf-8-sig"), content_type="text/csv", charset="utf-8")
    resp.headers["Content-Disposition"] = 'attachment; filename="tickets.csv"'
    return _no_store(resp)


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


async def _scoped_ticket(request: web.Request, code: str) -> TicketInfo:
    """The ticket when it is in the account's places; TicketNotFound otherwise (a
    ticket of another place is not even confirmed to exist), with the attempt audited."""
    info = await _db(tickets.get_by_code, _sessions(request), code)
    if not _me(request).may_see(info.place):
        await _audit(request, "denied", info.code, say("audit.denied_place", place=info.place or label("no_place", None)))
        raise TicketNotFound(info.code)
    return info


async def _ticket_or_page(request: web.Request, code: str):
    session = request[SESSION_KEY]
    try:
        return await _scoped_ticket(request, code)
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
    await _audit(request, "view_ticket", found.code, found.place or "")
    flash = say("messages.resolved", code=found.code) if request.query.get("resolved") else None
    return _page(say("pages.ticket", code=found.code), _ticket_html(found, request[SESSION_KEY]),
                 session=request[SESSION_KEY], flash=flash, account=_me(request))


async def _resolve(request: web.Request, code: str, note: str) -> TicketInfo:
    await _scoped_ticket(request, code)
    info = await _db(tickets.resolve, _sessions(request), code, note)
    await _audit(request, "resolve_ticket", info.code, info.place or "")
    return info


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
                     flash=say("messages.note_required"), flash_error=True, status=400, account=_me(request))
    try:
        info = await _resolve(request, code, note)
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
    _, order, page = _queue_params(request)
    try:
        queue = await _queue(request)
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    await _audit(request, "view_queue", request.query.get("place") or "",
                 say("audit.queue", order=label("order", order), page=page) + say("audit.api"))
    return _json({**queue.to_json(), "page": page})


@staff_api
async def api_ticket(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    try:
        info = await _scoped_ticket(request, code)
    except TicketNotFound:
        return _api_error(404, "not_found", say("messages.ticket_not_found", code=clean_code(code)[:20]))
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    await _audit(request, "view_ticket", info.code, (info.place or "") + say("audit.api"))
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
        info = await _resolve(request, code, note.strip())
    except TicketNotFound:
        return _api_error(404, "not_found", say("messages.ticket_not_found", code=clean_code(code)[:20]))
    except TicketAlreadyResolved:
        return _api_error(409, "already_resolved", say("messages.already_resolved", code=clean_code(code)))
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    return _json(info.to_json())


@staff_api
async def api_audit_event(request: web.Request) -> web.StreamResponse:
    """``POST /api/staff/audit {"action": "copy", "target": topic}``: the page reports
    that a suggested answer was copied (the copy itself happens in the browser)."""
    body = await _json_body(request)
    if body is None or body.get("action") != "copy" or not isinstance(body.get("target"), str):
        return _api_error(400, "bad_request", say("api_errors.bad_field", field="action"))
    detail = body.get("detail") if isinstance(body.get("detail"), str) else ""
    await _audit(request, "copy", body["target"][:128], detail[:200])
    return _json({"ok": True})


# -- audit log (admin) ------------------------------------------------------------------

def _audit_params(request: web.Request) -> tuple[str | None, str | None, int]:
    account = (request.query.get("account") or "").strip() or None
    action = request.query.get("action") or None
    action = action if action in accounts.ACTIONS else None
    try:
        page = max(1, min(int(request.query.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    return account, action, page


@staff_page
async def audit_page(request: web.Request) -> web.StreamResponse:
    session, me = request[SESSION_KEY], _me(request)
    if not me.is_admin:
        await _audit(request, "denied", say("pages.audit"))
        return _message(say("pages.error"), say("messages.admin_only"), session=session, status=403)
    account, action, page = _audit_params(request)
    try:
        rows, total = await _db(accounts.audit_log, _sessions(request), account=account, action=action,
                                offset=(page - 1) * AUDIT_PAGE, limit=AUDIT_PAGE)
    except SQLAlchemyError:
        return _message(say("pages.error"), say("messages.store_down"), session=session, status=503)
    await _audit(request, "view_audit", account or "", label("action", action) if action else "")
    head = tag("tr", r.join(tag("th", say(f"pages.col_{c}"))
                            for c in ("at", "account", "action", "target", "detail", "address")))
    topics = _topic_labels()
    body_rows = r.join(tag("tr", r.join([
        tag("td", _local(e.at)), tag("td", e.account), tag("td", label("action", e.action), data_action=e.action),
        # A copied answer is stored by topic id; staff read its label.
        tag("td", topics.get(e.target, e.target) if e.action == "copy" else e.target, data_target=e.target),
        tag("td", e.detail), tag("td", e.address),
    ])) for e in rows)
    table = (tag("table", Safe(tag("thead", head) + tag("tbody", body_rows)), id="audit") if rows
             else tag("p", say("messages.no_audit"), cls="hint"))
    pages = max(1, -(-total // AUDIT_PAGE))
    query = "".join(f"&{k}={quote(v)}" for k, v in (("account", account), ("action", action)) if v)
    nav = [tag("span", say("pages.page_of", page=page, pages=pages, total=total), cls="count")]
    if page > 1:
        nav.insert(0, tag("a", say("pages.prev"), href=f"/staff/audit?page={page - 1}{query}"))
    if page < pages:
        nav.append(tag("a", say("pages.next"), href=f"/staff/audit?page={page + 1}{query}"))
    actions = _options([("", say("pages.all_actions"))] + [(a, label("action", a)) for a in accounts.ACTIONS], action)
    html = r.render("audit.html", account=account or "", action_options=actions, table=table,
                    pager=tag("nav", r.join(nav), cls="pager"))
    return _page(say("pages.audit"), html, session=session, account=me)


@staff_api
async def api_audit(request: web.Request) -> web.StreamResponse:
    if not _me(request).is_admin:
        await _audit(request, "denied", say("pages.audit"), say("audit.api"))
        return _api_error(403, "forbidden", say("messages.admin_only"))
    account, action, page = _audit_params(request)
    try:
        rows, total = await _db(accounts.audit_log, _sessions(request), account=account, action=action,
                                offset=(page - 1) * AUDIT_PAGE, limit=AUDIT_PAGE)
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    await _audit(request, "view_audit", account or "", label("action", action) + say("audit.api") if action else say("audit.api"))
    return _json({"entries": [e.to_json() for e in rows], "total": total, "page": page})


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
        summary = await _db(tickets.unanswered_summary, _sessions(request), days, places=_me(request).places)
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
    await _audit(request, "view_unanswered", "", say("pages.days", n=days))
    return _page(say("pages.unanswered"), body, session=session, account=_me(request))


@staff_api
async def api_unanswered(request: web.Request) -> web.StreamResponse:
    days = _days(request)
    if days is None:
        return _api_error(400, "bad_request", say("api_errors.bad_field", field="days"))
    try:
        summary = await _db(tickets.unanswered_summary, _sessions(request), days, places=_me(request).places)
    except SQLAlchemyError:
        return _api_error(503, "store_unavailable", say("messages.store_down"))
    return _json(summary.to_json())


# -- registration -----------------------------------------------------------------

async def _bootstrap(app: web.Application) -> None:
    """Start-up: the development admin account; a warning when production has no account."""
    settings: StaffSettings = app[STAFF_AUTH].settings
    sessions = app.get("db_sessions")
    if sessions is None:
        return
    try:
        if settings.dev_password_hash and not settings.production:
            await asyncio.to_thread(accounts.ensure_dev_account, sessions, settings.dev_user,
                                    settings.dev_password_hash)
            settings.announce()
        elif not await asyncio.to_thread(accounts.count_active, sessions):
            logger.warning("no staff accounts yet: create one with "
                           "`python -m hotline staff add NAME --role admin --places all`")
    except SQLAlchemyError:
        logger.exception("staff accounts unavailable at start-up (the console will retry on login)")


def register(app: web.Application) -> None:
    """Add the console's routes to ``app``; raise StaffConfigError on bad settings."""
    app_settings = app.get("settings")
    settings = StaffSettings.from_env(app_settings=app_settings)
    secret = getattr(app_settings, "gateway_secret", None)
    app[STAFF_AUTH] = StaffAuth(settings, secret.encode("utf-8") if isinstance(secret, str) else None)
    app.on_startup.append(_bootstrap)
    app.router.add_get("/staff/login", login_form)
    app.router.add_post("/staff/login", login_submit)
    app.router.add_post("/staff/logout", logout)
    app.router.add_get("/staff", suggest_page)
    app.router.add_post("/staff", suggest_page)
    app.router.add_get("/staff/tickets", tickets_page)
    app.router.add_get("/staff/tickets.csv", tickets_export)
    app.router.add_get("/staff/tickets/{code}", ticket_page)
    app.router.add_post("/staff/tickets/{code}/resolve", ticket_resolve)
    app.router.add_get("/staff/unanswered", unanswered_page)
    app.router.add_get("/staff/audit", audit_page)
    app.router.add_static("/staff/static/", STATIC_DIR, name="staff_static", append_version=False)
    app.router.add_post("/api/staff/login", api_login)
    app.router.add_post("/api/staff/logout", api_logout)
    app.router.add_get("/api/staff/me", api_me)
    app.router.add_post("/api/staff/suggest", api_suggest)
    app.router.add_get("/api/staff/tickets", api_tickets)
    app.router.add_get("/api/staff/tickets/{code}", api_ticket)
    app.router.add_post("/api/staff/tickets/{code}/resolve", api_ticket_resolve)
    app.router.add_get("/api/staff/unanswered", api_unanswered)
    app.router.add_post("/api/staff/audit", api_audit_event)
    app.router.add_get("/api/staff/audit", api_audit)
