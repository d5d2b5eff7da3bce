"""The key-value store behind de-duplication, rate limits and the token cache:
in-process and Redis (a real redis-server on a free port, skipped if absent)."""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time

import pytest
from aiohttp import web

from bot.channels.wechat_api import WeChatApi
from bot.kvstore import MemoryStore, RedisStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    """TEST_REDIS_URL if set, else a throw-away redis-server on a free port."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    if shutil.which("redis-server") is None:
        pytest.skip("no Redis: set TEST_REDIS_URL or install redis-server")
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(5)


async def exercise(store) -> None:
    assert await store.add("k", "1", ttl=5) is True
    assert await store.add("k", "2", ttl=5) is False
    assert await store.get("k") == "1"
    await store.delete("k", only_if="other")
    assert await store.get("k") == "1"
    await store.delete("k", only_if="1")
    assert await store.get("k") is None
    assert [await store.incr("c", ttl=5) for _ in range(3)] == [1, 2, 3]
    await store.set("short", "x", ttl=0.05)
    await asyncio.sleep(0.1)
    assert await store.get("short") is None


async def test_memory_store():
    await exercise(MemoryStore())


async def test_memory_store_is_bounded():
    store = MemoryStore(max_items=10)
    for i in range(100):
        await store.set(f"k{i}", "v", ttl=60)
    assert len(store._data) <= 10


@pytest.mark.redis
async def test_redis_store(redis_url):
    store = RedisStore(redis_url, prefix=f"t{time.time_ns()}:")
    try:
        await exercise(store)
    finally:
        await store.close()


async def test_redis_down_falls_back_to_memory():
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    try:
        assert await store.add("k", "1", ttl=5) is True
        assert await store.add("k", "1", ttl=5) is False
    finally:
        await store.close()


@pytest.mark.redis
async def test_token_refreshed_once_across_processes(redis_url, aiohttp_server):
    calls = 0

    async def token(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)  # slow enough for the others to wait on the lock
        return web.json_response({"access_token": f"T{calls}", "expires_in": 7200})

    app = web.Application()
    app.router.add_get("/cgi-bin/token", token)
    server = await aiohttp_server(app)
    prefix = f"t{time.time_ns()}:"
    # Separate stores and clients stand for separate gateway processes.
    # A generous timeout: under load a slow Redis reply would fall back to per-process state.
    stores = [RedisStore(redis_url, prefix=prefix, timeout=10) for _ in range(3)]
    apis = [WeChatApi("wxapp", "secret", s, api_base=str(server.make_url("")).rstrip("/")) for s in stores]
    try:
        tokens = await asyncio.gather(*(api.access_token() for api in apis))
        assert tokens == ["T1", "T1", "T1"] and calls == 1
    finally:
        for api in apis:
            await api.close()
        for s in stores:
            await s.close()
