"""A stand-in for Rasa's REST channel and HTTP API, for gateway tests.

Importable (``make_app(state)``) for in-process tests, and runnable for the
browser test: ``python tests/bot/stub_rasa.py --port 5005``.

Replies depend on the message:
- contains "慢"            → waits ``state.delay`` seconds, then answers
- contains "boom"          → HTTP 500
- contains "脚本"          → a reply holding <script> and an onerror image
- "/request_human" or "转人工" → the hand-off text + custom handoff payload
- "/ask_remote_care_filing" or "异地" → an answer citing a local and a national
                             source + custom answer payload with both as data
- contains "缴费"          → an answer whose citation is worded differently
                             (not "依据：") + its answer payload
- contains "按钮"          → a reply with buttons
- "再说一遍"               → the last answer's text to the same sender, without its
                             payloads (as actions/dialogue.py's action_repeat does
                             from the tracker), or "没有可以重复的内容"
- anything else            → "收到：<message>"
"""
from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Cited sources as actions/answers.py sends them in the answer payload (copied from
# a real run: 连云港市's remote-care-filing entry, completed by the national one).
LOCAL_SOURCE = {
    "scope": "local", "entry_id": "lianyungang.remote_care_filing",
    "short": "《连云港市“十四五”医疗保障发展规划》三、重点任务（十二）优化提升医疗保障公共服务 5.推进长三角医保公共服务便利共享",
    "document": "连云港市“十四五”医疗保障发展规划",
    "section": "三、重点任务（十二）优化提升医疗保障公共服务 5.推进长三角医保公共服务便利共享",
    "quote": "按照省统一部署，积极落实推进长三角地区医保关系转移接续、零星报销、自助备案等“一网通办”。",
    "as_of": 2025, "doc_no": "", "date": "",
}
NATIONAL_SOURCE = {
    "scope": "national", "entry_id": "national.remote_care_filing",
    "short": "《国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》（医保发〔2022〕22号）"
             "备案人员范围；备案渠道；备案有效期限",
    "document": "国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知",
    "section": "备案人员范围；备案渠道；备案有效期限",
    "quote": "", "as_of": 2022, "doc_no": "医保发〔2022〕22号", "date": "2022年",
}
PAYMENT_SOURCE = {
    "scope": "national", "entry_id": "national.payment_channels",
    "short": "《中华人民共和国社会保险法》、《国税地税征管体制改革方案》、《国务院办公厅关于健全基本医疗保险参保长效机制的指导意见》"
             "（国办发〔2024〕38号）社会保险法第二十五条",
    "document": "中华人民共和国社会保险法；国税地税征管体制改革方案；国务院办公厅关于健全基本医疗保险参保长效机制的指导意见",
    "section": "社会保险法第二十五条", "quote": "国家建立和完善城镇居民基本医疗保险制度。",
    "as_of": 2024, "doc_no": "国办发〔2024〕38号", "date": "国办发〔2024〕38号2024年7月",
}
# The source line as knowledge/wording/actions.yml words it today; channels must not rely on it.
SOURCE_LINE = "依据：{short}"
SOURCE = SOURCE_LINE.format(short=NATIONAL_SOURCE["short"])
TICKET = "K7M3PQ"


def answer_messages(lines: list[str | tuple[str, int]], topic: str, city: str | None, entry_id: str,
                    scope: str, sources: list[dict], **extra: Any) -> list[dict]:
    """The answer's text message and its payload, in the shape actions/answers.py sends them.

    ``lines``: a plain line, or ``(line, i)`` for a line citing ``sources[i]``.
    """
    data = [{"text": line} if isinstance(line, str) else {"text": line[0], "source": line[1]} for line in lines]
    text = "\n".join(item["text"] for item in data)
    return [{"recipient_id": "x", "text": text, **extra},
            {"recipient_id": "x", "custom": {"answer": {
                "topic": topic, "city": city, "entry_id": entry_id, "scope": scope, "aspect": None,
                "sources": sources, "lines": data}}}]


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
    city = metadata.get("city")
    if "脚本" in message:
        return answer_messages(['<script>window.__xss=1</script><img src=x onerror="window.__xss=2">注意安全',
                                (SOURCE, 0)], "ask_remote_care_filing", city, NATIONAL_SOURCE["entry_id"],
                               "national", [NATIONAL_SOURCE])
    if "/request_human" in message or "转人工" in message:
        # As actions/handoff.py sends it: the text names hotline and ticket, then the data.
        return [{"recipient_id": sender, "text": "好的，为您转接人工服务。请拨打医保服务热线12393。\n"
                 f"您的转接编号是：{TICKET}。请记下来，打电话时可以报给工作人员。\n"
                 "请先说明参保地和要办的医保业务或要反映的问题，再报出转接编号。"},
                {"recipient_id": sender, "custom": {"handoff": {"hotline": "12393", "ticket": TICKET}}}]
    if "/ask_remote_care_filing" in message or "异地" in message:
        local = SOURCE_LINE.format(short=LOCAL_SOURCE["short"])
        if metadata.get("mode") == "elder":
            lines = ["规划提出，长三角地区的异地就医备案，要能自助办理。", (local, 0), "全国通用的办法：",
                     "第一步：打开国家医保服务平台App，点异地备案。", "说“下一步”，我接着讲。", (SOURCE, 1),
                     "您还可以问我：“要带哪些材料”。"]
        else:
            lines = ["异地就医前先办备案，可以在国家医保服务平台App或当地医保经办机构办理。", (local, 0),
                     "规划没写的部分，可以先看全国通行的办理方式（各地细节以当地规定为准）：",
                     "1. 在国家医保服务平台APP或国家异地就医备案小程序提交备案", (SOURCE, 1)]
        return answer_messages(lines, "ask_remote_care_filing", city, LOCAL_SOURCE["entry_id"], "local",
                               [LOCAL_SOURCE, NATIONAL_SOURCE],
                               buttons=[{"title": "需要什么材料", "payload": "需要什么材料"},
                                        {"title": "转人工", "payload": "/request_human"}])
    if "缴费" in message:
        # The citation worded differently from today's "依据：" line, and not last.
        lines = ["居民医保一般每年集中缴费一次，可以在税务部门的缴费渠道办理。",
                 (f"（本条出自{PAYMENT_SOURCE['short']}，2024年）", 0), "各地具体渠道请问当地医保部门。"]
        return answer_messages(lines, "ask_payment_channels", city, PAYMENT_SOURCE["entry_id"], "national",
                               [PAYMENT_SOURCE])
    if "按钮" in message:
        return [{"recipient_id": sender, "text": "请选择：",
                 "buttons": [{"title": "连云港市", "payload": '/inform{"city": "连云港市"}'}]}]
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
            said = [{"recipient_id": sender, "text": m["text"]} for m in state.last.get(sender, []) if m.get("text")]
            return web.json_response(said[:1] or [{"recipient_id": sender, "text": "没有可以重复的内容"}])
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
