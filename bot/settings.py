"""Transitional name: the gateway's settings are :class:`settings.GatewaySettings`.

Only ``tests/bot/staff/conftest.py`` (owned by the staff-console rewrite) still imports
``bot.settings``; delete this file once it imports from :mod:`settings`.
"""
from settings import GatewaySettings as Settings
from settings import SettingsError

__all__ = ["Settings", "SettingsError"]
