"""Load generation: simulated residents holding realistic conversations."""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

import aiohttp

from stack.client import Turn, chat

# Turn phases of a conversation; latencies are reported per phase.
PHASES = ("greeting", "place", "question", "follow_up", "thanks", "handoff")
GREETINGS = ["你好", "您好", "在吗"]
PLACES = ["我在长春", "我在连云港", "我在江门", "我是开州的", "我在正宁县"]
QUESTIONS = ["异地就医备案怎么办", "门诊慢特病怎么申请", "怎么参加医保",
             "医保怎么缴费", "住院报销比例是多少", "医保电子凭证怎么激活"]
FOLLOW_UPS = ["需要带什么材料", "在哪里办"]
THANKS = ["谢谢", "好的谢谢"]
ASK_CITY = "您是在哪里参保的"
# Longer conversations follow the end-to-end conversation tests: residents' own
# phrasing, follow-ups on each aspect, a change of place, a hand-off at the end.
MORE_QUESTIONS = ["异地就医备案咋整啊", "门诊慢特病咋申请", "医保在哪交", "异地就医备案点样办"]
MORE_FOLLOW_UPS = ["要带啥子", "在哪办", "流程是啥", "谁能办", "多久能办好",
                   "不用手机怎么办", "必须本人去吗", "能不能代办"]
HANDOFF = "我要转人工"
# A resident's conversation length under load, drawn from the conversation tests' range
# (5–30 turns; most are short), and how often one ends with a request for a person.
LENGTHS = (5, 5, 5, 8, 12, 20, 30)
HANDOFF_SHARE = 0.15
# Turn-index ranges the reports give latencies for.
BUCKETS = ((1, 5), (6, 15), (16, 30))


def long_conversation(rng: random.Random, turns: int, handoff: bool = False) -> list[tuple[str, str]]:
    """``turns`` (phase, text) pairs: greeting, place, then topics of a question and
    one to three follow-ups (sometimes after a change of place), then thanks or a
    hand-off. ``turns`` = 5: greeting → place → question → follow-up → thanks."""
    out = [("greeting", rng.choice(GREETINGS)), ("place", rng.choice(PLACES))]
    body = turns - 1
    while len(out) < body:
        if len(out) > 2 and rng.random() < 0.25:
            out.append(("place", rng.choice(PLACES)))
        out.append(("question", rng.choice(QUESTIONS + MORE_QUESTIONS)))
        for _ in range(rng.randint(1, 3)):
            out.append(("follow_up", rng.choice(FOLLOW_UPS + MORE_FOLLOW_UPS)))
    out = out[:body]
    out.append(("handoff", HANDOFF) if handoff else ("thanks", rng.choice(THANKS)))
    return out


def resident_conversation(rng: random.Random) -> list[tuple[str, str]]:
    """One resident's conversation under load: a length from :data:`LENGTHS`, sometimes
    ending in a hand-off."""
    return long_conversation(rng, rng.choice(LENGTHS), handoff=rng.random() < HANDOFF_SHARE)


class Sent(NamedTuple):
    """One turn of a load run: its phase, its 1-based index in its conversation, the result."""

    phase: str
    index: int
    turn: Turn


@dataclass
class LoadResult:
    """Every turn of a load run."""

    turns: list[Sent] = field(default_factory=list)
    seconds: float = 0.0
    conversations: int = 0

    @property
    def errors(self) -> int:
        """Turns without a usable answer: HTTP/network errors or no reply at all."""
        return sum(1 for s in self.turns if not s.turn.ok)

    @property
    def place_forgotten(self) -> int:
        """Service questions answered with "where are you insured?" though turn 2 said so."""
        return sum(1 for s in self.turns
                   if s.phase == "question" and s.turn.ok and ASK_CITY in s.turn.reply_text)

    def seconds_of(self, phase: str | None = None, first: int = 1, last: int = 10**6) -> list[float]:
        """Latencies of the answered turns of ``phase`` (any), with index in first..last."""
        return [s.turn.seconds for s in self.turns if s.turn.ok and first <= s.index <= last
                and (phase is None or s.phase == phase)]


async def run_load(
    gateway_url: str,
    residents: int,
    conversations: int,
    max_seconds: float,
    seed: int = 7,
    timeout: float = 60.0,
    think_seconds: float = 0.0,
    api_key: str | None = None,
) -> LoadResult:
    """``residents`` concurrent residents share ``conversations`` conversations of
    :func:`resident_conversation`'s lengths.

    Between turns a resident reads the reply for ``think_seconds`` on average
    (uniform between half and one and a half times it); 0 sends the next turn at
    once, a stress test of throughput rather than of residents.
    Stops starting new conversations after ``max_seconds`` (running ones finish),
    so both the request count and the duration are bounded.
    ``api_key``: the stack's key (see stack/client.py), so each resident keeps its
    conversation and the load counts against one key, not against one address.
    """
    result = LoadResult()
    budget = {"left": conversations}
    deadline = time.monotonic() + max_seconds
    connector = aiohttp.TCPConnector(limit=residents + 4)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def resident(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            while budget["left"] > 0 and time.monotonic() < deadline:
                budget["left"] -= 1
                sender = f"bench-{uuid.uuid4().hex[:12]}"
                for n, (phase, text) in enumerate(resident_conversation(rng), start=1):
                    if n > 1 and think_seconds:
                        await asyncio.sleep(rng.uniform(0.5, 1.5) * think_seconds)
                    turn = await chat(session, gateway_url, sender, text, timeout=timeout,
                                      api_key=api_key)
                    result.turns.append(Sent(phase, n, turn))
                result.conversations += 1

        started = time.perf_counter()
        await asyncio.gather(*(resident(i) for i in range(residents)))
        result.seconds = time.perf_counter() - started
    return result


async def run_parse(
    rasa_url: str,
    token: str | None,
    requests: int,
    concurrency: int,
    timeout: float = 60.0,
) -> tuple[list[float], int, float]:
    """Bare NLU: POST /model/parse; (latencies in s, errors, wall seconds)."""
    rng = random.Random(11)
    texts = [t for group in (GREETINGS, PLACES, QUESTIONS, FOLLOW_UPS, THANKS) for t in group]
    params = {"token": token} if token else {}
    latencies: list[float] = []
    errors = 0
    left = {"n": requests}
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            nonlocal errors
            while left["n"] > 0:
                left["n"] -= 1
                started = time.perf_counter()
                try:
                    async with session.post(
                        f"{rasa_url}/model/parse", json={"text": rng.choice(texts)},
                        params=params, timeout=aiohttp.ClientTimeout(total=timeout),
                    ) as resp:
                        await resp.read()
                        if resp.status != 200:
                            errors += 1
                            continue
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started
