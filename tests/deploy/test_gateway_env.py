"""The gateway's own environment (.venv-gateway, requirements-gateway.txt): current
aiohttp with the security fixes, and no Rasa anywhere in the gateway's imports."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from stack.config import GATEWAY_VENV, StackConfig

ROOT = Path(__file__).resolve().parents[2]
# aiohttp 3.14.1 is the latest release fixing a denial of service reachable without
# login (GHSA-g3cq-j2xw-wf74: compressed bodies decompressed past client_max_size);
# 3.13.3/3.13.4 fixed the zip bomb and the header and multipart size bypasses.
FIXED_AIOHTTP = (3, 14, 1)
PROBE = """
import json, sys
import aiohttp
import bot.app, bot.__main__, bot.staff.routes, hotline.tickets, hotline.__main__, retention, retention.__main__
app = bot.app.create_app()
print(json.dumps({"aiohttp": aiohttp.__version__, "python": list(sys.version_info[:2]),
                  "rasa": sorted(m for m in sys.modules if m == "rasa" or m.startswith(("rasa.", "rasa_sdk")))}))
"""


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


@pytest.fixture(scope="module")
def gateway_python() -> str:
    python = ROOT / GATEWAY_VENV / "bin" / "python"
    if not python.exists():
        message = f"{python} missing: `make setup` creates the gateway's virtualenv"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(python)


def test_gateway_env_has_fixed_aiohttp_and_no_rasa(gateway_python: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}",
           "STAFF_PASSWORD": "probe-password-1", "APP_ENV": "development"}
    result = subprocess.run([gateway_python, "-c", PROBE], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert _version(report["aiohttp"]) >= FIXED_AIOHTTP, report
    assert report["python"] == [3, 10]
    assert report["rasa"] == [], f"the gateway imported Rasa: {report['rasa']}"


def test_requirements_pin_the_fixed_aiohttp() -> None:
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements-gateway.txt").read_text(), re.M))
    assert _version(pins["aiohttp"]) >= FIXED_AIOHTTP
    assert "rasa" not in {k.lower() for k in pins}
    lock = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements-gateway.lock").read_text(), re.M))
    for name, version in pins.items():
        assert lock.get(name) == version, f"{name}: requirements-gateway.txt {version}, lock {lock.get(name)}"


def test_stack_starts_the_gateway_and_retention_with_the_gateway_env(gateway_python: str, tmp_path: Path) -> None:
    from stack.runner import Stack

    config = StackConfig.for_tests(var_dir=tmp_path, model=tmp_path / "m.tar.gz")
    assert config.gateway_python == gateway_python
    procs = {p.name: p for p in Stack(config)._build()}
    assert procs["gateway"].argv[:3] == [gateway_python, "-m", "bot"]
    assert procs["retention"].argv[:4] == [gateway_python, "-m", "retention", "run"]
    assert procs["rasa-0"].argv[0].endswith("/.venv/bin/rasa")
    # The retention job and the gateway find this stack's embedded tracker.
    assert config.base_env()["TRACKER_DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'tracker.db'}"
