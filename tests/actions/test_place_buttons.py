"""The place buttons: pressing one answers the question for that place."""
from __future__ import annotations

import json
import re

from actions.answers import ActionAnswerTopic, ActionInform
from actions.common import resources
from tests.actions.conftest import Conversation, entity


def parse_payload(payload: str) -> tuple[str, dict]:
    """A button payload read the way Rasa reads "/intent{json}"."""
    match = re.fullmatch(r"/(\w+)(\{.*\})?", payload)
    assert match, payload
    return match.group(1), json.loads(match.group(2) or "{}")


async def test_pressing_a_place_button_answers_for_that_place(action_db, domain):
    convo = Conversation()
    convo.user("门诊慢特病怎么申请", "ask_chronic_disease_outpatient")
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    buttons = messages[-1]["buttons"]
    assert [parse_payload(b["payload"]) for b in buttons] == [("inform", {"city": b["title"]}) for b in buttons]
    pressed = next(b for b in buttons if b["title"] == "开州区")
    intent, values = parse_payload(pressed["payload"])
    convo.user(pressed["payload"], intent, [entity("city", values["city"])])
    answered, _ = await convo.run(ActionInform(), domain)
    payload = next(m["custom"]["answer"] for m in answered if m.get("custom"))
    assert (payload["city"], payload["topic"]) == ("开州区", "ask_chronic_disease_outpatient")


def test_stopping_before_first_use_is_harmless():
    """The action server's shutdown stops the engine; it may come before any start."""
    fresh = type(resources)()
    fresh.stop()
    fresh.stop()
    assert fresh.engine is None
