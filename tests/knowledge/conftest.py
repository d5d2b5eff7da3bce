"""A content folder of our own: the real files plus whatever a test adds."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.schema import CONTENT_DIR, SOURCES_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A copy of knowledge/content and knowledge/sources that a test may change."""
    shutil.copytree(CONTENT_DIR, tmp_path / "content")
    shutil.copytree(SOURCES_DIR, tmp_path / "sources")
    return tmp_path / "content"


@pytest.fixture
def sixth_place(content_dir: Path) -> Path:
    """Adds 测试县, a place that exists only in the tests, as data only."""
    shutil.copy(FIXTURES / "ceshi.yml", content_dir / "ceshi.yml")
    shutil.copy(FIXTURES / "ceshi.txt", content_dir.parent / "sources" / "ceshi.txt")
    return content_dir
