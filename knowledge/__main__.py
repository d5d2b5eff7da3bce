"""Command line: ``python -m knowledge validate|load|coverage|lexicon``."""
from __future__ import annotations

import argparse
import sys

from knowledge import lexicon
from knowledge.db import make_engine, make_session_factory
from knowledge.errors import StoreUnavailable
from knowledge.loader import load
from knowledge.schema import ContentError, load_topics, read_all
from knowledge.store import KnowledgeStore
from settings import DEFAULT_DATABASE_URL, SettingsError

_MARK = {"local": "本地", "national": "国家", "missing": "缺失"}
_COUNTED = tuple(_MARK)


def _read_or_exit():
    try:
        return read_all()
    except ContentError as exc:
        print(f"知识库内容有 {len(exc.errors)} 处错误：", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)


def cmd_validate(_args) -> int:
    places = _read_or_exit()
    stale = lexicon.stale(places)
    for path in stale:
        print(f"{path} is out of date: run `python -m knowledge lexicon`", file=sys.stderr)
    entries = sum(len(p.entries) for p in places)
    facts = sum(len(p.facts) for p in places)
    print(f"ok: {len(places)} files, {entries} entries, {facts} facts")
    return 1 if stale else 0


def cmd_load(args) -> int:
    places = _read_or_exit()
    engine = make_engine(args.database_url)
    try:
        report = load(engine, places)
    finally:
        engine.dispose()
    print(f"loaded {len(places)} places into {engine.url.render_as_string(hide_password=True)}: {report}")
    return 0


def _width(text: str) -> int:
    """Display width: a CJK character takes two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]


def cmd_coverage(args) -> int:
    topic_data = load_topics()
    topics = list(topic_data["topics"])
    key_topics = list(topic_data.get("key_topics") or [])
    engine = make_engine(args.database_url)
    try:
        store = KnowledgeStore(make_session_factory(engine))
        cov = store.coverage(topics)
        # One query for every topic; the key topics' matrices are read from it.
        every = store.aspect_coverage(topics)
    except StoreUnavailable as exc:
        print(f"database unavailable ({exc}); run `python -m knowledge load` first", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print("\n".join(_table([["", *cov.places]] + [
        [t, *(_MARK[cov.cells[(p, t)]] for p in cov.places)] for t in topics])))
    missing = cov.missing()
    print(f"\n{len(missing)} missing" + (": " + ", ".join(f"{p}/{t}" for p, t in missing) if missing else ""))

    # Follow-up aspects of the key topics: which source answers each one.
    print("\n" + "aspects of the key topics (本地 = the place's entry, 国家 = national entry only):")
    for t in key_topics:
        print(f"\n{t} {topic_data['topics'][t]}")
        print("\n".join(_table([["", *every.aspects]] + [
            [p, *(_MARK[every.cells[(p, t, a)]] for a in every.aspects)] for p in every.places])))
    gaps = every.missing(key_topics)
    print(f"\n{len(gaps)} aspect cells missing" + (
        ": " + ", ".join(f"{p}/{t}/{a}" for p, t, a in gaps) if gaps else ""))

    # Every topic, counted: a follow-up on a "missing" cell is answered with the hotline only.
    print("\n" + f"aspects of every topic ({len(every.places)} places × {len(every.aspects)} aspects each):")
    rows, totals = [["", *(_MARK[k] for k in _COUNTED)]], dict.fromkeys(_COUNTED, 0)
    for t in topics:
        marks = [every.cells[(p, t, a)] for p in every.places for a in every.aspects]
        counts = [marks.count(kind) for kind in _COUNTED]
        rows.append([t, *map(str, counts)])
        for kind, n in zip(_COUNTED, counts):
            totals[kind] += n
    print("\n".join(_table(rows + [["total", *map(str, totals.values())]])))
    return 1 if missing else 0


def cmd_lexicon(_args) -> int:
    changed = lexicon.write(_read_or_exit())
    print("updated: " + ", ".join(str(p) for p in changed) if changed else "up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge")
    parser.add_argument("--database-url", default=None, help=f"default: DATABASE_URL or {DEFAULT_DATABASE_URL}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn, help_ in (
        ("validate", cmd_validate, "check every content file"),
        ("load", cmd_load, "validate and write the content to the database"),
        ("coverage", cmd_coverage, "print the topic × place and key-topic × aspect matrices"),
        ("lexicon", cmd_lexicon, "regenerate place synonyms and the jieba place dictionary"),
    ):
        sub.add_parser(name, help=help_).set_defaults(fn=fn)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except SettingsError as exc:   # e.g. APP_ENV=prod: the message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
