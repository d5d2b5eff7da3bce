"""Staff console of the gateway: suggested answers, tickets, unanswered questions.

Two aiohttp sub-applications share the console's handlers and middleware
(:mod:`bot.staff.routes`, :mod:`bot.staff.console`): HTML pages mounted at
``/staff`` and the JSON API at ``/api/staff``. The gateway's ``create_app`` calls
:func:`setup` once.
"""
from __future__ import annotations

from aiohttp import web


def subapps(app: web.Application) -> tuple[web.Application, web.Application]:
    """(pages, api): the console's sub-apps for the gateway ``app``, to mount at
    ``/staff`` and ``/api/staff``."""
    from bot.staff.routes import build  # imported late: keeps `import bot.staff` cheap

    return build(app)


def setup(app: web.Application) -> None:
    """Mount the console on ``app`` (what the gateway's ``_setup_staff`` does)."""
    pages, api = subapps(app)
    app.add_subapp("/staff", pages)
    app.add_subapp("/api/staff", api)

