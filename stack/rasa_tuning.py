"""Rasa 3.6 runtime fixes that change no answer, installed by the tracker store
Rasa loads from ``endpoints.yml`` (:mod:`stack.tracker_store`).

Every reply of the action server is checked against Rasa's response schema with
``jsonschema.validate``, which first re-checks the schema itself against the JSON
Schema meta-schema — about 35 ms of CPU per action call with jsonschema 4.17,
more than understanding the message. The profile in bench/results/ shows it as
the largest single cost of a turn. Here the schema is checked once and the
validator reused; a reply that fails goes through Rasa's own method, so the error
and its message stay exactly Rasa's.

Loading a tracker turns every stored event back into an object, and for each one
``Event.resolve_by_type`` walks all subclasses of ``Event`` (with an
``inspect.isabstract`` check each) to find the class of its type name: a cost per
event, so a turn grows slower with every turn before it. The class found for a
type name is remembered; unknown names still go through Rasa's method.

Every action call also sent the whole session to the action server, so the call
grew with each turn: each answer turn adds its answer three times (the reply,
its structured payload and the ``last_answer`` slot) and the full intent ranking
of the message. The actions read the current slots from the tracker's ``slots``,
and from the events before this turn only who said what (``text``, the intent's
name, a bot message's buttons). The call now sends the events of the current
turn unchanged and, before it, user messages with their text, intent and
entities, bot messages without their structured payload, and no slot events.

The rule policy matched its rules against every state of the session, newest
first, parsing each rule's JSON key again for every state: a cost per state and
rule, the largest part of a turn's growth with the conversation. A rule only
looks as far back as it is long (Rasa's ``_is_rule_applicable`` accepts every
rule at a depth beyond its length), so the matching now stops at the depth of
the longest rule still possible; the keys left are the same.

The policies' view of the history is kept up to date instead of rebuilt for
every prediction: :mod:`stack.rasa_history`.
"""
from __future__ import annotations

import logging

import stage_timing
from stack import rasa_history

log = logging.getLogger(__name__)
_MARK = "_medins_cached_validator"
# Rasa's own methods this module replaces, for the tests that compare.
RASA: dict = {}


def install() -> bool:
    """Both patches, once per process; True when installed now. Also the benchmark's
    stage timing when its variable is set (:mod:`stage_timing`; off, nothing)."""
    from rasa.core.actions.action import RemoteAction

    stage_timing.install_rasa()
    if getattr(RemoteAction, _MARK, None) is not None:
        return False
    _cache_event_types()
    _cache_reply_validator(RemoteAction)
    _compact_action_calls(RemoteAction)
    _bound_rule_matching()
    rasa_history.install()
    return True


def _bound_rule_matching() -> None:
    import json
    from functools import lru_cache

    from rasa.core.policies.rule_policy import RulePolicy

    RASA["_get_possible_keys"] = RulePolicy._get_possible_keys

    @lru_cache(maxsize=None)
    def rule_length(rule_key: str) -> int:
        return len(json.loads(rule_key))  # RulePolicy._rule_key_to_state, counted

    def _get_possible_keys(self, lookup, states):  # noqa: ANN001, ANN202 - Rasa's signature
        possible_keys = set(lookup.keys())
        for i, state in enumerate(reversed(states)):
            if not possible_keys or i >= max(rule_length(key) for key in possible_keys):
                break  # every key left is accepted at this depth and beyond
            possible_keys = {key for key in possible_keys if self._is_rule_applicable(key, i, state)}
        return possible_keys

    _get_possible_keys.__doc__ = RulePolicy._get_possible_keys.__doc__
    RulePolicy._get_possible_keys = _get_possible_keys


def compact_events(events: list[dict]) -> list[dict]:
    """The session's events as the actions need them (see the module docstring)."""
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    out: list[dict] = []
    for event in events[:max(last_user, 0)]:
        kind = event.get("event")
        if kind == "slot":
            continue
        if kind == "user":
            parse = event.get("parse_data") or {}
            event = {**event, "parse_data": {"intent": parse.get("intent") or {},
                                             "entities": parse.get("entities") or []}}
        elif kind == "bot" and (event.get("data") or {}).get("custom") is not None:
            event = {**event, "data": {**event["data"], "custom": None}}
        out.append(event)
    out.extend(events[max(last_user, 0):])
    return out


def _compact_action_calls(RemoteAction) -> None:  # noqa: N803 - the class
    rasa_format = RemoteAction._action_call_format

    def _action_call_format(self, tracker, domain):  # noqa: ANN001, ANN202 - Rasa's signature
        result = rasa_format(self, tracker, domain)
        state = result.get("tracker") or {}
        if state.get("events"):
            state["events"] = compact_events(state["events"])
        return result

    _action_call_format.__doc__ = rasa_format.__doc__
    RemoteAction._action_call_format = _action_call_format


def _cache_event_types() -> None:
    from rasa.shared.core.events import Event

    rasa_resolve = Event.resolve_by_type
    found: dict[str, type] = {}

    def resolve_by_type(type_name, default=None):  # noqa: ANN001, ANN202 - Rasa's signature
        cls = found.get(type_name)
        if cls is None:
            cls = rasa_resolve(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    resolve_by_type.__doc__ = rasa_resolve.__doc__
    Event.resolve_by_type = staticmethod(resolve_by_type)


def _cache_reply_validator(RemoteAction) -> None:  # noqa: N803 - the class
    from jsonschema import exceptions, validators

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # what validate() repeated on every call
    validator = cls(schema)
    rasa_validate = RemoteAction._validate_action_result

    def _validate_action_result(self, result):  # noqa: ANN001 - Rasa's signature
        if exceptions.best_match(validator.iter_errors(result)) is None:
            return True
        return rasa_validate(self, result)  # raises Rasa's ValidationError

    _validate_action_result.__doc__ = rasa_validate.__doc__
    RemoteAction._validate_action_result = _validate_action_result
    setattr(RemoteAction, _MARK, validator)
    log.info("action server replies validated with a cached %s", cls.__name__)
