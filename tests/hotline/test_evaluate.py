"""``python -m hotline.evaluate``: the layering it must keep, and its measurement over HTTP."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hotline import evaluate

ROOT = Path(__file__).resolve().parents[2]
# textproc → knowledge → hotline → actions / bot / stack → bench: a layer imports only below it.
ABOVE = {
    "textproc": {"knowledge", "hotline", "actions", "bot", "stack", "bench"},
    "knowledge": {"hotline", "actions", "bot", "stack", "bench"},
    "hotline": {"actions", "bot", "stack", "bench"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):   # function-level (late) imports count too
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_lower_layers_import_nothing_above_them(package):
    wrong = {f"{p.relative_to(ROOT)}: {m}" for p in (ROOT / package).rglob("*.py")
             for m in _imports(p) & ABOVE[package]}
    assert not wrong, f"{package} imports a layer above it: {sorted(wrong)}"


HOLDOUT = """\
version: "3.1"
nlu:
- intent: ask_remote_care_filing
  examples: |
    - 去[北京](city)看病要备案吗
    - 异地就医怎么备案
- intent: greet
  examples: |
    - 你好
- intent: ask_e_voucher
  examples: |
    - 医保电子凭证怎么激活
"""


def test_holdout_keeps_service_intents_without_entity_markup(tmp_path):
    path = tmp_path / "holdout.yml"
    path.write_text(HOLDOUT, encoding="utf-8")
    cases = evaluate.read_holdout(path, {"ask_remote_care_filing", "ask_e_voucher"})
    assert [(c.text, c.topic) for c in cases] == [
        ("去北京看病要备案吗", "ask_remote_care_filing"),
        ("异地就医怎么备案", "ask_remote_care_filing"),
        ("医保电子凭证怎么激活", "ask_e_voucher"),
    ]


@pytest.fixture
async def console():
    """An HTTP peer speaking the console's log-in and suggestion contract.

    It answers 备案 questions right and everything else with the wrong topic first,
    so the figures the evaluation computes are known in advance.
    """
    seen: list[dict] = []

    async def login(request):
        body = await request.json()
        if body.get("password") != "pw":
            return web.json_response({"error": "bad"}, status=401)
        return web.json_response({"token": "t0k"})

    async def suggest(request):
        if request.headers.get("Authorization") != "Bearer t0k":
            return web.json_response({"error": "auth"}, status=401)
        body = await request.json()
        seen.append(body)
        first = "ask_remote_care_filing" if "备案" in body["text"] else "ask_payment_channels"
        return web.json_response({"nlu_available": True, "suggestions": [
            {"topic": first}, {"topic": "ask_e_voucher"}]})

    app = web.Application()
    app.router.add_post("/api/staff/login", login)
    app.router.add_post("/api/staff/suggest", suggest)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), seen
    await server.close()


async def test_measures_top1_and_top3_through_the_console_api(console):
    base, seen = console
    cases = [evaluate.Case("异地就医怎么备案", "ask_remote_care_filing"),
             evaluate.Case("医保电子凭证怎么激活", "ask_e_voucher")]
    token = await evaluate._login(base, "pw")
    report = await evaluate._run(cases, base, token, "连云港市", concurrency=2)
    assert report.top1 == 0.5 and report.top3 == 1.0
    assert all(o.status == 200 and o.latency_ms > 0 for o in report.outcomes)
    # The warm-up plus one request per case, each for the city asked.
    assert len(seen) == 3 and all(b.get("city") == "连云港市" for b in seen[1:])


async def test_refused_login_stops_the_run(console):
    base, _ = console
    with pytest.raises(SystemExit, match="login failed"):
        await evaluate._login(base, "wrong")


def test_cli_needs_a_password(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("STAFF_PASSWORD", raising=False)
    assert evaluate.main(["--out", str(tmp_path)]) == 1
    assert "STAFF_PASSWORD" in capsys.readouterr().err
