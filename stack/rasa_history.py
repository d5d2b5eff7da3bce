"""The dialogue history Rasa 3.6's policies read, kept up to date instead of rebuilt.

For every prediction (two or three a turn, and each policy asks on its own) Rasa
rebuilds the session's history from its first event: ``applied_events`` walks
every event, and ``Domain.states_for_tracker_history`` replays them all into a
fresh tracker to read the state before each action. After profiling, this was what
still made turn 30 of a conversation cost more than turn 2 once the tracker store
and the action call no longer grew.

Events are only ever appended to a tracker, so both results for the first *n*
events stay valid when more arrive. Here each tracker keeps them (per set of
arguments), checks by identity that its first *n* events are still the same
objects, and processes only the new ones. Anything that rewrites history (a
restart, a new session, an undo, an active loop) falls back to Rasa's own code,
which then starts a fresh record. The per-state step is Rasa 3.6.21's loop body
unchanged; ``tests/stack/test_rasa_history.py`` compares both on every prefix of
generated conversations, so a Rasa upgrade that changes the loop fails there.
"""
from __future__ import annotations

import itertools
import json
import operator
import weakref
from dataclasses import dataclass, field
from typing import Any

_MARK = "_medins_incremental_history"
# Rasa's own methods, kept for the fallback and for the tests that compare.
RASA: dict[str, Any] = {}


@dataclass
class _Applied:
    """``applied_events()`` of a tracker's first ``len(seen)`` events."""

    seen: list = field(default_factory=list)
    applied: list = field(default_factory=list)


@dataclass
class _States:
    """The history states before each action among the first ``len(seen)`` applied
    events, with the replayed tracker and Rasa's loop variables at that point."""

    replay: Any
    seen: list = field(default_factory=list)
    states: list = field(default_factory=list)
    last_ml_action: Any = None
    turn_was_hidden: bool = False


class _PerTracker:
    """Records that live as long as their tracker (trackers are not hashable)."""

    def __init__(self) -> None:
        self._records: dict[int, tuple[weakref.ref, dict]] = {}

    def get(self, tracker: Any) -> dict:
        key = id(tracker)
        found = self._records.get(key)
        if found is not None and found[0]() is tracker:
            return found[1]
        records: dict = {}
        self._records[key] = (weakref.ref(tracker, lambda _ref, k=key: self._records.pop(k, None)),
                              records)
        return records


_records = _PerTracker()


def _prefix_same(seen: list, events: Any) -> bool:
    return len(events) >= len(seen) and all(map(operator.is_, seen, events))


def install() -> bool:
    """Patch Rasa once per process; True when installed now."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    if getattr(DialogueStateTracker, _MARK, False):
        return False
    _incremental_applied_events(DialogueStateTracker)
    _incremental_states(Domain)
    setattr(DialogueStateTracker, _MARK, True)
    return True


def _incremental_applied_events(tracker_cls: Any) -> None:
    from rasa.shared.core.events import (
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
    )

    rewrites = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)
    rasa_applied_events = RASA["applied_events"] = tracker_cls.applied_events

    def applied_events(self):  # noqa: ANN001, ANN202 - Rasa's signature
        events = self.events
        records = _records.get(self)
        known: _Applied | None = records.get("applied")
        if known is not None and _prefix_same(known.seen, events):
            new = list(itertools.islice(events, len(known.seen), None))
            if not any(isinstance(e, rewrites) for e in new):
                known.seen.extend(new)
                known.applied.extend(new)
                return list(known.applied)
        applied = rasa_applied_events(self)
        # With an active loop, which events count depends on later ones: no record.
        if not any(isinstance(e, ActiveLoop) for e in events):
            records["applied"] = _Applied(list(events), list(applied))
        else:
            records.pop("applied", None)
        return applied

    applied_events.__doc__ = rasa_applied_events.__doc__
    tracker_cls.applied_events = applied_events


def _incremental_states(domain_cls: Any) -> None:
    from rasa.shared.core.constants import PREVIOUS_ACTION
    from rasa.shared.core.events import ActionExecuted

    RASA["states_for_tracker_history"] = domain_cls.states_for_tracker_history

    def step(domain, record: _States, tr, hide_rule_turn: bool, omit_unset_slots: bool,  # noqa: ANN001
             ignore_rule_only_turns: bool, rule_only_data: Any) -> dict | None:
        """One pass of Rasa 3.6.21's loop in ``states_for_tracker_history``."""
        if ignore_rule_only_turns:
            if not record.turn_was_hidden:
                record.last_ml_action = domain._get_prev_action_sub_state(tr)
            if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
                record.turn_was_hidden = hide_rule_turn
            if record.turn_was_hidden:
                return None
        state = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if record.states:
                domain._substitute_rule_only_user_input(state, record.states[-1])
            if record.last_ml_action:
                state[PREVIOUS_ACTION] = record.last_ml_action
        return domain._clean_state(state)

    def states_for_tracker_history(self, tracker, omit_unset_slots=False,  # noqa: ANN001, ANN202
                                   ignore_rule_only_turns=False, rule_only_data=None):
        applied = tracker.applied_events()
        key = ("states", id(self), omit_unset_slots, ignore_rule_only_turns,
               json.dumps(rule_only_data, sort_keys=True, default=str))
        records = _records.get(tracker)
        record: _States | None = records.get(key)
        if record is None or not _prefix_same(record.seen, applied):
            record = records[key] = _States(replay=tracker.init_copy())
        for event in applied[len(record.seen):]:
            if isinstance(event, ActionExecuted):
                state = step(self, record, record.replay, event.hide_rule_turn, omit_unset_slots,
                             ignore_rule_only_turns, rule_only_data)
                if state is not None:
                    record.states.append(state)
            record.replay.update(event)
            record.seen.append(event)
        # The state after the last event changes with the next one: not recorded.
        final = _States(record.replay, states=record.states, last_ml_action=record.last_ml_action,
                        turn_was_hidden=record.turn_was_hidden)
        last = step(self, final, record.replay, False, omit_unset_slots,
                    ignore_rule_only_turns, rule_only_data)
        # Callers edit the states they get (e.g. drop the last user text): copies.
        return [{name: dict(sub) for name, sub in state.items()}
                for state in (record.states + [last] if last is not None else record.states)]

    states_for_tracker_history.__doc__ = domain_cls.states_for_tracker_history.__doc__
    domain_cls.states_for_tracker_history = states_for_tracker_history
