"""Staff console features: login, suggested answers, tickets, unanswered questions, audit.

One handler per feature. It runs in both console sub-apps — pages under ``/staff``
and JSON under ``/api/staff`` — and answers with :func:`~bot.staff.console.reply`,
which picks the format; errors are raised and answered by the console's one error
handler (:mod:`bot.staff.console`). Only what truly differs between a browser and
an API client is spelled out here: forms redirect after a POST, pages fall back to
defaults where the API says 400, and the audit log notes "via the API".
"""
from __future__ import annotations

import csv
import functools
import io
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot import keys
from bot.staff import view
from bot.staff.auth import StaffAuth, client_key, same_origin
from bot.staff.console import (
    ACCOUNT,
    AUTH,
    OutOfScope,
    StaffError,
    account_of,
    bad_request,
    db_sessions,
    forbidden,
    in_thread,
    json_reply,
    knowledge,
    known_error,
    login_form,
    make_subapp,
    no_store,
    public,
    reply,
    safe_next,
    wants_json,
)
from bot.staff.devaccount import DevAccount, dev_account
from bot.staff.suggest import MAX_TEXT, suggest
from hotline import accounts, tickets
from hotline.accounts import Account, AccountNotFound
from hotline.tickets import TicketInfo, clean_code
from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
QUEUE_PAGE = 25
AUDIT_PAGE = 50
EXPORT_LIMIT = 200
NOTE_MAX = 2000
DAY_CHOICES = (7, 14, 30, 90)
DEFAULT_DAYS = 14
say, label = view.say, view.label


# -- helpers ----------------------------------------------------------------------------

def _me(request: web.Request) -> Account:
    return request[ACCOUNT]


def _via(request: web.Request) -> str:
    """The audit log's note for API use."""
    return say("audit.api") if wants_json(request) else ""


async def _audit(request: web.Request, action: str, target: str = "", detail: str = "",
                 account: str | None = None) -> None:
    """Record who did what; a failure to record is logged, never shown to staff."""
    name = account or (request[ACCOUNT].name if ACCOUNT in request else "-")
    try:
        await in_thread(accounts.audit, db_sessions(request), name, action, target, detail, client_key(request))
    except SQLAlchemyError:
        logger.exception("could not write the staff audit log")


async def _input(request: web.Request) -> dict[str, Any]:
    """The request's fields: the JSON object on the API, the form on the pages."""
    if not wants_json(request):
        return dict(await request.post())
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        raise bad_request(say("api_errors.bad_json"))
    return body


def _page_number(raw: str | None, top: int) -> int:
    try:
        return max(1, min(int(raw or "1"), top))
    except ValueError:
        return 1


async def _places(request: web.Request) -> list[str]:
    """The places this account works on, in the knowledge base's order."""
    try:
        names = [p.name for p in await in_thread(knowledge(request).places)]
    except KnowledgeError:
        names = []
    account = request.get(ACCOUNT)
    if account is not None and account.places is not None:
        names = [n for n in names if n in account.places]
    return names


# -- login ------------------------------------------------------------------------------

@public
async def login_page(request: web.Request) -> web.StreamResponse:
    """``GET /staff/login``: the form, or straight on when already logged in."""
    session, _ = await request.app[AUTH].session_of(request)
    if session is not None and await account_of(request, session) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    template, context = login_form(request)
    return reply(request, None, template, **context)


