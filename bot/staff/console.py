"""The console's plumbing: sub-application state, middleware, and one way to answer.

The console is two aiohttp sub-applications built by :func:`bot.staff.routes.build`:
pages under ``/staff`` (HTML) and the API under ``/api/staff`` (JSON). Both run the
same handlers behind the same middleware; a handler says what it found with
:func:`reply` and the sub-app it runs in decides the format.

Middleware, outermost first:

- :func:`errors` — the one error handler: :class:`StaffError` and known domain
  errors become the right page or JSON body; anything else is logged and
  answered with a plain 500 (never a traceback);
- :func:`authenticate` — a valid session (cookie or Bearer token) on every route
  not marked :func:`public`, the account re-read on every request, and for
  cookie sessions the origin check and CSRF token on anything but GET.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot import keys
from bot.staff import view
from bot.staff.auth import StaffAuth, StaffSession, csrf_ok, same_origin
from bot.staff.suggest import UnknownPlace
from hotline import accounts
from hotline.accounts import Account, AccountNotFound
from hotline.tickets import TicketAlreadyResolved, TicketNotFound
from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC_PREFIX = "/staff/static/"

# Sub-application state (typed keys) and what the auth middleware puts on a request.
AUTH = web.AppKey("staff_auth", StaffAuth)
JSON_API = web.AppKey("staff_json_api", bool)          # True: the /api/staff sub-app
SESSION = web.RequestKey("staff_session", StaffSession)
ACCOUNT = web.RequestKey("staff_account", Account)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class StaffError(Exception):
    """A known failure, answered as ``{"error", "message", **extra}`` in JSON and as a
    page in HTML: the ``form`` (template, context) shown again with the message as
    an error flash, or else a message page with a back link."""

    def __init__(self, status: int, error: str, message: str, *, title: str | None = None,
                 back: str = "/staff", form: tuple[str, dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, show_flash: bool = True, **extra: Any):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.title, self.back, self.form = title, back, form
        self.headers = headers or {}
        self.show_flash = show_flash
        self.extra = extra


class OutOfScope(Exception):
    """The account may not work on this place."""


def known_error(exc: BaseException) -> StaffError | None:
    """The answer to a domain error every feature may meet; None for a bug."""
    if isinstance(exc, StaffError):
        return exc
    if isinstance(exc, TicketNotFound):
        code = str(exc.args[0] if exc.args else "")[:20]
        return StaffError(404, "not_found", view.say("messages.ticket_not_found", code=code),
                          title=view.say("pages.not_found"), back="/staff/tickets")
    if isinstance(exc, TicketAlreadyResolved):
        code = str(exc.args[0] if exc.args else "")
        return StaffError(409, "already_resolved", view.say("messages.already_resolved", code=code),
                          back=f"/staff/tickets/{quote(code)}")
    if isinstance(exc, OutOfScope):
        return StaffError(403, "out_of_scope", view.say("messages.out_of_scope", place=str(exc)))
    if isinstance(exc, UnknownPlace):
        return StaffError(400, "unknown_city", view.say("messages.unknown_city", city=str(exc)))
    if isinstance(exc, (SQLAlchemyError, KnowledgeError)):
        logger.warning("staff console: store unavailable (%s)", type(exc).__name__, exc_info=exc)
        return StaffError(503, "store_unavailable", view.say("messages.store_down"))
    return None


def bad_request(message: str) -> StaffError:
    return StaffError(400, "bad_request", message)


def forbidden(message: str | None = None) -> StaffError:
    return StaffError(403, "forbidden", message or view.say("api_errors.forbidden"))


# -- answering ---------------------------------------------------------------------------

def wants_json(request: web.Request) -> bool:
    return request.app.get(JSON_API, False)


def no_store(response: web.StreamResponse) -> web.StreamResponse:
    # Pages and answers hold residents' questions: never cache them.
    response.headers["Cache-Control"] = "no-store"
    return response


def json_reply(data: Any, status: int = 200) -> web.Response:
    return no_store(web.json_response(data, status=status,
                                      dumps=functools.partial(json.dumps, ensure_ascii=False)))


def page(request: web.Request, template: str, *, status: int = 200, title: str = "",
         flash: str | None = None, flash_error: bool = False, **context: Any) -> web.Response:
    """Render ``template`` (it extends ``layout.html``) with the session's chrome."""
    context = {"session": request.get(SESSION), "account": request.get(ACCOUNT), "title": title,
               "flash": flash, "flash_error": flash_error, **context}
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    return no_store(response)


