"""Error handling and security headers for every response."""
from __future__ import annotations

import logging

from aiohttp import web

from bot import keys
from bot.http import ApiError, error_response, json_response

log = logging.getLogger(__name__)

# No inline script or style anywhere: the page's JS and CSS are static files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # Origin kept on our own POSTs (staff CSRF check), nothing sent elsewhere
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_STATUS_WORDING = {400: "api.bad_json", 404: "api.not_found", 405: "api.method_not_allowed",
                   413: "api.body_too_large"}


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/health"


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    """Client errors as JSON ``{"error"}``; unexpected ones logged, answered with the
    hotline, never a bare 500."""
    wording = request.config_dict[keys.WORDING]
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if _is_api(request) and exc.status >= 400 and exc.status in _STATUS_WORDING:
            return error_response(exc.status, wording(_STATUS_WORDING[exc.status]))
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if request.path == "/api/chat":
            # Keep the chat contract so the page can show the apology as a reply.
            result = request.config_dict[keys.CHAT].unavailable()
            return json_response({**result.to_json(), "error": wording("api.internal")}, status=503)
        return error_response(503, wording("api.internal"))


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: applies to files, errors and every sub-app alike."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)  # a handler may set a stricter one
    settings = request.config_dict[keys.SETTINGS]
    if settings.production:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
