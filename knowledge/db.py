"""Database engine and sessions shared by the knowledge base and hand-off tickets."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from settings import Settings


def database_url() -> str:
    """``DATABASE_URL``, else the embedded SQLite file (see :mod:`settings`)."""
    return Settings.from_env().database


def make_engine(url: str | None = None) -> Engine:
    """Create an engine for ``url`` (default: ``DATABASE_URL`` or the embedded file)."""
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Several processes (actions, gateway, loader) share the file: wait for locks.
        engine = create_engine(url, future=True, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # A short connect timeout so an outage degrades to "call the hotline" quickly.
    return create_engine(
        url,
        future=True,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": 3},
    )


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, future=True, expire_on_commit=False)
