"""stack/ without Rasa: configuration checks, endpoints files, process supervision."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml

from stack import ProcessFailed, Stack, StackConfig, StackConfigError, free_port
from stack.config import PRODUCTION_ENDPOINTS, postgres_pieces, rasa_sender, redis_pieces
from stack.process import ManagedProcess, http_get, tree_rss_kib


def test_missing_model_fails_before_starting(tmp_path: Path) -> None:
    config = StackConfig.for_tests(model=tmp_path / "none.tar.gz", var_dir=tmp_path)
    with pytest.raises(StackConfigError, match="trained model .* is missing"):
        Stack(config).start()


def test_production_needs_token_database_and_redis(tmp_path: Path, monkeypatch) -> None:
    for name in ("RASA_TOKEN", "DATABASE_URL", "REDIS_URL", "POSTGRES_HOST", "REDIS_HOST",
                 "STAFF_PASSWORD_HASH"):
        monkeypatch.delenv(name, raising=False)
    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"")
    config = StackConfig.for_tests(production=True, model=model, var_dir=tmp_path)
    with pytest.raises(StackConfigError) as exc:
        config.check()
    message = str(exc.value)
    assert "RASA_TOKEN" in message and "DATABASE_URL" in message and "REDIS_URL" in message
    # Staff log in with named accounts (python -m hotline staff add), no shared password.
    assert "STAFF_PASSWORD" not in message


def test_busy_port_is_named(tmp_path: Path) -> None:
    import socket

    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        config = StackConfig.for_tests(model=model, var_dir=tmp_path, gateway_port=port)
        with pytest.raises(StackConfigError, match=f"port {port} for gateway is already in use"):
            config.check()


def test_embedded_endpoints_point_at_this_stacks_action_server(tmp_path: Path) -> None:
    config = StackConfig.for_tests(var_dir=tmp_path)
    path = config.endpoints_file()
    data = yaml.safe_load(path.read_text())
    assert data["action_endpoint"]["url"] == f"http://127.0.0.1:{config.actions_port}/webhook"
    assert data["tracker_store"]["db"] == str(tmp_path / "tracker.db")
    assert data["lock_store"]["type"] == "in_memory"


def test_production_endpoints_expand_from_the_derived_environment(monkeypatch) -> None:
    """Rasa's own reader accepts the file with the variables stack/ sets."""
    from rasa.core.utils import read_endpoints_from_path

    config = StackConfig.for_tests(
        production=True,
        env={
            "DATABASE_URL": "postgresql://med:s3cret@db.internal:6543/medins",
            "REDIS_URL": "redis://:pw@cache.internal:6380/2",
            "RASA_TOKEN": "t",
        },
    )
    env = config.rasa_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    generated = config.endpoints_file()
    assert "${POSTGRES_PASSWORD}" in generated.read_text() and "s3cret" not in generated.read_text()
    for path in (PRODUCTION_ENDPOINTS, generated):
        endpoints = read_endpoints_from_path(str(path))
        assert endpoints.action.url == f"http://127.0.0.1:{config.actions_port}/webhook"
        assert endpoints.action.kwargs["enable_selective_domain"] is True
    assert endpoints.tracker_store.type == "stack.tracker_store.TunedSQLTrackerStore"
    tracker = endpoints.tracker_store
    assert tracker.url == "db.internal"
    assert tracker.kwargs["db"] == "medins" and tracker.kwargs["password"] == "s3cret"
    assert endpoints.lock_store.url == "cache.internal"
    assert endpoints.lock_store.kwargs["db"] == "2"


def test_production_endpoints_refuse_unset_variables(monkeypatch) -> None:
    from rasa.core.utils import read_endpoints_from_path
    from rasa.shared.exceptions import RasaException

    monkeypatch.delenv("POSTGRES_HOST", raising=False)
    with pytest.raises(RasaException, match="POSTGRES_HOST|environment variables"):
        read_endpoints_from_path(str(PRODUCTION_ENDPOINTS))


def test_url_pieces() -> None:
    assert postgres_pieces("postgres://u:p%40ss@h/db") == {
        "POSTGRES_HOST": "h", "POSTGRES_PORT": "5432", "POSTGRES_DB": "db",
        "POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p@ss",
    }
    assert redis_pieces("redis://127.0.0.1:6379") == {
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379", "REDIS_DB": "0", "REDIS_PASSWORD": "",
    }
    with pytest.raises(StackConfigError):
        postgres_pieces("sqlite:///x.db")


def _proc(tmp_path: Path, code: str, health, timeout: float = 10.0) -> ManagedProcess:
    return ManagedProcess(
        name="demo", argv=[sys.executable, "-c", code], env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path, log_path=tmp_path / "log" / "demo.log", health=health, timeout=timeout,
    )


def test_a_crashing_process_is_named_with_its_log_tail(tmp_path: Path) -> None:
    proc = _proc(tmp_path, "import sys; print('boom: no model'); sys.exit(3)", lambda: False)
    proc.start()
    with pytest.raises(ProcessFailed) as exc:
        proc.wait_healthy()
    assert "demo exited with code 3" in str(exc.value)
    assert "boom: no model" in str(exc.value)
    assert str(proc.log_path) in str(exc.value)


def test_an_unhealthy_process_times_out_and_stop_kills_its_group(tmp_path: Path) -> None:
    # The child spawns a grandchild; stopping the group must end both.
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(p.pid, flush=True); time.sleep(60)"
    )
    proc = _proc(tmp_path, code, lambda: False, timeout=1.5)
    proc.start()
    with pytest.raises(ProcessFailed, match="did not become healthy within 2 s"):
        proc.wait_healthy()
    grandchild = int(proc.log_path.read_text().split()[-1])
    assert tree_rss_kib(proc.pid) > 0
    proc.stop(grace=3)
    time.sleep(0.2)
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in Path(
        f"/proc/{grandchild}/stat").read_text().split()[2]


