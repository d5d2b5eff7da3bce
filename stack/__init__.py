"""Start and stop the assistant's processes (``python -m stack run``).

Used by ``make run``, the end-to-end tests (``tests/stack/``) and the
benchmark (``bench/``)::

    from stack import Stack, StackConfig
    with Stack(StackConfig.for_tests(production=True, rasa_servers=2, env=env)) as s:
        ...
"""
from stack.config import StackConfig, StackConfigError, free_port, new_token
from stack.process import ProcessFailed
from stack.runner import Stack

__all__ = ["Stack", "StackConfig", "StackConfigError", "ProcessFailed", "free_port", "new_token"]
