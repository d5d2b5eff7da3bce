"""Small shared state with expiry: retry de-duplication, rate limits, token cache.

In one process a dictionary is enough; several gateway processes share Redis
(``REDIS_URL``). Redis errors fall back to the in-process store so an outage of
Redis degrades de-duplication across processes instead of failing replies.
"""
from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class KeyValueStore(ABC):
    """String values with a time to live, and a counter for fixed windows."""

    @abstractmethod
    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Set ``key`` only if absent; True when this call set it."""

    @abstractmethod
    async def get(self, key: str) -> str | None:
        """The value of ``key`` or None when absent or expired."""

    @abstractmethod
    async def set(self, key: str, value: str, ttl: float) -> None:
        """Set ``key`` unconditionally."""

    @abstractmethod
    async def delete(self, key: str, only_if: str | None = None) -> None:
        """Remove ``key`` (only when its value is ``only_if``, if given: lock release)."""

    @abstractmethod
    async def incr(self, key: str, ttl: float) -> int:
        """Add one to a counter that expires ``ttl`` seconds after its first use."""

    async def close(self) -> None:  # noqa: B027 - optional hook: most stores hold nothing
        """Release connections."""


class MemoryStore(KeyValueStore):
    """In-process store; bounded so a flood of senders cannot exhaust memory."""

    def __init__(self, max_items: int = 100_000, clock=time.monotonic):
        self._data: dict[str, tuple[str, float]] = {}
        self._max = max_items
        self._clock = clock

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._data[key]
            return None
        return item[0]

    def _put(self, key: str, value: str, ttl: float) -> None:
        if len(self._data) >= self._max and key not in self._data:
            now = self._clock()
            for k in [k for k, (_, exp) in self._data.items() if exp <= now]:
                del self._data[k]
            while len(self._data) >= self._max:  # still full: drop the oldest entries
                del self._data[next(iter(self._data))]
        self._data[key] = (value, self._clock() + ttl)

    async def add(self, key: str, value: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float) -> None:
        self._put(key, value, ttl)

    async def delete(self, key: str, only_if: str | None = None) -> None:
        if only_if is None or self._live(key) == only_if:
            self._data.pop(key, None)

    async def incr(self, key: str, ttl: float) -> int:
        current = self._live(key)
        if current is None:
            self._put(key, "1", ttl)
            return 1
        value = int(current) + 1
        self._data[key] = (str(value), self._data[key][1])  # keep the window's expiry
        return value


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


# The expiry is set with the first increment only, in one step (Redis < 7 has no
# PEXPIRE NX), so a window never becomes endless.
_INCR = """
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return n
"""


class RedisStore(KeyValueStore):
    """Redis-backed store shared by every gateway process."""

    def __init__(self, url: str, prefix: str = "gw:", timeout: float = 2.0):
        import redis.asyncio as aioredis  # optional dependency, only with REDIS_URL

        self._redis = aioredis.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._prefix = prefix
        self._fallback = MemoryStore()
        self._errors = (aioredis.RedisError, OSError, TimeoutError)
        self._last_warning = 0.0

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning > 60:  # one line a minute, not one per message
            log.warning("redis unavailable (%s); using in-process state", exc.__class__.__name__)
            self._last_warning = now

    async def add(self, key: str, value: str, ttl: float) -> bool:
        try:
            return bool(await self._redis.set(self._prefix + key, value, px=int(ttl * 1000), nx=True))
        except self._errors as exc:
            self._warn(exc)
            return await self._fallback.add(key, value, ttl)

    async def get(self, key: str) -> str | None:
        try:
            return await self._redis.get(self._prefix + key)
        except self._errors as exc:
            self._warn(exc)
            return await self._fallback.get(key)

    async def set(self, key: str, value: str, ttl: float) -> None:
        try:
            await self._redis.set(self._prefix + key, value, px=int(ttl * 1000))
        except self._errors as exc:
            self._warn(exc)
            await self._fallback.set(key, value, ttl)

    async def delete(self, key: str, only_if: str | None = None) -> None:
        try:
            if only_if is None:
                await self._redis.delete(self._prefix + key)
            else:
                await self._redis.eval(_RELEASE, 1, self._prefix + key, only_if)
        except self._errors as exc:
            self._warn(exc)
            await self._fallback.delete(key, only_if)

    async def incr(self, key: str, ttl: float) -> int:
        try:
            value = await self._redis.eval(_INCR, 1, self._prefix + key, int(ttl * 1000))
            return int(value)
        except self._errors as exc:
            self._warn(exc)
            return await self._fallback.incr(key, ttl)

    async def close(self) -> None:
        # redis-py 5 renamed close() to aclose(); both accept close_connection_pool.
        closer = getattr(self._redis, "aclose", None) or self._redis.close
        await closer(close_connection_pool=True)


def make_store(redis_url: str | None) -> KeyValueStore:
    """Redis when ``redis_url`` is set, else the in-process store."""
    return RedisStore(redis_url) if redis_url else MemoryStore()
