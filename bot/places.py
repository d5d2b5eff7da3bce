"""The places residents can choose, from the knowledge base (never a list in code).

A place is one file in ``knowledge/content/``: once loaded it is in the store,
and the page's chooser, ``/api/places`` and the ``city`` check all follow.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from aiohttp import web

from bot import keys
from bot.http import json_response
from knowledge.errors import StoreUnavailable
from knowledge.schema import CONTENT_DIR, NATIONAL

log = logging.getLogger(__name__)

PLACES_TTL = 60.0
RETRY_SOON = 5.0


@dataclass(frozen=True)
class PlaceInfo:
    id: str
    name: str
    province: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def content_places(content_dir: Path = CONTENT_DIR) -> list[PlaceInfo]:
    """The places named by the content files themselves, for when the store cannot
    be read (only the ``place:`` heading of each file; no validation)."""
    out = []
    for path in sorted(content_dir.glob("*.yml")):
        try:
            with open(path, encoding="utf-8") as fh:
                place = (yaml.safe_load(fh) or {}).get("place") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if place.get("id") and place.get("name") and place["id"] != NATIONAL:
            out.append(PlaceInfo(str(place["id"]), str(place["name"]), str(place.get("province") or "")))
    return out


class PlaceDirectory:
    """Places from the knowledge store, cached for a minute (they change on load)."""

    def __init__(self, content_dir: Path = CONTENT_DIR, ttl: float = PLACES_TTL):
        self._content_dir = content_dir
        self._ttl = ttl
        self._places: list[PlaceInfo] = []
        self._expires = 0.0

    async def all(self, app: web.Application) -> list[PlaceInfo]:
        if self._places and time.monotonic() < self._expires:
            return self._places
        loop = asyncio.get_running_loop()
        try:
            # SQLAlchemy is synchronous: keep it off the event loop.
            refs = await loop.run_in_executor(None, app[keys.KNOWLEDGE].places)
            places = [PlaceInfo(p.id, p.name, p.province) for p in refs]
        except StoreUnavailable as exc:
            log.warning("knowledge store unavailable (%s); places from the content files", exc)
            places = []
        if places:
            self._places, self._expires = places, time.monotonic() + self._ttl
            return places
        # Store down or not loaded yet: the last list we had, else the content files,
        # so residents are not turned away; asked again soon.
        if not self._places:
            self._places = await loop.run_in_executor(None, content_places, self._content_dir)
        self._expires = time.monotonic() + RETRY_SOON
        return self._places

    async def names(self, app: web.Application) -> list[str]:
        return [p.name for p in await self.all(app)]


async def places(request: web.Request) -> web.Response:
    """``GET /api/places``: ``{"places": [{"id", "name", "province"}]}``."""
    found = await request.app[keys.PLACE_DIRECTORY].all(request.app)
    return json_response({"places": [p.to_json() for p in found]},
                         headers={"Cache-Control": "public, max-age=60"})
