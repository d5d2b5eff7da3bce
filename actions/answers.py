"""Answer service questions from the knowledge base, and refine them on follow-ups.

Composition rule: the place's own entry answers first, under its own source line;
whatever it lacks (steps, channels, materials, conditions, validity, offline ways,
proxies) comes from the national entry under the national source line; what the
place's source leaves out (the entry's ``gap``) is said after both, so the hotline
comes last; an aspect no source gives is named as missing, with where to ask.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Union

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import aspects, common, whereabouts
from actions.aspects import Part
from actions.common import ELDER, Context, SyncAction, say
from actions.fallback import offer_alternatives, suggest_topics
from actions.handoff import hand_off
from knowledge import answer_service
from knowledge.errors import EntryNotFound, KnowledgeError
from knowledge.store import Answer, FactHit, KnowledgeStore

logger = logging.getLogger(__name__)

# A fact joins an answer only when the question names it (a keyword hit scores ≥ 4).
FACT_MIN_SCORE = 4.0
PLAN_TOPIC = "ask_plan"
# Elder mode names at most this many channels, to keep a spoken answer short.
ELDER_CHANNELS = 2
# What a full answer spells out; the other aspects a source gives are offered as
# follow-ups ("您还可以问我：…"), so the first answer stays readable.
SHOWN = {"standard": ("steps", "channels", "materials", "eligibility", "time"), ELDER: ("steps", "channels")}


@dataclass(frozen=True)
class Cite:
    """A reply line that cites ``entry``'s source: the payload marks it as data."""

    text: str
    entry: Union[Answer, FactHit]


# A reply as the actions build it: plain lines and citation lines, in order.
Line = Union[str, Cite]


def _cite(entry: Union[Answer, FactHit], elder: bool = False) -> Cite:
    return Cite(say("elder.source_line" if elder else "answer.source_line", source=entry.source.short), entry)


def text_of(lines: list[Line]) -> str:
    return "\n".join(line.text if isinstance(line, Cite) else line for line in lines)


def render(lines: list[Line]) -> tuple[str, list[dict[str, Any]], list[Union[Answer, FactHit]]]:
    """The reply text, its lines as payload data, and the entries cited (in citation order).

    Each payload line is ``{"text"}`` or ``{"text", "source": index into the sources}``;
    joined with newlines the texts are the reply text, so a channel renders the
    lines and never looks for a citation in the words.
    """
    used: list[Union[Answer, FactHit]] = []
    data: list[dict[str, Any]] = []
    for line in lines:
        text, index = line, None
        if isinstance(line, Cite):
            if line.entry not in used:
                used.append(line.entry)
            text, index = line.text, used.index(line.entry)
        for piece in text.split("\n"):
            data.append({"text": piece} if index is None else {"text": piece, "source": index})
    return text_of(lines), data, used


def _rule_lines(rules: list[FactHit], elder: bool) -> list[Line]:
    """National rules about the resident's situation, each under its own source line."""
    lines: list[Line] = []
    for rule in rules:
        text = rule.brief if elder and rule.brief else rule.text
        lines += [say("answer.rule_lead", text=text), _cite(rule, elder)]
    return lines


def _facts_block(place: str, facts: list[FactHit]) -> list[str]:
    if not facts:
        return []
    lines = [say("answer.facts_heading", place=place)]
    lines += [say("answer.fact_line", text=f.text) for f in facts]
    lines.append(say("answer.facts_caveat"))
    return lines


def _sentences(items: tuple[str, ...]) -> str:
    """Sentence-valued items (conditions, validity…) as one paragraph."""
    return "".join(i if i[-1] in "。！？；" else f"{i}。" for i in items)


def _listed(items: tuple[str, ...]) -> str:
    """Channels and materials: short names joined with "、"; a list that holds a whole
    sentence (a national rule such as "材料都不超过4种，…") reads as sentences instead."""
    if any(mark in item for item in items for mark in "，；。"):
        return _sentences(items)
    return common.join(items)


def _steps_lines(steps: tuple[str, ...]) -> list[str]:
    return [say("answer.step_line", n=i, step=s) for i, s in enumerate(steps, 1)]


