"""Staff console of the gateway: suggested answers, tickets, unanswered questions.

The gateway's ``create_app`` calls :func:`setup` once; it registers the ``/staff``
HTML pages and the ``/api/staff/*`` JSON API on the application.
"""
from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the staff console routes on ``app`` (placeholder until filled in)."""
    from bot.staff.routes import register  # imported late: keeps `import bot.staff` cheap

    register(app)
