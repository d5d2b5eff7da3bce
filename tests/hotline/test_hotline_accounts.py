"""Staff accounts and their command line, on a real database."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline import accounts
from hotline.accounts import AccountError, AccountExists, StaffAccount
from knowledge.db import make_engine, make_session_factory
from knowledge.loader import load
from tests.hotline.fixtures import knowledge_content

ROOT = Path(__file__).resolve().parents[2]


def test_accounts_hash_passwords_and_scope_places(ticket_sessions):
    made = accounts.add_account(ticket_sessions, "li", "long-enough-1", places=["连云港市", "连云港市"])
    assert made.places == ("连云港市",) and made.role == "staff" and not made.totp
    with ticket_sessions() as session:
        stored = session.execute(select(StaffAccount.password_hash)).scalar_one()
    assert stored.startswith("scrypt$") and "long-enough-1" not in stored
    assert accounts.authenticate(ticket_sessions, "li", "long-enough-1").account.name == "li"
    assert accounts.authenticate(ticket_sessions, "li", "wrong-password") is None
    assert accounts.authenticate(ticket_sessions, "nobody", "long-enough-1") is None
    assert made.may_see("连云港市") and not made.may_see("长春市") and not made.may_see(None)
    admin = accounts.add_account(ticket_sessions, "wang", "long-enough-2", role="admin")
    assert admin.places is None and admin.may_see(None) and admin.is_admin
    with pytest.raises(AccountExists):
        accounts.add_account(ticket_sessions, "li", "long-enough-3")
    for bad in (dict(name="has space", password="long-enough-1"), dict(name="x", password="short"),
                dict(name="y", password="long-enough-1", role="root"),
                dict(name="z", password="long-enough-1", places=[])):
        with pytest.raises(AccountError):
            accounts.add_account(ticket_sessions, **bad)
    accounts.update_account(ticket_sessions, "li", active=False)
    assert accounts.authenticate(ticket_sessions, "li", "long-enough-1") is None


def test_audit_log_pages_newest_first(ticket_sessions):
    for i in range(5):
        accounts.audit(ticket_sessions, "li", "view_ticket", f"T{i}", address="10.0.0.1")
    accounts.audit(ticket_sessions, "wang", "view_audit")
    rows, total = accounts.audit_log(ticket_sessions, account="li", limit=2)
    assert total == 5 and [r.target for r in rows] == ["T4", "T3"]
    rows, _ = accounts.audit_log(ticket_sessions, account="li", offset=4, limit=2)
    assert [r.target for r in rows] == ["T0"]
    with pytest.raises(ValueError):
        accounts.audit(ticket_sessions, "li", "delete_everything")


def _cli(env, *args, stdin=""):
    return subprocess.run([sys.executable, "-m", "hotline", "staff", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_staff_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    engine = make_engine(url)
    places, _ = knowledge_content()
    load(engine, places)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url}
    added = _cli(env, "add", "li", "--places", "连云港", stdin="a-long-password\n")
    assert added.returncode == 0, added.stderr
    assert "连云港市" in added.stdout                 # aliases resolve to the canonical name
    assert _cli(env, "add", "li", "--places", "all", stdin="a-long-password\n").returncode == 1
    unknown = _cli(env, "add", "zhao", "--places", "火星市", stdin="a-long-password\n")
    assert unknown.returncode != 0 and "火星市" in unknown.stderr
    short = _cli(env, "add", "zhao", "--places", "all", stdin="short\n")
    assert short.returncode == 1 and "10" in short.stderr
    assert _cli(env, "add", "wang", "--places", "all", "--role", "admin", stdin="b-long-password\n").returncode == 0
    listed = _cli(env, "list").stdout
    assert "li\tstaff\t连云港市" in listed and "wang\tadmin\t全部地区" in listed
    assert _cli(env, "disable", "li").returncode == 0
    assert "(disabled)" in _cli(env, "list").stdout
    sessions = make_session_factory(engine)
    assert accounts.authenticate(sessions, "wang", "b-long-password") is not None
    accounts.audit(sessions, "wang", "view_audit", "li")
    assert "wang\tview_audit\tli" in _cli(env, "audit").stdout
    engine.dispose()


def test_a_refused_setting_is_a_message_not_a_traceback(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}", "APP_ENV": "prod"}
    out = _cli(env, "list")
    assert out.returncode == 2 and "APP_ENV" in out.stderr and "Traceback" not in out.stderr, out.stderr
