"""Not understood: offer the likeliest topics for this text; the second miss hands off.

``suggest_topics`` is pure (no tracker, no database) so the NLU evaluation can
measure how often the right topic is among the ones offered.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.common import SyncAction, say
from actions.handoff import hand_off
from knowledge import retrieval
from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)

# The keyword match over the knowledge base only fills places the classifier leaves
# empty. Measured on tests/nlu_real (310 service questions), right topic among the three
# offered: DIET model of 02:00, ranking alone 90.0 % (16 of its 20 fallbacks), adding
# the match as 0.05 of a confidence 89.4 % (15/20), as 0.5 88.4 %; with the TF-IDF
# peer's flatter ranking 90.3 % alone, 91.6 % at 0.05. Not worth mixing in; worth
# having when the ranking is missing (a payload, a rule) or names no service topic.
# Matches below RETRIEVAL_MIN (a shared character or two) are noise on short texts.
RETRIEVAL_MIN = 3.0


@dataclass(frozen=True)
class _TopicDoc:
    topic: str
    text: str
    keywords: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _topic_docs() -> tuple[_TopicDoc, ...]:
    """One document per service topic: its label and every entry's title and answers."""
    from knowledge.schema import ContentError, read_all

    labels = common.service_topics()
    texts: dict[str, list[str]] = {t: [label] for t, label in labels.items()}
    titles: dict[str, set[str]] = {t: {label} for t, label in labels.items()}
    try:
        content = read_all()
    except (ContentError, OSError):
        logger.exception("knowledge content unreadable; suggestions use the classifier only")
        content = []
    for place in content:
        for entry in place.entries:
            if entry.topic in texts:
                texts[entry.topic] += [entry.title, entry.answer, entry.gap, entry.brief, entry.brief_gap]
                titles[entry.topic].add(entry.title)
    return tuple(_TopicDoc(t, " ".join(texts[t]), tuple(sorted(titles[t]))) for t in labels)


def suggest_topics(intent_ranking: list[dict], text: str, limit: int = 3) -> list[str]:
    """The ``limit`` likeliest service topics for ``text``, best first.

    The classifier's ranking decides (control intents and ``nlu_fallback`` are not
    topics and are skipped); a keyword match of the text against the knowledge base
    fills the places it leaves, so a question is never left without suggestions.
    """
    topics = common.service_topics()
    ranked = [item for item in intent_ranking or [] if item.get("name") in topics]
    ranked.sort(key=lambda item: -float(item.get("confidence") or 0.0))   # stable for ties
    offered: list[str] = []
    for item in ranked:
        if item["name"] not in offered and float(item.get("confidence") or 0.0) > 0:
            offered.append(item["name"])
    if len(offered) < limit:
        hits = retrieval.rank(text or "", _topic_docs(), fields=("text",), keywords_field="keywords",
                              limit=limit * 2)
        offered += [h.item.topic for h in hits if h.score >= RETRIEVAL_MIN and h.item.topic not in offered]
    return offered[:limit]


# An answer whose topic the classifier was unsure of also offers the next likeliest
# topics, so a resident it misread is one tap from the right answer instead of a
# rephrase. Chosen on the development set (tests/nlu_dev, never the test set): see
# results/nlu/report.md, "answered or offered".
ALTERNATIVES_BELOW = 0.7
ALTERNATIVES = 2
# A long narrative (who, where, what happened, then one or more questions) is misread
# about twice as often as a short question, and its confidence says little about that:
# such a message always gets the offer (on the 25 long development-set items, right
# topic answered or offered 60 % -> 72 %).
LONG_MESSAGE = 80


def alternatives(intent: dict | None, intent_ranking: list[dict], text: str,
                 below: float = ALTERNATIVES_BELOW) -> list[str]:
    """Topics to offer beside an answer to ``intent``: none when the classifier was sure
    of a short message.

    Pure, like :func:`suggest_topics`, so ``make eval`` measures what residents are offered.
    """
    name, confidence = (intent or {}).get("name"), float((intent or {}).get("confidence") or 0.0)
    if name not in common.service_topics() or (confidence >= below and len(text) < LONG_MESSAGE):
        return []
    others = suggest_topics(intent_ranking, text, limit=ALTERNATIVES + 1)
    return [t for t in others if t != name][:ALTERNATIVES]


