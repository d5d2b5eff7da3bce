"""`python -m knowledge` as maintainers use it."""
from __future__ import annotations

import os
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
    # The aspect matrix of the key topics follows the topic matrix.
    aspects = cov.stdout.split("aspects of the key topics", 1)[1]
    for topic in ("ask_remote_care_filing 异地就医备案", "ask_chronic_disease_outpatient", "ask_enrolment",
                  "ask_payment_channels"):
        assert topic in aspects
    header = next(line for line in aspects.splitlines() if "materials" in line)
    assert header.split() == ["materials", "channels", "steps", "eligibility", "time", "offline", "proxy"]
    kaizhou = next(line for line in aspects.splitlines() if line.startswith("开州区"))
    # 异地就医备案 in 开州区: no local proxy rule, so the national one (医保发〔2020〕54号) fills it.
    assert kaizhou.split()[1:] == ["国家", "本地", "国家", "国家", "国家", "本地", "国家"]
    assert "aspect cells missing" in aspects
    # Then every topic, counted: each row splits its 5 places × 7 aspects between the sources.
    every = cov.stdout.split("aspects of every topic", 1)[1].splitlines()[1:]
    assert every[0].split() == ["本地", "国家", "缺失"]
    rows = {line.split()[0]: [int(n) for n in line.split()[1:]] for line in every[1:] if line.strip()}
    assert len(rows) == 22 and "ask_maternity" in rows and "complain" in rows
    assert all(sum(counts) == 35 for counts in rows.values() if counts is not rows["total"])
    assert rows["total"] == [sum(col) for col in zip(*(c for t, c in rows.items() if t != "total"))]
    # 开州区's filing entry has its own channels and offline sentences: two local cells.
    assert rows["ask_remote_care_filing"][0] >= 2


def test_coverage_without_a_database_says_what_to_do(tmp_path):
    out = run("coverage", env_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert out.returncode == 2
    assert "python -m knowledge load" in out.stderr


def test_a_refused_setting_is_a_message_not_a_traceback(sqlite_url):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    out = subprocess.run([sys.executable, "-m", "knowledge", "load"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**env, "APP_ENV": "prod"})
    assert out.returncode == 2 and "APP_ENV" in out.stderr and "Traceback" not in out.stderr, out.stderr
