"""Gateway configuration, read once from environment variables.

The defaults need no secret, so ``python -m bot`` runs on a laptop as is; in
production the secrets the enabled channels need are checked at start-up.
"""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "production")
ROOT = Path(__file__).resolve().parent.parent
# Where `python -m bot` keeps its development secret when GATEWAY_SECRET is unset, so
# sessions survive a restart on a laptop. Production must set GATEWAY_SECRET.
DEV_SECRET_FILE = ROOT / "var" / "gateway-secret"
MIN_SECRET_CHARS = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class SettingsError(ValueError):
    """The environment is incomplete or inconsistent; ``problems`` lists each one."""

    def __init__(self, problems: list[str]):
        super().__init__(
            "gateway configuration is invalid:\n" + "\n".join(f"  - {p}" for p in problems)
        )
        self.problems = problems


def _split_urls(value: str) -> tuple[str, ...]:
    return tuple(u.strip().rstrip("/") for u in value.split(",") if u.strip())


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def parse_api_keys(value: str | None) -> tuple[tuple[str, str], ...]:
    """``API_KEYS="cityapp:SECRET1,kiosk:SECRET2"`` → ``(("cityapp", "SECRET1"), …)``.

    The key id names the integrator in sender ids and logs; the secret never appears.
    """
    out = []
    for item in _split(value):
        key_id, sep, secret = item.partition(":")
        out.append((key_id.strip(), secret.strip()) if sep else ("", item))
    return tuple(out)


def dev_secret(path: Path = DEV_SECRET_FILE) -> str:
    """The development secret from ``var/``, created (mode 600) on first use."""
    try:
        value = path.read_text(encoding="utf-8").strip()
        if len(value) >= MIN_SECRET_CHARS:
            return value
    except OSError:
        pass
    value = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
    except OSError:
        pass  # read-only checkout: a per-process secret (sessions end with the process)
    return value


