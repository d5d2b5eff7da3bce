"""settings.py: safe defaults, one meaning of APP_ENV, production refuses with a clear message.

Runs in both virtualenvs (the gateway's and Rasa's read the same module):
``PYTHONPATH=$PWD .venv-gateway/bin/python -m pytest tests/test_settings.py``.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from settings import (
    DEFAULT_DATABASE_URL,
    EMBEDDED_TRACKER_URL,
    ActionSettings,
    GatewaySettings,
    Settings,
    SettingsError,
    StackSettings,
)

ROOT = Path(__file__).resolve().parents[1]
EVERY_KIND = [Settings, ActionSettings, GatewaySettings, StackSettings]
SECRET = "s" * 40
# A production environment every rule accepts; each case below breaks one thing.
PRODUCTION = {"APP_ENV": "production", "RASA_TOKEN": "t" * 32, "GATEWAY_SECRET": SECRET}
WECHAT = {"WECHAT_TOKEN": "t", "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s", "WECHAT_CITY": "江门市"}
STORES = {"DATABASE_URL": "postgresql://u@db/medins", "REDIS_URL": "redis://redis:6379/0"}


def refusal(kind, env) -> str:
    with pytest.raises(SettingsError) as info:
        kind.from_env(env)
    return str(info.value)


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_defaults_need_no_secret_and_no_server(kind):
    s = kind.from_env({})
    assert s.app_env == "development" and not s.production
    assert s.database == DEFAULT_DATABASE_URL and s.tracker_url == EMBEDDED_TRACKER_URL
    assert (s.conversation_retention_days, s.unanswered_days, s.resolved_ticket_retention_days) == (180, 180, 365)


def test_gateway_defaults_are_the_local_ones():
    s = GatewaySettings.from_env({})
    assert (s.gateway_host, s.gateway_port, s.rasa_urls) == ("127.0.0.1", 8080, ("http://127.0.0.1:5005",))
    assert s.rasa_timeout == 8 and s.max_text_chars == 500 and s.rate_limit_per_minute == 30
    assert not s.wechat_enabled and s.asr_url is None and s.tts_command == "espeak-ng"
    assert s.gateway_secret is None and s.rasa_token is None and s.api_keys == ()
    # The staff console: plain http cookies on a laptop, 8-hour sessions.
    assert not s.staff_secure_cookies and s.staff_session_seconds == 8 * 3600 and s.staff_user == "dev"


@pytest.mark.parametrize("kind", EVERY_KIND)
@pytest.mark.parametrize("value, production", [
    ("production", True), ("Production", True), (" PRODUCTION ", True),
    ("development", False), ("Development", False), ("", False),
])
def test_app_env_means_the_same_everywhere(kind, value, production):
    env = {"APP_ENV": value, **PRODUCTION} if production else {"APP_ENV": value}
    assert kind.from_env(env | STORES).production is production


@pytest.mark.parametrize("kind", EVERY_KIND)
@pytest.mark.parametrize("value", ["prod", "staging", "dev", "live"])
def test_an_unknown_app_env_is_refused_everywhere(kind, value):
    """Not read as development: a typo must not switch the production rules off."""
    message = refusal(kind, {"APP_ENV": value})
    assert f"APP_ENV: must be one of development, production (got {value!r})" in message


def test_values_are_parsed():
    s = GatewaySettings.from_env({
        "RASA_URLS": "http://r1:5005/, http://r2:5005", "RASA_TIMEOUT": "3.5", "GATEWAY_PORT": "9000",
        "REDIS_URL": "redis://localhost:6379/0", "ASR_URL": "http://asr:10095/recognize",
        "DATABASE_URL": "postgres://u:p@db/medins", "STAFF_SESSION_HOURS": "0.5", "STAFF_COOKIE_SECURE": "yes",
        "API_KEYS": f"cityapp:{'k' * 30}, kiosk:{'j' * 30}", "TRUSTED_PROXIES": "10.0.0.0/8,172.18.0.2",
        **WECHAT,
    })
    assert s.rasa_urls == ("http://r1:5005", "http://r2:5005")
    assert s.rasa_timeout == 3.5 and s.gateway_port == 9000 and s.wechat_enabled and not s.wechat_safe_mode
    assert s.database_url == "postgresql://u:p@db/medins"  # SQLAlchemy's dialect name
    assert s.staff_session_seconds == 1800 and s.staff_secure_cookies
    assert s.api_keys == (("cityapp", "k" * 30), ("kiosk", "j" * 30))
    assert [str(n) for n in s.proxy_networks] == ["10.0.0.0/8", "172.18.0.2/32"]


@pytest.mark.parametrize("env, message", [
    ({"RASA_TIMEOUT": "soon"}, "RASA_TIMEOUT: value is not a valid float (got 'soon')"),
    ({"GATEWAY_PORT": "-1"}, "GATEWAY_PORT: ensure this value is greater than 0 (got '-1')"),
    ({"CONVERSATION_RETENTION_DAYS": "0"}, "CONVERSATION_RETENTION_DAYS: ensure this value is greater than"),
    ({"SESSION_IDLE_MINUTES": "-5"}, "SESSION_IDLE_MINUTES: ensure this value is greater than 0"),
    # The staff console's numbers: refused at start-up, never a default in their place.
    ({"STAFF_LOGIN_MAX_FAILURES": "many"}, "STAFF_LOGIN_MAX_FAILURES: value is not a valid integer"),
    ({"STAFF_LOGIN_MAX_FAILURES": "0"}, "STAFF_LOGIN_MAX_FAILURES: ensure this value is greater than 0"),
    ({"STAFF_LOGIN_WINDOW_SECONDS": "10m"}, "STAFF_LOGIN_WINDOW_SECONDS: value is not a valid integer"),
    ({"STAFF_SESSION_HOURS": "eight"}, "STAFF_SESSION_HOURS: value is not a valid float (got 'eight')"),
    ({"STAFF_SESSION_HOURS": "-1"}, "STAFF_SESSION_HOURS: ensure this value is greater than 0"),
    ({"STAFF_NLU_TIMEOUT": "0"}, "STAFF_NLU_TIMEOUT: ensure this value is greater than 0"),
    ({"STAFF_COOKIE_SECURE": "maybe"}, "STAFF_COOKIE_SECURE: value could not be parsed to a boolean"),
    ({"RASA_URLS": "r1:5005"}, "RASA_URLS must be an http(s) URL, got 'r1:5005'"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a redis:// URL"),
    ({"WECHAT_REPLY_BUDGET": "5"}, "WECHAT_REPLY_BUDGET must stay below 4.8 seconds"),
    ({"WECHAT_TOKEN": "t"}, "also set WECHAT_APP_ID, WECHAT_APP_SECRET"),
    (WECHAT | {"WECHAT_AES_KEY": "short"}, "WECHAT_AES_KEY (EncodingAESKey) must be exactly 43 characters"),
    ({"GATEWAY_SECRET": "short"}, "GATEWAY_SECRET must be at least 32 characters"),
    ({"API_KEYS": "cityapp"}, "API_KEYS entries must be KEYID:SECRET"),
    ({"API_KEYS": "city app:" + "k" * 30}, "API_KEYS entries must be KEYID:SECRET"),
    ({"API_KEYS": "cityapp:short"}, "the secret of 'cityapp' must be at least 24 characters"),
    ({"API_KEYS": f"a:{'k' * 30},a:{'j' * 30}"}, "API_KEYS names key id 'a' twice"),
    ({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, "TRUSTED_PROXIES must list IP addresses or networks"),
    ({"CLIENT_IP_HEADER": "X Forwarded"}, "CLIENT_IP_HEADER must be a header name"),
])
def test_bad_values_are_refused_in_any_environment(env, message):
    assert message in refusal(GatewaySettings, env)
    assert message in refusal(GatewaySettings, PRODUCTION | env)


def test_every_problem_is_listed_at_once():
    message = refusal(GatewaySettings, {"APP_ENV": "production", "ASR_URL": "http://asr/r"})
    assert "GATEWAY_SECRET is required" in message and "RASA_TOKEN is required" in message
    assert "ASR_PROVIDER" in message


# Each production rule: refused in production with its reason, accepted in development.
PRODUCTION_RULES = [
    ({"GATEWAY_SECRET": ""}, "GATEWAY_SECRET is required when APP_ENV=production"),
    ({"RASA_TOKEN": ""}, "RASA_TOKEN is required when APP_ENV=production"),
    ({"ASR_URL": "http://asr:10095/recognize"}, "ASR_PROVIDER (who recognises the recordings"),
    # Plaintext mode signs only the URL, not the message.
    (WECHAT, "WECHAT_AES_KEY is required when WeChat is enabled in production (safe mode; plaintext "
             "mode is refused)"),
    (WECHAT | {"WECHAT_AES_KEY": "k" * 43, "WECHAT_CITY": ""},
     "WECHAT_CITY is required when WeChat is enabled in production"),
]


@pytest.mark.parametrize("change, message", PRODUCTION_RULES)
def test_production_refuses(change, message):
    assert message in refusal(GatewaySettings, PRODUCTION | change)
    development = GatewaySettings.from_env(PRODUCTION | change | {"APP_ENV": "development"})
    assert not development.production


@pytest.mark.parametrize("change, message", PRODUCTION_RULES + [
    ({"DATABASE_URL": ""}, "production needs DATABASE_URL (PostgreSQL) or POSTGRES_*"),
    ({"DATABASE_URL": "sqlite:////srv/a.db"}, "production needs PostgreSQL, DATABASE_URL is sqlite"),
    ({"REDIS_URL": ""}, "production needs REDIS_URL (Redis lock store)"),
])
def test_the_stack_refuses_what_the_gateway_refuses_and_what_rasa_needs(change, message):
    assert message in refusal(StackSettings, PRODUCTION | STORES | change)
    assert StackSettings.from_env(PRODUCTION | STORES | {"POSTGRES_HOST": "db", "DATABASE_URL": "",
                                                         "REDIS_URL": "", "REDIS_HOST": "redis"})


def test_production_with_every_secret_and_safe_mode_wechat_is_accepted():
    s = GatewaySettings.from_env(PRODUCTION | WECHAT | {"WECHAT_AES_KEY": "k" * 43})
    assert s.production and s.wechat_safe_mode and s.staff_secure_cookies
    assert StackSettings.from_env(PRODUCTION | STORES).production


def test_production_ignores_the_shared_staff_password_and_says_so():
    s = GatewaySettings.from_env(PRODUCTION | {"STAFF_PASSWORD": "pw", "STAFF_PASSWORD_HASH": "scrypt$x"})
    assert s.staff_dev_password is None and s.staff_dev_password_hash is None
    assert any("named staff accounts only" in w for w in s.warnings())
    dev = GatewaySettings.from_env({"STAFF_PASSWORD": "pw"})
    assert dev.staff_dev_password == "pw" and dev.warnings() == []


@pytest.mark.parametrize("env, secure", [
    (PRODUCTION, True), ({}, False),
    (PRODUCTION | {"STAFF_COOKIE_SECURE": "0"}, False), ({"STAFF_COOKIE_SECURE": "on"}, True),
])
def test_staff_cookies_are_secure_by_default_exactly_in_production(env, secure):
    assert GatewaySettings.from_env(env).staff_secure_cookies is secure


def test_staff_numbers_are_read_with_their_units():
    s = GatewaySettings.from_env({"STAFF_SESSION_HOURS": "1.5", "STAFF_LOGIN_MAX_FAILURES": "3",
                                  "STAFF_LOGIN_WINDOW_SECONDS": "120", "STAFF_NLU_TIMEOUT": "2.5",
                                  "STAFF_USER": " admin "})
    assert (s.staff_session_seconds, s.staff_login_max_failures, s.staff_login_window_seconds,
            s.staff_nlu_timeout, s.staff_user) == (5400, 3, 120, 2.5, "admin")


def test_secrets_stay_out_of_repr():
    s = GatewaySettings.from_env(PRODUCTION | WECHAT | {
        "WECHAT_AES_KEY": "A" * 43, "API_KEYS": "cityapp:" + "K" * 30, "STAFF_PASSWORD": "hunter2hunter2"})
    text = repr(s) + str(s)
    for secret in (SECRET, "t" * 32, "A" * 43, "K" * 30, "hunter2hunter2"):
        assert secret not in text


def test_tracker_store_follows_the_database_in_production():
    s = Settings.from_env({"APP_ENV": "production", "DATABASE_URL": "postgres://u:p@db/medins"})
    assert s.tracker_url == "postgresql://u:p@db/medins"
    assert Settings.from_env({"DATABASE_URL": "postgresql://u@db/m"}).tracker_url == EMBEDDED_TRACKER_URL
    assert Settings.from_env({"TRACKER_DATABASE_URL": "sqlite:////tmp/t.db"}).tracker_url == "sqlite:////tmp/t.db"


def test_settings_are_immutable_and_replace_validates_again():
    s = GatewaySettings.from_env({})
    with pytest.raises(TypeError):
        s.rasa_timeout = 1
    assert s.replace(rasa_timeout=2).rasa_timeout == 2 and s.rasa_timeout == 8
    with pytest.raises(ValueError):
        s.replace(rasa_timeout=-1)
    with pytest.raises(ValueError):
        s.replace(no_such_setting=1)


def test_action_switches_are_off_unless_turned_on():
    assert not ActionSettings.from_env({}).handoff_callback
    s = ActionSettings.from_env({"HANDOFF_CALLBACK": "true", "HANDOFF_TRANSCRIPT_VISIBLE": "1"})
    assert s.handoff_callback and s.handoff_transcript_visible
    assert "HANDOFF_CALLBACK" in refusal(ActionSettings, {"HANDOFF_CALLBACK": "perhaps"})


def test_the_module_sits_below_the_knowledge_layer():
    """knowledge/ and the gateway both import it: no aiohttp, no Rasa, none of our packages."""
    code = ("import sys, settings; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'aiohttp', 'rasa', 'rasa_sdk', 'sqlalchemy', 'bot', 'knowledge', 'hotline', 'actions', 'stack', "
            "'retention', 'textproc'}); print(bad); sys.exit(bool(bad))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
