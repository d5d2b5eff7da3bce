"""Answer service questions from the knowledge base, and refine them on follow-ups."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.common import ELDER, Context, say
from actions.handoff import hand_off
from knowledge.errors import EntryNotFound, KnowledgeError
from knowledge.store import Answer, FactHit, KnowledgeStore

logger = logging.getLogger(__name__)

# A fact joins an answer only when the question names it (a keyword hit scores ≥ 4).
FACT_MIN_SCORE = 4.0
PLAN_TOPIC = "ask_plan"


def _facts_block(place: str, facts: list[FactHit]) -> list[str]:
    if not facts:
        return []
    lines = [say("answer.facts_heading", place=place)]
    lines += [say("answer.fact_line", text=f.text) for f in facts]
    lines.append(say("answer.facts_caveat"))
    return lines


def compose(answer: Answer, ctx: Context, facts: list[FactHit], national: Answer | None = None) -> str:
    """The reply text: answer, details, the data asked for, and the source line.

    ``national`` supplements a local answer that has no steps with the national
    procedure, under its own source line.
    """
    lines: list[str] = []
    elder = ctx.mode == ELDER
    if answer.scope == "national":
        if ctx.place:
            lines.append(say("answer.national_note_brief" if elder else "answer.national_note", place=ctx.place.name))
        else:
            lines.append(say("answer.national_no_place"))
    person = ctx.person_type
    if person and answer.applies_to and person not in answer.applies_to and not elder:
        lines.append(say("answer.person_not_specific", person=person))
    if elder:
        lines.append(answer.brief)
        if answer.steps:
            lines.append(say("elder.first_step", step=answer.steps[0]))
            if len(answer.steps) > 1:
                lines.append(say("elder.more_steps"))
        lines += [f.text for f in facts[:1]]
        lines.append(say("elder.source_line", source=answer.source.short))
        return "\n".join(lines)
    lines.append(answer.answer)
    if answer.steps:
        lines.append(say("answer.steps_heading"))
        lines += [say("answer.step_line", n=i, step=s) for i, s in enumerate(answer.steps, 1)]
    if answer.channels:
        lines.append(say("answer.channels_heading") + common.join(answer.channels))
    if answer.materials:
        lines.append(say("answer.materials_heading") + common.join(answer.materials))
    lines += _facts_block(ctx.place.name if ctx.place else "", facts)
    lines.append(say("answer.source_line", source=answer.source.short))
    if national is not None:
        lines.append(say("answer.national_procedure"))
        lines += [say("answer.step_line", n=i, step=s) for i, s in enumerate(national.steps, 1)]
        if national.channels:
            lines.append(say("answer.channels_heading") + common.join(national.channels))
        lines.append(say("answer.source_line", source=national.source.short))
    return "\n".join(lines)


def _asks_for_figure(question: str) -> bool:
    return any(cue in question for cue in common.wording()["retrieval"]["figure_cues"])


def _relevant_facts(kb: KnowledgeStore, ctx: Context, topic: str, question: str) -> list[FactHit]:
    """Plan facts the question asks for: always for ask_plan, else only figures/names."""
    if not ctx.place or not question:
        return []
    if topic != PLAN_TOPIC and not _asks_for_figure(question):
        return []
    limit = 3 if topic == PLAN_TOPIC else 2
    hits = kb.facts(ctx.place.name, question, topic=topic, limit=limit)
    floor = 1.0 if topic == PLAN_TOPIC else FACT_MIN_SCORE
    return [h for h in hits if h.score >= floor]


def _place_matters(kb: KnowledgeStore, topic: str) -> bool:
    """Whether any place answers ``topic`` differently from the national baseline."""
    return topic == PLAN_TOPIC or any(topic in topics for topics in kb.local_topics().values())


def answer_topic(
    dispatcher: CollectingDispatcher, tracker: Tracker, topic: str, question: str,
    domain: dict[str, Any],
) -> list[EventType]:
    """Answer ``topic`` for the resident's place, asking for the place if it matters."""
    kb = common.store()
    try:
        ctx = common.context(tracker, kb)
        if ctx.place is None and _place_matters(kb, topic):
            if ctx.place_text:
                dispatcher.utter_message(text=say("follow_up.place_unknown"))
            dispatcher.utter_message(text=say("ask.city"), buttons=common.city_buttons(kb))
            return [SlotSet("pending_topic", topic)]
        answer = kb.answer(topic, ctx.place.name if ctx.place else None, ctx.person_type)
        facts = _relevant_facts(kb, ctx, topic, question)
        national = None
        if answer.scope == "local" and not answer.steps and ctx.mode != ELDER:
            candidate = kb.answer(topic, None, ctx.person_type)
            national = candidate if candidate.steps else None
    except EntryNotFound:
        logger.warning("no knowledge entry for %s", topic)
        return hand_off(dispatcher, tracker, domain, reason="no_answer", topic=topic,
                        lead=say("errors.no_answer"))
    except KnowledgeError:
        logger.exception("knowledge store unavailable")
        dispatcher.utter_message(text=say("errors.store_down"))
        return [SlotSet("pending_topic", None)]

    text = compose(answer, ctx, facts, national)
    dispatcher.utter_message(text=text)
    dispatcher.utter_message(json_message={"answer": {
        "topic": topic, "city": ctx.place.name if ctx.place else None,
        "entry_id": answer.id, "scope": answer.scope,
    }})
    events: list[EventType] = [
        SlotSet("topic", topic), SlotSet("pending_topic", None), SlotSet("step_index", 0.0),
        SlotSet("last_answer", {"text": text}),
    ]
    if ctx.place:
        events.append(SlotSet("city", ctx.place.name))
    if answer.handoff:
        events += hand_off(dispatcher, tracker, domain, reason="case_handling", topic=topic)
    return events


