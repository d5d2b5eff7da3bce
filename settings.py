"""Every setting of every process, read from environment variables, and the rules for them.

Why a top-level module named ``settings``: the gateway (``bot/``, in ``.venv-gateway``)
and the Rasa side (``knowledge/``, ``actions/``, ``retention/``, ``stack/`` in ``.venv``)
read the same variables, so the reader sits below them all, beside ``textproc/``; it
needs only the standard library and pydantic 1 (installed in both virtualenvs), never
aiohttp or Rasa. (Not ``config/``: ``config.yml`` at the root is Rasa's NLU pipeline.)

One class per kind of process, each adding fields to the one it builds on:

- :class:`Settings`: what every process reads: ``APP_ENV``, the databases and the
  retention periods (the privacy notice promises what the retention job enforces);
- :class:`ActionSettings`: the action server's deployment switches;
- :class:`GatewaySettings`: the gateway and its staff console (``STAFF_*``);
- :class:`StackSettings`: what ``python -m stack`` additionally needs to start Rasa.

``APP_ENV`` is ``development`` (default) or ``production``, in any case, for every
process; any other value (``prod``, ``staging``) is refused, never read as development.
The production rules live in :meth:`GatewaySettings.problems` and
:meth:`StackSettings.problems` only. Blank variables count as unset.

``X.from_env(mapping)`` reads ``mapping`` (default ``os.environ``) and raises
:class:`SettingsError` listing every problem; ``X(field=…)`` builds settings from
values alone (tests), and ``x.problems()`` lists what is wrong with them.
"""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, TypeVar

from pydantic import BaseSettings, Field, ValidationError, validator

ROOT = Path(__file__).resolve().parent
ENVIRONMENTS = ("development", "production")
# Embedded defaults: SQLite files beside the code, so `make run` needs no server.
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'var' / 'assistant.db'}"
EMBEDDED_TRACKER_URL = f"sqlite:///{ROOT / 'var' / 'tracker.db'}"
# Where `python -m bot` keeps its development secret when GATEWAY_SECRET is unset, so
# sessions survive a restart on a laptop. Production must set GATEWAY_SECRET.
DEV_SECRET_FILE = ROOT / "var" / "gateway-secret"
MIN_SECRET_CHARS = 32
MIN_API_KEY_CHARS = 24
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")

S = TypeVar("S", bound="Settings")