def _part_lines(part: Part) -> list[str]:
    """One aspect inside a full answer: a short heading and its content."""
    short = say(f"aspects.{part.aspect}.short")
    if part.aspect == "steps":
        return [short, *_steps_lines(part.items)]
    if part.aspect in aspects.LIST_ASPECTS:
        return [short + _listed(part.items)]
    return [short + _sentences(part.items)]


def _spoken_channels(items: tuple[str, ...]) -> str:
    """Channels worth saying aloud: places and apps first, phone lines only if nothing else."""
    numbers = common.hotline_numbers()
    places = [c for c in items if not any(n in c for n in numbers)] or list(items)
    return common.join(places[:ELDER_CHANNELS])


def _elder_lines(parts: list[Part]) -> list[str]:
    """Elder mode: the first step only, and where to go — still named, never just "call"."""
    lines: list[str] = []
    for part in parts:
        if part.aspect == "steps":
            lines.append(say("elder.first_step", step=part.items[0]))
            if len(part.items) > 1:
                lines.append(say("elder.more_steps"))
        elif part.aspect == "channels":
            lines.append(say("elder.channels", channels=_spoken_channels(part.items)))
    return lines


def compose(
    answer: Answer, ctx: Context, facts: list[FactHit], national: Answer | None = None, where: str = "",
) -> str:
    """The reply text of :func:`compose_lines`."""
    return text_of(compose_lines(answer, ctx, facts, national, where))


def compose_lines(
    answer: Answer, ctx: Context, facts: list[FactHit], national: Answer | None = None, where: str = "",
) -> list[Line]:
    """The reply: answer, each aspect from its best source, and one source line per source.

    ``national`` completes a local answer: the aspects the local entry lacks follow
    under the national procedure's own source line, then the entry's ``gap``.
    ``where`` ("请拨打…") ends the answer when a procedure lacks a core aspect in
    every source.
    """
    lines: list[Line] = []
    elder = ctx.mode == ELDER
    parts = aspects.resolve_all(answer, national)
    shown = [parts[a] for a in SHOWN[ELDER if elder else "standard"]]
    own = [p for p in shown if p.source is answer]
    supplement = [p for p in shown if national is not None and p.source is national]
    offered = [p for p in parts.values() if p not in shown and not p.missing]
    if answer.scope == "national":
        if ctx.place:
            lines.append(say("answer.national_note_brief" if elder else "answer.national_note", place=ctx.place.name))
        else:
            lines.append(say("answer.national_no_place"))
    person = ctx.person_type
    if person and answer.applies_to and person not in answer.applies_to and not elder:
        lines.append(say("answer.person_not_specific", person=person))

    if elder:
        own_lines, national_lines = _elder_lines(own), _elder_lines(supplement)
        lines.append(answer.brief)
        lines += own_lines
        lines += [f.text for f in facts[:1]]
        lines.append(_cite(answer, elder=True))
        if national_lines:
            lines.append(say("elder.national_part"))
            lines += national_lines
            lines.append(_cite(national, elder=True))
        # As in a full answer, what the brief leaves out (and the hotline) comes after
        # the steps and places that can tell.
        if answer.brief_gap:
            lines.append(answer.brief_gap)
        lines += _hint(offered)
        return lines

    lines.append(answer.answer)
    for part in own:
        lines += _part_lines(part)
    lines += _facts_block(ctx.place.name if ctx.place else "", facts)
    lines.append(_cite(answer))
    if supplement:
        lines.append(say("answer.national_procedure"))
        for part in supplement:
            lines += _part_lines(part)
        lines.append(_cite(national))
    # What the place's source leaves out, and where to ask, comes after whatever the
    # national procedure could fill in: the phone is the last resort, not the first.
    if answer.gap:
        lines.append(answer.gap)
    # Only a procedure (some source has steps) is expected to list materials and channels;
    # a complaint's steps are the call itself, with nothing to bring and nowhere to go.
    missing = [parts[a] for a in aspects.CORE if parts[a].missing]
    if where and missing and not parts["steps"].missing and answer.topic not in aspects.NOT_PROCEDURES:
        labels = common.join(say(f"aspects.{p.aspect}.label") for p in missing)
        lines.append(say("answer.missing_after_gap", labels=labels) if answer.gap
                     else say("answer.missing", labels=labels, where=where))
    lines += _hint(offered)
    return lines


