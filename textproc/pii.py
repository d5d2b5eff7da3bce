"""Mask personal numbers so that trackers, logs and tickets never hold them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Digits may be grouped with spaces or dashes, as people copy them from cards.
_SEP = r"[\s\-]?"
_ID_CARD = re.compile(
    r"(?<![0-9])[1-9]\d{5}" + _SEP + r"(?:18|19|20)\d{2}" + _SEP
    + r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])" + _SEP + r"\d{3}[0-9Xx](?![0-9])"
)
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[\s\-]?)?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}(?![0-9])")
_BANK_CARD = re.compile(r"(?<![0-9])\d{4}(?:" + _SEP + r"\d{4}){3}(?:" + _SEP + r"?\d{1,3})?(?![0-9])")
_LONG_DIGITS = re.compile(r"(?<![0-9])\d{15,19}(?![0-9])")

ID_CARD_MASK = "[身份证号]"
MOBILE_MASK = "[手机号]"
BANK_CARD_MASK = "[银行卡号]"


@dataclass
class PiiFindings:
    """What was masked, by kind: counts only, never the numbers themselves."""

    counts: dict = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.counts)

    def add(self, kind: str, n: int) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n


def mask_pii(text: str) -> tuple[str, PiiFindings]:
    """Replace ID-card, mobile and bank-card numbers in ``text`` by placeholders.

    ID cards are matched by their structure (region, birth date, check character)
    rather than by checksum: a mistyped number is still personal data.
    """
    findings = PiiFindings()
    if not text:
        return text, findings
    text, n = _ID_CARD.subn(ID_CARD_MASK, text)
    findings.add("id_card", n)
    text, n = _BANK_CARD.subn(BANK_CARD_MASK, text)
    findings.add("bank_card", n)
    text, n = _MOBILE.subn(MOBILE_MASK, text)
    findings.add("mobile", n)
    # Any remaining long digit run (old 15-digit IDs, unusual card lengths).
    text, n = _LONG_DIGITS.subn(BANK_CARD_MASK, text)
    findings.add("long_number", n)
    return text, findings
