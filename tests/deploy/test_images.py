"""Each image ships every project module its processes can import.

An image that lacks one builds or starts only to fail with ModuleNotFoundError: the
Rasa image once trained a model whose pipeline names ``nlu.ngram_intent`` without
copying ``nlu/``. No Docker engine is needed: the entry modules come from what each
image runs (its CMD, config.yml, the production endpoints), their imports are read
with ``ast`` (lazy imports inside functions included) and every project package or
module reached must be a COPY source of that image's Dockerfile.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _local(name: str) -> Path | None:
    """The project file or package a top-level import name refers to, if any."""
    top = name.split(".")[0]
    for candidate in (ROOT / top, ROOT / f"{top}.py"):
        if candidate.exists() and top != "tests":
            return candidate
    return None


def _files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _imports(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def project_closure(entries: set[str]) -> set[str]:
    """Top-level project packages/modules reachable by imports from ``entries``."""
    seen: set[str] = set()
    todo = [e.split(".")[0] for e in entries]
    while todo:
        top = todo.pop()
        path = _local(top)
        if top in seen or path is None:
            continue
        seen.add(top)
        for source in _files(path):
            todo += [n.split(".")[0] for n in _imports(source) if _local(n)]
    return seen


def copied(dockerfile: str) -> set[str]:
    """Top-level names the Dockerfile copies from the build context."""
    names = set()
    for line in re.findall(r"^COPY\s+(.+)$", (ROOT / "docker" / dockerfile).read_text(), re.M):
        if "--from=" in line:
            continue
        sources = [p for p in line.split() if not p.startswith("--")][:-1]
        names.update(Path(s).parts[0].removesuffix(".py") for s in sources)
    return names


def _dotted(names) -> set[str]:
    return {n for n in names if isinstance(n, str) and "." in n and _local(n)}


def rasa_entries() -> set[str]:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    endpoints = yaml.safe_load((ROOT / "endpoints.production.yml").read_text(encoding="utf-8"))
    components = [c["name"] for c in config.get("pipeline", []) + config.get("policies", [])]
    stores = [(endpoints.get(k) or {}).get("type") for k in ("tracker_store", "lock_store", "event_broker")]
    return _dotted(components + stores)


IMAGES = {
    # Components and stores Rasa loads by dotted path; the action server's package and
    # its plugin hook; the gateway's `python -m bot` and the retention job it also runs.
    "rasa.Dockerfile": rasa_entries,
    "actions.Dockerfile": lambda: {"actions", "rasa_sdk_plugins"},
    "gateway.Dockerfile": lambda: {"bot", "retention"},
}


@pytest.mark.parametrize("dockerfile", sorted(IMAGES))
def test_the_image_copies_every_project_module_it_imports(dockerfile: str) -> None:
    entries = IMAGES[dockerfile]()
    assert entries, f"{dockerfile}: no entry module found"
    missing = project_closure(entries) - copied(dockerfile)
    assert not missing, f"{dockerfile} must COPY {sorted(missing)} (imported from {sorted(entries)})"


def test_the_closure_follows_imports() -> None:
    # nlu.ngram_intent imports nlu.features, which imports textproc.
    assert project_closure({"nlu.ngram_intent"}) >= {"nlu", "textproc"}
    assert "nlu.ngram_intent.NgramEnsembleIntentClassifier" in rasa_entries()


def assemble(dockerfile: str, app: Path) -> None:
    """Copy what the Dockerfile's COPY lines take from the context into ``app`` (its /app)."""
    for line in re.findall(r"^COPY\s+(.+)$", (ROOT / "docker" / dockerfile).read_text(), re.M):
        parts = [p for p in line.split() if not p.startswith("--")]
        *sources, dest = parts
        if "--from=" in line or not (dest.startswith("/app") or not dest.startswith("/")):
            continue
        target = app / dest.removeprefix("/app").lstrip("/")
        for source in sources:
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, target, dirs_exist_ok=True)
            else:
                to = target / src.name if dest.endswith("/") else target
                to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, to)


# What the action server does at start (``start --actions actions``): import every
# module of the package (``actions/__init__.py`` alone imports nothing) and load the
# plugin hooks, whose ModuleNotFoundError rasa_sdk swallows ("No plugins found": the
# server would run without its database engine), so the hook must be seen registered.
ACTION_SERVER_START = """
import sys
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.plugin import plugin_manager
executor = ActionExecutor()
executor.register_package("actions")
assert executor.actions, "no action registered"
names = {getattr(p, "__name__", "") for p in plugin_manager().get_plugins()}
assert "actions.lifecycle" in names, f"plugin hooks not registered: {names}"
"""


# The Rasa and action images run this test environment's packages (Rasa 3.6 and
# rasa_sdk); the gateway's are in .venv-gateway, so only the closure checks it.
@pytest.mark.parametrize("dockerfile", ["rasa.Dockerfile", "actions.Dockerfile"])
def test_the_entry_modules_import_from_the_image_files_alone(dockerfile: str, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    assemble(dockerfile, app)
    modules = sorted({e.rsplit(".", 1)[0] if dockerfile == "rasa.Dockerfile" else e for e in IMAGES[dockerfile]()})
    env = {k: v for k, v in os.environ.items() if k != "MEDINS_STAGE_TIMING_DIR"}
    env["PYTHONPATH"] = str(app)
    code = ("import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
            if dockerfile == "rasa.Dockerfile" else ACTION_SERVER_START)
    result = subprocess.run(
        [sys.executable, "-c", code, *modules],
        cwd=app, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"{dockerfile}: {modules}\n{result.stderr[-2000:]}"


@pytest.mark.parametrize("dockerfile", sorted(IMAGES))
def test_relative_copies_land_in_app_as_assemble_assumes(dockerfile: str) -> None:
    """``assemble`` puts a relative COPY destination under /app: that is the image's
    WORKDIR when the COPY runs, and the modules' PYTHONPATH."""
    text = (ROOT / "docker" / dockerfile).read_text()
    for match in re.finditer(r"^COPY\s+(.+)$", text, re.M):
        workdirs = re.findall(r"^WORKDIR\s+(\S+)", text[:match.start()], re.M)
        assert workdirs and workdirs[-1] == "/app", f"{dockerfile}: {match.group(0)} runs in {workdirs[-1:]}"
    assert re.search(r"^ENV PYTHONPATH=/app\b", text, re.M), f"{dockerfile}: PYTHONPATH is not /app"
