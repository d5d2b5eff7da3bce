"""Sender affinity, failover and timeouts of ``RasaClient`` against stand-in servers."""
from __future__ import annotations

import time

import pytest

from bot.rasa_client import RasaClient, RasaTimeout, RasaUnavailable
from tests.bot import stub_rasa

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.fixture
async def two_servers(aiohttp_server):
    states = [stub_rasa.StubState(name="a", delay=3), stub_rasa.StubState(name="b", delay=3)]
    servers = [await aiohttp_server(stub_rasa.make_app(s)) for s in states]
    return [str(s.make_url("")).rstrip("/") for s in servers], states


async def test_each_sender_sticks_to_one_server(two_servers):
    urls, states = two_servers
    client = RasaClient(urls, timeout=2)
    try:
        senders = [f"user-{i}" for i in range(40)]
        for _ in range(3):
            for s in senders:
                await client.send(s, "你好")
        by_sender: dict[str, set] = {}
        for state in states:
            for r in state.requests:
                by_sender.setdefault(r["sender"], set()).add(r["server"])
        assert all(len(servers) == 1 for servers in by_sender.values())
        # Both replicas get a share of the senders.
        assert all(len(state.requests) > 10 for state in states)
    finally:
        await client.close()


def test_ranking_is_stable_and_only_a_removed_servers_senders_move():
    urls = ["http://r1:5005", "http://r2:5005", "http://r3:5005"]
    full = RasaClient(urls)
    assert full.ranking("abc") == RasaClient(list(reversed(urls))).ranking("abc")
    without_r2 = RasaClient([u for u in urls if u != "http://r2:5005"])
    for i in range(200):
        sender = f"s{i}"
        before = full.ranking(sender)[0]
        after = without_r2.ranking(sender)[0]
        if before != "http://r2:5005":
            assert after == before


async def test_failover_on_5xx_and_back_off(two_servers):
    urls, states = two_servers
    client = RasaClient(urls, timeout=2, backoff=30)
    try:
        sender = next(f"s{i}" for i in range(100) if client.ranking(f"s{i}")[0] == urls[0])
        states[0].fail = True
        replies = await client.send(sender, "你好")
        assert replies[0]["text"] == "收到：你好"
        assert [r["server"] for r in states[1].requests] == ["b"]
        # Marked down: the next message goes straight to the second server.
        await client.send(sender, "再问")
        assert len(states[0].requests) == 1
        assert client.route(sender)[0] == urls[1]
    finally:
        await client.close()


async def test_failover_on_connection_error(rasa_stub):
    url, state = rasa_stub
    client = RasaClient([DEAD, url], timeout=2)
    try:
        for i in range(10):
            await client.send(f"s{i}", "你好")
        assert len(state.requests) == 10
    finally:
        await client.close()


async def test_timeout_is_not_retried_elsewhere(two_servers):
    urls, states = two_servers
    client = RasaClient(urls, timeout=0.5)
    try:
        sender = next(f"s{i}" for i in range(100) if client.ranking(f"s{i}")[0] == urls[0])
        started = time.monotonic()
        with pytest.raises(RasaTimeout):
            await client.send(sender, "慢一点")
        assert time.monotonic() - started < 1.0
        # The second replica never saw it: a resend could duplicate side effects.
        assert states[1].requests == []
    finally:
        await client.close()


async def test_all_down_raises_typed_error():
    client = RasaClient([DEAD, "http://127.0.0.1:1"], timeout=1)
    try:
        with pytest.raises(RasaUnavailable):
            await client.send("s", "你好")
        assert (await client.health())["status"] == "down"
    finally:
        await client.close()


async def test_token_parse_and_health(rasa_stub):
    url, state = rasa_stub
    client = RasaClient([url], token="s3cret", timeout=2)
    try:
        await client.send("s", "你好", {"mode": "standard"})
        assert state.requests[-1]["query"] == {"token": "s3cret"}
        parsed = await client.parse("你好")
        assert parsed["intent"]["name"] == "greet"
        assert await client.health() == {"status": "ok", "servers": {url: "ok"}}
    finally:
        await client.close()


async def test_a_scaled_service_name_becomes_one_server_per_replica():
    replicas = {"rasa": ["10.0.0.7", "10.0.0.8"]}

    async def resolve(host, port):
        return replicas[host]

    client = RasaClient(["http://rasa:5005"])
    assert await client.discover(resolve) == ["http://10.0.0.7:5005", "http://10.0.0.8:5005"]
    senders = [f"resident-{i}" for i in range(40)]
    first = {s: client.ranking(s)[0] for s in senders}
    assert set(first.values()) == set(client.urls)  # both replicas get residents
    # A third replica moves only the senders it now ranks first; the rest stay put.
    replicas["rasa"].append("10.0.0.9")
    await client.discover(resolve)
    moved = [s for s in senders if client.ranking(s)[0] != first[s]]
    assert all(client.ranking(s)[0] == "http://10.0.0.9:5005" for s in moved)
    # A name that stops resolving keeps the servers it had.

    async def broken(host, port):
        raise OSError("temporary failure in name resolution")

    assert len(await client.discover(broken)) == 3


async def test_discovery_uses_the_system_resolver():
    client = RasaClient(["http://localhost:5005"])
    assert "http://127.0.0.1:5005" in await client.discover()