class Hint(str):
    """The follow-up hint line, which stays last in an answer."""


def _is_hint(line: Line) -> bool:
    return isinstance(line, Hint)


def _hint(parts: list[Part]) -> list[str]:
    """Offer the details a source gives that the answer did not spell out."""
    if not parts:
        return []
    return [Hint(say("answer.follow_up_hint", questions="".join(
        say("answer.hint_item", label=say(f"aspects.{p.aspect}.label")) for p in parts)))]


def _source_data(entry: Union[Answer, FactHit]) -> dict[str, Any]:
    src = entry.source
    return {"scope": entry.scope, "entry_id": entry.id, "short": src.short, "document": src.document,
            "section": src.section, "quote": src.quote, "as_of": src.as_of, "doc_no": src.doc_no,
            "date": src.date}


def aspect_reply(
    answer: Answer, national: Answer | None, ctx: Context, aspect: str, where: str, step_index: int = 0,
) -> tuple[list[Line], int | None]:
    """One aspect of a topic: from the local entry, else national, else "no source says".

    Returns the lines and, for steps read one at a time, the new step position.
    """
    title = answer.title
    place = ctx.place.name if ctx.place else ""
    part = aspects.resolve("steps" if aspect == "next_step" else aspect, answer, national)
    lines: list[Line] = []
    if part.missing:
        if aspect == "eligibility" and answer.applies_to:
            lines.append(say("follow_up.eligibility_people", title=title, people=common.join(answer.applies_to)))
            lines.append(_cite(answer))
            return lines, None
        label = say(f"aspects.{aspect}.label")
        return [say("follow_up.missing", title=title, label=label, where=where)], None

    # "下一步" goes on with a procedure whose source was named when it began: said
    # again before every step, the note buries the step an elder is listening for.
    if aspect != "next_step" and part.source is not answer and place:
        lines.append(say("follow_up.national_for_place", place=place))
    elif aspect != "next_step" and answer.scope == "national":
        lines.append(say("answer.national_note_brief"))
    position: int | None = None
    if aspect == "steps" and ctx.mode != ELDER:
        lines.append(say("aspects.steps.heading", title=title))
        lines += _steps_lines(part.items)
    elif aspect in ("steps", "next_step"):
        # Read aloud one step at a time; "下一步" moves on.
        position = step_index + 1 if aspect == "next_step" else 0
        if position >= len(part.items):
            return [say("elder.last_step")], None
        lines.append(say("elder.step", n=position + 1, step=part.items[position]))
        lines.append(say("elder.last_step" if position == len(part.items) - 1 else "elder.more_steps"))
    elif aspect in aspects.LIST_ASPECTS:
        lines.append(say(f"aspects.{aspect}.heading", title=title))
        lines.append(_listed(part.items))
    else:
        lines.append(say(f"aspects.{aspect}.heading", title=title))
        # Elder mode: one sentence a line, as the brief variants are written for listening.
        lines += [_sentences((i,)) for i in part.items] if ctx.mode == ELDER else [_sentences(part.items)]
    lines.append(_cite(part.source))
    return lines, position


def _asks_for_figure(question: str) -> bool:
    return any(cue in question for cue in common.wording()["retrieval"]["figure_cues"])


def _relevant_facts(kb: KnowledgeStore, ctx: Context, topic: str, question: str) -> list[FactHit]:
    """Plan facts the question asks for: always for ask_plan, else only figures/names."""
    if not ctx.place or not question:
        return []
    if topic != PLAN_TOPIC and not _asks_for_figure(question):
        return []
    if topic == PLAN_TOPIC:
        return [h for h in kb.facts(ctx.place.name, question, topic=topic, limit=3) if h.score >= 1.0]
    # Another topic's figure that shares the question's words ("新农合一年交多少钱" and the
    # 新农合 inpatient rate) would read as the answer: only the topic's own figures count.
    hits = kb.facts(ctx.place.name, question, topic=topic, limit=6)
    return [h for h in hits if h.score >= FACT_MIN_SCORE and h.concerns(topic)][:2]


