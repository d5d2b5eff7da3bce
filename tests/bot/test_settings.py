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
