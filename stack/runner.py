"""Start, watch and stop the assistant's processes: actions, N Rasa servers, gateway."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

from stack.config import CREDENTIALS, ROOT, StackConfig, StackConfigError
from stack.process import ManagedProcess, ProcessFailed, http_get, json_ok, tree_rss_kib


class Stack:
    """The running assistant. Use as a context manager, or start()/stop().

    >>> with Stack(StackConfig.for_tests(production=True, rasa_servers=2, env=env)) as s:
    ...     s.config.gateway_url     # POST /api/chat here
    ...     s.kill_rasa(0)           # crash one Rasa server
    ...     s.restart("rasa-0")      # bring it back

    Process names: ``actions``, ``rasa-0`` … ``rasa-<N-1>``, ``gateway``.
    """

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.processes: dict[str, ManagedProcess] = {}
        self.startup_seconds: dict[str, float] = {}
        self.api_key_file: Path | None = None

    # -- lifecycle ------------------------------------------------------

    def start(self) -> "Stack":
        """Start every process in parallel and wait until all are healthy.

        Raises :class:`StackConfigError` before starting anything when the
        configuration cannot work, and :class:`ProcessFailed` (after stopping
        whatever did start) when a process dies or stays unhealthy.
        """
        self.config.check()
        if self.config.load_knowledge:
            self._load_knowledge()
        if self.config.retention:
            self._run_once(["retention", "purge"], self.config.gateway_python)
        self.processes = {p.name: p for p in self._build()}
        try:
            # Everything at once: Rasa's 20–40 s of TensorFlow import and model
            # loading dominate, and N servers load side by side.
            for proc in self.processes.values():
                proc.start()
            self._wait(list(self.processes.values()))
        except BaseException:
            self.stop()
            raise
        return self

    def write_api_key(self) -> Path:
        """The stack's API key secret in ``<var>/run/stack-api-key`` (mode 600), for curl."""
        path = self.config.var_dir / "run" / "stack-api-key"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.config.api_key + "\n")
        self.api_key_file = path
        return path

    def stop(self) -> None:
        """Stop the gateway first (no new traffic), then Rasa, then actions."""
        order = sorted(self.processes.values(), key=lambda p: _stop_rank(p.name))
        for proc in order:
            proc.stop()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def kill_rasa(self, index: int) -> None:
        """SIGKILL Rasa server ``index`` (and its children): a crash, not a shutdown."""
        self.processes[f"rasa-{index}"].kill()

    def kill(self, name: str) -> None:
        """SIGKILL any process by name."""
        self.processes[name].kill()

    def restart(self, name: str | int) -> float:
        """Stop (if running) and start one process; seconds until it was healthy.

        ``name`` is a process name, or an int for ``rasa-<int>``.
        """
        key = f"rasa-{name}" if isinstance(name, int) else name
        proc = self.processes[key]
        proc.stop()
        proc.start()
        self._wait([proc])
        return self.startup_seconds[key]

    # -- inspection -----------------------------------------------------

    def pids(self) -> dict[str, int | None]:
        """Process id (= process group id) of each process."""
        return {name: p.pid for name, p in self.processes.items()}

    def running(self) -> dict[str, bool]:
        return {name: p.running() for name, p in self.processes.items()}

    def rss_kib(self) -> dict[str, int]:
        """Resident memory of each process including its children, in KiB."""
        return {
            name: tree_rss_kib(p.pid)
            for name, p in self.processes.items()
            if p.pid is not None and p.running()
        }

    def log_path(self, name: str) -> Path:
        return self.processes[name].log_path

    def rasa_processes(self) -> Iterator[ManagedProcess]:
        for i in range(self.config.rasa_servers):
            yield self.processes[f"rasa-{i}"]

    def dead(self) -> list[str]:
        """Names of processes that have exited."""
        return [name for name, p in self.processes.items() if not p.running()]

    # -- internals ------------------------------------------------------

    def _wait(self, procs: list[ManagedProcess]) -> None:
        pending = list(procs)
        while pending:
            for proc in list(pending):
                if proc.check():
                    self.startup_seconds[proc.name] = proc.ready_after or 0.0
                    pending.remove(proc)
                elif time.monotonic() > proc.started_at + proc.timeout:
                    raise proc.failure(f"did not become healthy within {proc.timeout:.0f} s")
            if pending:
                time.sleep(0.5)

    def _load_knowledge(self) -> None:
        """Knowledge base and ticket tables into DATABASE_URL (both idempotent)."""
        for command in (["knowledge", "load"], ["hotline", "init-db"]):
            self._run_once(command, self.config.python)

    def _run_once(self, command: list[str], python: str) -> str:
        """``python -m <command>`` to completion; its output. Raises ProcessFailed."""
        result = subprocess.run(
            [python, "-m", *command],
            cwd=ROOT, env=self.config.base_env(), capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0:
            raise ProcessFailed(
                f"`python -m {' '.join(command)}` failed:\n"
                + (result.stderr or result.stdout)[-3000:]
            )
        return result.stdout

    def _build(self) -> list[ManagedProcess]:
        cfg = self.config
        base = cfg.base_env()
        token = cfg.rasa_token
        out: list[ManagedProcess] = []

        actions_env = dict(base)
        actions_env["SANIC_HOST"] = cfg.host  # rasa_sdk binds 0.0.0.0 otherwise
        out.append(ManagedProcess(
            name="actions",
            argv=[cfg.rasa_bin, "run", "actions", "--actions", "actions",
                  "--port", str(cfg.actions_port)],
            env=actions_env, cwd=ROOT,
            log_path=cfg.log_dir / f"actions-{cfg.actions_port}.log",
            health=_url_check(f"{cfg.action_server_url}/health"),
            timeout=cfg.actions_timeout,
        ))

        endpoints = cfg.endpoints_file()
        rasa_env = cfg.rasa_env()
        for i, port in enumerate(cfg.rasa_ports):
            argv = [cfg.rasa_bin, "run", "--enable-api",
                    "--model", str(cfg.model),
                    "--endpoints", str(endpoints),
                    "--credentials", str(CREDENTIALS),
                    "--interface", cfg.host, "--port", str(port)]
            status = f"http://{cfg.host}:{port}/status"
            if token:
                # Required in production (checked), honoured when set anywhere.
                # One argument with "=": a token starting with "-" is not an option.
                argv += [f"--auth-token={token}"]
                status += f"?token={token}"
            out.append(ManagedProcess(
                name=f"rasa-{i}", argv=argv, env=rasa_env, cwd=ROOT,
                log_path=cfg.log_dir / f"rasa-{port}.log",
                health=_rasa_check(status), timeout=cfg.rasa_timeout,
            ))

        if cfg.gateway:
            gw_env = dict(base)
            gw_env.update({
                "RASA_URLS": ",".join(cfg.rasa_urls),
                "GATEWAY_PORT": str(cfg.gateway_port),
                "GATEWAY_HOST": cfg.host,
            })
            if token:
                gw_env["RASA_TOKEN"] = token
            out.append(ManagedProcess(
                name="gateway", argv=[cfg.gateway_python, "-m", "bot"], env=gw_env, cwd=ROOT,
                log_path=cfg.log_dir / f"gateway-{cfg.gateway_port}.log",
                health=_url_check(f"{cfg.gateway_url}/health"),
                timeout=cfg.gateway_timeout,
            ))
        if cfg.retention:
            # The first purge ran before start(); this one repeats it on schedule.
            out.append(ManagedProcess(
                name="retention", argv=[cfg.gateway_python, "-m", "retention", "run", "--wait-first"],
                env=base, cwd=ROOT, log_path=cfg.log_dir / f"retention-{cfg.gateway_port}.log",
                health=lambda: True, timeout=cfg.gateway_timeout,
            ))
        return out


def _stop_rank(name: str) -> int:
    return {"gateway": 0, "actions": 2}.get(name, 1)


def _url_check(url: str):
    return lambda: json_ok(url)


def _rasa_check(status_url: str):
    """Rasa is ready when /status names a loaded model (the port opens after loading)."""

    def check() -> bool:
        code, body = http_get(status_url)
        return code == 200 and b"model_file" in body

    return check


def describe(stack: Stack) -> str:
    """Human summary printed by ``python -m stack run``."""
    cfg = stack.config
    mode = "production" if cfg.production else "embedded"
    lines = [f"medins assistant running ({mode}, {cfg.rasa_servers} Rasa server(s))"]
    for name, proc in stack.processes.items():
        took = stack.startup_seconds.get(name)
        lines.append(f"  {name:<9} pid {proc.pid:<7} ready in {took:5.1f} s   log {proc.log_path}")
    lines += [
        "",
        f"  web chat:     {cfg.gateway_url}/" if cfg.gateway else "  (no gateway)",
        f"  chat API:     POST {cfg.gateway_url}/api/chat" if cfg.gateway else "",
        (f"                X-Api-Key: the secret in {stack.api_key_file} (senders become "
         f"api:stack:<sender>); without it the conversation is the session cookie")
        if cfg.gateway and stack.api_key_file else None,
        ("  note: no GATEWAY_SECRET set, so this run signs sessions with a new secret; "
         "residents' sessions end when it stops") if cfg.gateway_secret_generated else None,
        f"  Rasa servers: {', '.join(cfg.rasa_urls)} (127.0.0.1 only)",
        f"  actions:      {cfg.action_server_url}/webhook",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(line for line in lines if line is not None)


__all__ = ["Stack", "StackConfig", "StackConfigError", "ProcessFailed", "describe"]
