"""Keyword matching of the resident's words (knowledge/retrieval.py)."""
from __future__ import annotations

import pytest

from knowledge.retrieval import matched_keywords


@pytest.mark.parametrize("text", [
    "走之前没备案",
    "走之前没办异地就医备案，出院全是自己掏的钱",
    "我没來得及辦異地備案",             # traditional script, normalised first
])
def test_a_gapped_keyword_allows_words_inside_the_phrase(text):
    assert matched_keywords(text, ["没*备案"]) == ["没*备案"]


@pytest.mark.parametrize("text", [
    "我没去过外地，备案要带什么",        # another clause
    "没有人告诉我们去医保局办理异地就医的那个备案",  # too far apart to be one phrase
    "备案没办",                          # the other order
])
def test_a_gapped_keyword_stays_within_one_short_phrase(text):
    assert matched_keywords(text, ["没*备案"]) == []


def test_a_plain_keyword_still_needs_the_exact_words():
    assert matched_keywords("社保卡不小心弄丢了", ["社保卡丢了", "社保卡*丢"]) == ["社保卡*丢"]
    assert matched_keywords("社保卡丢了", ["社保卡丢了", "社保卡*丢"]) == ["社保卡丢了", "社保卡*丢"]
