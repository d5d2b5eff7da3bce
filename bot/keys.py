"""Keys of the gateway's ``web.Application`` state.

The first five are a contract with other packages (``bot.staff`` reads them) and
are plain strings, as the architecture names them; the rest are the gateway's
own and use typed ``web.AppKey`` as aiohttp recommends.
"""
from __future__ import annotations

import warnings
from typing import Any

import aiohttp
from aiohttp import web

from bot.chat import ChatPipeline
from bot.identity import ProxyPolicy, Pseudonyms, SessionSigner
from bot.kvstore import KeyValueStore
from bot.voice.asr import SpeechRecognizer
from bot.voice.tts import EspeakSynthesizer
from bot.wording import Wording

# Contract keys (strings).
SETTINGS = "settings"          # bot.settings.Settings
RASA = "rasa"                  # bot.rasa_client.RasaClient
DB_ENGINE = "db_engine"        # sqlalchemy Engine
DB_SESSIONS = "db_sessions"    # sqlalchemy sessionmaker
KNOWLEDGE = "knowledge"        # knowledge.store.KnowledgeStore

# The gateway's own keys.
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


def put(app: web.Application, key: Any, value: Any) -> None:
    """Set app state, also from a ``cleanup_ctx`` (aiohttp's own documented pattern).

    aiohttp warns on string keys and on state set after the app is frozen; both
    are intended here (contract keys; resources opened at start-up), so only
    those two warnings are silenced, and only for this assignment.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        warnings.filterwarnings("ignore", message="Changing state of started", category=DeprecationWarning)
        app[key] = value


