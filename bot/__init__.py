"""Resident-facing gateway: web chat, JSON API, WeChat Official Account and voice.

``python -m bot`` serves it; configuration comes from environment variables
(:mod:`bot.settings`), wording from ``knowledge/wording/gateway.yml``.
"""
