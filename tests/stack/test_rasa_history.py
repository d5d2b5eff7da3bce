"""The incremental dialogue history (stack/rasa_history.py) gives exactly what Rasa's
own code gives, on every prefix of generated conversations, with every set of
arguments the policies use."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    BotUttered,
    Event,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from stack import rasa_history, rasa_tuning

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    rasa_tuning.install()
    return Domain.load(str(ROOT / "domain.yml"))


def _slot_value(domain: Domain, name: str, rng: random.Random) -> object:
    slot = domain.slots[[s.name for s in domain.slots].index(name)]
    kind = type(slot).__name__
    if kind == "BooleanSlot":
        return rng.choice([True, False, None])
    if kind == "FloatSlot":
        return rng.choice([0.0, 1.0, 2.0, None])
    if kind == "CategoricalSlot":
        return rng.choice(list(slot.values) + [None])
    return rng.choice(["长春市", "ask_enrolment", {"text": "答复"}, None])


def _event(domain: Domain, rng: random.Random, turn: int) -> Event:
    roll = rng.random()
    actions = [a for a in domain.user_actions if a.startswith("action_")] or ["action_listen"]
    if roll < 0.22:
        entities = [{"entity": "city", "value": "长春市", "start": 0, "end": 2}] if rng.random() < 0.3 else []
        return UserUttered(f"话{turn}", intent={"name": rng.choice(domain.intents), "confidence": 0.9},
                           entities=entities)
    if roll < 0.45:
        return ActionExecuted("action_listen")
    if roll < 0.70:
        return ActionExecuted(rng.choice(actions), policy="RulePolicy", confidence=1.0,
                              hide_rule_turn=rng.random() < 0.3)
    if roll < 0.85:
        return SlotSet(name := rng.choice([s.name for s in domain.slots]), _slot_value(domain, name, rng))
    if roll < 0.93:
        return BotUttered(f"答{turn}")
    return rng.choice([SessionStarted(), Restarted(), UserUtteranceReverted(), ActionReverted(),
                       FollowupAction("action_listen")])


def _fresh(tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
    """The same events in a new tracker, which has no record: Rasa's own results."""
    copy = DialogueStateTracker(tracker.sender_id, domain.slots)
    for event in tracker.events:
        copy.update(event)
    return copy


ARGUMENTS = [dict(), dict(omit_unset_slots=True),
             dict(ignore_rule_only_turns=True, rule_only_data={"slots": ["step_index"], "active_loops": []}),
             dict(ignore_rule_only_turns=True, rule_only_data=None)]


@pytest.mark.parametrize("seed", range(12))
def test_every_prefix_gives_rasas_history(domain: Domain, seed: int) -> None:
    rng = random.Random(seed)
    tracker = DialogueStateTracker(f"s{seed}", domain.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    for turn in range(90):
        tracker.update(_event(domain, rng, turn))
        fresh = _fresh(tracker, domain)
        assert tracker.applied_events() == rasa_history.RASA["applied_events"](fresh)
        for kwargs in ARGUMENTS:
            ours = domain.states_for_tracker_history(tracker, **kwargs)
            rasas = rasa_history.RASA["states_for_tracker_history"](domain, fresh, **kwargs)
            assert ours == rasas, (seed, turn, kwargs)
            if ours and "user" in ours[-1]:
                ours[-1]["user"].clear()  # what a caller may do to its copy
        assert domain.states_for_tracker_history(tracker) == rasa_history.RASA[
            "states_for_tracker_history"](domain, fresh)


def test_only_new_events_are_replayed(domain: Domain) -> None:
    tracker = DialogueStateTracker("n", domain.slots)
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
                  UserUttered("你好", intent={"name": "greet"}), ActionExecuted("utter_greet")):
        tracker.update(event)
    first = domain.states_for_tracker_history(tracker)
    replays: list[Event] = []
    record = next(r for k, r in rasa_history._records.get(tracker).items() if k != "applied")
    original_update = record.replay.update
    record.replay.update = lambda event, *a, **k: (replays.append(event), original_update(event, *a, **k))
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("谢谢", intent={"name": "thank"}))
    second = domain.states_for_tracker_history(tracker)
    assert [type(e).__name__ for e in replays] == ["ActionExecuted", "UserUttered"]
    assert second[:len(first) - 1] == first[:-1] and len(second) == len(first) + 1


def _state(rng: random.Random) -> dict:
    """A dialogue state from a small vocabulary, so that rules often match."""
    state: dict = {}
    if rng.random() < 0.9:
        state["prev_action"] = {"action_name": rng.choice(["action_listen", "action_answer", "utter_greet"])}
    if rng.random() < 0.7:
        state["user"] = {"intent": rng.choice(["greet", "inform", "ask_enrolment"])}
    if rng.random() < 0.4:
        state["slots"] = {"city": (1.0,)}
    return state


@pytest.mark.parametrize("seed", range(20))
def test_bounded_rule_matching_keeps_the_keys_rasa_keeps(seed: int) -> None:
    """Stopping at the longest rule's depth leaves the same possible rules as matching
    against every state of the session."""
    import json

    from rasa.core.policies.rule_policy import RulePolicy

    rasa_tuning.install()
    rng = random.Random(seed)
    policy = RulePolicy.__new__(RulePolicy)  # the matching reads no configuration
    lookup = {json.dumps([_state(rng) for _ in range(rng.randint(1, 4))], sort_keys=True): "action_x"
              for _ in range(40)}
    for length in (1, 3, 8, 40):
        states = [_state(rng) for _ in range(length)]
        ours = RulePolicy._get_possible_keys(policy, lookup, states)
        rasas = rasa_tuning.RASA["_get_possible_keys"](policy, lookup, states)
        assert ours == rasas
