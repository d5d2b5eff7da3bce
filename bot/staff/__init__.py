"""Staff console of the gateway: suggested answers, tickets, unanswered questions.

The gateway's ``create_app`` calls :func:`setup` once; it registers the ``/staff``
HTML pages and the ``/api/staff/*`` JSON API on the application.
"""
from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the staff console routes on ``app``."""
    from bot.staff.routes import register  # imported late: keeps `import bot.staff` cheap

    register(app)


def standalone_app(sessions, rasa) -> web.Application:
    """The console alone, without the rest of the gateway (evaluation, tests)."""
    import warnings

    from knowledge.store import KnowledgeStore

    app = web.Application()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # contract keys are plain strings
        app["settings"] = None
        app["rasa"] = rasa
        app["db_sessions"] = sessions
        app["knowledge"] = KnowledgeStore(sessions)
    setup(app)
    return app
