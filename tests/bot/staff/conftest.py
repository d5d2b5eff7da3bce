"""The real gateway (``bot.app.create_app``, as ``python -m bot`` builds it) with the
staff console on a real knowledge base.

Only Rasa is a stand-in (it is not running in unit tests): a small HTTP server that
answers ``/model/parse`` with a realistic ranking chosen by keywords. The gateway's
middleware, headers, knowledge store, ticket database and every handler are the
real ones; the browser tests run ``python -m bot`` itself on a real port.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import create_app
from hotline.models import create_schema
from knowledge.db import make_engine, make_session_factory
from knowledge.loader import load
from knowledge.schema import CONTENT_DIR, ContentError, PlaceContent, read_all
from settings import GatewaySettings

STAFF_PASSWORD = "test-password-42"
STAFF_USER = "dev"   # the development admin STAFF_PASSWORD creates
ROOT = Path(__file__).resolve().parents[3]

# Keyword → ranking of a trained model (confidences sum to about 1, control
# intents and nlu_fallback mixed in, as Rasa returns them).
_RANKINGS = {
    "备案": [("ask_remote_care_filing", 0.81), ("ask_cross_region_settlement", 0.09), ("greet", 0.04),
             ("ask_manual_reimbursement", 0.03), ("ask_reimbursement", 0.02), ("inform", 0.01)],
    "报销": [("ask_manual_reimbursement", 0.55), ("ask_reimbursement", 0.3), ("nlu_fallback", 0.45),
             ("ask_chronic_disease_outpatient", 0.08), ("thank", 0.04), ("ask_transfer", 0.03)],
}
_DEFAULT = [("out_of_scope", 0.6), ("ask_service_channels", 0.2), ("ask_e_voucher", 0.1),
            ("ask_payment_channels", 0.06), ("greet", 0.04)]


class StandInRasa:
    """Answers ``parse`` like Rasa's /model/parse; ``down=True`` simulates an outage."""

    def __init__(self, down: bool = False):
        self.down = down
        self.texts: list[str] = []

    async def parse(self, text: str) -> dict[str, Any]:
        self.texts.append(text)
        if self.down:
            raise ConnectionError("Rasa is down")
        ranking = next((r for k, r in _RANKINGS.items() if k in text), _DEFAULT)
        entities = []
        if "连云港" in text:
            start = text.index("连云港")
            entities.append({"entity": "city", "start": start, "end": start + 3, "value": "连云港市",
                             "extractor": "DIETClassifier", "processors": ["EntitySynonymMapper"]})
        return {
            "text": text,
            "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
            "entities": entities,
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "response_selector": {},
        }


def nlu_app(rasa: StandInRasa) -> web.Application:
    """Rasa's HTTP API as far as the gateway uses it, answering from ``rasa``."""
    app = web.Application()

    async def parse(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            return web.json_response(await rasa.parse(str(body.get("text", ""))))
        except ConnectionError:
            return web.Response(status=503, text="down")

    async def root(_request: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def webhook(_request: web.Request) -> web.Response:
        return web.json_response([])

    app.router.add_post("/model/parse", parse)
    app.router.add_get("/", root)
    app.router.add_post("/webhooks/rest/webhook", webhook)
    return app


def real_content(content_dir: Path = CONTENT_DIR) -> list[PlaceContent]:
    """The real knowledge content (``knowledge/content/*.yml``), or ContentError.

    The console tests check what staff would read (places such as 长春市, real
    answers and sources), so broken content must fail them: no quiet fallback to
    a small fixture that would let them pass.
    """
    places = read_all(content_dir)
    if not any(p.id == "national" for p in places):
        raise ContentError([f"{content_dir}: no national baseline (national.yml)"])
    return places


@pytest.fixture
def kb_sessions(sqlite_url):
    engine = make_engine(sqlite_url)
    load(engine, real_content())
    create_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def rasa() -> StandInRasa:
    return StandInRasa()


@pytest.fixture
async def nlu_url(aiohttp_server, rasa) -> str:
    server = await aiohttp_server(nlu_app(rasa))
    return str(server.make_url("")).rstrip("/")


def gateway_env(sqlite_url: str, nlu_url: str, **extra: str) -> dict[str, str]:
    """The environment ``python -m bot`` reads, for a gateway on this test's stores."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "STAFF_")) and k not in ("REDIS_URL", "ASR_URL", "DATABASE_URL")}
    env.update({"APP_ENV": "development", "DATABASE_URL": sqlite_url, "RASA_URLS": nlu_url,
                "ACTION_SERVER_URL": "http://127.0.0.1:9", "RASA_TIMEOUT": "3",
                "RATE_LIMIT_PER_MINUTE": "1000", "STAFF_PASSWORD": STAFF_PASSWORD,
                "STAFF_LOGIN_MAX_FAILURES": "3", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


@pytest.fixture
def make_gateway(sqlite_url, nlu_url):
    """``make_gateway(**env)`` → the gateway app exactly as ``python -m bot`` builds it."""

    def make(**extra: str) -> web.Application:
        return create_app(GatewaySettings.from_env(gateway_env(sqlite_url, nlu_url, **extra)))

    return make


@pytest.fixture
async def client(aiohttp_client, kb_sessions, make_gateway):
    return await aiohttp_client(make_gateway())


@pytest.fixture
async def token(client) -> str:
    resp = await client.post("/api/staff/login", json={"name": STAFF_USER, "password": STAFF_PASSWORD})
    assert resp.status == 200
    return (await resp.json())["token"]


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def served_gateway(kb_sessions, sqlite_url, nlu_url, tmp_path):
    """``python -m bot`` as a process on a real port; yields its base URL.

    The stand-in NLU runs in this test's event loop, so the wait below is async.
    """
    port = _free_port()
    env = gateway_env(sqlite_url, nlu_url, GATEWAY_PORT=str(port), GATEWAY_HOST="127.0.0.1")
    log_path = tmp_path / "gateway.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                if proc.poll() is not None:
                    raise RuntimeError(f"python -m bot exited: {log_path.read_text()[-2000:]}")
                try:
                    async with http.get(base + "/health", timeout=aiohttp.ClientTimeout(total=3)) as resp:
                        if resp.status == 200:
                            break
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError(f"gateway did not start: {log_path.read_text()[-2000:]}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
async def browser():
    """Headless Debian Chromium (Playwright's async API) for one test."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()
