"""rasa_sdk's plugin package: rasa_sdk imports a top-level package of this name
and calls :func:`init_hooks` (``rasa_sdk/plugin.py``). Ours ties the database
engine to the action server's lifecycle (``actions/lifecycle.py``) and, for the
benchmark only, times each action (``stage_timing``)."""
from __future__ import annotations

import os


def init_hooks(manager) -> None:
    from actions import lifecycle

    manager.register(lifecycle)
    if os.environ.get("MEDINS_STAGE_TIMING_DIR", "").strip():
        # Only the benchmark sets it; stage_timing.py is not in the actions image.
        import stage_timing

        stage_timing.install_action_server()
