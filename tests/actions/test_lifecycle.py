"""The database engine lives as long as the action server (actions/lifecycle.py)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import event, text

from actions.answers import ActionAnswerTopic
from actions.common import resources
from actions.handoff import ActionHandoff
from hotline import tickets
from hotline.models import create_schema
from knowledge.db import make_session_factory
from tests.actions.conftest import NATIONAL_HOTLINE, entity, wording
from tests.actions.test_aspects import texts

ROOT = Path(__file__).resolve().parents[2]


def test_stop_disposes_the_engine_and_its_pooled_connections(database_url):
    resources.start(database_url)
    try:
        engine = resources.engine
        disposed, closed = [], []
        event.listen(engine, "engine_disposed", lambda *_: disposed.append(1))
        event.listen(engine.pool, "close", lambda *_: closed.append(1))
        with resources.sessions() as session:
            session.execute(text("select 1"))
        assert disposed == []
        pooled = engine.pool.checkedin() if hasattr(engine.pool, "checkedin") else 0  # SQLite: NullPool
    finally:
        resources.stop()
    assert disposed == [1] and resources.engine is None
    # PostgreSQL's pooled connection is closed, not left to the garbage collector.
    assert len(closed) >= pooled


async def test_a_database_used_before_start_or_after_stop_degrades_to_the_hotline(convo, domain):
    resources.stop()
    convo.user("长春怎么参保", "ask_enrolment", [entity("city", "长春市", "长春")])
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    assert texts(messages) == wording("errors.store_down").format(hotline=NATIONAL_HOTLINE)
    convo.user("转人工", "request_human")
    messages, _ = await convo.run(ActionHandoff(), domain)
    # No ticket without a database, but still the number to call.
    assert NATIONAL_HOTLINE in texts(messages) and not any(m.get("custom") for m in messages)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _action_call(action: str, text_: str, intent: str) -> dict:
    return {"next_action": action, "sender_id": "lifecycle-1", "domain": {}, "version": "3.6.2",
            "tracker": {"sender_id": "lifecycle-1", "slots": {}, "events": [], "latest_input_channel": "rest",
                        "latest_message": {"text": text_, "intent": {"name": intent}, "entities": []}}}


def test_the_real_action_server_opens_the_engine_at_start_and_disposes_it_at_stop(kb_engine, sqlite_url,
                                                                                  tmp_path):
    """``python -m rasa_sdk`` (the actions image's command) finds our plugin package."""
    create_schema(kb_engine)
    port = _free_port()
    log_path = tmp_path / "actions.log"
    env = {**os.environ, "DATABASE_URL": sqlite_url, "PYTHONPATH": str(ROOT), "SANIC_HOST": "127.0.0.1"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("action server did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.3)
        result = _post(f"http://127.0.0.1:{port}/webhook", _action_call("action_handoff", "转人工", "request_human"))
        code = next(r["custom"]["handoff"]["ticket"] for r in result["responses"] if r.get("custom"))
        # The ticket is in the database the server opened.
        assert tickets.get_by_code(make_session_factory(kb_engine), code).reason == "request_human"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("action server did not stop on SIGINT")
    log = log_path.read_text()
    created, disposed = log.find("database engine created"), log.find("database engine disposed")
    assert disposed > created >= 0, log[-3000:]
    assert "used before the action server started it" not in log
