"""What a stack runs: ports, mode, environment, and the Rasa endpoints file.

Two set-ups share one code path:

* **embedded** (default, ``make run``): SQLite knowledge base and tracker store
  under ``var/``, in-memory lock store, no secret needed;
* **production** (``--production``): PostgreSQL tracker store and Redis lock
  store from ``DATABASE_URL`` (or ``POSTGRES_*``) and ``REDIS_URL``; the Rasa
  HTTP API requires ``RASA_TOKEN``.

The gateway takes a ``sender`` from ``/api/chat`` only with an API key, so the
stack always registers its own key ``stack`` (``API_KEYS=stack:<secret>``); its
clients (stack/client.py, bench/, the end-to-end tests) send it as ``X-Api-Key``
and their conversations are stored under the Rasa sender ``api:stack:<sender>``.
"""
from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from settings import SettingsError, StackSettings, api_key_of, parse_api_keys, sqlalchemy_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "assistant.tar.gz"
GATEWAY_VENV = ".venv-gateway"
EMBEDDED_ENDPOINTS = ROOT / "endpoints.yml"
PRODUCTION_ENDPOINTS = ROOT / "endpoints.production.yml"
CREDENTIALS = ROOT / "credentials.yml"

# Tracker store types with Rasa's SQL settings (dialect, db, …).
TUNED_TRACKER_STORE = "stack.tracker_store.TunedSQLTrackerStore"
SQL_TRACKER_TYPES = ("SQL", TUNED_TRACKER_STORE)
# Variables ``endpoints.production.yml`` expands; Rasa refuses unset ones.
PRODUCTION_ENDPOINT_VARS = (
    "ACTION_SERVER_URL",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_DB",
    "REDIS_PASSWORD",
)


# The key id of the stack's own API key: Rasa senders are ``api:stack:<sender>``.
STACK_KEY_ID = "stack"
_process_key: list[str] = []


def stack_api_key() -> str:
    """The secret of the ``stack`` API key: ``STACK_API_KEY``, else one per process.

    One per process, so a test or benchmark and the stacks it starts agree without
    passing the secret around; ``STACK_API_KEY`` fixes it across processes.
    """
    configured = read_settings(os.environ).stack_api_key
    if configured:
        return configured
    if not _process_key:
        _process_key.append(secrets.token_urlsafe(32))
    return _process_key[0]


def rasa_sender(sender: str) -> str:
    """Where the gateway stores a stack client's conversation (``api:stack:<sender>``)."""
    return f"api:{STACK_KEY_ID}:{sender}"


class StackConfigError(ValueError):
    """The stack cannot start with this configuration (message says what to set)."""


def read_settings(environ) -> StackSettings:
    """The typed variables of ``environ``; a malformed one is a :class:`StackConfigError`."""
    try:
        return StackSettings.read(environ)
    except SettingsError as exc:
        raise StackConfigError(str(exc)) from None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def postgres_pieces(url: str) -> dict[str, str]:
    """Split a SQLAlchemy/libpq PostgreSQL URL into the ``POSTGRES_*`` variables."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise StackConfigError(
            f"production needs a PostgreSQL DATABASE_URL, got scheme {parts.scheme!r}"
        )
    return {
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_DB": parts.path.lstrip("/") or "postgres",
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }


def redis_pieces(url: str) -> dict[str, str]:
    """Split ``redis://[:password@]host:port/db`` into the ``REDIS_*`` variables."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise StackConfigError(f"REDIS_URL must be a redis:// URL, got {url!r}")
    db = parts.path.lstrip("/") or "0"
    return {
        "REDIS_HOST": parts.hostname or "127.0.0.1",
        "REDIS_PORT": str(parts.port or 6379),
        "REDIS_DB": db,
        "REDIS_PASSWORD": unquote(parts.password or ""),
    }


