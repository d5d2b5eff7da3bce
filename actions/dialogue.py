"""Conversation control: repeating the last answer (not understanding: actions/fallback.py)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import say


class ActionRepeat(Action):
    """"再说一遍": the last answer again, word for word, with its sources and hand-off as data."""

    def name(self) -> str:
        return "action_repeat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        last = tracker.get_slot("last_answer")
        if isinstance(last, dict) and last.get("text"):
            dispatcher.utter_message(text=last["text"])
            if isinstance(last.get("payload"), dict):
                dispatcher.utter_message(json_message=last["payload"])
            return []
        # Before any knowledge answer, repeat whatever the bot said last.
        for event in reversed(tracker.events):
            if event.get("event") == "bot" and event.get("text"):
                dispatcher.utter_message(text=event["text"], buttons=(event.get("data") or {}).get("buttons"))
                return []
        dispatcher.utter_message(text=say("ask.nothing_to_repeat"))
        return []
