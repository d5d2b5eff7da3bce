"""A gateway-shaped app with the staff console on a real knowledge base.

Only ``app["rasa"]`` is a stand-in (Rasa is not running in unit tests): it returns
a realistic ``/model/parse`` result from keywords. The knowledge store, the ticket
database and every handler are the real ones.
"""
from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from hotline.models import create_schema
from knowledge.db import make_engine, make_session_factory
from knowledge.loader import load
from tests.hotline.fixtures import knowledge_content

STAFF_PASSWORD = "test-password-42"

# Keyword → ranking of a trained model (confidences sum to about 1, control
# intents and nlu_fallback mixed in, as Rasa returns them).
_RANKINGS = {
    "备案": [("ask_remote_care_filing", 0.81), ("ask_cross_region_settlement", 0.09), ("greet", 0.04),
             ("ask_manual_reimbursement", 0.03), ("ask_reimbursement", 0.02), ("inform", 0.01)],
    "报销": [("ask_manual_reimbursement", 0.55), ("ask_reimbursement", 0.3), ("nlu_fallback", 0.45),
             ("ask_chronic_disease_outpatient", 0.08), ("thank", 0.04), ("ask_transfer", 0.03)],
}
_DEFAULT = [("out_of_scope", 0.6), ("ask_service_channels", 0.2), ("ask_e_voucher", 0.1),
            ("ask_payment_channels", 0.06), ("greet", 0.04)]


class StandInRasa:
    """Answers ``parse`` like Rasa's /model/parse; ``down=True`` simulates an outage."""

    def __init__(self, down: bool = False):
        self.down = down
        self.texts: list[str] = []

    async def parse(self, text: str) -> dict[str, Any]:
        self.texts.append(text)
        if self.down:
            raise ConnectionError("Rasa is down")
        ranking = next((r for k, r in _RANKINGS.items() if k in text), _DEFAULT)
        entities = []
        if "连云港" in text:
            start = text.index("连云港")
            entities.append({"entity": "city", "start": start, "end": start + 3, "value": "连云港市",
                             "extractor": "DIETClassifier", "processors": ["EntitySynonymMapper"]})
        return {
            "text": text,
            "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
            "entities": entities,
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "response_selector": {},
        }


@pytest.fixture
def kb_sessions(sqlite_url):
    engine = make_engine(sqlite_url)
    places, _ = knowledge_content()
    load(engine, places)
    create_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def rasa() -> StandInRasa:
    return StandInRasa()


@pytest.fixture
def staff_env(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("STAFF_PASSWORD", STAFF_PASSWORD)
    monkeypatch.delenv("STAFF_PASSWORD_HASH", raising=False)
    monkeypatch.setenv("STAFF_LOGIN_MAX_FAILURES", "3")


def make_app(sessions, rasa) -> web.Application:
    from bot.staff import standalone_app

    return standalone_app(sessions, rasa)


@pytest.fixture
async def client(aiohttp_client, staff_env, kb_sessions, rasa):
    return await aiohttp_client(make_app(kb_sessions, rasa))


@pytest.fixture
async def token(client) -> str:
    resp = await client.post("/api/staff/login", json={"password": STAFF_PASSWORD})
    assert resp.status == 200
    return (await resp.json())["token"]


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
