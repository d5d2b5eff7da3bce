"""Rank short texts (facts, entries) against a resident's question.

The corpus per place is small (tens of items), so a transparent lexical score is
enough and explainable to staff: keyword hits weigh most, then shared words
(jieba) and shared character bigrams, which survive typos and odd segmentation.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from knowledge.schema import KEYWORD_GAP
from textproc import normalize

DICT_DIR = Path(__file__).resolve().parent.parent / "data" / "dict"
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# Words that carry no topic: question particles and fillers residents use a lot.
_STOP = set("的 了 吗 呢 啊 吧 呀 嘛 么 是 我 你 他 她 在 有 和 与 及 要 想 问 请问 一下 怎么 怎样 如何 什么 多少 哪里 哪些 能 可以 这个 那个 我们 咱 俺 就 都 也 还 还是 个 给 把 被 让".split())


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    for path in sorted(DICT_DIR.glob("*.txt")):
        jieba.load_userdict(str(path))
    return jieba


def words(text: str) -> list[str]:
    text = normalize(text)
    return [w for w in _jieba().lcut_for_search(text) if w.strip() and w not in _STOP and not _NON_WORD.fullmatch(w)]


def bigrams(text: str) -> set[str]:
    chars = _NON_WORD.sub("", normalize(text))
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


@functools.lru_cache(maxsize=8192)
def _features(text: str) -> tuple[frozenset, frozenset]:
    """Words and bigrams of a stored text; cached since the corpus rarely changes."""
    return frozenset(words(text)), frozenset(bigrams(text))


@functools.lru_cache(maxsize=8192)
def _normalized(keyword: str) -> str:
    return normalize(keyword)


# "没*备案": residents put words inside a phrase ("没办异地备案", "社保卡不小心丢了"), so a
# keyword's "*" stands for a few characters of the same clause.
_GAP_PATTERN = r"[^,.!?;:、。，！？；：\s]{0,10}"


@functools.lru_cache(maxsize=1024)
def _gapped(keyword: str) -> re.Pattern:
    return re.compile(_GAP_PATTERN.join(re.escape(normalize(part)) for part in keyword.split(KEYWORD_GAP)))


def matched_keywords(query: str, keywords: Iterable[str]) -> list[str]:
    """The ``keywords`` that occur in ``query``, both normalised (script, width, digits)."""
    return _in(normalize(query), keywords)


def _in(q_norm: str, keywords: Iterable[str]) -> list[str]:
    return [kw for kw in keywords if kw and _occurs(kw, q_norm)]


def _occurs(keyword: str, q_norm: str) -> bool:
    if KEYWORD_GAP in keyword:
        return _gapped(keyword).search(q_norm) is not None
    return _normalized(keyword) in q_norm


def warm_up() -> None:
    """Load jieba and its dictionaries now rather than on a resident's first question."""
    _jieba().lcut("异地就医备案")


@dataclass(frozen=True)
class Scored:
    item: object
    score: float


def rank(query: str, items: Sequence[object], fields: Iterable[str], keywords_field: str | None = None, limit: int = 3) -> list[Scored]:
    """Score ``items`` against ``query``; return the best ``limit`` with score > 0."""
    fields = tuple(fields)
    q_norm = normalize(query)
    q_words = set(words(query))
    q_bigrams = bigrams(query)
    if not q_bigrams and not q_words:
        return []
    docs = []
    for item in items:
        text = " ".join(str(getattr(item, f) or "") for f in fields)
        docs.append((item, *_features(text)))
    # Inverse document frequency keeps common words (医保, 医疗) from dominating.
    n = len(docs) or 1
    df: dict[str, int] = {}
    for _, ws, _ in docs:
        for w in ws:
            df[w] = df.get(w, 0) + 1
    scored = []
    for item, ws, bgs in docs:
        score = 0.0
        # Sorted: set order varies with hash seeds, and float sums with their order.
        for w in sorted(q_words & ws):
            score += math.log(1 + n / df[w]) * min(len(w), 4) / 2
        if q_bigrams:
            score += 2.0 * len(q_bigrams & bgs) / len(q_bigrams)
        if keywords_field:
            for kw in _in(q_norm, getattr(item, keywords_field) or ()):
                score += 2.0 + 0.5 * min(len(kw), 4)
        if score > 0:
            scored.append(Scored(item, round(score, 9)))
    scored.sort(key=lambda s: s.score, reverse=True)  # stable: ties keep the input order
    return scored[:limit]
