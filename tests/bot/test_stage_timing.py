"""The gateway's part of the benchmark's per-stage timing (stage_timing.install_gateway)."""
from __future__ import annotations

from pathlib import Path

import stage_timing
from bot import keys
from tests.bot.conftest import API_KEY


async def test_off_the_gateway_is_not_touched(make_client, settings) -> None:
    assert settings.stage_timing_dir is None
    client = await make_client(settings, session=False, headers={"X-Api-Key": API_KEY})
    app = client.server.app
    assert "send" not in vars(app[keys.RASA])  # the class's method, not a wrapper
    assert [m.__name__ for m in app.middlewares] == ["errors"]


async def test_on_a_chat_request_records_its_time_and_its_rasa_call(
        make_client, settings, tmp_path: Path) -> None:
    client = await make_client(settings, session=False, headers={"X-Api-Key": API_KEY},
                               stage_timing_dir=tmp_path)
    assert (await client.get("/health")).status == 200  # calls no Rasa turn: not recorded
    for text in ("你好", "异地就医怎么备案"):
        resp = await client.post("/api/chat", json={"sender": "u1", "text": text})
        assert resp.status == 200
    records = stage_timing.read(tmp_path)
    assert [r["role"] for r in records] == ["gateway", "gateway"]
    for r in records:
        assert r["path"] == "/api/chat" and r["sender"] == "api:cityapp:u1"
        assert 0 < r["rasa"] < r["total"]