@dataclass
class StackConfig:
    """Everything :class:`stack.Stack` needs; defaults are ``make run``'s.

    ``env`` overrides the inherited environment for every process (tests put
    ``DATABASE_URL``/``REDIS_URL`` there instead of touching ``os.environ``).
    """

    production: bool = False
    rasa_servers: int = 1
    host: str = "127.0.0.1"
    gateway_port: int = 8080
    actions_port: int = 5055
    rasa_ports: list[int] = field(default_factory=list)
    model: Path = DEFAULT_MODEL
    env: dict[str, str] = field(default_factory=dict)
    var_dir: Path = ROOT / "var"
    log_dir: Path | None = None
    # Seconds to wait for each process to become healthy.
    rasa_timeout: float = 180.0
    actions_timeout: float = 60.0
    gateway_timeout: float = 60.0
    # Run `python -m knowledge load` + `hotline init-db` first (tests, benchmarks).
    load_knowledge: bool = False
    # Start the gateway (False: only actions + Rasa, e.g. bare NLU benchmarks).
    gateway: bool = True
    # Apply the retention periods at start and every RETENTION_INTERVAL_HOURS.
    retention: bool = True
    python: str = ""
    rasa_bin: str = ""
    # The gateway's own interpreter (.venv-gateway: current aiohttp, no Rasa).
    gateway_python: str = ""
    # Secret of the ``stack`` API key (default: from API_KEYS, else stack_api_key()).
    api_key: str = ""
    # Production only: signs session cookies (default: GATEWAY_SECRET, else a new one,
    # so sessions then end when the stack stops).
    gateway_secret: str = ""

    def __post_init__(self) -> None:
        self.model = Path(self.model)
        self.var_dir = Path(self.var_dir)
        self.log_dir = Path(self.log_dir) if self.log_dir else self.var_dir / "log"
        if self.rasa_servers < 1:
            raise StackConfigError("at least one Rasa server is needed")
        if not self.rasa_ports:
            self.rasa_ports = [5005 + i for i in range(self.rasa_servers)]
        if len(self.rasa_ports) != self.rasa_servers:
            raise StackConfigError(
                f"{self.rasa_servers} Rasa servers but {len(self.rasa_ports)} ports given"
            )
        # The virtualenv's interpreter and rasa script, wherever the caller runs from.
        self.python = self.python or _venv_bin("python")
        self.rasa_bin = self.rasa_bin or _venv_bin("rasa")
        gateway_python = ROOT / GATEWAY_VENV / "bin" / "python"
        self.gateway_python = self.gateway_python or (
            str(gateway_python) if gateway_python.exists() else self.python)
        given = self.settings
        self.api_key = (self.api_key or api_key_of(given.api_keys, STACK_KEY_ID)
                        or given.stack_api_key or stack_api_key())
        if self.production:
            self.gateway_secret = self.gateway_secret or given.gateway_secret or secrets.token_hex(32)

    @classmethod
    def for_tests(cls, **kwargs) -> "StackConfig":
        """Free ports everywhere, so tests never collide with ``make run``."""
        servers = int(kwargs.get("rasa_servers", 1))
        kwargs.setdefault("gateway_port", free_port())
        kwargs.setdefault("actions_port", free_port())
        kwargs.setdefault("rasa_ports", [free_port() for _ in range(servers)])
        return cls(**kwargs)

    # -- derived values -------------------------------------------------

    @property
    def settings(self) -> StackSettings:
        """The variables as given: ``env`` first, then the inherited environment."""
        return read_settings({**os.environ, **self.env})

    @property
    def action_server_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://{self.host}:{p}" for p in self.rasa_ports]

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def rasa_token(self) -> str | None:
        return self.settings.rasa_token

    @property
    def api_headers(self) -> dict[str, str]:
        """Headers that let a client choose its ``sender`` on ``/api/chat``."""
        return {"X-Api-Key": self.api_key}

    @property
    def gateway_secret_generated(self) -> bool:
        """True when production runs on a secret made up for this run."""
        return self.production and not self.settings.gateway_secret

    def check(self) -> None:
        """Fail fast, before any process starts, with what to set."""
        problems: list[str] = []
        if not self.model.is_file():
            problems.append(
                f"trained model {self.model} is missing: run `make train` "
                "(rasa train --fixed-model-name assistant --out models)"
            )
        # The rules of settings.py, on exactly what the processes will be given.
        given = read_settings(self.base_env())
        if given.production != self.production:
            problems.append("APP_ENV=production needs `python -m stack run --production` "
                            "(PostgreSQL tracker store, Redis lock store)")
        problems.extend(given.problems())
        if len(self.api_key) < 24:
            problems.append("the stack's API key (STACK_API_KEY or stack: in API_KEYS) "
                            "must be at least 24 characters")
        ports = [("gateway", self.gateway_port)] if self.gateway else []
        ports += [("actions", self.actions_port)]
        ports += [(f"rasa-{i}", p) for i, p in enumerate(self.rasa_ports)]
        seen: set[int] = set()
        for name, port in ports:
            if port in seen:
                problems.append(f"port {port} ({name}) is given twice")
            seen.add(port)
            if port_in_use(port, self.host):
                problems.append(
                    f"port {port} for {name} is already in use (another stack running?)"
                )
        if problems:
            raise StackConfigError("cannot start the stack:\n" + "\n".join(f"  - {p}" for p in problems))

    def base_env(self) -> dict[str, str]:
        """Environment shared by every process."""
        env = dict(os.environ)
        env.update(self.env)
        # Our packages (textproc's tokenizer, knowledge, actions) import from the root.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
        )
        env["APP_ENV"] = "production" if self.production else env.get("APP_ENV", "development")
        env.setdefault("RASA_TELEMETRY_ENABLED", "false")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["ACTION_SERVER_URL"] = self.action_server_url
        # The stack's own API key beside any the operator configured.
        keys = [f"{name}:{key}" if name else key
                for name, key in parse_api_keys(env.get("API_KEYS", "")) if name != STACK_KEY_ID]
        env["API_KEYS"] = ",".join(keys + [f"{STACK_KEY_ID}:{self.api_key}"])
        if self.production:
            env["GATEWAY_SECRET"] = self.gateway_secret
        else:
            # The gateway's development secret beside this stack's other files.
            env.setdefault("GATEWAY_SECRET_FILE", str(self.var_dir.resolve() / "gateway-secret"))
        if "DATABASE_URL" in env:
            env["DATABASE_URL"] = sqlalchemy_url(env["DATABASE_URL"])
        if not self.production and not env.get("TRACKER_DATABASE_URL"):
            # Where this stack's embedded tracker lives (see endpoints_file), for the
            # retention job and the gateway's "删除我的记录".
            env["TRACKER_DATABASE_URL"] = f"sqlite:///{self.var_dir.resolve() / 'tracker.db'}"
        elif self.production and env.get("TRACKER_DATABASE_URL"):
            env["TRACKER_DATABASE_URL"] = sqlalchemy_url(env["TRACKER_DATABASE_URL"])
        return env

    def rasa_env(self) -> dict[str, str]:
        """Rasa's environment: in production every variable the endpoints file expands."""
        env = self.base_env()
        env["SANIC_HOST"] = self.host
        if self.production:
            # A URL wins over POSTGRES_*/REDIS_* pieces: one source of truth per store.
            tracker_url = env.get("TRACKER_DATABASE_URL") or env.get("DATABASE_URL")
            if tracker_url:
                env.update(postgres_pieces(tracker_url))
            if env.get("REDIS_URL"):
                env.update(redis_pieces(env["REDIS_URL"]))
            env.setdefault("POSTGRES_PORT", "5432")
            env.setdefault("POSTGRES_PASSWORD", "")
            env.setdefault("REDIS_PORT", "6379")
            env.setdefault("REDIS_DB", "0")
            env.setdefault("REDIS_PASSWORD", "")
            missing = [v for v in PRODUCTION_ENDPOINT_VARS if v not in env]
            if missing:
                raise StackConfigError(f"set {', '.join(missing)} for endpoints.production.yml")
        return env

    def endpoints_file(self) -> Path:
        """The endpoints file Rasa reads.

        Production uses ``endpoints.production.yml`` with its ``${VAR}``s kept
        (Rasa expands them from the environment, so no secret is written to disk).
        The embedded file holds literal defaults, so it is copied into ``var/run``
        with this stack's action-server port and an absolute tracker path.
        """
        if self.production:
            data = yaml.safe_load(PRODUCTION_ENDPOINTS.read_text(encoding="utf-8")) or {}
            return self._write_endpoints(data, "endpoints.production.yml", "production-")
        data = yaml.safe_load(EMBEDDED_ENDPOINTS.read_text(encoding="utf-8")) or {}
        data.setdefault("action_endpoint", {})["url"] = f"{self.action_server_url}/webhook"
        tracker = data.get("tracker_store") or {}
        if tracker.get("type") in SQL_TRACKER_TYPES and tracker.get("dialect", "sqlite") == "sqlite":
            # Relative to var/ (the committed value is var/tracker.db), so a test's
            # own var_dir gets its own tracker file.
            db = Path(tracker.get("db", "var/tracker.db"))
            db = db if db.is_absolute() else self.var_dir / db.name
            db.parent.mkdir(parents=True, exist_ok=True)
            tracker["db"] = str(db)
        return self._write_endpoints(data, "endpoints.yml")

    def _write_endpoints(self, data: dict, source: str, prefix: str = "") -> Path:
        run_dir = self.var_dir / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        out = run_dir / f"endpoints-{prefix}{self.actions_port}.yml"
        out.write_text(
            f"# Generated by stack/ from {source}; do not edit.\n"
            + yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        return out


def _venv_bin(name: str) -> str:
    """``.venv/bin/<name>`` when the project's virtualenv exists, else from PATH."""
    candidate = ROOT / ".venv" / "bin" / name
    return str(candidate) if candidate.exists() else name


def new_token() -> str:
    """A throwaway RASA_TOKEN for tests and benchmarks."""
    return secrets.token_urlsafe(24)


def throwaway_staff_hash() -> str:
    """STAFF_PASSWORD_HASH of a random password nobody knows (tests, benchmarks)."""
    from hotline.passwords import hash_password

    return hash_password(secrets.token_urlsafe(24))

