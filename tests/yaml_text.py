"""Shared by tests that read content files as data: every string a YAML document holds."""
from __future__ import annotations

from typing import Any, Iterator


def strings(node: Any) -> Iterator[str]:
    """Every string in ``node`` (mappings' values and lists, nested), in document order."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
