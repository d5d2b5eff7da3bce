"""Settings from the environment: safe defaults, clear failures in production."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_no_secret():
    s = Settings.from_env({})
    assert (s.gateway_host, s.gateway_port, s.rasa_urls) == ("127.0.0.1", 8080, ("http://127.0.0.1:5005",))
    assert s.rasa_timeout == 8 and s.max_text_chars == 500 and s.rate_limit_per_minute == 30
    assert not s.wechat_enabled and s.asr_url is None and s.tts_command == "espeak-ng"


def test_values_are_parsed():
    s = Settings.from_env({
        "RASA_URLS": "http://r1:5005/, http://r2:5005", "RASA_TIMEOUT": "3.5", "GATEWAY_PORT": "9000",
        "WECHAT_TOKEN": "t", "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s", "WECHAT_CITY": "江门市",
        "REDIS_URL": "redis://localhost:6379/0", "ASR_URL": "http://asr:10095/recognize",
    })
    assert s.rasa_urls == ("http://r1:5005", "http://r2:5005")
    assert s.rasa_timeout == 3.5 and s.gateway_port == 9000 and s.wechat_enabled and not s.wechat_safe_mode


@pytest.mark.parametrize("env, fragment", [
    ({"APP_ENV": "production"}, "RASA_TOKEN"),
    ({"APP_ENV": "staging"}, "APP_ENV"),
    ({"WECHAT_TOKEN": "t"}, "WECHAT_APP_ID"),
    ({"WECHAT_TOKEN": "t", "WECHAT_APP_ID": "a", "WECHAT_APP_SECRET": "s", "WECHAT_AES_KEY": "short"}, "43"),
    ({"RASA_TIMEOUT": "soon"}, "RASA_TIMEOUT"),
    ({"GATEWAY_PORT": "-1"}, "GATEWAY_PORT"),
    ({"RASA_URLS": "r1:5005"}, "RASA_URLS"),
    ({"WECHAT_REPLY_BUDGET": "5"}, "WECHAT_REPLY_BUDGET"),
    ({"APP_ENV": "production", "RASA_TOKEN": "x", "WECHAT_TOKEN": "t", "WECHAT_APP_ID": "a",
      "WECHAT_APP_SECRET": "s"}, "WECHAT_CITY"),
    # Plaintext mode signs only the URL: refused in production.
    ({"APP_ENV": "production", "RASA_TOKEN": "x", "GATEWAY_SECRET": "s" * 40, "WECHAT_TOKEN": "t",
      "WECHAT_APP_ID": "a", "WECHAT_APP_SECRET": "s", "WECHAT_CITY": "江门市"}, "WECHAT_AES_KEY is required"),
    ({"APP_ENV": "production", "RASA_TOKEN": "x"}, "GATEWAY_SECRET is required"),
    ({"GATEWAY_SECRET": "short"}, "GATEWAY_SECRET must be at least 32"),
    ({"API_KEYS": "cityapp"}, "KEYID:SECRET"),
    ({"API_KEYS": "city app:" + "k" * 30}, "KEYID:SECRET"),
    ({"API_KEYS": "cityapp:short"}, "at least 24"),
    ({"API_KEYS": f"a:{'k' * 30},a:{'j' * 30}"}, "twice"),
    ({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, "TRUSTED_PROXIES"),
    ({"CLIENT_IP_HEADER": "X Forwarded"}, "CLIENT_IP_HEADER"),
    ({"CONVERSATION_RETENTION_DAYS": "0"}, "CONVERSATION_RETENTION_DAYS"),
    ({"SESSION_IDLE_MINUTES": "-5"}, "SESSION_IDLE_MINUTES"),
    ({"APP_ENV": "production", "RASA_TOKEN": "x", "GATEWAY_SECRET": "s" * 40,
      "ASR_URL": "http://asr:10095/recognize"}, "ASR_PROVIDER"),
])
def test_bad_configuration_fails_with_a_clear_message(env, fragment):
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert fragment in str(info.value)


def test_python_m_bot_fails_fast_in_production():
    proc = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"APP_ENV": "production", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert "RASA_TOKEN is required" in proc.stderr


def test_production_with_safe_mode_wechat_and_secrets_is_accepted():
    s = Settings.from_env({
        "APP_ENV": "production", "RASA_TOKEN": "x", "GATEWAY_SECRET": "s" * 40, "WECHAT_TOKEN": "t",
        "WECHAT_APP_ID": "a", "WECHAT_APP_SECRET": "s", "WECHAT_CITY": "江门市", "WECHAT_AES_KEY": "k" * 43,
        "API_KEYS": f"cityapp:{'k' * 30}, kiosk:{'j' * 30}", "TRUSTED_PROXIES": "10.0.0.0/8,172.18.0.2",
    })
    assert s.api_keys == (("cityapp", "k" * 30), ("kiosk", "j" * 30))
    assert [str(n) for n in s.proxy_networks] == ["10.0.0.0/8", "172.18.0.2/32"]


def test_development_secret_is_kept_in_a_private_file(tmp_path):
    path = tmp_path / "var" / "gateway-secret"
    first = Settings.from_env({"GATEWAY_SECRET_FILE": str(path)})
    assert len(first.gateway_secret) >= 32 and path.stat().st_mode & 0o777 == 0o600
    # The same secret after a restart: residents keep their sessions.
    assert Settings.from_env({"GATEWAY_SECRET_FILE": str(path)}).gateway_secret == first.gateway_secret
    assert Settings.from_env({"GATEWAY_SECRET": "g" * 40}).gateway_secret == "g" * 40
