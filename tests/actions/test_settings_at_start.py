"""The action server's settings (what a hand-off promises) are checked once, when it
starts: a bad HANDOFF_* value stops the start with the variable named, and every
hand-off keeps what was checked then."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from actions import lifecycle
from actions.common import resources, say
from actions.handoff import ActionHandoff
from hotline.models import create_schema
from settings import SettingsError
from tests.actions.conftest import Conversation
from tests.actions.test_handoff import handoff_payload, texts
from tests.actions.test_lifecycle import ROOT, _free_port


async def test_the_start_hook_refuses_a_bad_value_naming_it_before_opening_anything(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HANDOFF_CALLBACK", "perhaps")
    resources.stop()
    with pytest.raises(SettingsError) as refused:
        await lifecycle.open_resources(None, None)
    assert [p.split(":")[0] for p in refused.value.problems] == ["HANDOFF_CALLBACK"]
    assert "'perhaps'" in str(refused.value)
    assert resources.engine is None   # no database engine left half-opened


def test_the_real_action_server_does_not_start_with_a_bad_value(kb_engine, sqlite_url, tmp_path):
    """``python -m rasa_sdk`` (the actions image's command) exits, and its log says why."""
    create_schema(kb_engine)
    env = {**os.environ, "DATABASE_URL": sqlite_url, "PYTHONPATH": str(ROOT), "SANIC_HOST": "127.0.0.1",
           "HANDOFF_TRANSCRIPT_VISIBLE": "enabled"}
    proc = subprocess.run([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(_free_port())],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "the action server cannot start: configuration is invalid" in proc.stdout
    assert "HANDOFF_TRANSCRIPT_VISIBLE: value could not be parsed to a boolean (got 'enabled')" in proc.stdout
    assert "database engine created" not in proc.stdout


async def test_a_hand_off_keeps_the_promises_checked_at_start(kb_engine, sqlite_url, domain, monkeypatch):
    """Read at start, not at each hand-off: a variable changed or broken later
    (a shell edit, a half-applied deploy) changes nothing a resident is told."""
    create_schema(kb_engine)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HANDOFF_CALLBACK", "true")
    monkeypatch.delenv("HANDOFF_TRANSCRIPT_VISIBLE", raising=False)
    await lifecycle.open_resources(None, None)
    try:
        monkeypatch.setenv("HANDOFF_CALLBACK", "perhaps")
        monkeypatch.setenv("HANDOFF_TRANSCRIPT_VISIBLE", "1")
        convo = Conversation(metadata={"city": "长春市"})
        convo.user("转人工", "request_human")
        messages, _ = await convo.run(ActionHandoff(), domain)
    finally:
        await lifecycle.close_resources(None, None)
    reply, code = texts(messages), handoff_payload(messages)["ticket"]
    assert "12393" in reply and say("handoff.ticket", code=code) in reply
    assert say("handoff.callback") in reply and say("handoff.ticket_transcript", code=code) not in reply
