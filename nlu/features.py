"""The text the n-gram intent model reads.

Place names are folded to one token: where someone lives or was treated says nothing
about what they ask, and real messages name places the training data never saw.
(Extra features for the last, question-bearing clause of long messages were tried and
lowered accuracy on real residents' questions, so they are not used.)
"""
from __future__ import annotations

import functools
from pathlib import Path

from textproc.normalize import normalize

PLACE_TOKEN = "某地"
DICTIONARY_DIR = Path(__file__).resolve().parent.parent / "data" / "dict"


@functools.lru_cache(maxsize=1)
def _posseg():
    import jieba
    import jieba.posseg

    # The same dictionary the tokenizer uses, so place names carry their ``ns`` tag
    # whether this runs inside Rasa or in ``make eval``.
    for path in sorted(DICTIONARY_DIR.glob("*.txt")):
        jieba.load_userdict(str(path))
    return jieba.posseg


@functools.lru_cache(maxsize=4096)
def fold_places(text: str) -> str:
    """Replace place names (jieba's ``ns`` tag) with one token."""
    return "".join(PLACE_TOKEN if flag == "ns" else word for word, flag in _posseg().cut(text))


def model_view(text: str) -> str:
    """The message as the n-gram model reads it: normalised, places folded."""
    return fold_places(normalize(text))
