"""The console tests run on the real knowledge content, and fail when it is broken
(issue #14: they used to fall back to a small fixture and pass)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.schema import CONTENT_DIR, ContentError
from tests.bot.staff.conftest import real_content


def _copy(tmp_path: Path) -> Path:
    """A copy of the real content (and the sources its quotes are checked against)."""
    root = tmp_path / "knowledge"
    shutil.copytree(CONTENT_DIR, root / "content")
    shutil.copytree(CONTENT_DIR.parent / "sources", root / "sources")
    return root / "content"


def test_real_content_loads():
    places = real_content()
    assert {"national", "lianyungang", "changchun"} <= {p.id for p in places}


def test_broken_yaml_fails_instead_of_falling_back(tmp_path):
    content = _copy(tmp_path)
    with open(content / "national.yml", "a", encoding="utf-8") as fh:
        fh.write("x: [unclosed\n")
    with pytest.raises(ContentError, match="national.yml"):
        real_content(content)


def test_missing_national_baseline_fails(tmp_path):
    content = _copy(tmp_path)
    (content / "national.yml").unlink()
    with pytest.raises(ContentError):
        real_content(content)