def _place_matters(kb: KnowledgeStore, topic: str) -> bool:
    """Whether any place answers ``topic`` differently from the national baseline."""
    return topic == PLAN_TOPIC or any(topic in topics for topics in kb.local_topics().values())


def lookup(kb: KnowledgeStore, ctx: Context, topic: str) -> tuple[Answer, Answer | None]:
    """The entry that answers ``topic`` here, and the national one that completes it."""
    found = answer_service.answer_for(kb, topic, ctx.place.name if ctx.place else None, ctx.person_type)
    return found.answer, found.national


def answer_topic(
    dispatcher: CollectingDispatcher, tracker: Tracker, topic: str, question: str,
    domain: dict[str, Any], aspect: str | None = None, announce: bool = False,
) -> list[EventType]:
    """Answer ``topic`` (or only its ``aspect``) for the resident's place.

    Asks for the place first if it matters; the aspect waits in its slot meanwhile.
    ``announce`` heads an aspect answer with the place and topic (a new question).
    """
    kb = common.store()
    if topic in aspects.NOT_PROCEDURES:
        aspect = None
    try:
        # "我是连云港的，去江门看病": the place they are insured in, not the last one named.
        settled = whereabouts.settle(common.context(tracker, kb), tracker, kb, topic, question)
        ctx = settled.ctx
        if ctx.place is None and settled.outside is None and _place_matters(kb, topic):
            if ctx.place_text:
                dispatcher.utter_message(text=say("follow_up.place_unknown", places=_place_names(kb)))
            dispatcher.utter_message(text=say("ask.city"), buttons=common.city_buttons(kb))
            # A place named only as where they go for care is not theirs: not kept for later.
            forget = [SlotSet("city", None)] if tracker.get_slot("city") else []
            return [SlotSet("pending_topic", topic), SlotSet("aspect", aspect), *forget]
        answer, national = lookup(kb, ctx, topic)
        where = common.where_to_ask(kb, ctx.place, topic)
        facts = [] if aspect else _relevant_facts(kb, ctx, topic, question)
        # A follow-up on the same question ("要带啥") does not repeat the rule said before.
        rules = answer_service.situation_rules(kb, topic, question) if announce or not aspect else []
    except EntryNotFound:
        logger.warning("no knowledge entry for %s", topic)
        return hand_off(dispatcher, tracker, domain, reason="no_answer", topic=topic,
                        lead=say("errors.no_answer"))
    except KnowledgeError:
        logger.exception("knowledge store unavailable")
        dispatcher.utter_message(text=say("errors.store_down"))
        return [SlotSet("pending_topic", None)]

    events: list[EventType] = [SlotSet("topic", topic), SlotSet("pending_topic", None), SlotSet("aspect", None)]
    missing_first = ""
    if aspect and aspects.resolve("steps" if aspect == "next_step" else aspect, answer, national).missing:
        # Staff see which details residents ask for that no source gives.
        _record_gap(ctx, topic, tracker.sender_id)
        if announce and aspect != "next_step":
            # A first question about a detail no source gives: say so, then all we do know.
            missing_first = text_of(aspect_reply(answer, national, ctx, aspect, where)[0][:1])
            aspect = None
    lines: list[Line]
    if aspect:
        index = int(tracker.get_slot("step_index") or 0) if tracker.get_slot("topic") == topic else 0
        lines, position = aspect_reply(answer, national, ctx, aspect, where, index)
        if announce or tracker.get_slot("topic") != topic:
            # A new topic or place in the same message: say which one this is about.
            lines.insert(0, say("answer.aspect_title", place=ctx.place.name if ctx.place else "", title=answer.title))
        if position is not None:
            events.append(SlotSet("step_index", float(position)))
    else:
        lines = compose_lines(answer, ctx, facts, national, where)
        if missing_first:
            lines.insert(0, missing_first)
        events.append(SlotSet("step_index", 0.0))
    # The rule for the resident's own situation ("没备案就住院了") comes before the procedure;
    # first of all, a place named that is not ours; then whether care is across a province.
    whole = announce or not aspect
    lines[:0] = [*(whereabouts.outside_lines(settled, kb) if whole else []),
                 *_rule_lines(rules, ctx.mode == ELDER),
                 *(whereabouts.care_lines(settled) if whole else [])]
    if whole:
        # Where to ask what the notes leave open: after the answer, before the follow-up hint.
        at = len(lines) - 1 if lines and _is_hint(lines[-1]) else len(lines)
        lines[at:at] = whereabouts.ask_lines(settled, kb, text_of(lines))
    # The sources are the entries the lines cite, so the data cannot disagree with the text.
    text, line_data, used = render(lines)
    dispatcher.utter_message(text=text)
    # The same answer as data, so channels render sources and citations without parsing the text.
    payload = {"answer": {
        "topic": topic, "city": ctx.place.name if ctx.place else None,
        "entry_id": answer.id, "scope": answer.scope, "aspect": aspect,
        "sources": [_source_data(a) for a in used], "lines": line_data,
    }}
    dispatcher.utter_message(json_message=payload)
    # "再说一遍" repeats the data too, or channels would read the citation aloud.
    events.append(SlotSet("last_answer", {"text": text, "payload": payload}))
    if ctx.place or settled.outside:
        events.append(SlotSet("city", ctx.place.name if ctx.place else settled.outside.name))
    if answer.handoff:
        events += hand_off(dispatcher, tracker, domain, reason="case_handling", topic=topic)
    # A question the classifier was unsure of: the next likeliest topics, one tap away.
    # Last, so a hand-off's ticket and hotline follow the answer they belong to.
    offer_alternatives(dispatcher, tracker, ctx.place.name if ctx.place else None, topic)
    return events


