"""Personal numbers, end to end: a resident shares an ID card, a mobile and a bank
card (plain, spaced, dashed and full-width), asks for a person (a ticket is
written) and says something the bot does not understand (an unanswered row is
written). Afterwards no database, tracker or log file of the stack holds any
of the numbers, in any spelling, and the bot neither echoed them nor failed to
tell the resident not to send them.

Runs on the embedded stack (SQLite knowledge/ticket file, SQLite tracker from
the generated endpoints file, logs under the stack's own var dir) and on the
production stack (PostgreSQL tracker ``events`` and ticket tables).
"""
from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from sqlalchemy import create_engine, inspect, text

from stack import Stack, StackConfig
from tests.e2e.conftest import STAFF_PASSWORD, Resident, production_env
from tests.stack.conftest import scale_database  # noqa: F401 - module fixture

pytestmark = pytest.mark.stack

ID_CARD = "11010519491231002X"  # valid check character
MOBILE = "13812345678"
BANK_CARD = "6222021234567890123"
# Each number as a resident might type it; all must disappear.
SPELLINGS = {
    ID_CARD: [ID_CARD, ID_CARD.lower(), "110105 19491231 002X"],
    MOBILE: [MOBILE, "138-1234-5678", "+86 138 1234 5678", "１３８１２３４５６７８"],
    BANK_CARD: [BANK_CARD, "6222 0212 3456 7890 123", "６２２２０２１２３４５６７８９０１２３"],
}
# What the resident says (turn by turn); every number in every spelling appears.
CONVERSATION = [
    f"我在长春，我的身份证号是{ID_CARD}",
    f"手机{MOBILE}，银行卡 6222 0212 3456 7890 123，异地就医备案怎么办",
    "卡号６２２２０２１２３４５６７８９０１２３，电话１３８１２３４５６７８，身份证110105 19491231 002X",
    f"手机号 138-1234-5678 还有 +86 138 1234 5678 {ID_CARD.lower()}",
    # Not understood, twice in a row: an unanswered row, then a fallback hand-off.
    f"xqzvv blorp {MOBILE} zzkk {BANK_CARD}",
    f"qwpz frnk {ID_CARD} vvxq",
    f"我要转人工，身份证{ID_CARD}，手机{MOBILE}，卡号{BANK_CARD}",
]


def fold(content: str) -> str:
    """Any stored spelling of a number → plain digits: JSON \\u escapes undone,
    full-width folded, separators between digits removed, upper case."""
    # One or more backslashes: PostgreSQL's row output doubles them.
    content = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), content)
    content = unicodedata.normalize("NFKC", content)
    content = re.sub(r"(?<=\d)[\s\-]+(?=\d|X|x)", "", content)
    content = content.replace("+86", "")
    return content.upper()


def leaks(content: str) -> list[str]:
    """Which of the three numbers ``content`` still holds, in any spelling."""
    folded = fold(content)
    found = [n for n in SPELLINGS if n.upper() in folded]
    # The ID card's 17 digits alone are as personal as the whole number.
    if ID_CARD[:17] in folded and ID_CARD not in found:
        found.append(ID_CARD)
    return found


