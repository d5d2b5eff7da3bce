"""Fixtures for the gateway tests: a seeded knowledge database, stand-in Rasa
servers, and the gateway app built from explicit settings.

The tests are written for ``asyncio_mode = auto`` (set in the root pytest.ini).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.orm import Session

from bot.__main__ import AccessLogger
from bot.app import create_app
from knowledge.db import make_engine
from knowledge.models import Base, Place
from settings import GatewaySettings
from tests.bot import stub_rasa

PLACES = [
    ("lianyungang", "连云港市", "江苏省", ["连云港", "港城"]),
    ("kaizhou", "开州区", "重庆市", ["开州"]),
    ("changchun", "长春市", "吉林省", ["长春"]),
    ("jiangmen", "江门市", "广东省", ["江门"]),
    ("zhengning", "正宁县", "甘肃省", ["正宁"]),
    ("national", "全国", "全国", []),
]




def seed_places(url: str) -> None:
    """Create the knowledge schema with the five places (no entries needed here)."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for pid, name, province, aliases in PLACES:
            session.merge(Place(id=pid, name=name, province=province, aliases=aliases, checksum="test"))
        session.commit()
    engine.dispose()


def load_with_sixth_place(folder: Path) -> str:
    """The real knowledge content plus 测试县 (tests/knowledge/fixtures/ceshi.yml),
    validated and loaded by the knowledge package's own reader and loader into a
    SQLite file under ``folder``; its URL. Broken real content fails here."""
    import shutil

    from knowledge.loader import load
    from knowledge.schema import CONTENT_DIR, SOURCES_DIR, read_all
    from tests.knowledge import conftest as knowledge_fixtures

    fixtures = knowledge_fixtures.FIXTURES
    shutil.copytree(CONTENT_DIR, folder / "content")
    shutil.copytree(SOURCES_DIR, folder / "sources")
    shutil.copy(fixtures / "ceshi.yml", folder / "content" / "ceshi.yml")
    shutil.copy(fixtures / "ceshi.txt", folder / "sources" / "ceshi.txt")
    if hasattr(knowledge_fixtures, "write_platforms"):  # the test place's own platform names
        knowledge_fixtures.write_platforms(folder)
    url = f"sqlite:///{folder / 'kb6.db'}"
    engine = make_engine(url)
    try:
        load(engine, read_all(folder / "content"))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def kb_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    seed_places(url)
    return url


@pytest.fixture
async def rasa_stub(aiohttp_server):
    """One stand-in Rasa server: ``(url, state)``."""
    state = stub_rasa.StubState(name="a")
    server = await aiohttp_server(stub_rasa.make_app(state))
    return str(server.make_url("")).rstrip("/"), state


# An integrator's key, configured in every test app.
API_KEY_ID, API_KEY = "cityapp", "cityapp-test-key-0123456789abcdef"


@pytest.fixture
def settings(kb_url: str, rasa_stub) -> GatewaySettings:
    url, _ = rasa_stub
    return GatewaySettings(rasa_urls=(url,), database_url=kb_url, rasa_timeout=1.5,
                    action_server_url="http://127.0.0.1:9", rate_limit_per_minute=100,
                    api_keys=((API_KEY_ID, API_KEY),))


@pytest.fixture
def make_client(aiohttp_client):
    """``await make_client(settings, **overrides)`` → test client of the real app.

    The client keeps cookies like the page does, and has already opened its
    session (``GET /api/session``, which shows the privacy notice) unless
    ``session=False``. ``forget=`` replaces ``retention.forget_sender``.
    """

    async def make(settings: GatewaySettings, session: bool = True, forget=None, headers=None,
                   **overrides) -> "aiohttp.test_utils.TestClient":  # noqa: F821
        kwargs = {"forget": forget} if forget is not None else {}
        app: web.Application = create_app(settings.replace(**overrides), **kwargs)
        # The access log `python -m bot` writes (no query strings: openids live there).
        server = TestServer(app)
        await server.start_server(access_log_class=AccessLogger)
        client = await aiohttp_client(server, headers=headers or {})
        if session:
            resp = await client.get("/api/session")
            assert resp.status == 200 and (await resp.json())["replies"][0]["kind"] == "privacy"
        return client

    return make


def hold_rate_window(client) -> None:
    """Keep the rate limiter in one one-minute window, so a test counting requests
    against a limit cannot pass or fail because a new minute began mid-test."""
    from bot import keys

    now = time.time()
    client.server.app[keys.CHAT].limiter.clock = lambda: now


def answers(data: dict) -> list[dict]:
    """The replies of a chat answer without notices (privacy, masking, length)."""
    return [r for r in data["replies"] if not r.get("notice")]


@pytest.fixture
async def client(make_client, settings):
    return await make_client(settings)


@pytest.fixture
async def api_client(make_client, settings):
    """An integrator: every request carries the API key and names its own senders."""
    return await make_client(settings, session=False, headers={"X-Api-Key": API_KEY})
