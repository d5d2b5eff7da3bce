"""Wall-clock time of each stage of a turn, per process, for the benchmark (issue #13).

Off unless ``MEDINS_STAGE_TIMING_DIR`` names a folder (``settings.Settings``); then
nothing is patched and nothing costs anything. On, every process appends one JSON
line per unit of work to ``<dir>/<role>-<pid>.jsonl``, and ``bench/stages.py`` joins
the lines of one turn across the processes:

- ``rasa`` (installed by :func:`stack.rasa_tuning.install`): one line per
  ``Agent.handle_message``, i.e. per message to the REST channel, with its sender, its
  start (``time.time()``), the whole ``turn`` and ``stages``: seconds per call of
  ``lock_acquire`` (``LockStore.issue_ticket`` + ``_acquire_lock``), ``lock_release``
  (``LockStore.cleanup``), ``lock_hold`` (acquired → release), ``handle_message``
  (``MessageProcessor.handle_message``, inside the lock), ``retrieve``
  (``MessageProcessor.get_tracker``), ``parse`` (``MessageProcessor.parse_message``),
  ``predict`` (``MessageProcessor._predict_next_with_tracker``, once per action),
  ``action_call`` (``RemoteAction.run``: the HTTP round trip and Rasa's work around it)
  and ``save`` (``MessageProcessor.save_tracker``); ``actions`` lists each remote call
  with its name and start;
- ``actions`` (installed by ``rasa_sdk_plugins``): one line per
  ``rasa_sdk.executor.ActionExecutor.run``: sender, action, start and ``own`` seconds
  (decoding the tracker, the action, encoding its events);
- ``gateway`` (installed by ``bot.app.create_app``): one line per request that called
  Rasa: sender, path, start, ``total`` (the handler) and ``rasa`` (``RasaClient.send``).

Only stages inside a timed turn are recorded: ``/model/parse`` alone writes nothing.
The module needs only the standard library at import (the gateway's virtualenv has no
Rasa); each ``install_*`` imports what it patches.
"""
from __future__ import annotations

import functools
import inspect
import json
import os
import threading
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

VARIABLE = "MEDINS_STAGE_TIMING_DIR"
# (class, attribute) → what was there before install, for uninstall().
ORIGINALS: dict[tuple[type, str], Any] = {}
_turn: ContextVar[Optional[dict]] = ContextVar("medins_stage_turn", default=None)
_request: ContextVar[Optional[dict]] = ContextVar("medins_stage_request", default=None)


def configured(environ: Optional[Mapping[str, str]] = None) -> Optional[Path]:
    """The folder from the settings, or None (timing off). Only this variable is read:
    another one set wrong (the retention job's, the gateway's) is for its own process
    to refuse, not a reason for Rasa's tracker store or the action server to fail."""
    from settings import Settings

    environ = os.environ if environ is None else environ
    return Settings.read({VARIABLE: environ.get(VARIABLE) or ""}).stage_timing_dir


class Recorder:
    """Appends JSON lines to ``<directory>/<role>-<pid>.jsonl``; one line per write."""

    def __init__(self, directory: Path, role: str) -> None:
        self.role = role
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._file = None

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({"role": self.role, **record}, ensure_ascii=False) + "\n"
        with self._lock:
            if self._file is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                path = self.directory / f"{self.role}-{os.getpid()}.jsonl"
                self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
            self._file.write(line)


def read(directory: Path) -> list[dict[str, Any]]:
    """Every complete record written under ``directory`` (all processes)."""
    out: list[dict[str, Any]] = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line being written right now
    return out


def installed() -> bool:
    return bool(ORIGINALS)


def uninstall() -> None:
    """Put every patched method back (tests)."""
    for (cls, name), original in ORIGINALS.items():
        setattr(cls, name, original)
    ORIGINALS.clear()


def _patch(cls: type, name: str, make: Callable[[Any], Any]) -> None:
    if (cls, name) in ORIGINALS:
        return
    original = cls.__dict__[name]
    wrapper = make(original)
    functools.update_wrapper(wrapper, original)
    ORIGINALS[(cls, name)] = original
    setattr(cls, name, wrapper)


def _add(record: dict, stage: str, seconds: float) -> None:
    record["stages"].setdefault(stage, []).append(seconds)


async def _written(recorder: "Recorder", record: dict, key: str, call: Callable[[], Any]) -> Any:
    """Await ``call()``, then store its seconds under ``key`` and write ``record``."""
    started = time.perf_counter()
    try:
        return await call()
    finally:
        record[key] = time.perf_counter() - started
        recorder.write(record)


After = Optional[Callable[[dict, float, float], None]]


