"""The action server's lifecycle: the database engine lives as long as the server.

rasa_sdk 3.6 runs the actions on Sanic and has one extension point for it: the
pluggy hook ``attach_sanic_app_extensions(app)``, called by ``rasa_sdk.endpoint.run``
(both ``rasa run actions`` and ``python -m rasa_sdk``) for the hooks a top-level
package named ``rasa_sdk_plugins`` registers (ours: ``/rasa_sdk_plugins``, which
registers this module). Here the engine is created before the server takes
requests and disposed after it has stopped, in every worker process; jieba's
dictionaries are loaded at start too. The settings (``ActionSettings``: the
hand-off promises) are checked first, once: a value they refuse stops the start
with a :class:`settings.SettingsError` naming the variable, instead of surfacing
at a resident's hand-off.
"""
from __future__ import annotations

import asyncio
import logging

import pluggy

from actions import common
from knowledge import retrieval
from settings import SettingsError

logger = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("rasa_sdk")


async def open_resources(_app, _loop) -> None:
    # make_engine may create the SQLite file's folder: file work, off the loop.
    try:
        await asyncio.to_thread(common.resources.start)
    except SettingsError as exc:
        logger.critical("the action server cannot start: %s", exc)
        raise
    # jieba loads its dictionaries in ~0.5 s: now, not on a resident's first question.
    await asyncio.to_thread(retrieval.warm_up)


async def close_resources(_app, _loop) -> None:
    await asyncio.to_thread(common.resources.stop)


@hookimpl
def attach_sanic_app_extensions(app) -> None:
    app.register_listener(open_resources, "before_server_start")
    app.register_listener(close_resources, "after_server_stop")
