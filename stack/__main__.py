"""Command line: ``python -m stack run [--production] [--rasa-servers N]``."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from stack.config import DEFAULT_MODEL, ROOT, StackConfig, StackConfigError, read_settings
from stack.process import ProcessFailed, tail
from stack.runner import Stack, describe


class _Stop(Exception):
    """Raised from the signal handler so the main loop unwinds and stops children."""


def _raise_stop(signum: int, _frame) -> None:
    raise _Stop(signal.Signals(signum).name)


def cmd_run(args: argparse.Namespace) -> int:
    config = StackConfig(
        production=args.production,
        rasa_servers=args.rasa_servers,
        gateway_port=args.gateway_port,
        actions_port=args.actions_port,
        rasa_ports=[args.rasa_port + i for i in range(args.rasa_servers)],
        model=Path(args.model),
        load_knowledge=args.load_knowledge,
        rasa_timeout=args.timeout,
        var_dir=Path(args.var_dir),
    )
    stack = Stack(config)
    # SIGTERM (e.g. from make or a supervisor) stops the children like Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        print(f"starting actions, {config.rasa_servers} Rasa server(s) and the gateway "
              "(Rasa takes 20–40 s to load the model)…", flush=True)
        stack.start()
        stack.write_api_key()
        print(describe(stack), flush=True)
        while True:
            dead = stack.dead()
            if dead:
                for name in dead:
                    proc = stack.processes[name]
                    print(f"\n{name} exited (code {proc.popen.returncode}); "
                          f"log {proc.log_path} ends with:\n{tail(proc.log_path)}",
                          file=sys.stderr)
                return 1
            time.sleep(1)
    except _Stop as stop:
        print(f"\n{stop}: stopping…", flush=True)
        return 0
    except (StackConfigError, ProcessFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        # Ignore further signals while the children are shut down.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    try:
        given = read_settings(os.environ)
    except StackConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start actions, Rasa server(s) and the gateway")
    run.add_argument("--production", action="store_true",
                     help="PostgreSQL tracker + Redis lock store (DATABASE_URL, REDIS_URL, "
                          "RASA_TOKEN required)")
    run.add_argument("--rasa-servers", type=int, default=1, metavar="N")
    # Ports default to the environment (GATEWAY_PORT, ACTION_PORT, RASA_PORT), then the usual ones.
    run.add_argument("--gateway-port", type=int, default=given.gateway_port)
    run.add_argument("--actions-port", type=int, default=given.action_port)
    run.add_argument("--rasa-port", type=int, default=given.rasa_port,
                     help="first Rasa port; server i listens on rasa-port + i")
    run.add_argument("--model", default=str(DEFAULT_MODEL))
    run.add_argument("--load-knowledge", action="store_true",
                     help="run `python -m knowledge load` and `python -m hotline init-db` first")
    run.add_argument("--var-dir", default=str(ROOT / "var"),
                     help="embedded tracker file, generated endpoints and logs (default var/)")
    run.add_argument("--timeout", type=float, default=180.0,
                     help="seconds to wait for each Rasa server")
    args = parser.parse_args(argv)
    try:
        return {"run": cmd_run}[args.command](args)
    except StackConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
