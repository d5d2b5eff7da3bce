"""``python -m stack run`` (what ``make run`` calls), embedded default, end to end.

Starts the real CLI on free ports with a private var/ directory, holds one
conversation through the gateway, then sends SIGINT (Ctrl-C) and checks that
every process it started is gone. Needs the trained model; no PostgreSQL/Redis.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from stack import free_port
from stack.client import chat

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_run_serves_the_web_chat_and_ctrl_c_stops_everything(
    trained_model: Path, gateway_ready: None, tmp_path: Path
) -> None:
    gw, actions, rasa = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "RASA_TOKEN", "APP_ENV")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'assistant.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stack", "run", "--load-knowledge",
         "--model", str(trained_model), "--var-dir", str(tmp_path),
         "--gateway-port", str(gw), "--actions-port", str(actions), "--rasa-port", str(rasa)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(output)
        assert "Ctrl-C stops everything" in text, text
        assert f"http://127.0.0.1:{gw}/" in text  # where to open the web chat
        pids = [int(p) for p in re.findall(r"pid (\d+)", text)]
        assert len(pids) == 4, text  # actions, Rasa, gateway, retention

        async def talk(**key) -> list:
            # Like the web page: the session cookie is the conversation (unsafe=True
            # keeps cookies of a bare IP address).
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
                url = f"http://127.0.0.1:{gw}"
                return [await chat(session, url, "cli-resident", t, **key)
                        for t in ("你好", "我在长春", "异地就医备案怎么办")]

        turns = asyncio.run(talk(api_key=""))
        assert all(t.ok for t in turns), [(t.text, t.error) for t in turns]
        assert "长春" in turns[2].reply_text
        assert [r.get("kind") for r in turns[0].replies][0] == "privacy"  # first contact only
        assert not any(r.get("kind") == "privacy" for t in turns[1:] for r in t.replies)
        # An integrator with the key written for curl names its own sender.
        key_file = tmp_path / "run" / "stack-api-key"
        assert str(key_file) in text and (key_file.stat().st_mode & 0o777) == 0o600
        keyed = asyncio.run(talk(api_key=key_file.read_text().strip()))
        assert all(t.ok for t in keyed) and "长春" in keyed[2].reply_text
        assert (tmp_path / "tracker.db").is_file()  # embedded tracker store

        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest
        time.sleep(0.5)
        assert not [p for p in pids if _alive(p)], "children left running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
