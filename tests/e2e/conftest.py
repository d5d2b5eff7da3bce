"""The whole assistant, running for real: actions, a Rasa server with the trained
model, and the gateway, on free ports with their own databases and logs."""
from __future__ import annotations

import json
import urllib.request
from typing import Any, Iterator

import pytest

from stack import Stack
from stack.config import StackConfig, new_token, rasa_sender, stack_api_key, throwaway_staff_hash
from tests.stack.conftest import gateway_ready, trained_model  # noqa: F401 - fixtures

STAFF_PASSWORD = "e2e-staff-password"


def api_headers(api_key: str | None = None) -> dict[str, str]:
    """The stack's API key header: with it ``/api/chat`` takes the body's ``sender``."""
    return {"X-Api-Key": api_key or stack_api_key()}


def post_json(url: str, body: dict[str, Any], timeout: float = 30.0,
              headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def get_json(url: str, timeout: float = 10.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class Resident:
    """One resident talking to the gateway's /api/chat.

    Sent with the stack's API key, so ``sender`` names the conversation; Rasa
    stores it as ``rasa_sender`` (``api:stack:<sender>``).
    """

    def __init__(self, gateway_url: str, sender: str, city: str | None = None, mode: str = "standard",
                 api_key: str | None = None):
        self.url = f"{gateway_url}/api/chat"
        self.sender, self.city, self.mode = sender, city, mode
        self.headers = api_headers(api_key)

    @property
    def rasa_sender(self) -> str:
        return rasa_sender(self.sender)

    def post(self, text: str) -> tuple[int, dict]:
        """One message; (status, body) whatever the status."""
        body: dict[str, Any] = {"sender": self.sender, "text": text, "mode": self.mode}
        if self.city:
            body["city"] = self.city
        return post_json(self.url, body, headers=self.headers)

    def say(self, text: str) -> dict:
        status, reply = self.post(text)
        assert status == 200, (status, reply)
        return reply

    @staticmethod
    def text(reply: dict) -> str:
        """The answer's text; the first-contact privacy notice is not part of it."""
        return "\n".join(r.get("text") or "" for r in reply["replies"] if r.get("kind") != "privacy")


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory, trained_model, gateway_ready) -> Iterator[Stack]:  # noqa: F811
    """The embedded default (SQLite everywhere), as `make run` starts it."""
    var = tmp_path_factory.mktemp("e2e-var")
    env = {
        "DATABASE_URL": f"sqlite:///{var / 'assistant.db'}",
        "STAFF_PASSWORD": STAFF_PASSWORD,
        "RATE_LIMIT_PER_MINUTE": "1000",
        "RASA_TIMEOUT": "20",
    }
    config = StackConfig.for_tests(model=trained_model, var_dir=var, env=env, load_knowledge=True)
    with Stack(config) as stack:
        yield stack


@pytest.fixture
def gateway(embedded_stack: Stack) -> str:
    return embedded_stack.config.gateway_url


def production_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RASA_TOKEN": new_token(),
        "STAFF_PASSWORD_HASH": throwaway_staff_hash(),
        "RATE_LIMIT_PER_MINUTE": "1000",
    }
