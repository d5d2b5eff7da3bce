"""`python -m knowledge` as maintainers use it."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str, env_url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "knowledge", "--database-url", env_url, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_load_then_coverage(sqlite_url):
    loaded = run("load", env_url=sqlite_url)
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded 6 places" in loaded.stdout
    again = run("load", env_url=sqlite_url)
    assert "added 0, updated 0, removed 0" in again.stdout
    cov = run("coverage", env_url=sqlite_url)
    assert cov.returncode == 0, cov.stdout + cov.stderr
    assert "0 missing" in cov.stdout
    for name in ("连云港市", "开州区", "长春市", "江门市", "正宁县"):
        assert name in cov.stdout
    assert "本地" in cov.stdout and "国家" in cov.stdout


def test_coverage_without_a_database_says_what_to_do(tmp_path):
    out = run("coverage", env_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert out.returncode == 2
    assert "python -m knowledge load" in out.stderr