def _timed(stage: str, after: After = None) -> Callable[[Any], Any]:
    """A wrapper of a method (``async def`` or plain) that adds its time to the current
    turn's ``stage`` and then calls ``after(record, started, ended)``."""
    def finish(record: dict, started: float) -> None:
        ended = time.perf_counter()
        _add(record, stage, ended - started)
        if after is not None:
            after(record, started, ended)

    def make(original):  # noqa: ANN001, ANN202
        if inspect.iscoroutinefunction(original):
            async def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN202
                record = _turn.get()
                if record is None:
                    return await original(self, *args, **kwargs)
                started = time.perf_counter()
                try:
                    return await original(self, *args, **kwargs)
                finally:
                    finish(record, started)
            return wrapper

        def plain(self, *args, **kwargs):  # noqa: ANN001, ANN202
            record = _turn.get()
            if record is None:
                return original(self, *args, **kwargs)
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                finish(record, started)
        return plain
    return make


def install_rasa(directory: Optional[Path] = None) -> bool:
    """Time the stages of every turn of this Rasa server; True when installed now."""
    directory = directory or configured()
    if directory is None:
        return False
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.lock_store import LockStore
    from rasa.core.processor import MessageProcessor

    if (Agent, "handle_message") in ORIGINALS:
        return False
    recorder = Recorder(directory, "rasa")

    def turn(original):  # noqa: ANN001, ANN202
        async def handle_message(self, message):  # noqa: ANN001, ANN202
            record = {"sender": message.sender_id, "start": time.time(), "stages": {},
                      "actions": []}
            token = _turn.set(record)
            try:
                return await _written(recorder, record, "turn", lambda: original(self, message))
            finally:
                _turn.reset(token)
        return handle_message

    def remote_action(original):  # noqa: ANN001, ANN202
        async def run(self, *args, **kwargs):  # noqa: ANN001, ANN202
            record = _turn.get()
            if record is None:
                return await original(self, *args, **kwargs)
            start, started = time.time(), time.perf_counter()
            try:
                return await original(self, *args, **kwargs)
            finally:
                took = time.perf_counter() - started
                _add(record, "action_call", took)
                record["actions"].append({"name": self.name(), "start": start, "seconds": took})
        return run

    def acquired(record: dict, _started: float, ended: float) -> None:
        record["_acquired"] = ended

    def released(record: dict, started: float, _ended: float) -> None:
        if "_acquired" in record:
            _add(record, "lock_hold", started - record.pop("_acquired"))

    _patch(Agent, "handle_message", turn)
    _patch(LockStore, "issue_ticket", _timed("lock_acquire"))
    _patch(LockStore, "_acquire_lock", _timed("lock_acquire", acquired))
    _patch(LockStore, "cleanup", _timed("lock_release", released))
    _patch(MessageProcessor, "handle_message", _timed("handle_message"))
    _patch(MessageProcessor, "get_tracker", _timed("retrieve"))
    _patch(MessageProcessor, "parse_message", _timed("parse"))
    _patch(MessageProcessor, "_predict_next_with_tracker", _timed("predict"))
    _patch(MessageProcessor, "save_tracker", _timed("save"))
    _patch(RemoteAction, "run", remote_action)
    return True


def install_action_server(directory: Optional[Path] = None) -> bool:
    """Time each action the action server runs; True when installed now."""
    directory = directory or configured()
    if directory is None:
        return False
    from rasa_sdk.executor import ActionExecutor

    if (ActionExecutor, "run") in ORIGINALS:
        return False
    recorder = Recorder(directory, "actions")

    def make(original):  # noqa: ANN001, ANN202
        async def run(self, action_call):  # noqa: ANN001, ANN202
            record = {"sender": (action_call.get("tracker") or {}).get("sender_id"),
                      "action": action_call.get("next_action"), "start": time.time()}
            return await _written(recorder, record, "own", lambda: original(self, action_call))
        return run

    _patch(ActionExecutor, "run", make)
    return True


def install_gateway(app: Any, rasa: Any, directory: Optional[Path] = None) -> bool:
    """Time the gateway's requests that call Rasa and, inside them, ``rasa.send``
    (an instance of ``bot.rasa_client.RasaClient``); True when installed."""
    if directory is None:
        return False
    from aiohttp import web

    recorder = Recorder(directory, "gateway")
    send = rasa.send

    async def timed_send(sender, *args, **kwargs):  # noqa: ANN001, ANN202
        record = _request.get()
        if record is None:
            return await send(sender, *args, **kwargs)
        started = time.perf_counter()
        try:
            return await send(sender, *args, **kwargs)
        finally:
            record["rasa"] += time.perf_counter() - started
            record["sender"] = sender

    @web.middleware
    async def stage_timing(request, handler):  # noqa: ANN001, ANN202
        record = {"sender": None, "path": request.path, "start": time.time(), "rasa": 0.0}
        token = _request.set(record)
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            record["total"] = time.perf_counter() - started
            _request.reset(token)
            if record["sender"] is not None:
                recorder.write(record)

    rasa.send = timed_send
    app.middlewares.insert(0, stage_timing)  # outermost: the error handler counts too
    return True
