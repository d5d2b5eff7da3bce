"""Command line: ``python -m knowledge validate|load|coverage|lexicon``."""
from __future__ import annotations

import argparse
import sys

from knowledge.db import database_url, make_engine, make_session_factory
from knowledge.errors import StoreUnavailable
from knowledge.loader import load
from knowledge.schema import ContentError, load_topics, read_all
from knowledge import lexicon
from knowledge.store import KnowledgeStore

_MARK = {"local": "本地", "national": "国家", "missing": "缺失"}


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


def cmd_coverage(args) -> int:
    topics = list(load_topics()["topics"])
    engine = make_engine(args.database_url)
    try:
        cov = KnowledgeStore(make_session_factory(engine)).coverage(topics)
    except StoreUnavailable as exc:
        print(f"database unavailable ({exc}); run `python -m knowledge load` first", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    width = max(len(t) for t in topics)
    print(" " * width + "  " + "  ".join(cov.places))
    for t in topics:
        cells = "  ".join(_MARK[cov.cells[(p, t)]].ljust(len(p) * 2 - 2) for p in cov.places)
        print(t.ljust(width) + "  " + cells)
    missing = cov.missing()
    print(f"\n{len(missing)} missing" + (": " + ", ".join(f"{p}/{t}" for p, t in missing) if missing else ""))
    return 1 if missing else 0


def cmd_lexicon(_args) -> int:
    changed = lexicon.write(_read_or_exit())
    print("updated: " + ", ".join(str(p) for p in changed) if changed else "up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge")
    parser.add_argument("--database-url", default=None, help=f"default: DATABASE_URL or {database_url()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn, help_ in (
        ("validate", cmd_validate, "check every content file"),
        ("load", cmd_load, "validate and write the content to the database"),
        ("coverage", cmd_coverage, "print the topic × place matrix"),
        ("lexicon", cmd_lexicon, "regenerate place synonyms and the jieba place dictionary"),
    ):
        sub.add_parser(name, help=help_).set_defaults(fn=fn)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
