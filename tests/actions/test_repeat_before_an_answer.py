""""再说一遍" before any knowledge answer: the bot's last words again, with their buttons."""
from __future__ import annotations

from actions.dialogue import ActionRepeat
from actions.fallback import ActionFallback
from tests.actions.conftest import Conversation


async def test_repeat_gives_the_offered_topics_again_with_their_buttons(action_db, domain):
    convo = Conversation(metadata={"city": "长春市"})
    convo.events.append({"event": "bot", "text": "您好，我是医保助手。", "data": {}})
    convo.user("那个东西咋弄", "nlu_fallback", ranking=[
        {"name": "nlu_fallback", "confidence": 0.6}, {"name": "ask_remote_care_filing", "confidence": 0.3}])
    offered, _ = await convo.run(ActionFallback(), domain)
    assert offered[0]["buttons"]
    # A data-only message (no text) and the resident's own words are not what is repeated.
    convo.events.append({"event": "bot", "text": None, "data": {"custom": {"handoff": None}}})
    convo.user("再说一遍", "repeat")
    again, events = await convo.run(ActionRepeat(), domain)
    assert [(m["text"], m["buttons"]) for m in again] == [(offered[0]["text"], offered[0]["buttons"])]
    assert events == []


async def test_repeat_of_a_message_without_buttons_offers_none(action_db, domain):
    convo = Conversation()
    convo.events.append({"event": "bot", "text": "您好，我是医保助手。"})
    convo.user("再说一遍", "repeat")
    again, _ = await convo.run(ActionRepeat(), domain)
    assert [(m["text"], m["buttons"]) for m in again] == [("您好，我是医保助手。", [])]
