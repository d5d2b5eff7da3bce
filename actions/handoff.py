"""Hand the resident to a hotline with a ticket staff can look up."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import common
from actions.common import ELDER, SyncAction, say
from hotline import routing, tickets
from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)

# Slots worth showing the hotline agent.
TICKET_SLOTS = ("city", "person_type", "filing_type", "disease", "topic")


def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any], *,
    reason: str, topic: str | None = None, lead: str | None = None,
) -> list[EventType]:
    """Tell the resident which hotline to call, file a ticket, and return slot events.

    Never raises: without a database the resident still gets the number.
    """
    kb = common.store()
    topic = topic or tracker.get_slot("topic") or common.intent_of(tracker)
    try:
        ctx = common.context(tracker, kb)
        place = ctx.place
    except KnowledgeError:
        ctx, place = None, None
    mode = ctx.mode if ctx else "standard"
    case = reason in ("complain", "case_handling")
    subject = routing.load_routing().subject_of(ctx.text if ctx else "") if case else "medical_insurance"
    route = routing.route(place.id if place else None, topic, reason, subject=subject, store=kb,
                          place_name=place.name if place else None)

    code = None
    try:
        info = tickets.create_ticket(
            common.resources.sessions,
            place=place.name if place else None, topic=topic, channel=ctx.channel if ctx else "",
            hotline=route.hotline, reason=reason, transcript=common.recent_transcript(tracker),
            slots={k: tracker.get_slot(k) for k in TICKET_SLOTS if tracker.get_slot(k)},
            sender=tracker.sender_id,   # one open ticket per sender; "删除我的记录" finds it
        )
        code = info.code
        if reason in ("fallback", "no_answer", "request_human"):
            tickets.record_unanswered(
                common.resources.sessions, place=place.name if place else None, topic=topic,
                # A tapped "转人工" is not the question: the words before it are.
                text=common.resident_words(tracker, "nlu_fallback" if reason == "fallback" else None),
                reason="fallback" if reason == "fallback" else "handoff", sender=tracker.sender_id,
            )
    except (SQLAlchemyError, KnowledgeError):
        logger.exception("could not store the hand-off ticket")

    lines = [lead] if lead else []
    lines.append(say("handoff.intro", name=route.name, hotline=route.hotline))
    if code:
        if mode == ELDER:
            lines.append(say("handoff.ticket_spoken", code=code, code_spoken="、".join(code)))
        else:
            # Promise only what this deployment does (settings; default: no promise).
            key = "handoff.ticket_transcript" if common.transcript_visible() else "handoff.ticket"
            lines.append(say(key, code=code))
        if common.callback_promised():
            lines.append(say("handoff.callback"))
    else:
        lines.append(say("handoff.no_ticket"))
    if route.what_to_say:
        lines.append(route.what_to_say)
    if route.local_alternatives and mode != ELDER:
        lines.append(say("handoff.alternatives", channels=common.join(route.local_alternatives)))
    text = "\n".join(lines)
    dispatcher.utter_message(text=text)
    payload = {"handoff": {"hotline": route.hotline, "ticket": code}} if code else None
    if payload:
        dispatcher.utter_message(json_message=payload)
    return [SlotSet("last_answer", {"text": text, "payload": payload})]


class ActionHandoff(SyncAction):
    """A resident asks for a person (or complains): route to 12393 / 12345."""

    def name(self) -> str:
        return "action_handoff"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = common.intent_of(tracker)
        reason = "complain" if intent == "complain" else "request_human"
        lead = say("handoff.complain_intro") if reason == "complain" else None
        return hand_off(dispatcher, tracker, domain, reason=reason, lead=lead)
