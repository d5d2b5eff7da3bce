"""Fixtures of the hand-off tests: ticket databases (SQLite and PostgreSQL), knowledge."""
from __future__ import annotations

import pytest

from hotline.models import create_schema
from knowledge.db import make_engine, make_session_factory
from knowledge.loader import load
from knowledge.store import KnowledgeStore
from tests.hotline.fixtures import knowledge_content, write_routing


@pytest.fixture
def ticket_sessions(database_url):
    """A session factory on a fresh database: SQLite file, then PostgreSQL (own database)."""
    engine = make_engine(database_url)
    create_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def sqlite_sessions(sqlite_url):
    engine = make_engine(sqlite_url)
    create_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def store(sqlite_url) -> KnowledgeStore:
    engine = make_engine(sqlite_url)
    places, _ = knowledge_content()
    load(engine, places)
    yield KnowledgeStore(make_session_factory(engine))
    engine.dispose()


@pytest.fixture
def routing_path(tmp_path):
    return write_routing(tmp_path)
