"""knowledge.db reads DATABASE_URL through settings.py, as every other process does."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from knowledge.db import database_url, make_engine
from settings import DEFAULT_DATABASE_URL, SettingsError


def test_database_url_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    assert database_url() == DEFAULT_DATABASE_URL
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/medins")
    assert database_url() == "postgresql://u:p@db/medins"  # SQLAlchemy's dialect name
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'kb.db'}")
    engine = make_engine()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    assert (tmp_path / "kb.db").exists()


def test_an_unknown_app_env_is_refused_here_too(monkeypatch):
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(SettingsError, match="APP_ENV: must be one of development, production"):
        database_url()
