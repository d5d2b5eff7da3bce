"""Command line of the hand-off: ``python -m hotline hash-password | init-db | open``."""
from __future__ import annotations

import argparse
import getpass
import sys

from hotline.passwords import hash_password


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print a hash for STAFF_PASSWORD_HASH; reads the password from a prompt or stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass("Staff password: ")
        if password != getpass.getpass("Again: "):
            print("The passwords differ.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < args.min_length:
        print(f"Use at least {args.min_length} characters.", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def cmd_init_db(_args: argparse.Namespace) -> int:
    """Create the ticket tables in DATABASE_URL."""
    from hotline.models import create_schema
    from knowledge.db import make_engine

    engine = make_engine()
    try:
        create_schema(engine)
    finally:
        engine.dispose()
    print("hotline tables ready")
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    """List open tickets (code, place, topic, hotline, created)."""
    from hotline.tickets import list_open
    from knowledge.db import make_engine, make_session_factory

    engine = make_engine()
    try:
        for t in list_open(make_session_factory(engine), place=args.place):
            print(f"{t.code}\t{t.place or '-'}\t{t.topic or '-'}\t{t.hotline}\t{t.created_at:%Y-%m-%d %H:%M}Z")
    finally:
        engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotline")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("hash-password", help="hash a staff console password")
    p.add_argument("--min-length", type=int, default=10)
    p.set_defaults(func=cmd_hash_password)
    sub.add_parser("init-db", help="create the ticket tables").set_defaults(func=cmd_init_db)
    p = sub.add_parser("open", help="list open tickets")
    p.add_argument("--place")
    p.set_defaults(func=cmd_open)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