def test_health_probe_of_a_real_http_server(tmp_path: Path) -> None:
    port = free_port()
    proc = _proc(tmp_path, f"import http.server as h; h.test(h.SimpleHTTPRequestHandler, port={port}, bind='127.0.0.1')",
                 lambda: http_get(f"http://127.0.0.1:{port}/")[0] == 200)
    proc.start()
    try:
        assert proc.wait_healthy() < 10
    finally:
        proc.stop()
    assert not proc.running()


async def test_stack_runs_the_retention_purge_on_its_own_tracker(tmp_path: Path) -> None:
    """What Stack.start() runs first: `python -m retention purge` in the gateway's
    environment, on this stack's embedded tracker (var_dir/tracker.db)."""
    from sqlalchemy import create_engine, text

    from stack.runner import Stack
    from tests.retention.test_retention import _converse, _tracker_store

    config = StackConfig.for_tests(var_dir=tmp_path, model=tmp_path / "m.tar.gz",
                                   env={"DATABASE_URL": f"sqlite:///{tmp_path / 'assistant.db'}"})
    store = _tracker_store(f"sqlite:///{tmp_path / 'tracker.db'}")
    await _converse(store, "old", 400, "去年的问题")
    await _converse(store, "new", 1, "昨天的问题")
    out = Stack(config)._run_once(["retention", "purge"], config.gateway_python)
    assert '"events": 3' in out
    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.connect() as conn:
        senders = {r[0] for r in conn.execute(text("SELECT DISTINCT sender_id FROM events"))}
    engine.dispose()
    assert senders == {"new"}


def test_the_gateway_accepts_the_stacks_key_beside_the_operators(tmp_path: Path) -> None:
    """/api/chat takes a sender only with an API key: the stack registers its own."""
    from bot.identity import match_api_key
    from settings import GatewaySettings as Settings

    operator = "cityapp:" + "c" * 30
    config = StackConfig.for_tests(var_dir=tmp_path, env={"API_KEYS": operator})
    env = config.base_env()
    assert env["API_KEYS"].split(",") == [operator, f"stack:{config.api_key}"]
    settings = Settings.from_env(env)
    assert match_api_key(settings.api_keys, config.api_key) == "stack"
    assert match_api_key(settings.api_keys, "c" * 30) == "cityapp"
    assert config.api_headers == {"X-Api-Key": config.api_key} and len(config.api_key) >= 32
    # A stack key given in API_KEYS is used, not replaced.
    given = StackConfig.for_tests(var_dir=tmp_path, env={"API_KEYS": "stack:" + "s" * 40})
    assert given.api_key == "s" * 40 and given.base_env()["API_KEYS"] == "stack:" + "s" * 40
    assert rasa_sender("anna") == "api:stack:anna"


def test_production_signs_sessions_with_a_long_enough_secret(tmp_path: Path, monkeypatch) -> None:
    from settings import GatewaySettings as Settings

    monkeypatch.delenv("GATEWAY_SECRET", raising=False)
    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"")
    env = {"DATABASE_URL": "postgresql://u@127.0.0.1/db", "REDIS_URL": "redis://127.0.0.1:6379/0",
           "RASA_TOKEN": "t" * 32}
    config = StackConfig.for_tests(production=True, model=model, var_dir=tmp_path, env=env)
    secret = config.base_env()["GATEWAY_SECRET"]
    assert len(secret) >= 32 and config.gateway_secret_generated
    assert config.base_env()["GATEWAY_SECRET"] == secret  # the same across restarts
    gateway = Settings.from_env(config.base_env() | {"RASA_TOKEN": "t" * 32})
    assert gateway.production and gateway.gateway_secret == secret
    short = StackConfig.for_tests(production=True, model=model, var_dir=tmp_path,
                                  env=env | {"GATEWAY_SECRET": "too-short"})
    with pytest.raises(StackConfigError, match="GATEWAY_SECRET must be at least 32"):
        short.check()


def test_a_token_starting_with_a_dash_reaches_rasa_as_the_token(tmp_path: Path) -> None:
    """token_urlsafe() starts with "-" one time in 64; argparse took it for an option."""
    import argparse

    from stack.runner import Stack

    config = StackConfig.for_tests(var_dir=tmp_path, env={"RASA_TOKEN": "-abc123"})
    rasa = next(p for p in Stack(config)._build() if p.name == "rasa-0")
    parser = argparse.ArgumentParser()
    parser.add_argument("-t", "--auth-token")
    args, _ = parser.parse_known_args(rasa.argv[2:])
    assert args.auth_token == "-abc123"


def test_app_env_production_needs_the_production_stack(tmp_path: Path) -> None:
    """APP_ENV means what it means in the gateway: no production gateway on embedded stores."""
    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"")
    config = StackConfig.for_tests(model=model, var_dir=tmp_path, env={"APP_ENV": "Production"})
    with pytest.raises(StackConfigError, match="needs `python -m stack run --production`"):
        config.check()
    with pytest.raises(StackConfigError, match="APP_ENV: must be one of development, production"):
        StackConfig.for_tests(model=model, var_dir=tmp_path, env={"APP_ENV": "prod"}).check()


def test_python_m_stack_names_a_malformed_variable(tmp_path: Path) -> None:
    import os
    import subprocess

    from stack.config import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_PORT": "eighty"}
    proc = subprocess.run([sys.executable, "-m", "stack", "run", "--var-dir", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2 and "GATEWAY_PORT: value is not a valid integer" in proc.stderr
    assert "Traceback" not in proc.stderr