@dataclass(frozen=True)
class Settings:
    """Every tunable of the gateway; the variables are listed in bot/README.md."""

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    rasa_urls: tuple[str, ...] = ("http://127.0.0.1:5005",)
    rasa_token: str | None = None
    # Re-resolve RASA_URLS host names to one server per replica (0 = off).
    rasa_discover_seconds: float = 0.0
    action_server_url: str = "http://127.0.0.1:5055"
    rasa_timeout: float = 8.0
    max_text_chars: int = 500
    rate_limit_per_minute: int = 30
    app_env: str = "development"
    redis_url: str | None = None
    database_url: str | None = None  # None: knowledge.db's DATABASE_URL / embedded SQLite
    wechat_token: str | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_aes_key: str | None = None
    wechat_city: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_reply_budget: float = 4.0
    asr_url: str | None = None
    asr_timeout: float = 10.0
    # Who recognises the recordings, as the page names it to residents before they speak.
    asr_provider: str | None = None
    tts_command: str = "espeak-ng"
    # Signs session cookies and keys the pseudonyms of WeChat openids. None (tests,
    # embedded use): a random secret per process, see :meth:`with_secret`.
    gateway_secret: str | None = None
    # Integrators of /api/chat: (key id, secret) pairs.
    api_keys: tuple[tuple[str, str], ...] = ()
    # Addresses (or networks) of reverse proxies whose client-address header is believed.
    trusted_proxies: tuple[str, ...] = ()
    client_ip_header: str = "X-Forwarded-For"
    rate_limit_per_address: int = 120
    # A web session ends after this much silence (shared phones and kiosks).
    session_idle_minutes: int = 120
    rate_limit_per_api_key: int = 600
    # What the privacy notice promises; the retention job (retention/) reads the same
    # variables and enforces them.
    conversation_retention_days: int = 180
    resolved_ticket_retention_days: int = 365
    # Not from the environment: fixed limits, overridable in tests.
    max_sender_chars: int = 128
    asr_max_bytes: int = 2 * 1024 * 1024
    tts_max_chars: int = 300
    wechat_max_bytes: int = 32 * 1024
    wechat_timestamp_window: int = 300

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token)

    @property
    def wechat_safe_mode(self) -> bool:
        return bool(self.wechat_aes_key)

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)

    def with_secret(self) -> "Settings":
        """These settings with a gateway secret: a random one when none is set."""
        if self.gateway_secret:
            return self
        from dataclasses import replace

        return replace(self, gateway_secret=secrets.token_hex(32))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from ``environ`` (default ``os.environ``) and validate them."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def text(name: str, default: str | None = None) -> str | None:
            value = env.get(name, "")
            return value.strip() if value.strip() else default

        def number(name: str, default, kind=float, minimum=0):
            raw = text(name)
            if raw is None:
                return default
            try:
                value = kind(raw)
            except ValueError:
                problems.append(f"{name} must be a {kind.__name__}, got {raw!r}")
                return default
            if value <= minimum:
                problems.append(f"{name} must be greater than {minimum}, got {raw!r}")
                return default
            return value

        settings = cls(
            gateway_host=text("GATEWAY_HOST", cls.gateway_host),
            gateway_port=number("GATEWAY_PORT", cls.gateway_port, int),
            rasa_urls=_split_urls(text("RASA_URLS", "") or "") or cls.rasa_urls,
            rasa_token=text("RASA_TOKEN"),
            rasa_discover_seconds=number("RASA_DISCOVER_SECONDS", cls.rasa_discover_seconds),
            action_server_url=(text("ACTION_SERVER_URL", cls.action_server_url) or "").rstrip("/"),
            rasa_timeout=number("RASA_TIMEOUT", cls.rasa_timeout),
            max_text_chars=number("MAX_TEXT_CHARS", cls.max_text_chars, int),
            rate_limit_per_minute=number("RATE_LIMIT_PER_MINUTE", cls.rate_limit_per_minute, int),
            app_env=(text("APP_ENV", cls.app_env) or "").lower(),
            redis_url=text("REDIS_URL"),
            database_url=text("DATABASE_URL"),
            wechat_token=text("WECHAT_TOKEN"),
            wechat_app_id=text("WECHAT_APP_ID"),
            wechat_app_secret=text("WECHAT_APP_SECRET"),
            wechat_aes_key=text("WECHAT_AES_KEY"),
            wechat_city=text("WECHAT_CITY"),
            wechat_api_base=(text("WECHAT_API_BASE", cls.wechat_api_base) or "").rstrip("/"),
            wechat_reply_budget=number("WECHAT_REPLY_BUDGET", cls.wechat_reply_budget),
            asr_url=text("ASR_URL"),
            asr_timeout=number("ASR_TIMEOUT", cls.asr_timeout),
            asr_provider=text("ASR_PROVIDER"),
            tts_command=text("TTS_COMMAND", cls.tts_command),
            gateway_secret=text("GATEWAY_SECRET"),
            api_keys=parse_api_keys(text("API_KEYS")),
            trusted_proxies=_split(text("TRUSTED_PROXIES")),
            client_ip_header=text("CLIENT_IP_HEADER", cls.client_ip_header),
            rate_limit_per_address=number("RATE_LIMIT_PER_ADDRESS", cls.rate_limit_per_address, int),
            rate_limit_per_api_key=number("RATE_LIMIT_PER_API_KEY", cls.rate_limit_per_api_key, int),
            session_idle_minutes=number("SESSION_IDLE_MINUTES", cls.session_idle_minutes, int),
            conversation_retention_days=number("CONVERSATION_RETENTION_DAYS",
                                               cls.conversation_retention_days, int),
            resolved_ticket_retention_days=number("TICKET_RETENTION_DAYS",
                                                  cls.resolved_ticket_retention_days, int),
        )
        if settings.gateway_secret is None and not settings.production:
            from dataclasses import replace

            settings = replace(settings, gateway_secret=dev_secret(
                Path(text("GATEWAY_SECRET_FILE") or DEV_SECRET_FILE)))
        problems.extend(settings.problems())
        if problems:
            raise SettingsError(problems)
        return settings

    def problems(self) -> list[str]:
        """Everything wrong with these settings (empty when they can be used)."""
        out: list[str] = []
        if self.app_env not in ENVIRONMENTS:
            out.append(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {self.app_env!r}")
        for name, url in [("RASA_URLS", u) for u in self.rasa_urls] + [
            ("ACTION_SERVER_URL", self.action_server_url),
            ("WECHAT_API_BASE", self.wechat_api_base),
            ("ASR_URL", self.asr_url or "http://unset"),
        ]:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                out.append(f"{name} must be an http(s) URL, got {url!r}")
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            out.append(f"REDIS_URL must be a redis:// URL, got {self.redis_url!r}")
        if self.wechat_reply_budget >= 4.8:
            # WeChat drops a passive reply after 5 s and retries the message.
            out.append("WECHAT_REPLY_BUDGET must stay below 4.8 seconds (WeChat waits 5 s)")
        if self.wechat_aes_key and len(self.wechat_aes_key) != 43:
            out.append("WECHAT_AES_KEY (EncodingAESKey) must be exactly 43 characters")
        wechat_parts = {
            "WECHAT_TOKEN": self.wechat_token,
            "WECHAT_APP_ID": self.wechat_app_id,
            "WECHAT_APP_SECRET": self.wechat_app_secret,
        }
        if any(wechat_parts.values()) or self.wechat_aes_key:
            missing = [k for k, v in wechat_parts.items() if not v]
            if missing:
                out.append(
                    "WeChat is partly configured; also set " + ", ".join(missing)
                    + " (or unset every WECHAT_* variable)"
                )
        if self.gateway_secret is not None and len(self.gateway_secret) < MIN_SECRET_CHARS:
            out.append(f"GATEWAY_SECRET must be at least {MIN_SECRET_CHARS} characters "
                       "(e.g. `openssl rand -hex 32`)")
        seen_ids: set[str] = set()
        for key_id, secret in self.api_keys:
            if not _KEY_ID.match(key_id):
                out.append("API_KEYS entries must be KEYID:SECRET with a key id of letters, "
                           f"digits, _ or - (at most 32), got {key_id or '(none)'!r}")
            elif key_id in seen_ids:
                out.append(f"API_KEYS names key id {key_id!r} twice")
            seen_ids.add(key_id)
            if len(secret) < 24:
                out.append(f"API_KEYS: the secret of {key_id!r} must be at least 24 characters")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                out.append(f"TRUSTED_PROXIES must list IP addresses or networks, got {proxy!r}")
        if not re.match(r"^[A-Za-z0-9-]{1,64}$", self.client_ip_header or ""):
            out.append(f"CLIENT_IP_HEADER must be a header name, got {self.client_ip_header!r}")
        if self.production:
            if not self.gateway_secret:
                # Cookies signed with a per-process secret would end every conversation
                # at each restart and differ between replicas.
                out.append("GATEWAY_SECRET is required when APP_ENV=production")
            if self.asr_url and not self.asr_provider:
                # Residents are told where their voice goes before they speak.
                out.append("ASR_PROVIDER (who recognises the recordings, as residents should "
                           "read it) is required with ASR_URL in production")
            if self.wechat_enabled and not self.wechat_aes_key:
                # Plaintext mode signs only the query string, not the message: anyone
                # holding one signed URL could post as any openid.
                out.append("WECHAT_AES_KEY is required when WeChat is enabled in production "
                           "(safe mode; plaintext mode is refused)")
            if not self.rasa_token:
                # The Rasa HTTP API must not run open in production (--auth-token).
                out.append("RASA_TOKEN is required when APP_ENV=production")
            if self.wechat_enabled and not self.wechat_city:
                out.append("WECHAT_CITY is required when WeChat is enabled in production")
        return out
