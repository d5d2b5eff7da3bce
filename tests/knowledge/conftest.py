"""A content folder of our own: the real files plus whatever a test adds."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from knowledge.schema import CONTENT_DIR, KNOWLEDGE_DIR, SOURCES_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def write_platforms(folder: Path) -> Path:
    """The real allow-list plus the test place's own official account."""
    path = folder / "platforms.yml"
    real = yaml.safe_load((KNOWLEDGE_DIR / "platforms.yml").read_text("utf-8"))
    real["allowed"].update(yaml.safe_load((FIXTURES / "platforms_extra.yml").read_text("utf-8")))
    path.write_text(yaml.safe_dump(real, allow_unicode=True), "utf-8")
    return path


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A copy of knowledge/content and knowledge/sources that a test may change."""
    shutil.copytree(CONTENT_DIR, tmp_path / "content")
    shutil.copytree(SOURCES_DIR, tmp_path / "sources")
    write_platforms(tmp_path)
    return tmp_path / "content"


@pytest.fixture
def sixth_place(content_dir: Path) -> Path:
    """Adds 测试县, a place that exists only in the tests, as data only."""
    shutil.copy(FIXTURES / "ceshi.yml", content_dir / "ceshi.yml")
    shutil.copy(FIXTURES / "ceshi.txt", content_dir.parent / "sources" / "ceshi.txt")
    return content_dir