def related(topic: str | None) -> list[str]:
    """Topics offered beside every answer to ``topic``, however sure the classifier was."""
    return list(common.related_topics().get(topic or "", ()))


def _question_answered(tracker: Tracker, topic: str) -> dict:
    """The message whose answer this is: the latest one, or, when the answer was
    waiting for the place ("您是在哪里参保的？"), the question that asked it."""
    message = tracker.latest_message or {}
    if (message.get("intent") or {}).get("name") == topic or tracker.get_slot("pending_topic") != topic:
        return message
    for event in reversed(tracker.events):
        parsed = (event.get("parse_data") or {}) if event.get("event") == "user" else {}
        if (parsed.get("intent") or {}).get("name") == topic:
            return {**parsed, "text": event.get("text") or parsed.get("text") or ""}
    return message


def offer_alternatives(dispatcher: CollectingDispatcher, tracker: Tracker, city: str | None,
                       topic: str | None = None) -> None:
    """After an answer, a button per topic: the next likeliest ones when the classifier
    was unsure ("如果我理解错了，您可能想问：…"), and the topics residents mean by the same
    words ("您可能还想了解：…", ``related``).

    ``topic``: the topic answered; an answer to a question that waited for its place
    is judged on that question, not on the message naming the place."""
    message = _question_answered(tracker, topic) if topic else tracker.latest_message
    try:
        topics = alternatives(message.get("intent"), message.get("intent_ranking") or [], message.get("text") or "")
    except KnowledgeError:
        return
    # Related topics beside the answer to a question typed or said about this topic: not
    # again after a follow-up, nor after a tapped button (one tap back is no news).
    asked = (message.get("intent") or {}).get("name")
    typed = asked == (topic or asked) and not (message.get("text") or "").startswith("/")
    also = [t for t in related(asked) if t not in topics] if typed else []
    labels = common.service_topics()
    if topics:
        dispatcher.utter_message(text=say("answer.alternatives", choices=_choices([labels[t] for t in topics])),
                                 buttons=common.topic_buttons(topics + also, city=city))
    elif also:
        dispatcher.utter_message(text=say("answer.related", choices=_choices([labels[t] for t in also])),
                                 buttons=common.topic_buttons(also, city=city))


def _choices(labels: list[str]) -> str:
    return say("fallback.choice_or").join(labels)


class ActionFallback(SyncAction):
    """Low NLU confidence: "您是想问：…？" with the likeliest topics; twice in a row, hand off."""

    def name(self) -> str:
        return "action_fallback"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if common.consecutive_fallbacks(tracker) >= 2:
            return hand_off(dispatcher, tracker, domain, reason="fallback", lead=say("handoff.fallback_reason"))
        text = tracker.latest_message.get("text") or ""
        place = None
        try:
            from hotline import tickets

            place = common.context(tracker, common.store()).place
            tickets.record_unanswered(
                common.resources.sessions, place=place.name if place else None,
                topic=None, text=text, reason="fallback", sender=tracker.sender_id,
            )
        except Exception:  # noqa: BLE001 - analytics must never block the reply
            logger.warning("could not record an unanswered question", exc_info=True)
        try:
            topics = suggest_topics(tracker.latest_message.get("intent_ranking") or [], text)
        except KnowledgeError:
            topics = []
        if not topics:
            dispatcher.utter_message(text=say("ask.rephrase"), buttons=common.rephrase_buttons())
            return []
        labels = common.service_topics()
        buttons = common.topic_buttons(topics, city=place.name if place else None)
        dispatcher.utter_message(text=say("fallback.suggest", choices=_choices([labels[t] for t in topics])),
                                 buttons=buttons + [common.human_button()])
        return []
