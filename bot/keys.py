"""Typed keys of the gateway's ``web.Application`` state (``web.AppKey``).

The staff console (``bot.staff``) reads the same keys through ``request.config_dict``;
import these keys rather than spelling a name: no state lives under a string.
"""
from __future__ import annotations

import warnings
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.chat import ChatPipeline
from bot.identity import ProxyPolicy, Pseudonyms, SessionSigner
from bot.kvstore import KeyValueStore
from bot.rasa_client import RasaClient
from bot.voice.asr import SpeechRecognizer
from bot.voice.tts import EspeakSynthesizer
from bot.wording import Wording
from knowledge.store import KnowledgeStore
from settings import GatewaySettings

SETTINGS = web.AppKey("settings", GatewaySettings)
RASA = web.AppKey("rasa", RasaClient)
DB_ENGINE = web.AppKey("db_engine", Engine)
DB_SESSIONS = web.AppKey("db_sessions", sessionmaker)
KNOWLEDGE = web.AppKey("knowledge", KnowledgeStore)
WORDING = web.AppKey("wording", Wording)
STORE = web.AppKey("store", KeyValueStore)
CHAT = web.AppKey("chat", ChatPipeline)
HTTP = web.AppKey("http", aiohttp.ClientSession)
ASR = web.AppKey("asr", SpeechRecognizer)
TTS = web.AppKey("tts", EspeakSynthesizer)
WECHAT = web.AppKey("wechat", object)  # bot.channels.wechat.WeChatChannel (import cycle)
WECHAT_API = web.AppKey("wechat_api", object)  # bot.channels.wechat_api.WeChatApi
TASKS = web.AppKey("background_tasks", set)
PLACE_DIRECTORY = web.AppKey("place_directory", object)  # bot.places.PlaceDirectory (import cycle)
SESSIONS = web.AppKey("sessions", SessionSigner)
PSEUDONYMS = web.AppKey("pseudonyms", Pseudonyms)
PROXY_POLICY = web.AppKey("proxy_policy", ProxyPolicy)


def put(app: web.Application, key: web.AppKey[Any], value: Any) -> None:
    """Set app state, also from a ``cleanup_ctx`` (aiohttp's own documented pattern).

    aiohttp warns about state set after the app is frozen; that is intended for
    resources opened at start-up, so only that warning is silenced, only here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Changing state of started", category=DeprecationWarning)
        app[key] = value
