"""Train the model only when its inputs changed, reusing a cache across clones.

The cache key is a hash of everything training reads (config, domain, data, our
tokenizer code, the locked package versions), so a cached model is never stale.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "assistant.tar.gz"
STAMP = ROOT / "models" / "assistant.key"
# Only the code the trained pipeline runs: masking changes in textproc/pii.py must not
# force a retrain.
INPUTS = ["config.yml", "domain.yml", "data", "textproc/normalize.py", "textproc/rasa_tokenizer.py",
          "nlu", "requirements.lock"]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("MEDINS_CACHE_DIR", Path(base) / "medins-assistant"))


def input_key() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:20]


def main() -> int:
    key = input_key()
    if MODEL.exists() and STAMP.exists() and STAMP.read_text().strip() == key:
        print(f"model up to date ({key})")
        return 0
    cached = cache_dir() / "models" / f"{key}.tar.gz"
    MODEL.parent.mkdir(exist_ok=True)
    if cached.exists():
        shutil.copyfile(cached, MODEL)
        STAMP.write_text(key)
        print(f"model restored from cache {cached}")
        return 0
    env = dict(os.environ)
    # Rasa's own component cache also survives fresh clones.
    env.setdefault("RASA_CACHE_DIRECTORY", str(cache_dir() / "rasa"))
    # `make validate` checks the same data first, with warnings as errors; validating it
    # again here cost about 45 s of every training run.
    cmd = [str(Path(sys.executable).parent / "rasa"), "train", "--skip-validation",
           "--fixed-model-name", "assistant", "--out", "models"]
    print("training:", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        return result.returncode
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MODEL, cached)
    STAMP.write_text(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
