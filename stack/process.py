"""One supervised child process: own process group, log file, health probe."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence


class ProcessFailed(RuntimeError):
    """A process exited or stayed unhealthy; the message names it and quotes its log."""


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET ``url``: (status, body); (0, b"") when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - local URLs only
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read() or b""
    except (urllib.error.URLError, OSError, ValueError):
        return 0, b""


def json_ok(url: str, timeout: float = 2.0) -> bool:
    """True when ``url`` answers 200 (any JSON body, or plain text)."""
    status, body = http_get(url, timeout)
    if status != 200:
        return False
    try:
        json.loads(body or b"{}")
    except ValueError:
        pass  # Rasa's "/" answers plain text; 200 is what matters.
    return True


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file (empty when it does not exist)."""
    try:
        data = path.read_bytes()[-16384:]
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """A command started in its own process group so stop() reaches its children."""

    name: str
    argv: Sequence[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    health: Callable[[], bool]
    timeout: float
    popen: subprocess.Popen | None = field(default=None, repr=False)
    started_at: float = 0.0
    ready_after: float | None = None

    def start(self) -> None:
        """Spawn the process (returns at once; see :meth:`wait_healthy`)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab", buffering=0)  # noqa: SIM115 - child owns it
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start {self.name}: "
                  f"{' '.join(self.argv)}\n".encode())
        self.started_at = time.monotonic()
        self.ready_after = None
        # start_new_session: a new process group, so Ctrl-C in the terminal does
        # not hit the children twice and killpg() stops grandchildren too.
        self.popen = subprocess.Popen(
            list(self.argv),
            cwd=str(self.cwd),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def failure(self, why: str) -> ProcessFailed:
        """An error naming this process, its log file and the log's tail."""
        return ProcessFailed(
            f"{self.name} {why}; log {self.log_path} ends with:\n"
            + (tail(self.log_path) or "  (empty)")
        )

    def check(self) -> bool:
        """Healthy now? Raises when the process has exited."""
        if not self.running():
            code = self.popen.returncode if self.popen else None
            raise self.failure(f"exited with code {code} before becoming healthy")
        if self.health():
            if self.ready_after is None:
                self.ready_after = time.monotonic() - self.started_at
            return True
        return False

    def wait_healthy(self, poll: float = 0.5) -> float:
        """Block until healthy; seconds it took. Raises :class:`ProcessFailed`."""
        deadline = self.started_at + self.timeout
        while time.monotonic() < deadline:
            if self.check():
                return self.ready_after or 0.0
            time.sleep(poll)
        raise self.failure(f"did not become healthy within {self.timeout:.0f} s")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            _signal_group(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        # Leftover grandchildren of a process that died on its own.
        _signal_group(self.popen.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole group at once: a crash, for failover tests."""
        if self.popen is not None and self.popen.poll() is None:
            _signal_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def rss_kib(pid: int) -> int | None:
    """Resident memory of one process (VmRSS from /proc/<pid>/status), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc/*/stat parent links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its children together, in KiB."""
    return sum(rss_kib(p) or 0 for p in descendants(pid))
