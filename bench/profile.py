"""Sampling profiles of the running processes (py-spy), summarised as text.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;… count``);
the summary keeps what a reader needs and stays small enough to commit: the share
of on-CPU samples inside each stage of a turn, and the functions that hold the
most samples, inclusive and self. Waiting (network, locks) is not on-CPU and so
not counted: this is where the CPU goes, which is what limits turns per second.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Stage → frame patterns (function name and file); a sample counts once per stage.
STAGES: dict[str, list[tuple[str, str]]] = {
    "rasa: NLU parse (parse_message)": [("parse_message", "rasa/core/processor.py")],
    "rasa: policy prediction (graph run for next action)": [
        ("_predict_next_with_tracker", "rasa/core/processor.py")],
    "rasa: tracker events → states (past_states)": [("past_states", "rasa/shared/core/trackers.py")],
    "rasa: tracker store retrieve (query + replay)": [("_retrieve", "rasa/core/tracker_store.py"),
                                                      ("retrieve", "rasa/core/tracker_store.py")],
    "rasa: tracker store save": [("save", "rasa/core/tracker_store.py")],
    "rasa: run actions (incl. tracker serialisation for the action server)": [
        ("_run_action", "rasa/core/processor.py")],
    "rasa: tracker serialisation (current_state)": [("current_state", "rasa/shared/core/trackers.py")],
    "rasa: lock store": [("lock_store.py", "")],
    "any: SQLAlchemy": [("", "sqlalchemy/")],
    "any: sanic / aiohttp HTTP": [("", "sanic/"), ("", "aiohttp/")],
    "any: JSON (de)serialisation": [("", "json/")],
    # The action server imports from its working directory: paths may be relative.
    "actions: action code (actions/)": [("", f"{ROOT}/actions/"), ("", "^actions/")],
    "actions: knowledge base (knowledge/)": [("", f"{ROOT}/knowledge/"), ("", "^knowledge/")],
    "gateway: bot/": [("", f"{ROOT}/bot/"), ("", "^bot/")],
}
# Leaf frames where a thread waits rather than works; py-spy does not always see
# these as idle (a thread-pool worker on its queue, the server's event loop).
IDLE_LEAVES = {("_worker", "concurrent/futures/thread.py"), ("serve", "sanic/server/runners.py"),
               ("select", "selectors.py"), ("wait", "threading.py"),
               ("run_forever", "asyncio/base_events.py"), ("_run_once", "asyncio/base_events.py")}
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def available() -> str | None:
    """The py-spy executable (the virtualenv's, else PATH), or None."""
    candidate = Path(sys.executable).with_name("py-spy")
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def record(pid: int, out: Path, seconds: float, rate: int = 97) -> subprocess.Popen:
    """Start ``py-spy record`` on ``pid`` (and its children) for ``seconds``."""
    exe = available()
    if exe is None:
        raise FileNotFoundError("py-spy is not installed (.venv/bin/pip install py-spy)")
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate),
         "--format", "raw", "--subprocesses", "--nonblocking", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for frame in stack.split(";"):
        m = _FRAME.match(frame.strip())
        out.append((m["func"], m["file"]) if m else (frame.strip(), ""))
    return out


def _matches(frame: tuple[str, str], pattern: tuple[str, str]) -> bool:
    func, path = frame
    want_func, want_file = pattern
    if want_func.endswith(".py"):
        return want_func in path
    if want_file.startswith("^"):  # a path relative to the working directory
        return not want_func and path.startswith(want_file[1:])
    return (not want_func or func == want_func) and (not want_file or want_file in path)


def summarise(raw: Path, title: str, top: int = 30) -> str:
    """A text summary of one collapsed-stack file."""
    total = idle = 0
    stage = Counter()
    inclusive: Counter = Counter()
    self_time: Counter = Counter()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = _frames(stack)
        if frames and any(frames[-1][0] == f and frames[-1][1].endswith(p) for f, p in IDLE_LEAVES):
            idle += n
            continue
        total += n
        for name, patterns in STAGES.items():
            if any(_matches(f, p) for f in frames for p in patterns):
                stage[name] += n
        seen = set()
        for func, path in frames:
            key = f"{func} ({_short(path)})"
            if key not in seen:
                inclusive[key] += n
                seen.add(key)
        if frames:
            func, path = frames[-1]
            self_time[f"{func} ({_short(path)})"] += n
    if not total:
        return f"# {title}\n\nno samples\n"

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f} %"

    lines = [f"# {title}", "", f"{total} on-CPU samples (all threads; {idle} more in waiting "
             "frames left out: thread-pool queues, the event loop).", "",
             "## Share of samples inside each stage (a sample can be in several)", ""]
    lines += [f"{pct(n)}  {name}" for name, n in stage.most_common() if n]
    lines += ["", f"## Top {top} functions, inclusive", ""]
    lines += [f"{pct(n)}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", f"## Top {top} functions, self", ""]
    lines += [f"{pct(n)}  {name}" for name, n in self_time.most_common(top)]
    return "\n".join(lines) + "\n"


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.10/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path
