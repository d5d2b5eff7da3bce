"""rasa_sdk's plugin package: rasa_sdk imports a top-level package of this name
and calls :func:`init_hooks` (``rasa_sdk/plugin.py``). Ours ties the database
engine to the action server's lifecycle (``actions/lifecycle.py``) and, for the
benchmark only, times each action (``stage_timing``)."""
from __future__ import annotations


def init_hooks(manager) -> None:
    import stage_timing
    from actions import lifecycle

    manager.register(lifecycle)
    # Only the benchmark sets MEDINS_STAGE_TIMING_DIR; unset, nothing is patched.
    stage_timing.install_action_server()
