"""Command line of the hand-off: ``python -m hotline hash-password | init-db | open | staff …``.

Staff accounts::

    python -m hotline staff add NAME --places 连云港市,长春市 [--role admin] [--totp]
    python -m hotline staff add NAME --places all --role admin
    python -m hotline staff list | disable NAME | enable NAME | passwd NAME | places NAME --places …
    python -m hotline staff totp NAME [--off]
    python -m hotline staff audit [--account NAME] [--limit 50]

Passwords are read from a prompt (twice) or, when stdin is not a terminal, from its
first line. TOTP needs pyotp (in the gateway's environment, .venv-gateway).
"""
from __future__ import annotations

import argparse
import getpass
import sys

from hotline.passwords import hash_password
from settings import SettingsError


def _read_password(prompt: str = "Staff password: ") -> str | None:
    if sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if password != getpass.getpass("Again: "):
            print("The passwords differ.", file=sys.stderr)
            return None
        return password
    return sys.stdin.readline().rstrip("\n")


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print a scrypt hash (development STAFF_PASSWORD_HASH); reads a prompt or stdin."""
    password = _read_password()
    if password is None:
        return 1
    if len(password) < args.min_length:
        print(f"Use at least {args.min_length} characters.", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _sessions():
    from hotline.models import create_schema
    from knowledge.db import make_engine, make_session_factory

    engine = make_engine()
    create_schema(engine)
    return engine, make_session_factory(engine)


def _places(raw: str | None, sessions) -> list[str] | None:
    """``all`` → None (every place); else canonical names, checked against the knowledge base."""
    if raw is None:
        raise SystemExit("give --places (comma-separated place names, or all)")
    if raw.strip().lower() in ("all", "*", "全部"):
        return None
    from knowledge.errors import KnowledgeError
    from knowledge.store import KnowledgeStore

    names = [p.strip() for p in raw.replace("，", ",").replace("、", ",").split(",") if p.strip()]
    store = KnowledgeStore(sessions)
    out = []
    for name in names:
        try:
            place = store.resolve_place(name)
        except KnowledgeError:
            place = None
        if place is None:
            try:
                known = "、".join(p.name for p in store.places())
            except KnowledgeError:
                known = "(knowledge base not loaded: run `python -m knowledge load`)"
            raise SystemExit(f"unknown place {name!r}; known places: {known}")
        out.append(place.name)
    return out


def cmd_staff(args: argparse.Namespace) -> int:
    """Staff accounts and the audit log."""
    from hotline import accounts

    engine, sessions = _sessions()
    try:
        if args.action == "list":
            for a in accounts.list_accounts(sessions):
                places = "全部地区" if a.places is None else "、".join(a.places)
                state = "" if a.active else "\t(disabled)"
                print(f"{a.name}\t{a.role}\t{places}\t{'TOTP' if a.totp else '-'}{state}")
            return 0
        if args.action == "audit":
            rows, total = accounts.audit_log(sessions, account=args.account, limit=args.limit)
            for e in rows:
                print(f"{e.at:%Y-%m-%d %H:%M:%S}Z\t{e.account}\t{e.action}\t{e.target}\t{e.detail}\t{e.address}")
            print(f"({len(rows)} of {total})", file=sys.stderr)
            return 0
        name = accounts.clean_name(args.name)
        if args.action == "add":
            places = _places(args.places, sessions)
            password = _read_password()
            if password is None:
                return 1
            secret = accounts.new_totp_secret() if args.totp else None
            account = accounts.add_account(sessions, name, password, role=args.role, places=places,
                                           totp_secret=secret)
            print(f"account {account.name} ({account.role}) created for "
                  + ("every place" if account.places is None else "、".join(account.places)))
            if secret:
                print(f"TOTP: add this to an authenticator app: {accounts.totp_uri(name, secret)}")
            return 0
        if args.action == "passwd":
            password = _read_password("New password: ")
            if password is None:
                return 1
            accounts.update_account(sessions, name, password=password)
        elif args.action == "places":
            accounts.update_account(sessions, name, places=_places(args.places, sessions))
        elif args.action in ("disable", "enable"):
            accounts.update_account(sessions, name, active=args.action == "enable")
        elif args.action == "role":
            accounts.update_account(sessions, name, role=args.role)
        elif args.action == "totp":
            secret = None if args.off else accounts.new_totp_secret()
            accounts.update_account(sessions, name, totp_secret=secret)
            if secret:
                print(f"TOTP: add this to an authenticator app: {accounts.totp_uri(name, secret)}")
        print(f"account {name} updated")
        return 0
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        if exc.name != "pyotp":
            raise
        print("error: TOTP needs pyotp: run this with .venv-gateway/bin/python", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


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
    staff = sub.add_parser("staff", help="staff accounts and the audit log")
    actions = staff.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", help="create an account (password from a prompt or stdin)")
    p.add_argument("name")
    p.add_argument("--places", required=True, help="comma-separated place names, or all")
    p.add_argument("--role", choices=("staff", "admin"), default="staff")
    p.add_argument("--totp", action="store_true", help="require a TOTP code (prints the set-up URI)")
    actions.add_parser("list", help="list accounts")
    for name in ("disable", "enable", "passwd"):
        actions.add_parser(name).add_argument("name")
    p = actions.add_parser("places", help="change an account's places")
    p.add_argument("name")
    p.add_argument("--places", required=True)
    p = actions.add_parser("role", help="change an account's role")
    p.add_argument("name")
    p.add_argument("--role", choices=("staff", "admin"), required=True)
    p = actions.add_parser("totp", help="turn TOTP on (new secret) or --off")
    p.add_argument("name")
    p.add_argument("--off", action="store_true")
    p = actions.add_parser("audit", help="print the audit log, newest first")
    p.add_argument("--account")
    p.add_argument("--limit", type=int, default=50)
    staff.set_defaults(func=cmd_staff)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:   # e.g. APP_ENV=prod: the message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