def reply(request: web.Request, data: Any, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """One feature's answer: ``data`` as JSON on the API, ``template`` (given ``data``
    and ``context``) on the pages."""
    if wants_json(request):
        return json_reply(data, status)
    return page(request, template, status=status, data=data, **context)


def error_reply(request: web.Request, err: StaffError) -> web.Response:
    if wants_json(request):
        response = json_reply({"error": err.error, "message": err.message, **err.extra}, err.status)
    elif err.form is not None:
        template, context = err.form
        response = page(request, template, status=err.status, flash=err.message if err.show_flash else None,
                        flash_error=True, **context)
    else:
        title = err.title or view.say("pages.error")
        response = page(request, "message.html", status=err.status, title=title, message=err.message,
                        back=err.back)
    response.headers.update(err.headers)
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The one error handler of the console."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise      # redirects, and the router's 404/405 the gateway words itself
    except Exception as exc:   # noqa: BLE001 — the console's last line: log, answer plainly
        err = known_error(exc)
        if err is not None:
            return error_reply(request, err)
        logger.exception("staff console: unhandled error on %s %s", request.method, request.path)
        message = view.say("pages.error")
        if wants_json(request):
            return json_reply({"error": "internal", "message": message}, 500)
        return no_store(web.Response(text=message, status=500, content_type="text/plain", charset="utf-8"))


# -- authentication ----------------------------------------------------------------------

def public(handler: Handler) -> Handler:
    """Mark a route as reachable without a session (the login form and its POST)."""
    handler.staff_public = True  # type: ignore[attr-defined]
    return handler


def _is_public(request: web.Request) -> bool:
    match = request.match_info
    if match.http_exception is not None:       # no such route: the router's 404/405
        return True
    if isinstance(match.route.resource, web.StaticResource):
        return True
    return getattr(match.handler, "staff_public", False)


def safe_next(target: str | None) -> str:
    """Only redirect to our own console pages (no open redirect)."""
    if target and target.startswith("/staff") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff"


def login_form(request: web.Request, next_url: str | None = None) -> tuple[str, dict[str, Any]]:
    """The login page as a form to show again (with an error) or first."""
    if next_url is None:
        next_url = request.path_qs if request.method == "GET" else "/staff"
        if request.path.startswith("/staff/login"):
            next_url = request.query.get("next", "/staff")
    return "login.html", {"title": view.say("pages.login"), "next": safe_next(next_url)}


def login_required(request: web.Request) -> StaffError:
    # The page is the login form itself, without an error: a first visit lands here.
    return StaffError(401, "unauthorized", view.say("api_errors.unauthorized"), form=login_form(request),
                      show_flash=False,
                      headers={"WWW-Authenticate": 'Bearer realm="staff"'} if wants_json(request) else None)


def db_sessions(request: web.Request) -> Any:
    """The gateway's SQLAlchemy session factory (the parent app's state)."""
    return request.config_dict[keys.DB_SESSIONS]


def knowledge(request: web.Request) -> Any:
    return request.config_dict[keys.KNOWLEDGE]


async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Database and knowledge calls are synchronous (SQLAlchemy): off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def account_of(request: web.Request, session: StaffSession | None) -> Account | None:
    """The session's account, re-read every request: a disabled account or changed
    places take effect at once."""
    if session is None:
        return None
    try:
        account = await in_thread(accounts.get_account, db_sessions(request), session.account)
    except AccountNotFound:
        return None
    return account if account.active else None


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session required; a cookie session's POST also needs our origin and its CSRF
    token (a form field on the pages, ``X-CSRF-Token`` on the API). Bearer tokens
    come from no browser and need neither."""
    if _is_public(request):
        return await handler(request)
    session, bearer = await request.app[AUTH].session_of(request)
    account = await account_of(request, session)
    if session is None or account is None:
        raise login_required(request)
    request[SESSION] = session
    request[ACCOUNT] = account
    if request.method not in ("GET", "HEAD") and not bearer:
        if wants_json(request):
            supplied = request.headers.get("X-CSRF-Token")
        else:
            supplied = (await request.post()).get("csrf")
        if not same_origin(request) or not csrf_ok(session, supplied if isinstance(supplied, str) else None):
            raise forbidden()
    return await handler(request)


async def _no_store_pages(request: web.Request, response: web.StreamResponse) -> None:
    """Every console answer but its static files is ``no-store``."""
    if not request.path.startswith(STATIC_PREFIX):
        response.headers["Cache-Control"] = "no-store"


def make_subapp(auth: StaffAuth, *, json_api: bool) -> web.Application:
    """A console sub-application with its middleware and templates."""
    app = web.Application(middlewares=[errors, authenticate])
    app[AUTH] = auth
    app[JSON_API] = json_api
    app.on_response_prepare.append(_no_store_pages)
    if not json_api:
        env = aiohttp_jinja2.setup(
            app, loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            # Every value a template prints is escaped: residents' words reach these pages.
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,  # a missing value is an error, not a blank
        )
        env.globals.update(say=view.say, label=view.label, local=view.local, chart=view.bar_chart,
                           spark=view.sparkline)
    return app
