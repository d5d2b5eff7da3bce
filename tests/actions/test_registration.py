"""The action server registers exactly the domain's custom actions (no abstract base)."""
from __future__ import annotations

import asyncio

from rasa_sdk.executor import ActionExecutor

from actions import common


def test_every_domain_action_is_registered_and_the_base_is_not(domain):
    executor = ActionExecutor()
    executor.register_package("actions")
    custom = {a for a in domain["actions"] if a.startswith("action_")}
    assert set(executor.actions) == custom
    assert common.SyncAction.__name__ not in {type(a).__name__ for a in executor.actions.values()}


async def test_sync_actions_leave_the_event_loop_free(action_db, domain, monkeypatch):
    """While one action waits on the database, another resident's turn still runs."""
    import threading

    from actions.answers import ActionAnswerTopic
    from tests.actions.conftest import Conversation, entity

    release = threading.Event()
    real = common.context

    def slow_context(tracker, kb):
        release.wait(timeout=5)
        return real(tracker, kb)

    monkeypatch.setattr(common, "context", slow_context)
    convo = Conversation(metadata={"city": "长春市"})
    convo.user("长春参保", "ask_enrolment", [entity("city", "长春市", "长春")])
    slow = asyncio.ensure_future(convo.run(ActionAnswerTopic(), domain))
    await asyncio.sleep(0.05)
    assert not slow.done()          # the action is blocked in its worker thread…
    release.set()                   # …and the loop was free to run this coroutine
    messages, _ = await asyncio.wait_for(slow, timeout=10)
    assert "依据：" in messages[0]["text"]
