"""A stand-in for Rasa's REST channel and HTTP API, for gateway tests.

Importable (``make_app(state)``) for in-process tests, and runnable for the
browser test: ``python tests/bot/stub_rasa.py --port 5005``.

Replies depend on the message:
- contains "慢"            → waits ``state.delay`` seconds, then answers
- contains "boom"          → HTTP 500
- contains "脚本"          → a reply holding <script> and an onerror image
- "/request_human" or "转人工" → text + custom handoff payload
- "/ask_remote_care_filing" or "异地" → an answer with a 依据 line + custom answer
- contains "按钮"          → a reply with buttons
- "再说一遍"               → the last answer to the same sender (as Rasa's
                             repeat does from the tracker), or "没有可以重复的内容"
- anything else            → "收到：<message>"
"""
from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SOURCE = "依据：《国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》二、规范备案"


@dataclass
class StubState:
    name: str = "rasa"
    delay: float = 2.0
    fail: bool = False  # every request answers 500
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Last answer per sender: the tracker's memory, for "再说一遍".
    last: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def answer(message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    sender = "x"
    if "脚本" in message:
        return [{"recipient_id": sender,
                 "text": '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">注意安全\n' + SOURCE}]
    if "/request_human" in message or "转人工" in message:
        return [{"recipient_id": sender, "text": "好的，已为您转人工服务。"},
                {"recipient_id": sender, "custom": {"handoff": {"hotline": "12393", "ticket": "K7M3PQ"}}}]
    if "/ask_remote_care_filing" in message or "异地" in message:
        if metadata.get("mode") == "elder":
            text = "第一步：打开国家医保服务平台App，点异地备案。"
        else:
            text = "异地就医前先办备案，可以在国家医保服务平台App或当地医保经办机构办理。"
        return [{"recipient_id": sender, "text": text + "\n" + SOURCE,
                 "buttons": [{"title": "需要什么材料", "payload": "需要什么材料"},
                             {"title": "转人工", "payload": "/request_human"}]},
                {"recipient_id": sender, "custom": {"answer": {
                    "topic": "ask_remote_care_filing", "city": metadata.get("city", ""),
                    "entry_id": "national.remote_care_filing", "scope": "national"}}}]
    if "按钮" in message:
        return [{"recipient_id": sender, "text": "请选择：",
                 "buttons": [{"title": "连云港市", "payload": '/inform{"city": "连云港市"}'}]}]
    city = metadata.get("city")
    return [{"recipient_id": sender, "text": f"收到：{message}" + (f"（{city}）" if city else "")}]


def make_app(state: StubState | None = None) -> web.Application:
    state = state or StubState()
    app = web.Application()

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        state.requests.append({**body, "query": dict(request.query), "server": state.name})
        message = body.get("message", "")
        if state.fail or "boom" in message:
            return web.Response(status=500, text="boom")
        if "慢" in message:
            await asyncio.sleep(state.delay)
        sender = str(body.get("sender"))
        if message == "再说一遍":
            return web.json_response(state.last.get(sender) or [{"recipient_id": sender, "text": "没有可以重复的内容"}])
        reply = answer(message, body.get("metadata") or {})
        state.last[sender] = reply
        return web.json_response(reply)

    async def parse(request: web.Request) -> web.Response:
        body = await request.json()
        state.requests.append({"parse": body.get("text"), "server": state.name})
        return web.json_response({"text": body.get("text"), "intent": {"name": "greet", "confidence": 0.9},
                                  "entities": []})

    async def root(request: web.Request) -> web.Response:
        if state.fail:
            return web.Response(status=500)
        return web.Response(text="Hello from Rasa: 3.6.21")

    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_post("/model/parse", parse)
    app.router.add_get("/", root)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, print=None)
