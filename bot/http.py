"""Small request helpers shared by the gateway's handlers."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot import keys


class ApiError(Exception):
    """An error the client caused: answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # ensure_ascii=False: Chinese stays readable in logs and saves bytes.
    return web.json_response(data, status=status, headers=headers,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading it all."""
    wording = request.app[keys.WORDING]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, wording("api.body_too_large"))
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise ApiError(413, wording("api.body_too_large"))
    return body


async def read_json_object(request: web.Request, limit: int = 16 * 1024) -> dict[str, Any]:
    """The body as a JSON object, or :class:`ApiError` 400/413."""
    body = await read_body(request, limit)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: "[[[[…" nested deeper than the parser's stack allows.
        raise ApiError(400, request.app[keys.WORDING]("api.bad_json")) from exc
    if not isinstance(data, dict):
        raise ApiError(400, request.app[keys.WORDING]("api.bad_json"))
    try:
        # JSON may escape lone surrogates ("\\ud800"): not text, and they would
        # fail later in logging, normalisation or the outgoing request.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(400, request.app[keys.WORDING]("api.bad_json")) from exc
    return data
