"""The gateway's use of settings.py (the rules themselves: tests/test_settings.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import create_app
from settings import GatewaySettings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_bot_fails_fast_in_production():
    proc = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"APP_ENV": "production", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert "RASA_TOKEN is required" in proc.stderr and "GATEWAY_SECRET is required" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_python_m_bot_refuses_an_unknown_app_env():
    proc = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"APP_ENV": "prod", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "APP_ENV: must be one of development, production" in proc.stderr


def test_create_app_refuses_settings_production_would_not_accept():
    """Settings built in code get the same rules as settings read from the environment."""
    plaintext_wechat = GatewaySettings(app_env="production", rasa_token="t", gateway_secret="s" * 40,
                                       wechat_token="t", wechat_app_id="a", wechat_app_secret="s",
                                       wechat_city="江门市")
    with pytest.raises(SettingsError, match="plaintext mode is refused"):
        create_app(plaintext_wechat)


def test_create_app_says_which_settings_production_ignores(caplog):
    production = GatewaySettings(app_env="production", rasa_token="t", gateway_secret="s" * 40,
                                 staff_password="shared-password")
    with caplog.at_level("WARNING", logger="bot.app"):
        create_app(production)
    assert any("STAFF_PASSWORD" in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records)
    assert "shared-password" not in caplog.text


def test_development_secret_is_kept_in_a_private_file(tmp_path):
    path = tmp_path / "var" / "gateway-secret"
    first = GatewaySettings.load({"GATEWAY_SECRET_FILE": str(path)})
    assert len(first.gateway_secret) >= 32 and path.stat().st_mode & 0o777 == 0o600
    # The same secret after a restart: residents keep their sessions.
    assert GatewaySettings.load({"GATEWAY_SECRET_FILE": str(path)}).gateway_secret == first.gateway_secret
    assert GatewaySettings.load({"GATEWAY_SECRET": "g" * 40}).gateway_secret == "g" * 40
    # Production never falls back to a file: it must be given GATEWAY_SECRET.
    with pytest.raises(SettingsError, match="GATEWAY_SECRET is required"):
        GatewaySettings.load({"APP_ENV": "production", "RASA_TOKEN": "t", "GATEWAY_SECRET_FILE": str(path)})

