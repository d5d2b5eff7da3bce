"""Fixtures shared by every test: real databases, real knowledge, real services.

PostgreSQL and Redis come from TEST_POSTGRES_URL / TEST_REDIS_URL. On a laptop
without them those tests skip with a message; in CI (CI set) they fail instead.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from knowledge.db import make_engine, make_session_factory
from knowledge.loader import load
from knowledge.schema import read_all
from knowledge.store import KnowledgeStore

ROOT = Path(__file__).resolve().parent.parent


def require_service(var: str, what: str) -> str:
    """The URL of a real service, or skip (laptop) / fail (CI) when it is absent."""
    url = os.environ.get(var)
    if not url:
        message = f"{what} not configured: set {var} to run this test against a real server"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = require_service("TEST_POSTGRES_URL", "PostgreSQL")
    engine = create_engine(url, future=True, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        message = f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = require_service("TEST_REDIS_URL", "Redis")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} unreachable: {exc}")
        pytest.skip(f"Redis at {url} unreachable: {exc}")
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str):
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"medins_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'assistant.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str:
    """Each test using it runs on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def content():
    return read_all()


@pytest.fixture
def kb_engine(sqlite_url, content):
    engine = make_engine(sqlite_url)
    load(engine, content)
    yield engine
    engine.dispose()


@pytest.fixture
def kb(kb_engine) -> KnowledgeStore:
    return KnowledgeStore(make_session_factory(kb_engine))