@public
async def login(request: web.Request) -> web.StreamResponse:
    """``POST /staff/login`` (form → cookie, redirect) and ``POST /api/staff/login``
    (JSON → Bearer token)."""
    api = wants_json(request)
    if not api and not same_origin(request):
        raise forbidden()
    body = await _input(request)
    auth: StaffAuth = request.app[AUTH]
    name = body.get("name")
    result = await auth.login(request, db_sessions(request), name, body.get("password"), body.get("code"),
                              bearer=api)
    form = login_form(request, str(body.get("next") or ""))
    if result.retry_after:
        wait = result.retry_after
        message = say("api_errors.throttled") if api else say("messages.login_throttled", minutes=max(1, wait // 60))
        raise StaffError(429, "throttled", message, form=form, headers={"Retry-After": str(wait)},
                         **({"retry_after": wait} if api else {}))
    if result.token is None:
        logger.warning("failed staff login from %s", client_key(request))
        await _audit(request, "login_failed", account=await _known_name(request, name))
        raise StaffError(401, "unauthorized", say("messages.login_failed"), form=form)
    await _audit(request, "login", account=result.account.name,
                 detail=say("audit.via_api" if api else "audit.via_form"))
    if api:
        return json_reply({"token": result.token, "token_type": "Bearer",
                           "expires_in": auth.settings.staff_session_seconds, "csrf": result.session.csrf,
                           "account": result.account.to_json()})
    resp = web.HTTPSeeOther(safe_next(str(body.get("next") or "")))
    auth.set_cookie(resp, result.token)
    if result.device:
        auth.set_device_cookie(resp, result.device)
    raise resp


async def _known_name(request: web.Request, name: Any) -> str:
    """Only names of real accounts are recorded: people type passwords into the name
    field, and an attacker's guesses are no account."""
    if isinstance(name, str) and name.strip():
        try:
            return (await in_thread(accounts.get_account, db_sessions(request), name.strip())).name
        except (AccountNotFound, accounts.AccountError):
            pass
    return "?"


async def logout(request: web.Request) -> web.StreamResponse:
    auth: StaffAuth = request.app[AUTH]
    await auth.revoke(request)
    await _audit(request, "logout")
    if wants_json(request):
        resp = json_reply({"ok": True})
        auth.clear_cookie(resp)
        return resp
    redirect = web.HTTPSeeOther("/staff/login")
    auth.clear_cookie(redirect)
    raise redirect


async def me(request: web.Request) -> web.StreamResponse:
    return json_reply(_me(request).to_json())


# -- suggestions ------------------------------------------------------------------------

def _validate_suggest(text: Any, city: Any) -> tuple[str, str | None]:
    if not isinstance(text, str) or not text.strip():
        raise bad_request(say("messages.empty_text"))
    if len(text) > MAX_TEXT:
        raise bad_request(say("messages.text_too_long", limit=MAX_TEXT))
    if city is not None and not isinstance(city, str):
        raise bad_request(say("api_errors.bad_field", field="city"))
    return text, (city or "").strip() or None


async def suggest_feature(request: web.Request) -> web.StreamResponse:
    """Suggested answers: the form (GET /staff), or answers for a question."""

    async def form(text: str = "", city: str | None = None) -> dict[str, Any]:
        places = await _places(request)
        return {"title": say("pages.suggest"), "text": text, "city": city, "max_text": MAX_TEXT,
                "places_choices": [(p, p) for p in places]}

    if request.method == "GET":   # pages only: the API has no GET here
        return reply(request, None, "suggest.html", **await form())
    body = await _input(request)
    raw_text, raw_city = body.get("text"), body.get("city")
    try:
        text, city = _validate_suggest(raw_text, raw_city)
        account = _me(request)
        if city and account.places is not None:
            place = await in_thread(knowledge(request).resolve_place, city)
            if place is not None and place.name not in account.places:
                raise OutOfScope(place.name)
        result = await suggest(text, city, rasa=request.config_dict.get(keys.RASA), kb=knowledge(request),
                               timeout=request.app[AUTH].settings.staff_nlu_timeout)
    except Exception as exc:
        err = known_error(exc)
        if err is None:
            raise
        if not wants_json(request):   # the form again, with what was typed
            keep_city = raw_city if err.status == 503 and isinstance(raw_city, str) else None
            err.form = ("suggest.html", {**await form(str(raw_text or "")[:MAX_TEXT], keep_city), "data": None})
        raise err from exc
    data = result.to_json()
    flash = None if result.nlu_available else say("messages.nlu_down")
    if not data["suggestions"]:
        flash = say("messages.no_suggestions")
    # Show the masked text back: staff see what was analysed, and no number lingers.
    if wants_json(request):
        return json_reply(data)
    return reply(request, data, "suggest.html", flash=flash, flash_error=not result.nlu_available,
                 **await form(result.text, data["city"]))


async def copied(request: web.Request) -> web.StreamResponse:
    """``POST /api/staff/audit {"action": "copy", "target": topic}``: the page reports
    that a suggested answer was copied (the copy itself happens in the browser)."""
    body = await _input(request)
    if body.get("action") != "copy" or not isinstance(body.get("target"), str):
        raise bad_request(say("api_errors.bad_field", field="action"))
    detail = body.get("detail") if isinstance(body.get("detail"), str) else ""
    await _audit(request, "copy", body["target"][:128], detail[:200])
    return json_reply({"ok": True})


# -- tickets ----------------------------------------------------------------------------

def _queue_params(request: web.Request) -> tuple[str | None, str, int]:
    """(place, order, page) from the query, with safe defaults."""
    place = request.query.get("place") or None
    order = request.query.get("order", "oldest")
    order = order if order in tickets.QUEUE_ORDERS else "oldest"
    return place, order, _page_number(request.query.get("page"), 10_000)


async def queue_feature(request: web.Request) -> web.StreamResponse:
    """The account's open tickets, a page at a time; on the pages also the lookup form."""
    code = request.query.get("code")
    if code is not None and not wants_json(request):
        raise web.HTTPSeeOther(f"/staff/tickets/{quote(clean_code(code)) or '-'}")
    place, order, page = _queue_params(request)
    queue = await in_thread(tickets.open_queue, db_sessions(request), place=place, places=_me(request).places,
                            order=order, offset=(page - 1) * QUEUE_PAGE, limit=QUEUE_PAGE)
    await _audit(request, "view_queue", place or "",
                 say("audit.queue", order=label("order", order), page=page) + _via(request))
    data = {**queue.to_json(), "page": page}
    if wants_json(request):
        return json_reply(data)

    def page_href(n: int) -> str:
        return "/staff/tickets?" + urlencode({"order": order, "page": n, **({"place": place} if place else {})})

    return reply(request, data, "tickets.html", title=say("pages.tickets"), queue=queue, place=place, order=order,
                 page=page, pages=max(1, -(-queue.total // QUEUE_PAGE)), page_href=page_href,
                 places_choices=[(p, p) for p in await _places(request)],
                 order_choices=[(o, label("order", o)) for o in tickets.QUEUE_ORDERS],
                 topics=view.topic_labels())


async def export_queue(request: web.Request) -> web.StreamResponse:
    """The account's open queue as CSV (no transcripts), for the shift hand-over."""
    place, order, _ = _queue_params(request)
    queue = await in_thread(tickets.open_queue, db_sessions(request), place=place, places=_me(request).places,
                            order=order, offset=0, limit=EXPORT_LIMIT)
    await _audit(request, "export_queue", place or "", say("audit.export", n=len(queue.tickets)))
    out = io.StringIO()
    writer = csv.writer(out)
    labels = view.topic_labels()
    writer.writerow([say(f"pages.col_{c}") for c in ("code", "place", "topic", "reason", "hotline", "created")])
    for t in queue.tickets:
        writer.writerow([t.code, t.place or "", labels.get(t.topic or "", t.topic or ""), label("reason", t.reason),
                         t.hotline, view.local(t.created_at)])
    resp = web.Response(body=out.getvalue().encode("utf-8-sig"), content_type="text/csv", charset="utf-8")
    resp.headers["Content-Disposition"] = 'attachment; filename="tickets.csv"'
    return no_store(resp)


async def _scoped_ticket(request: web.Request, code: str) -> TicketInfo:
    """The ticket when it is in the account's places; TicketNotFound otherwise (a
    ticket of another place is not even confirmed to exist), with the attempt audited."""
    info = await in_thread(tickets.get_by_code, db_sessions(request), code)
    if not _me(request).may_see(info.place):
        await _audit(request, "denied", info.code, say("audit.denied_place", place=info.place or label("no_place")))
        raise tickets.TicketNotFound(info.code)
    return info


def _ticket_page(request: web.Request, info: TicketInfo) -> dict[str, Any]:
    return {"title": say("pages.ticket", code=info.code), "ticket": info, "topics": view.topic_labels()}


async def ticket_feature(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    if not wants_json(request) and clean_code(code) and clean_code(code) != code:
        raise web.HTTPSeeOther(f"/staff/tickets/{quote(clean_code(code))}")
    info = await _scoped_ticket(request, code)
    await _audit(request, "view_ticket", info.code, (info.place or "") + _via(request))
    flash = say("messages.resolved", code=info.code) if request.query.get("resolved") else None
    return reply(request, info.to_json(), "ticket.html", flash=flash, **_ticket_page(request, info))


async def resolve_feature(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    note = (await _input(request)).get("note")
    if not isinstance(note, str) or not note.strip() or len(note) > NOTE_MAX:
        err = bad_request(say("messages.note_required"))
        if not wants_json(request):   # the ticket again, its form flagged
            err.form = ("ticket.html", _ticket_page(request, await _scoped_ticket(request, code)))
        raise err
    await _scoped_ticket(request, code)
    info = await in_thread(tickets.resolve, db_sessions(request), code, note.strip())
    await _audit(request, "resolve_ticket", info.code, info.place or "")
    if not wants_json(request):
        raise web.HTTPSeeOther(f"/staff/tickets/{info.code}?resolved=1")
    return json_reply(info.to_json())


# -- unanswered -------------------------------------------------------------------------

async def unanswered_feature(request: web.Request) -> web.StreamResponse:
    """Questions the bot could not answer, per day, topic and place."""
    try:
        days = int(request.query.get("days", str(DEFAULT_DAYS)))
    except ValueError:
        days = 0
    if not 1 <= days <= 366:
        if wants_json(request):
            raise bad_request(say("api_errors.bad_field", field="days"))
        days = DEFAULT_DAYS
    summary = await in_thread(tickets.unanswered_summary, db_sessions(request), days, places=_me(request).places)
    if not wants_json(request):
        await _audit(request, "view_unanswered", "", say("pages.days", n=days))
    return reply(request, summary.to_json(), "unanswered.html", title=say("pages.unanswered"), summary=summary,
                 days=days, day_choices=[(str(d), say("pages.days", n=d)) for d in sorted({*DAY_CHOICES, days})],
                 topics=view.topic_labels())


# -- audit log (admin) ------------------------------------------------------------------

async def audit_feature(request: web.Request) -> web.StreamResponse:
    if not _me(request).is_admin:
        await _audit(request, "denied", say("pages.audit"), _via(request))
        raise forbidden(say("messages.admin_only"))
    account = (request.query.get("account") or "").strip() or None
    action = request.query.get("action") or None
    action = action if action in accounts.ACTIONS else None
    page = _page_number(request.query.get("page"), 100_000)
    rows, total = await in_thread(accounts.audit_log, db_sessions(request), account=account, action=action,
                                  offset=(page - 1) * AUDIT_PAGE, limit=AUDIT_PAGE)
    await _audit(request, "view_audit", account or "", (label("action", action) if action else "") + _via(request))
    query = {k: v for k, v in (("account", account), ("action", action)) if v}

    def page_href(n: int) -> str:
        return "/staff/audit?" + urlencode({"page": n, **query})

    return reply(request, {"entries": [e.to_json() for e in rows], "total": total, "page": page}, "audit.html",
                 title=say("pages.audit"), entries=rows, page=page, pages=max(1, -(-total // AUDIT_PAGE)),
                 page_href=page_href, filter_account=account, filter_action=action, topics=view.topic_labels(),
                 action_choices=[("", say("pages.all_actions"))] + [(a, label("action", a)) for a in accounts.ACTIONS])


# -- the two sub-apps ------------------------------------------------------------------

# (method, path, handler) of each sub-app; a feature in both serves HTML and JSON.
PAGES = (
    ("GET", "/login", login_page), ("POST", "/login", login), ("POST", "/logout", logout),
    ("GET", "", suggest_feature), ("POST", "", suggest_feature),
    ("GET", "/tickets", queue_feature), ("GET", "/tickets.csv", export_queue),
    ("GET", "/tickets/{code}", ticket_feature), ("POST", "/tickets/{code}/resolve", resolve_feature),
    ("GET", "/unanswered", unanswered_feature), ("GET", "/audit", audit_feature),
)
API = (
    ("POST", "/login", login), ("POST", "/logout", logout), ("GET", "/me", me),
    ("POST", "/suggest", suggest_feature), ("GET", "/tickets", queue_feature),
    ("GET", "/tickets/{code}", ticket_feature), ("POST", "/tickets/{code}/resolve", resolve_feature),
    ("GET", "/unanswered", unanswered_feature), ("POST", "/audit", copied), ("GET", "/audit", audit_feature),
)


async def _bootstrap(app: web.Application, dev: DevAccount | None) -> None:
    """Start-up: the development admin account; a warning when production has no account."""
    sessions = app.get(keys.DB_SESSIONS)
    if sessions is None:
        return
    try:
        if dev is not None:
            await in_thread(accounts.ensure_dev_account, sessions, dev.name, dev.password_hash)
            dev.announce()
        elif not await in_thread(accounts.count_active, sessions):
            logger.warning("no staff accounts yet: create one with "
                           "`python -m hotline staff add NAME --role admin --places all`")
    except SQLAlchemyError:
        logger.exception("staff accounts unavailable at start-up (the console will retry on login)")


def build(app: web.Application) -> tuple[web.Application, web.Application]:
    """The pages and API sub-apps for the gateway ``app`` (its ``keys.SETTINGS`` set);
    SettingsError on an unusable STAFF_PASSWORD_HASH."""
    settings = app[keys.SETTINGS]
    dev = dev_account(settings)
    secret = settings.gateway_secret
    auth = StaffAuth(settings, secret.encode("utf-8") if secret else None)
    pages, api = make_subapp(auth, json_api=False), make_subapp(auth, json_api=True)
    for sub, table in ((pages, PAGES), (api, API)):
        for method, path, handler in table:
            if method == "GET":
                sub.router.add_get(path, handler)   # HEAD too, as before
            else:
                sub.router.add_route(method, path, handler)
    pages.router.add_static("/static/", STATIC_DIR, name="staff_static", append_version=False)
    # On the gateway's start-up: its database exists only then.
    app.on_startup.append(functools.partial(_bootstrap, dev=dev))
    return pages, api
