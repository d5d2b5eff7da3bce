"""Benchmark: ``python -m bench`` (``make bench``).

Starts each set-up with stack/ on free ports — embedded default, production
with 1 Rasa server, production with 2 — drives conversations of 5–30 turns through
the gateway (bench/load.py; with the given reading time, then with none), reports
their latency by turn index, measures bare ``/model/parse`` in the same run, breaks a turn
down by depth (parse, Rasa REST turn, ``/api/chat``), by turn index over
30-turn conversations and by stage inside the servers (bench/stages.py,
stage_timing.py), runs residents with no reading time
while py-spy samples every process (bench/profile.py), and writes
``bench/results/<timestamp>.{md,json}`` (and ``latest.*``, ``profile-*.txt``).

Production set-ups need PostgreSQL and Redis on 127.0.0.1: BENCH_POSTGRES_URL /
BENCH_REDIS_URL, else TEST_POSTGRES_URL / TEST_REDIS_URL, else the local
defaults. Each run uses a fresh database ``medins_bench_<random>``, dropped after.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import stage_timing
from bench import profile, stages
from bench.load import BUCKETS, PHASES, LoadResult, run_load, run_parse
from bench.report import latency_ms, markdown
from stack import ProcessFailed, Stack, StackConfig, StackConfigError, new_token
from stack.config import DEFAULT_MODEL, ROOT, throwaway_staff_hash

RESULTS = ROOT / "bench" / "results"
SETUPS = {"embedded": (False, 1), "production-1": (True, 1), "production-2": (True, 2)}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _service_url(kind: str, default: str) -> str:
    url = (os.environ.get(f"BENCH_{kind}_URL") or os.environ.get(f"TEST_{kind}_URL")
           or default)
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        # The benchmark creates and drops databases: never point it elsewhere.
        raise StackConfigError(f"bench only talks to 127.0.0.1; {kind} host is {host!r}")
    return url


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database for one set-up, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"medins_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _check_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()


def run_setup(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start one set-up, warm it up, load it, measure it, stop it."""
    production, servers = SETUPS[name]
    # All residents share the stack's API key: lift its per-key limit as well.
    env = {"RATE_LIMIT_PER_MINUTE": "100000", "RATE_LIMIT_PER_API_KEY": "10000000",
           "RASA_TIMEOUT": str(args.timeout)}
    # Without a token the gateway and Rasa still agree; in production it is required.
    env["RASA_TOKEN"] = new_token()
    env["STAFF_PASSWORD_HASH"] = throwaway_staff_hash()
    timing_dir = workdir / name / "stage-timing"
    if args.stages:
        # Each process writes the time of each stage of a turn here (stage_timing.py).
        env["MEDINS_STAGE_TIMING_DIR"] = str(timing_dir)
    with _databases(production, workdir / name) as urls:
        env.update(urls)
        config = StackConfig.for_tests(
            production=production, rasa_servers=servers, model=args.model,
            load_knowledge=True, var_dir=workdir / name, env=env,
            log_dir=ROOT / "var" / "log" / "bench",
        )
        print(f"[{name}] starting {servers} Rasa server(s)…", flush=True)
        with Stack(config) as stack:
            startup = round(max(stack.startup_seconds.values()), 1)
            print(f"[{name}] ready in {startup} s; warming up", flush=True)
            asyncio.run(run_load(config.gateway_url, residents=min(2, args.residents),
                                 conversations=2, max_seconds=60, timeout=args.timeout,
                                 api_key=config.api_key))
            print(f"[{name}] load: {args.residents} residents, "
                  f"≤{args.conversations} conversations, ≤{args.max_seconds} s", flush=True)
            load = asyncio.run(run_load(config.gateway_url, args.residents,
                                        args.conversations, args.max_seconds,
                                        timeout=args.timeout, think_seconds=args.think,
                                        api_key=config.api_key))
            rss = stack.rss_kib()
            parse_lat, parse_err, parse_secs = asyncio.run(run_parse(
                config.rasa_urls[0], config.rasa_token, args.parse_requests,
                args.residents, timeout=args.timeout))
            stage_summary = None
            if args.stages:
                print(f"[{name}] per-stage breakdown: {args.stages} conversations of 30 turns, "
                      "one turn at a time", flush=True)
                samples = asyncio.run(stages.run_stages(
                    config.rasa_urls[0], config.gateway_url, config.rasa_token, config.api_key,
                    conversations=args.stages, timeout=args.timeout))
                timed = stages.attach_timing(samples, stage_timing.read(timing_dir))
                stage_summary = stages.summarise(samples)
                stage_summary["server_stages"] = stages.timing_summary(
                    samples, stage_summary["answer_turns_ms"]["parse"]["p50"])
                print(f"[{name}] server-side stages for {timed} of {len(samples)} turns",
                      flush=True)
                stage_summary["repeat"] = stages.repeat_summary(asyncio.run(stages.run_repeat(
                    config.rasa_urls[0], config.gateway_url, config.api_key,
                    timeout=args.timeout)))
            stress = _profiled_stress(name, stack, args) if args.profile else None
    ok = load.seconds_of()
    chat = {
        "conversations": load.conversations,
        "turns": len(load.turns),
        "seconds": round(load.seconds, 2),
        "think_seconds": args.think,
        "turns_per_second": round(len(ok) / load.seconds, 2) if load.seconds else None,
        "errors": load.errors,
        "place_forgotten": load.place_forgotten,
        "latency_ms": latency_ms(ok),
        "per_phase_ms": {p: latency_ms(load.seconds_of(p)) for p in PHASES},
        "by_index_ms": by_index_ms(load),
    }
    parse = {"requests": args.parse_requests, "errors": parse_err,
             "requests_per_second": round(len(parse_lat) / parse_secs, 2) if parse_secs else None,
             "latency_ms": latency_ms(parse_lat)}
    ratio = None
    if chat["latency_ms"]["p50"] and parse["latency_ms"]["p50"]:
        ratio = round(chat["latency_ms"]["p50"] / parse["latency_ms"]["p50"], 2)
    rss_mib = {k: round(v / 1024, 1) for k, v in rss.items()}
    samples = sorted({s.turn.error or "no reply" for s in load.turns if not s.turn.ok})[:3]
    return {
        "name": name, "production": production, "rasa_servers": servers,
        "startup_seconds": startup, "chat": chat, "parse": parse,
        "stages": stage_summary, "stress": stress,
        "overhead_ratio_p50": ratio, "rss_mib": rss_mib,
        "rss_mib_total": round(sum(rss_mib.values()), 1), "sample_errors": samples,
    }