class SettingsError(ValueError):
    """The environment is incomplete or inconsistent; ``problems`` lists each one."""

    def __init__(self, problems: list[str]):
        super().__init__("configuration is invalid:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def env(name: str, default: Any = None, **constraints: Any) -> Any:
    """A field read from the variable ``name``."""
    return Field(default, env=name, **constraints)


def fixed(default: Any) -> Any:
    """A field no variable sets (a fixed limit, overridable in tests)."""
    return Field(default, env=())


def secret(name: str) -> Any:
    """A secret read from ``name``, kept out of ``repr`` (and so out of logs)."""
    return Field(None, env=name, repr=False)


def sqlalchemy_url(url: str) -> str:
    """``postgres://`` (Heroku/libpq style) is not a SQLAlchemy 1.4 dialect name."""
    return "postgresql://" + url[len("postgres://"):] if url.startswith("postgres://") else url


def split(value: Any) -> tuple[str, ...]:
    """``"a, b,"`` → ``("a", "b")``; a sequence is taken as it is."""
    items = value.split(",") if isinstance(value, str) else (value or ())
    return tuple(str(v).strip() for v in items if str(v).strip())


def parse_api_keys(value: Any) -> tuple[tuple[str, str], ...]:
    """``API_KEYS="cityapp:SECRET1,kiosk:SECRET2"`` → ``(("cityapp", "SECRET1"), …)``.

    The key id names the integrator in sender ids and logs; the secret never appears.
    """
    if not isinstance(value, str):
        return tuple((str(k), str(s)) for k, s in (value or ()))
    out = []
    for item in split(value):
        key_id, sep, key = item.partition(":")
        out.append((key_id.strip(), key.strip()) if sep else ("", item))
    return tuple(out)


def api_key_of(api_keys: tuple[tuple[str, str], ...], key_id: str) -> Optional[str]:
    """The secret of ``key_id`` among ``api_keys``, if configured."""
    return next((key for name, key in api_keys if name == key_id and key), None)


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


class Settings(BaseSettings):
    """What every process reads: the environment, the stores, the retention periods."""

    app_env: str = env("APP_ENV", "development")
    # Knowledge base, hand-off tickets, unanswered questions, staff accounts
    # (None: the embedded file, see :attr:`database`).
    database_url: Optional[str] = env("DATABASE_URL")
    # Rasa's SQL tracker store (None: see :attr:`tracker_url`).
    tracker_database_url: Optional[str] = env("TRACKER_DATABASE_URL")
    # What the privacy notice promises; the retention job enforces the same numbers.
    conversation_retention_days: int = env("CONVERSATION_RETENTION_DAYS", 180, ge=1)
    unanswered_retention_days: Optional[int] = env("UNANSWERED_RETENTION_DAYS", None, ge=1)
    resolved_ticket_retention_days: int = env("TICKET_RETENTION_DAYS", 365, ge=1)
    audit_retention_days: int = env("AUDIT_RETENTION_DAYS", 365, ge=1)
    retention_interval_hours: float = env("RETENTION_INTERVAL_HOURS", 24.0, gt=0)
    # Benchmark only: each process appends the time of each stage of a turn to JSON
    # lines in this folder (stage_timing.py); unset, nothing is timed or patched.
    stage_timing_dir: Optional[Path] = env("MEDINS_STAGE_TIMING_DIR")

    class Config:
        case_sensitive = True
        frozen = True
        extra = "forbid"

        @classmethod
        def customise_sources(cls, init_settings, env_settings, file_secret_settings):
            # Values come only from the constructor: from_env() reads the variables
            # itself, so tests pass a mapping and a blank variable means unset.
            return (init_settings,)

    @validator("app_env", pre=True)
    def _known_environment(cls, value: Any) -> str:
        value = str(value).strip().lower()
        if value not in ENVIRONMENTS:
            raise ValueError(f"must be one of {', '.join(ENVIRONMENTS)}")
        return value

    @validator("database_url", "tracker_database_url")
    def _sqlalchemy_dialect(cls, value: Optional[str]) -> Optional[str]:
        return sqlalchemy_url(value) if value else value

    # -- reading ---------------------------------------------------------

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name → the variable that sets it."""
        return {name: next(iter(f.field_info.extra["env_names"]))
                for name, f in cls.__fields__.items() if f.field_info.extra["env_names"]}

    @classmethod
    def read(cls: type[S], environ: Optional[Mapping[str, str]] = None) -> S:
        """Typed values of the variables in ``environ`` (default ``os.environ``), unchecked."""
        environ = os.environ if environ is None else environ
        raw = {}
        for name, var in cls.variables().items():
            value = (environ.get(var) or "").strip()
            if value:
                raw[name] = value
        try:
            return cls(**raw)
        except ValidationError as exc:
            variables = cls.variables()
            problems = []
            for error in exc.errors():
                name = str(error["loc"][0])
                var = variables.get(name, name)
                problems.append(f"{var}: {error['msg']} (got {raw.get(name)!r})")
            raise SettingsError(problems) from None

    @classmethod
    def from_env(cls: type[S], environ: Optional[Mapping[str, str]] = None) -> S:
        """:meth:`read`, then refuse settings with :meth:`problems`."""
        settings = cls.read(environ)
        problems = settings.problems()
        if problems:
            raise SettingsError(problems)
        return settings

    def replace(self: S, **changes: Any) -> S:
        """A copy with ``changes``, validated again."""
        return type(self)(**{**self.dict(), **changes})

    # -- rules and derived values -----------------------------------------

    def problems(self) -> list[str]:
        """Everything wrong with these settings (empty when they can be used)."""
        return []

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def database(self) -> str:
        """The database URL to connect to."""
        return self.database_url or DEFAULT_DATABASE_URL

    @property
    def unanswered_days(self) -> int:
        """Unanswered questions are kept as long as conversations unless told otherwise."""
        return self.unanswered_retention_days or self.conversation_retention_days

    @property
    def tracker_url(self) -> str:
        """Rasa's tracker store: in production the main database (as compose sets it up)."""
        if self.tracker_database_url:
            return self.tracker_database_url
        if self.production and self.database_url and not self.database_url.startswith("sqlite"):
            return self.database_url
        return EMBEDDED_TRACKER_URL


class ActionSettings(Settings):
    """The action server: what the deployment really does after a hand-off."""

    # knowledge/wording/hotline.yml promises these only when they are switched on.
    handoff_transcript_visible: bool = env("HANDOFF_TRANSCRIPT_VISIBLE", False)
    handoff_callback: bool = env("HANDOFF_CALLBACK", False)


class GatewaySettings(Settings):
    """Every tunable of the gateway and its staff console; listed in bot/README.md."""

    gateway_host: str = env("GATEWAY_HOST", "127.0.0.1")
    gateway_port: int = env("GATEWAY_PORT", 8080, gt=0, lt=65536)
    rasa_urls: Tuple[str, ...] = env("RASA_URLS", ("http://127.0.0.1:5005",))
    rasa_token: Optional[str] = secret("RASA_TOKEN")
    # Re-resolve RASA_URLS host names to one server per replica (0 = off).
    rasa_discover_seconds: float = env("RASA_DISCOVER_SECONDS", 0.0, ge=0)
    action_server_url: str = env("ACTION_SERVER_URL", "http://127.0.0.1:5055")
    rasa_timeout: float = env("RASA_TIMEOUT", 8.0, gt=0)
    max_text_chars: int = env("MAX_TEXT_CHARS", 500, gt=0)
    rate_limit_per_minute: int = env("RATE_LIMIT_PER_MINUTE", 30, gt=0)
    redis_url: Optional[str] = env("REDIS_URL")
    wechat_token: Optional[str] = secret("WECHAT_TOKEN")
    wechat_app_id: Optional[str] = env("WECHAT_APP_ID")
    wechat_app_secret: Optional[str] = secret("WECHAT_APP_SECRET")
    wechat_aes_key: Optional[str] = secret("WECHAT_AES_KEY")
    wechat_city: Optional[str] = env("WECHAT_CITY")
    wechat_api_base: str = env("WECHAT_API_BASE", "https://api.weixin.qq.com")
    wechat_reply_budget: float = env("WECHAT_REPLY_BUDGET", 4.0, gt=0)
    asr_url: Optional[str] = env("ASR_URL")
    asr_timeout: float = env("ASR_TIMEOUT", 10.0, gt=0)
    # Who recognises the recordings, as the page names it to residents before they speak.
    asr_provider: Optional[str] = env("ASR_PROVIDER")
    tts_command: str = env("TTS_COMMAND", "espeak-ng")
    # Signs session cookies and keys the pseudonyms of WeChat openids. None (tests,
    # embedded use): see :meth:`load` and :meth:`with_secret`.
    gateway_secret: Optional[str] = secret("GATEWAY_SECRET")
    gateway_secret_file: Path = env("GATEWAY_SECRET_FILE", DEV_SECRET_FILE)
    # Integrators of /api/chat: (key id, secret) pairs.
    api_keys: Tuple[Tuple[str, str], ...] = Field((), env="API_KEYS", repr=False)
    # Addresses (or networks) of reverse proxies whose client-address header is believed.
    trusted_proxies: Tuple[str, ...] = env("TRUSTED_PROXIES", ())
    client_ip_header: str = env("CLIENT_IP_HEADER", "X-Forwarded-For")
    rate_limit_per_address: int = env("RATE_LIMIT_PER_ADDRESS", 120, gt=0)
    rate_limit_per_api_key: int = env("RATE_LIMIT_PER_API_KEY", 600, gt=0)
    # A web session ends after this much silence (shared phones and kiosks).
    session_idle_minutes: int = env("SESSION_IDLE_MINUTES", 120, gt=0)

    # Staff console. Production has named accounts only (python -m hotline staff add);
    # in development STAFF_PASSWORD or STAFF_PASSWORD_HASH make a bootstrap admin.
    staff_user: str = env("STAFF_USER", "dev", min_length=1)
    staff_password: Optional[str] = secret("STAFF_PASSWORD")
    staff_password_hash: Optional[str] = secret("STAFF_PASSWORD_HASH")
    staff_session_hours: float = env("STAFF_SESSION_HOURS", 8.0, gt=0)
    staff_login_max_failures: int = env("STAFF_LOGIN_MAX_FAILURES", 5, gt=0)
    staff_login_window_seconds: int = env("STAFF_LOGIN_WINDOW_SECONDS", 600, gt=0)
    staff_nlu_timeout: float = env("STAFF_NLU_TIMEOUT", 3.0, gt=0)
    # Unset: secure cookies exactly in production (plain http on a laptop).
    staff_cookie_secure: Optional[bool] = env("STAFF_COOKIE_SECURE")

    # Fixed limits, not from the environment.
    max_sender_chars: int = fixed(128)
    asr_max_bytes: int = fixed(2 * 1024 * 1024)
    tts_max_chars: int = fixed(300)
    wechat_max_bytes: int = fixed(32 * 1024)
    wechat_timestamp_window: int = fixed(300)

    @validator("rasa_urls", pre=True)
    def _urls(cls, value: Any) -> tuple[str, ...]:
        return tuple(u.rstrip("/") for u in split(value)) or ("http://127.0.0.1:5005",)

    @validator("action_server_url", "wechat_api_base")
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @validator("api_keys", pre=True)
    def _api_keys(cls, value: Any) -> tuple[tuple[str, str], ...]:
        return parse_api_keys(value)

    @validator("trusted_proxies", pre=True)
    def _proxies(cls, value: Any) -> tuple[str, ...]:
        return split(value)

    @classmethod
    def load(cls, environ: Optional[Mapping[str, str]] = None) -> "GatewaySettings":
        """:meth:`from_env` for ``python -m bot``: in development, the secret of ``var/``."""
        settings = cls.from_env(environ)
        if settings.gateway_secret is None and not settings.production:
            settings = settings.replace(gateway_secret=dev_secret(settings.gateway_secret_file))
        return settings

    def with_secret(self) -> "GatewaySettings":
        """These settings with a gateway secret: a random one when none is set."""
        return self if self.gateway_secret else self.replace(gateway_secret=secrets.token_hex(32))

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token)

    @property
    def wechat_safe_mode(self) -> bool:
        return bool(self.wechat_aes_key)

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)

    @property
    def staff_secure_cookies(self) -> bool:
        """STAFF_COOKIE_SECURE, by default on exactly in production."""
        return self.production if self.staff_cookie_secure is None else self.staff_cookie_secure

    @property
    def staff_session_seconds(self) -> int:
        return int(self.staff_session_hours * 3600)

    @property
    def staff_dev_password(self) -> Optional[str]:
        """The shared development password, never in production."""
        return None if self.production else self.staff_password

    @property
    def staff_dev_password_hash(self) -> Optional[str]:
        """The shared development password's hash, never in production."""
        return None if self.production else self.staff_password_hash

    def warnings(self) -> list[str]:
        """Settings that are accepted but ignored (log them at start-up)."""
        out = []
        if self.production and (self.staff_password or self.staff_password_hash):
            out.append("APP_ENV=production uses named staff accounts only: STAFF_PASSWORD and "
                       "STAFF_PASSWORD_HASH are ignored; create accounts with `python -m hotline staff "
                       "add NAME --places …`.")
        return out

    def problems(self) -> list[str]:
        out = super().problems()
        from urllib.parse import urlsplit

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
                out.append("WeChat is partly configured; also set " + ", ".join(missing)
                           + " (or unset every WECHAT_* variable)")
        if self.gateway_secret is not None and len(self.gateway_secret) < MIN_SECRET_CHARS:
            out.append(f"GATEWAY_SECRET must be at least {MIN_SECRET_CHARS} characters "
                       "(e.g. `openssl rand -hex 32`)")
        seen_ids: set[str] = set()
        for key_id, key in self.api_keys:
            if not _KEY_ID.match(key_id):
                out.append("API_KEYS entries must be KEYID:SECRET with a key id of letters, "
                           f"digits, _ or - (at most 32), got {key_id or '(none)'!r}")
            elif key_id in seen_ids:
                out.append(f"API_KEYS names key id {key_id!r} twice")
            seen_ids.add(key_id)
            if len(key) < MIN_API_KEY_CHARS:
                out.append(f"API_KEYS: the secret of {key_id!r} must be at least "
                           f"{MIN_API_KEY_CHARS} characters")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                out.append(f"TRUSTED_PROXIES must list IP addresses or networks, got {proxy!r}")
        if not _HEADER.match(self.client_ip_header or ""):
            out.append(f"CLIENT_IP_HEADER must be a header name, got {self.client_ip_header!r}")
        if self.production:
            out.extend(self.production_problems())
        return out

    def production_problems(self) -> list[str]:
        """What production refuses that development allows."""
        out = []
        if not self.gateway_secret:
            # Cookies signed with a per-process secret would end every conversation
            # at each restart and differ between replicas.
            out.append("GATEWAY_SECRET is required when APP_ENV=production")
        if not self.rasa_token:
            # The Rasa HTTP API must not run open in production (rasa run --auth-token).
            out.append("RASA_TOKEN is required when APP_ENV=production (Rasa's --auth-token)")
        if self.asr_url and not self.asr_provider:
            # Residents are told where their voice goes before they speak.
            out.append("ASR_PROVIDER (who recognises the recordings, as residents should "
                       "read it) is required with ASR_URL in production")
        if self.wechat_enabled and not self.wechat_aes_key:
            # Plaintext mode signs only the query string, not the message: anyone
            # holding one signed URL could post as any openid.
            out.append("WECHAT_AES_KEY is required when WeChat is enabled in production "
                       "(safe mode; plaintext mode is refused)")
        if self.wechat_enabled and not self.wechat_city:
            out.append("WECHAT_CITY is required when WeChat is enabled in production")
        return out


class StackSettings(GatewaySettings):
    """``python -m stack``: the gateway's settings plus what Rasa's stores need."""

    # Secret of the stack's own API key (default: ``stack:`` in API_KEYS, else one per process).
    stack_api_key: Optional[str] = secret("STACK_API_KEY")
    action_port: int = env("ACTION_PORT", 5055, gt=0, lt=65536)
    rasa_port: int = env("RASA_PORT", 5005, gt=0, lt=65536)
    # endpoints.production.yml's pieces, when no DATABASE_URL / REDIS_URL is given.
    postgres_host: Optional[str] = env("POSTGRES_HOST")
    redis_host: Optional[str] = env("REDIS_HOST")

    def production_problems(self) -> list[str]:
        out = super().production_problems()
        # Rasa's tracker store (PostgreSQL) and lock store (Redis).
        if not self.database_url and not self.postgres_host:
            out.append("production needs DATABASE_URL (PostgreSQL) or POSTGRES_*")
        elif self.database_url and not self.database_url.startswith("postgres"):
            out.append("production needs PostgreSQL, DATABASE_URL is "
                       f"{self.database_url.partition(':')[0]}")
        if not self.redis_url and not self.redis_host:
            out.append("production needs REDIS_URL (Redis lock store)")
        return out
