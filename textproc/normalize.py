"""Normalise what residents type or dictate before NLU sees it."""
from __future__ import annotations

import functools
import re
import unicodedata

# Spoken digit runs ("幺二三九三", "一二三四五") come from speech recognition of
# phone numbers and hotlines; shorter runs are ordinary words (一二三 as "1, 2, 3").
_SPOKEN_DIGITS = {
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "二": "2", "两": "2",
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8",
    "九": "9", "勾": "9",
}
_DIGIT_RUN = re.compile("[零〇洞幺一二两三四五六七拐八九勾]{5,}")
# C0/C1 control characters (tabs and newlines are folded into spaces instead).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=1)
def _converter():
    import opencc  # imported lazily: the C extension loads its dictionaries once

    return opencc.OpenCC("t2s")


def _spoken_digits(match: re.Match) -> str:
    run = match.group(0)
    # Only runs made of the unambiguous digit words become numbers.
    if any(ch in "两拐洞勾" for ch in run) and not any(ch in "幺" for ch in run):
        return run
    return "".join(_SPOKEN_DIGITS[ch] for ch in run)


def normalize(text: str) -> str:
    """Return ``text`` in simplified Chinese, half-width, without control characters."""
    if not text:
        return ""
    text = _CONTROL.sub("", text)
    # NFKC folds full-width ASCII (１２３９３, ＡＰＰ) and compatibility forms.
    text = unicodedata.normalize("NFKC", text)
    text = _converter().convert(text)
    text = _DIGIT_RUN.sub(_spoken_digits, text)
    return _SPACES.sub(" ", text).strip()