def _profiled_stress(name: str, stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """Residents with no reading time for ``args.profile`` seconds while py-spy samples
    every process; summaries go to ``<out>/profile-<set-up>-<process>.txt``."""
    config = stack.config
    raw_dir = config.var_dir / "profile"
    seconds = args.profile
    recorders = {}
    sampling = not args.no_profiler and profile.available() is not None
    if not args.no_profiler and not sampling:
        print(f"[{name}] py-spy is not installed (.venv/bin/pip install py-spy): "
              "stress load without profiles", file=sys.stderr)
    for proc_name, pid in stack.pids().items():
        if pid is not None and proc_name != "retention" and sampling:
            recorders[proc_name] = (profile.record(pid, raw_dir / f"{proc_name}.raw", seconds + 5),
                                    raw_dir / f"{proc_name}.raw")
    print(f"[{name}] stress: {args.residents} residents, no reading time, {seconds} s, "
          f"py-spy on {', '.join(recorders)}", flush=True)
    load = asyncio.run(run_load(config.gateway_url, args.residents, 10**6, seconds,
                                timeout=args.timeout, api_key=config.api_key))
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for proc_name, (recorder, raw) in recorders.items():
        _, err = recorder.communicate(timeout=seconds + 120)
        if not raw.is_file():
            print(f"[{name}] py-spy on {proc_name} wrote nothing: {err.decode()[-300:]}",
                  file=sys.stderr)
            continue
        out = args.out / f"profile-{name}-{proc_name}.txt"
        out.write_text(profile.summarise(
            raw, f"{proc_name} ({name}), {args.residents} residents with no reading time, "
                 f"{seconds} s"))
        written.append(out.name)
    ok = load.seconds_of()
    return {"seconds": round(load.seconds, 2), "turns": len(load.turns), "errors": load.errors,
            "turns_per_second": round(len(ok) / load.seconds, 2) if load.seconds else None,
            "latency_ms": latency_ms(ok), "by_index_ms": by_index_ms(load), "profiles": written}


def by_index_ms(load: LoadResult) -> dict[str, dict[str, Any]]:
    """Latency of answered turns by their index in the conversation (1-5, 6-15, 16-30)."""
    return {f"{lo}-{hi}": latency_ms(load.seconds_of(first=lo, last=hi)) for lo, hi in BUCKETS}


@contextmanager
def _databases(production: bool, var_dir: Path) -> Iterator[dict[str, str]]:
    if not production:
        # Embedded: a fresh SQLite knowledge base beside the set-up's tracker file;
        # no Redis, whatever the caller's shell exports.
        var_dir.mkdir(parents=True, exist_ok=True)
        yield {"DATABASE_URL": f"sqlite:///{var_dir / 'assistant.db'}", "REDIS_URL": ""}
        return
    admin = _service_url("POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = _service_url("REDIS", "redis://127.0.0.1:6379/0")
    _check_redis(redis_url)
    with fresh_database(admin) as url:
        yield {"DATABASE_URL": url, "REDIS_URL": redis_url}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=20, help="concurrent residents")
    parser.add_argument("--conversations", type=int, default=60,
                        help="conversations (of 5 turns) per set-up, at most")
    parser.add_argument("--max-seconds", type=float, default=120,
                        help="stop starting conversations after this many seconds")
    parser.add_argument("--parse-requests", type=int, default=200)
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean seconds a resident reads before the next turn (0: stress test)")
    parser.add_argument("--timeout", type=float, default=60, help="per request, seconds")
    parser.add_argument("--stages", type=int, default=4, metavar="N",
                        help="per-stage breakdown over N conversations of 30 turns (0: skip)")
    parser.add_argument("--profile", type=float, default=20, metavar="SECONDS",
                        help="stress load with no reading time for SECONDS, sampled by py-spy "
                             "when installed; summaries in bench/results/profile-*.txt (0: skip)")
    parser.add_argument("--no-profiler", action="store_true",
                        help="run the stress load without py-spy (sampling costs ~10 %% of throughput)")
    parser.add_argument("--setups", default=",".join(SETUPS),
                        help=f"comma-separated subset of {', '.join(SETUPS)}")
    parser.add_argument("--model", type=Path,
                        default=Path(os.environ.get("MEDINS_MODEL") or DEFAULT_MODEL))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.setups.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETUPS]
    if unknown:
        parser.error(f"unknown set-up(s) {unknown}; choose from {list(SETUPS)}")
    if not args.model.is_file():
        print(f"error: trained model {args.model} is missing: run `make train`", file=sys.stderr)
        return 2

    run: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "host": {"cpus": os.cpu_count(), "mem_gib": _mem_gib()},
        "phases": list(PHASES),
        "setups": [],
    }
    with tempfile.TemporaryDirectory(prefix="medins-bench-") as tmp:
        for name in names:
            try:
                result = run_setup(name, args, Path(tmp))
            except (StackConfigError, ProcessFailed, OSError) as exc:
                print(f"[{name}] skipped: {exc}", file=sys.stderr)
                result = {"name": name, "skipped": str(exc).splitlines()[0]}
            except Exception as exc:  # noqa: BLE001 - e.g. PostgreSQL/Redis unreachable
                print(f"[{name}] skipped: {exc.__class__.__name__}: {exc}", file=sys.stderr)
                result = {"name": name, "skipped": f"{exc.__class__.__name__}: {exc}"[:200]}
            run["setups"].append(result)
            _summary(result)

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = markdown(run)
    for stem in (stamp, "latest"):
        (args.out / f"{stem}.json").write_text(json.dumps(run, ensure_ascii=False, indent=2) + "\n")
        (args.out / f"{stem}.md").write_text(text)
    print(text)
    print(f"written: {args.out / (stamp + '.md')} and .json")
    return 1 if all(s.get("skipped") for s in run["setups"]) else 0


def _summary(result: dict[str, Any]) -> None:
    if result.get("skipped"):
        return
    c = result["chat"]
    print(f"[{result['name']}] {c['turns']} turns, {c['turns_per_second']} turns/s, "
          f"p50 {c['latency_ms']['p50']} ms, p95 {c['latency_ms']['p95']} ms, "
          f"errors {c['errors']}, RSS {result['rss_mib_total']} MiB", flush=True)


def _mem_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


if __name__ == "__main__":
    sys.exit(main())