def _record_gap(ctx: Context, topic: str, sender: str) -> None:
    """Log a question about a detail no source gives, for the knowledge-base to-do list."""
    try:
        from hotline import tickets

        tickets.record_unanswered(common.resources.sessions, place=ctx.place.name if ctx.place else None,
                                  topic=topic, text=ctx.text, reason="no_answer", sender=sender)
    except Exception:  # noqa: BLE001 - analytics must never block the reply
        logger.warning("could not record an unanswered detail", exc_info=True)


def _place_names(kb: KnowledgeStore) -> str:
    return common.join(p.name for p in kb.places())


class ActionAnswerTopic(SyncAction):
    """Answers every service intent from the knowledge base."""

    def name(self) -> str:
        return "action_answer_topic"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = common.intent_of(tracker)
        text = tracker.latest_message.get("text") or ""
        entities = tracker.latest_message.get("entities") or []
        topic, aspect = intent, None
        # "什么时候交" right after the payment answer: a detail of it, not a new question.
        follow_up = (topic == tracker.get_slot("topic") and tracker.get_slot("last_answer") is not None
                     and not any(e.get("entity") == "city" for e in entities))
        if topic in common.service_topics():
            # "正宁县的居民医保在哪交": the place and the one thing asked, in one message.
            aspect = aspects.detect(entities, text, service_intent=True, follow_up=follow_up)
        else:
            topic = tracker.get_slot("topic") or ""
        if not topic:
            dispatcher.utter_message(text=say("ask.rephrase"), buttons=common.rephrase_buttons())
            return []
        # After a tapped topic button, the story that brought the buttons up ("没备案就住院了")
        # still chooses the rule and the figures the answer leads with.
        return answer_topic(dispatcher, tracker, topic, common.resident_words(tracker), domain, aspect,
                            announce=not (follow_up and aspect))


class ActionInform(SyncAction):
    """Follow-ups: a place for a pending question, a new place or person type, or one aspect."""

    def name(self) -> str:
        return "action_inform"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        pending = tracker.get_slot("pending_topic")
        topic = pending or tracker.get_slot("topic")
        entities = tracker.latest_message.get("entities") or []
        text = tracker.latest_message.get("text") or ""
        aspect = aspects.detect(entities, text)
        if pending and not aspect:
            # The aspect asked before we asked for the place.
            aspect = tracker.get_slot("aspect") if tracker.get_slot("aspect") in aspects.CANONICAL else None
        if not topic:
            return _inform_without_topic(dispatcher, tracker, entities, aspect)
        # "那长春呢": a new place, also when the entity missed it.
        new_place = any(e.get("entity") == "city" for e in entities) or (not entities and _names_a_place(text))
        if not pending and not aspect and not entities and not new_place:
            # Nothing new (the classifier's "inform" also catches unclear words): ask
            # which detail, rather than repeat the whole answer.
            return _which_detail(dispatcher, tracker, topic)
        # A new place or person type with no aspect: the whole question again for them.
        question = common.resident_words(tracker, topic)
        announce = bool(pending) or new_place
        return answer_topic(dispatcher, tracker, topic, question, domain, aspect, announce)