class ActionAnswerTopic(Action):
    """Answers every service intent from the knowledge base."""

    def name(self) -> str:
        return "action_answer_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        topic = common.intent_of(tracker)
        if topic not in common.service_topics():
            topic = tracker.get_slot("topic") or ""
        if not topic:
            dispatcher.utter_message(text=say("ask.rephrase"), buttons=common.rephrase_buttons())
            return []
        return answer_topic(dispatcher, tracker, topic, tracker.latest_message.get("text") or "", domain)


class ActionInform(Action):
    """Follow-ups: a place for a pending question, or a detail of the last answer."""

    def name(self) -> str:
        return "action_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        pending = tracker.get_slot("pending_topic")
        topic = pending or tracker.get_slot("topic")
        entities = {e.get("entity") for e in tracker.latest_message.get("entities") or []}
        kb = common.store()
        if not topic:
            try:
                place = common.context(tracker, kb).place
            except KnowledgeError:
                place = None
            if "city" in entities and place:
                dispatcher.utter_message(text=say("follow_up.place_noted", place=place.name))
                return [SlotSet("city", place.name)]
            if "city" in entities:
                dispatcher.utter_message(text=say("follow_up.place_unknown"))
                return [SlotSet("city", None)]
            dispatcher.utter_message(text=say("ask.inform_without_topic"))
            return []
        aspect = tracker.get_slot("aspect") if "aspect" in entities else None
        if pending or not aspect:
            # A new place or person type: answer the question again for them.
            question = common.last_user_text_for(tracker, topic)
            return [SlotSet("aspect", None)] + answer_topic(dispatcher, tracker, topic, question, domain)
        return [SlotSet("aspect", None)] + _answer_aspect(dispatcher, tracker, kb, topic, aspect)


def _answer_aspect(
    dispatcher: CollectingDispatcher, tracker: Tracker, kb: KnowledgeStore, topic: str, aspect: str,
) -> list[EventType]:
    """One detail (materials, channels, steps, next step…) of the current topic."""
    try:
        ctx = common.context(tracker, kb)
        answer = kb.answer(topic, ctx.place.name if ctx.place else None, ctx.person_type)
    except KnowledgeError:
        logger.exception("knowledge store unavailable")
        dispatcher.utter_message(text=say("errors.store_down"))
        return []
    title = answer.title
    events: list[EventType] = []
    if aspect == "materials":
        lines = [say("follow_up.materials", title=title), common.join(answer.materials)] if answer.materials \
            else [say("follow_up.no_materials", title=title)]
    elif aspect == "channels":
        lines = [say("follow_up.channels", title=title), common.join(answer.channels)] if answer.channels \
            else [say("follow_up.no_channels", title=title)]
    elif aspect in ("steps", "next_step"):
        lines, events = _steps(tracker, answer, ctx, aspect)
    elif aspect == "eligibility":
        lines = [say("follow_up.eligibility", title=title, people=common.join(answer.applies_to))] \
            if answer.applies_to else [say("follow_up.eligibility_all", title=title)]
    else:
        lines = [say("follow_up.time", title=title)]
    lines.append(say("answer.source_line", source=answer.source.short))
    text = "\n".join(lines)
    dispatcher.utter_message(text=text)
    return events + [SlotSet("last_answer", {"text": text})]


def _steps(tracker: Tracker, answer: Answer, ctx: Context, aspect: str) -> tuple[list[str], list[EventType]]:
    if not answer.steps:
        return [say("elder.no_steps" if ctx.mode == ELDER else "follow_up.no_steps", title=answer.title)], []
    if aspect == "steps" and ctx.mode != ELDER:
        lines = [say("answer.steps_heading")]
        lines += [say("answer.step_line", n=i, step=s) for i, s in enumerate(answer.steps, 1)]
        return lines, []
    # "下一步": walk through the steps one at a time, for listening.
    index = int(tracker.get_slot("step_index") or 0)
    index = index + 1 if aspect == "next_step" else 0
    if index >= len(answer.steps):
        return [say("elder.last_step")], []
    lines = [say("elder.step", n=index + 1, step=answer.steps[index])]
    lines.append(say("elder.last_step" if index == len(answer.steps) - 1 else "elder.more_steps"))
    return lines, [SlotSet("step_index", float(index))]
