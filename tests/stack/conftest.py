"""Fixtures for tests that start real processes (actions, Rasa servers, gateway)."""
from __future__ import annotations

import importlib.util
import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from stack.config import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[2]


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """models/assistant.tar.gz (or MEDINS_MODEL); skip when it has not been trained.

    Not a failure in CI either: `make test` trains before running pytest, so a
    missing model there means pytest was run on its own.
    """
    model = Path(os.environ.get("MEDINS_MODEL") or DEFAULT_MODEL)
    if not model.is_file():
        pytest.skip(f"trained model {model} is missing: run `make train` first "
                    "(or set MEDINS_MODEL to a model file)")
    return model


@pytest.fixture(scope="session")
def gateway_ready() -> None:
    """The gateway package must be runnable as ``python -m bot``."""
    if importlib.util.find_spec("bot.__main__") is None:
        _skip_or_fail("the gateway (bot/__main__.py) is not there yet: `python -m bot` cannot start")


@pytest.fixture(scope="module")
def scale_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one module (tracker + knowledge), dropped after."""
    name = f"medins_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