def _names_a_place(text: str) -> bool:
    try:
        return whereabouts.names_a_place(text, common.store())
    except KnowledgeError:
        return False


def _which_detail(dispatcher: CollectingDispatcher, tracker: Tracker, topic: str) -> list[EventType]:
    """Buttons for the details of the current topic that a source gives."""
    kb = common.store()
    try:
        ctx = common.context(tracker, kb)
        answer, national = lookup(kb, ctx, topic)
    except KnowledgeError:
        logger.exception("knowledge store unavailable")
        dispatcher.utter_message(text=say("errors.store_down"))
        return []
    parts = aspects.resolve_all(answer, national)
    buttons = [{"title": say(f"aspects.{a}.label"), "payload": common.intent_payload("inform", aspect=a)}
               for a in aspects.ASPECTS if not parts[a].missing]
    dispatcher.utter_message(text=say("ask.which_detail", title=answer.title),
                             buttons=buttons + [common.human_button()])
    return []


def _inform_without_topic(
    dispatcher: CollectingDispatcher, tracker: Tracker, entities: list[dict], aspect: str | None,
) -> list[EventType]:
    """A place, a person type or an aspect before any question: note it and ask what about."""
    kb = common.store()
    text = tracker.latest_message.get("text") or ""
    try:
        # "我是南京的" / "俺是东海县的": the place read from the words when the entity missed it.
        settled = whereabouts.settle(common.context(tracker, kb), tracker, kb, "", text)
        place, outside = settled.ctx.place, settled.outside
        places = _place_names(kb)
        noted = whereabouts.outside_lines(settled, kb)
    except KnowledgeError:
        settled, place, outside, places, noted = None, None, None, "", []
    names = {e.get("entity") for e in entities}
    if place is not None and settled is not None and any(r.name == place.name for r in settled.named):
        names.add("city")
    if aspect and aspect != "next_step":
        topics = suggest_topics(tracker.latest_message.get("intent_ranking") or [], text)
        buttons = common.topic_buttons(topics, city=place.name if place else None, aspect=aspect)
        dispatcher.utter_message(text=say("ask.aspect_without_topic", label=say(f"aspects.{aspect}.label")),
                                 buttons=buttons + [common.human_button()])
        events: list[EventType] = [SlotSet("aspect", None)]
        return events + ([SlotSet("city", place.name)] if place else [])
    # The likeliest topics for these words (a place with a topic word: "正宁县的居民医保").
    topics = suggest_topics(tracker.latest_message.get("intent_ranking") or [], text)
    buttons = common.topic_buttons(topics or common.wording()["ask"]["rephrase_topics"],
                                   city=place.name if place else None)
    if outside is not None and noted:
        # Theirs, outside our five: later answers are the national ones, said so now.
        dispatcher.utter_message(text="\n".join([*noted, say("whereabouts.outside_noted", place=outside.name)]),
                                 buttons=buttons + [common.human_button()])
        return [SlotSet("city", outside.name)]
    if "city" in names and not place:
        dispatcher.utter_message(text=say("follow_up.place_unknown", places=places))
        return [SlotSet("city", None)]
    if "city" in names:
        dispatcher.utter_message(text=say("follow_up.place_noted", place=place.name),
                                 buttons=buttons + [common.human_button()])
        return [SlotSet("city", place.name)]
    # A person type is a detail worth noting; no entity at all means we did not understand.
    key = "ask.inform_without_topic" if names else "ask.what_topic"
    dispatcher.utter_message(text=say(key), buttons=buttons + [common.human_button()])
    return []
