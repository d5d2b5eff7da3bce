"""The gateway application: routes, middleware and resources with the app's lifetime."""
from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

import aiohttp
from aiohttp import web

from bot import keys
from bot.channels import web as web_channel
from bot.channels import wechat as wechat_channel
from bot.channels.wechat_api import WeChatApi
from bot.chat import ChatPipeline, RateLimiter
from bot.http import json_response
from bot.identity import ProxyPolicy, Pseudonyms, SessionSigner
from bot.kvstore import make_store
from bot.middleware import errors, security_headers
from bot.places import PlaceDirectory
from bot.privacy import Forget, PrivacyDesk, default_forget
from bot.rasa_client import RasaClient
from bot.voice import routes as voice_routes
from bot.voice.asr import make_recognizer
from bot.voice.tts import EspeakSynthesizer
from bot.wording import Wording
from knowledge.db import make_engine, make_session_factory
from knowledge.errors import StoreUnavailable
from knowledge.store import KnowledgeStore
from settings import GatewaySettings, SettingsError

log = logging.getLogger(__name__)


async def _database(app: web.Application) -> AsyncIterator[None]:
    """Engine, sessions and knowledge store for the app's lifetime."""
    settings = app[keys.SETTINGS]
    engine = make_engine(settings.database)
    sessions = make_session_factory(engine)
    store = KnowledgeStore(sessions)
    keys.put(app, keys.DB_ENGINE, engine)
    keys.put(app, keys.DB_SESSIONS, sessions)
    keys.put(app, keys.KNOWLEDGE, store)
    if settings.wechat_city:
        try:
            names = [p.name for p in await asyncio.get_running_loop().run_in_executor(None, store.places)]
        except StoreUnavailable:
            names = []
        if names and settings.wechat_city not in names:
            log.warning("WECHAT_CITY=%s is not a place of the knowledge base (%s)",
                        settings.wechat_city, "、".join(names))
    yield
    engine.dispose()


async def _discover_rasa(rasa: RasaClient, every: float) -> None:
    """Keep the list of Rasa replicas current as a scaled service grows or shrinks."""
    while True:
        await rasa.discover()
        await asyncio.sleep(every)


async def _clients(app: web.Application) -> AsyncIterator[None]:
    """Outgoing HTTP clients and background work; closed in reverse on shutdown."""
    keys.put(app, keys.HTTP, aiohttp.ClientSession())
    settings = app[keys.SETTINGS]
    discovery = None
    if settings.rasa_discover_seconds > 0:
        discovery = asyncio.create_task(_discover_rasa(app[keys.RASA], settings.rasa_discover_seconds))
    yield
    if discovery is not None:
        discovery.cancel()
        await asyncio.gather(discovery, return_exceptions=True)
    tasks = list(app[keys.TASKS])
    if tasks:
        # Late WeChat answers in flight: give them a moment, then cancel.
        _, pending = await asyncio.wait(tasks, timeout=5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    await app[keys.RASA].close()
    for name in (keys.ASR, keys.WECHAT_API):
        client = app.get(name)
        if client is not None and hasattr(client, "close"):
            await client.close()
    await app[keys.STORE].close()
    await app[keys.HTTP].close()


async def _probe(session: aiohttp.ClientSession, url: str, timeout: float = 2.0) -> str:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return "ok" if resp.status == 200 else "down"
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return "down"


async def health(request: web.Request) -> web.Response:
    """``GET /health``: the gateway is up; Rasa and the action server reachable?"""
    app = request.app
    rasa, actions = await asyncio.gather(
        app[keys.RASA].health(),
        _probe(app[keys.HTTP], app[keys.SETTINGS].action_server_url + "/health"),
    )
    return json_response({"status": "ok", "rasa": rasa["status"], "actions": actions})


def _setup_staff(app: web.Application) -> None:
    """Mount the staff console: its pages at ``/staff``, its JSON API at ``/api/staff``
    (two sub-apps sharing handlers and middleware, see ``bot.staff.console``)."""
    from bot import staff

    staff.setup(app)   # reads keys.SETTINGS: set it first


def create_app(settings: GatewaySettings | None = None, forget: Forget = default_forget) -> web.Application:
    """Build the gateway. ``settings`` default: :meth:`GatewaySettings.load`.

    ``forget`` deletes one sender's records ("删除我的记录"); by default
    ``retention.forget_sender``.
    """
    if settings is None:
        settings = GatewaySettings.load()
    elif settings.problems():
        raise SettingsError(settings.problems())
    settings = settings.with_secret()
    for warning in settings.warnings():
        log.warning("%s", warning)
    wording = Wording.load()

    # Audio uploads are the largest bodies; JSON and WeChat handlers read less.
    app = web.Application(client_max_size=settings.asr_max_bytes + 64 * 1024, middlewares=[errors])
    rasa = RasaClient(settings.rasa_urls, token=settings.rasa_token, timeout=settings.rasa_timeout)
    keys.put(app, keys.SETTINGS, settings)
    keys.put(app, keys.RASA, rasa)
    store = make_store(settings.redis_url)
    privacy = PrivacyDesk(store, wording, settings.conversation_retention_days,
                          settings.resolved_ticket_retention_days, forget=forget)
    pipeline = ChatPipeline(rasa, wording, RateLimiter(store, settings.rate_limit_per_minute),
                            max_text_chars=settings.max_text_chars, privacy=privacy)
    app[keys.WORDING] = wording
    app[keys.STORE] = store
    app[keys.CHAT] = pipeline
    app[keys.ASR] = make_recognizer(settings.asr_url, settings.asr_timeout)
    app[keys.TTS] = EspeakSynthesizer(settings.tts_command)
    app[keys.TASKS] = set()
    app[keys.PLACE_DIRECTORY] = PlaceDirectory()
    app[keys.SESSIONS] = SessionSigner(settings.gateway_secret, settings.session_idle_minutes * 60)
    app[keys.PSEUDONYMS] = Pseudonyms(settings.gateway_secret)
    app[keys.PROXY_POLICY] = ProxyPolicy(settings.proxy_networks, settings.client_ip_header)
    if settings.wechat_enabled:
        api = WeChatApi(settings.wechat_app_id, settings.wechat_app_secret, store,
                        api_base=settings.wechat_api_base)
        app[keys.WECHAT_API] = api
        app[keys.WECHAT] = wechat_channel.WeChatChannel(settings, pipeline, wording, api, store,
                                                        app[keys.TASKS], app[keys.PSEUDONYMS])

    if settings.stage_timing_dir:
        # The benchmark's per-stage timing (MEDINS_STAGE_TIMING_DIR); off, never imported.
        import stage_timing

        stage_timing.install_gateway(app, rasa, settings.stage_timing_dir)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_clients)
    app.on_response_prepare.append(security_headers)

    app.router.add_get("/health", health)
    web_channel.setup(app)
    wechat_channel.setup(app)
    voice_routes.setup(app)
    _setup_staff(app)
    return app
