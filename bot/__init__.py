"""Resident-facing gateway: web chat, JSON API, WeChat Official Account and voice.

``python -m bot`` serves it; configuration comes from environment variables
(:class:`settings.GatewaySettings`), wording from ``knowledge/wording/gateway.yml``.
"""
