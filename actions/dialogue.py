"""Conversation control: repeating the last answer, not understanding."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.common import say
from actions.handoff import hand_off


class ActionRepeat(Action):
    """"再说一遍": the last answer again, word for word."""

    def name(self) -> str:
        return "action_repeat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        last = tracker.get_slot("last_answer")
        if isinstance(last, dict) and last.get("text"):
            dispatcher.utter_message(text=last["text"])
            return []
        # Before any knowledge answer, repeat whatever the bot said last.
        for event in reversed(tracker.events):
            if event.get("event") == "bot" and event.get("text"):
                dispatcher.utter_message(text=event["text"], buttons=(event.get("data") or {}).get("buttons"))
                return []
        dispatcher.utter_message(text=say("ask.nothing_to_repeat"))
        return []


class ActionFallback(Action):
    """Not understood: ask to rephrase; the second time in a row, hand off."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if common.consecutive_fallbacks(tracker) >= 2:
            return hand_off(dispatcher, tracker, domain, reason="fallback", lead=say("handoff.fallback_reason"))
        try:
            from hotline import tickets

            ctx = common.context(tracker, common.store())
            tickets.record_unanswered(
                common.resources.sessions, place=ctx.place.name if ctx.place else None,
                topic=None, text=ctx.text, reason="fallback",
            )
        except Exception:  # noqa: BLE001 - analytics must never block the reply
            common.logger.warning("could not record an unanswered question", exc_info=True)
        dispatcher.utter_message(text=say("ask.rephrase"), buttons=common.rephrase_buttons())
        return []
