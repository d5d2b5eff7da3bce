"""``python -m retention purge`` (once), ``run`` (every RETENTION_INTERVAL_HOURS),
``forget SENDER_ID`` (one resident's records)."""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from sqlalchemy.exc import SQLAlchemyError

from retention.config import RetentionConfigError, RetentionSettings
from retention.purge import forget_sender, purge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retention", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("purge", help="delete what is past its retention period, once")
    run = sub.add_parser("run", help="purge now and then every RETENTION_INTERVAL_HOURS")
    run.add_argument("--every-hours", type=float, default=None)
    run.add_argument("--wait-first", action="store_true",
                     help="wait one interval before the first purge (the caller just ran one)")
    forget = sub.add_parser("forget", help="delete one sender's conversation and logs")
    forget.add_argument("sender_id")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = RetentionSettings.from_env()
    except RetentionConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "forget":
        print(json.dumps(forget_sender(args.sender_id, settings)))
        return 0
    if args.command == "purge":
        try:
            print(json.dumps(purge(settings).as_dict()))
        except SQLAlchemyError as exc:
            print(f"error: retention purge failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
            return 1
        return 0
    every = (args.every_hours or settings.interval_hours) * 3600
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.wait_first:
        stop.wait(every)
    while not stop.is_set():
        try:
            print(json.dumps(purge(settings).as_dict()), flush=True)
        except SQLAlchemyError as exc:   # the database may be restarting: try again next time
            logging.getLogger("retention").error("purge failed: %s", exc.__class__.__name__)
        stop.wait(every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
