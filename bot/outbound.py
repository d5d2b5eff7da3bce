"""Outgoing HTTP clients of the gateway (WeChat API, speech recognition)."""
from __future__ import annotations

import aiohttp


class LazySession:
    """An aiohttp session created on first use, inside the running event loop.

    Subclasses set ``self._session`` (an injected session, or None) in ``__init__``.
    """

    _session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