@pytest.fixture(scope="module", params=["embedded", "production"])
def stack(request, trained_model: Path, gateway_ready: None, tmp_path_factory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp(f"privacy-{request.param}")
    if request.param == "production":
        database = request.getfixturevalue("scale_database")
        env = production_env(database, request.getfixturevalue("redis_url"))
    else:
        env = {"DATABASE_URL": f"sqlite:///{var / 'assistant.db'}", "STAFF_PASSWORD": STAFF_PASSWORD,
               "RATE_LIMIT_PER_MINUTE": "1000"}
    env["RASA_TIMEOUT"] = "20"
    config = StackConfig.for_tests(model=trained_model, var_dir=var, env=env, load_knowledge=True,
                                   production=request.param == "production", rasa_timeout=300)
    with Stack(config) as running:
        yield running


@pytest.fixture(scope="module")
def conversation(stack: Stack) -> dict:
    """The conversation above, through the gateway (processes log unbuffered)."""
    r = Resident(stack.config.gateway_url, f"privacy-{uuid.uuid4().hex[:10]}", city=None)
    replies = [r.say(t) for t in CONVERSATION]
    return {"sender": r.sender, "replies": replies}


def test_the_bot_never_echoes_the_numbers_and_says_not_to_share_them(conversation: dict) -> None:
    for said, reply in zip(CONVERSATION, conversation["replies"]):
        body = json.dumps(reply, ensure_ascii=False)
        assert leaks(body) == [], (said, body)
        notices = [x for x in reply["replies"] if x.get("notice")]
        assert notices, (said, reply)
        assert "隐去" in notices[0]["text"] and "不要" in notices[0]["text"]
    handoff = conversation["replies"][-1]["handoff"]
    assert handoff and handoff["ticket"], conversation["replies"][-1]


def _sqlite_dump(path: Path) -> str:
    """Every row of every table of a SQLite file, as text."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def _tracker_db(stack: Stack) -> Path | None:
    """The SQLite tracker file named in the endpoints file the stack generated."""
    endpoints = stack.config.var_dir / "run" / f"endpoints-{stack.config.actions_port}.yml"
    if not endpoints.is_file():
        return None
    tracker = yaml.safe_load(endpoints.read_text(encoding="utf-8")).get("tracker_store") or {}
    return Path(tracker["db"]) if tracker.get("dialect", "sqlite") == "sqlite" else None


def _postgres_dump(url: str) -> dict[str, str]:
    """Every row of every table of the stack's PostgreSQL database, as text."""
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            return {t: "\n".join(conn.execute(text(f'SELECT t::text FROM "{t}" t')).scalars().all())
                    for t in tables}
    finally:
        engine.dispose()


def test_no_database_or_log_holds_any_number(stack: Stack, conversation: dict) -> None:
    sender = conversation["sender"]
    searched: dict[str, str] = {}
    if stack.config.production:
        for table, rows in _postgres_dump(stack.config.env["DATABASE_URL"]).items():
            searched[f"postgres:{table}"] = rows
        stored = searched["postgres:events"]
    else:
        kb_file = Path(stack.config.env["DATABASE_URL"].removeprefix("sqlite:///"))
        tracker_file = _tracker_db(stack)
        assert tracker_file is not None and tracker_file.is_file(), tracker_file
        assert tracker_file.resolve().is_relative_to(stack.config.var_dir.resolve())
        searched["sqlite:knowledge+tickets"] = _sqlite_dump(kb_file)
        searched["sqlite:tracker"] = stored = _sqlite_dump(tracker_file)
    # Every file under the stack's var dir, raw: databases (and their journals), logs.
    files = [p for p in stack.config.var_dir.rglob("*") if p.is_file()]
    for path in files:
        searched[str(path)] = path.read_bytes().decode("utf-8", "replace")
    logs = [p for p in files if p.suffix == ".log"]
    assert {p.name.split("-")[0] for p in logs} >= {"actions", "rasa", "gateway"}, logs

    # The search is meaningful: the conversation, ticket and unanswered rows are there.
    assert sender in stored and "[身份证号]" in fold(stored)
    everything = "\n".join(searched.values())
    assert conversation["replies"][-1]["handoff"]["ticket"] in everything

    found = {where: leaks(content) for where, content in searched.items()}
    assert {w: f for w, f in found.items() if f} == {}


def test_tickets_and_unanswered_rows_hold_only_placeholders(stack: Stack, conversation: dict) -> None:
    url = stack.config.env["DATABASE_URL"]
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            ticket = conn.execute(text("SELECT transcript FROM hotline_tickets WHERE code = :c"),
                                  {"c": conversation["replies"][-1]["handoff"]["ticket"]}).scalar_one()
            rows = conn.execute(text("SELECT reason, text FROM hotline_unanswered")).all()
    finally:
        engine.dispose()
    transcript = ticket if isinstance(ticket, str) else json.dumps(ticket, ensure_ascii=False)
    assert "[身份证号]" in fold(transcript)
    assert leaks(transcript) == []
    assert {reason for reason, _ in rows} >= {"fallback", "handoff"}, rows
    assert any("[手机号]" in t for _, t in rows), rows  # the not-understood turn, masked
    assert all(leaks(t) == [] for _, t in rows), rows


def test_the_search_finds_every_spelling() -> None:
    """The checks above could pass by not looking: the search must find each
    spelling stored raw, JSON-escaped (Rasa's events) and in PostgreSQL row text."""
    for number, spellings in SPELLINGS.items():
        for spelling in spellings:
            escaped = json.dumps({"text": f"我的号码{spelling}。"})
            for stored in (spelling, escaped, escaped.replace("\\", "\\\\")):
                assert number in leaks(stored), (number, stored)
    assert leaks("[身份证号] [手机号] [银行卡号] 12393 2020年 K7M3PQ") == []
