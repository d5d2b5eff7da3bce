"""Mask personal numbers so that trackers, logs and tickets never hold them.

Residents type, paste and dictate numbers in many ways: ``138-1234-5678``,
``１３８ １２３４ ５６７８``, ``幺三八，幺二三四，五六七八``, ``壹叁捌…``. The masker reads
the text once, character by character, into *digit groups* (runs of digits of
one script: ASCII/full-width, or spoken/大写 Chinese) and joins groups separated
only by short runs of separators (spaces, commas, dashes, dots, brackets) into
*chains*. Within a chain it looks, from left to right, for the longest run of
whole groups whose digits form a personal number, and replaces its span by one
placeholder per kind. Everything is linear in the length of the text: every
candidate run is capped at :data:`_MAX_RANGE_DIGITS` digits and
:data:`_MAX_RANGE_GROUPS` groups, and the only regular expressions are anchored
so that each starts once per word.

Two strengths of evidence:

- *structured* numbers are masked in any grouping: ID cards (18 digits with a
  birth date, or 17 + ``X``; 15-digit old IDs), mobiles (``1[3-9]`` + 9 digits,
  optionally ``+86``/``0086``), landlines with an area code (``0…``), and letter
  + 7–10 digit document numbers (passport, 港澳通行证, 社保卡);
- *length-only* numbers (local landlines of 7–8 digits, bank cards of 16–19,
  runs of 20 or more, unbroken runs of 11 or more) are masked unless they read
  as what residents need to see: hotlines (12393, 12345…), a list of years or of
  round amounts, a date, or a number followed by a unit (元, 年, %, 天…).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

ID_CARD_MASK = "[身份证号]"
MOBILE_MASK = "[手机号]"
BANK_CARD_MASK = "[银行卡号]"
LANDLINE_MASK = "[电话号码]"
DOCUMENT_MASK = "[证件号码]"
EMAIL_MASK = "[邮箱]"
NUMBER_MASK = "[号码]"

#: The placeholder written for each kind of finding.
MASKS = {
    "id_card": ID_CARD_MASK,
    "mobile": MOBILE_MASK,
    "bank_card": BANK_CARD_MASK,
    "landline": LANDLINE_MASK,
    "document": DOCUMENT_MASK,
    "email": EMAIL_MASK,
    "long_number": NUMBER_MASK,
}

# Chinese digit words as dictated and as speech recognition writes them: 幺 (1),
# 两 (2), 拐 (7), 洞 (0), 勾 (9) are how digits are read out over the phone; 大写
# numerals (壹贰叁…) are how they are written on forms. 十/拾 and the other place
# values are not digits: "壹仟贰佰元" is an amount, not a number to mask.
_CHINESE_DIGITS = {
    "零": "0", "〇": "0", "○": "0", "洞": "0",
    "一": "1", "幺": "1", "壹": "1",
    "二": "2", "两": "2", "兩": "2", "贰": "2", "貳": "2", "貮": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6", "陸": "6",
    "七": "7", "拐": "7", "柒": "7",
    "八": "8", "捌": "8",
    "九": "9", "勾": "9", "玖": "9",
}
# The ID card's check character, spoken as 叉; it only counts right after digits.
_CHECK_X = frozenset("XxＸｘ叉")
# Between digit groups: spaces, commas, dashes, dots, slashes and brackets, in
# ASCII and full-width forms; invisible characters count as separators too, so
# that a zero-width space cannot split a number in two.
_SEPARATORS = frozenset(
    " ,，、﹐﹑.。．｡·・•‧-‐‑‒–—―－﹣−_/／\\()（）"
)
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_MAX_GAP = 6                # separator characters between two groups of one chain
_MAX_RANGE_DIGITS = 40      # no personal number is longer; runs beyond are "long"
_MAX_RANGE_GROUPS = 20      # an ID dictated digit by digit is 18 groups

# Numbers residents are told to call: never part of a length-only match.
_SERVICE_NUMBERS = frozenset({
    "12393", "12345", "12333", "12320", "12315", "12356", "12338", "12348", "12366",
    "12368", "12369", "12110", "12123", "12306", "110", "119", "120", "122", "114",
})
# A number right before one of these is an amount, a date or a count.
_UNITS = frozenset("元块角万亿千百年月日号天周个次人岁%％‰倍项条页分秒米斤克度")
_CURRENCY = frozenset("¥￥$")
# Chinese mobile networks: 13x–19x.
_MOBILE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
# 18-digit ID: region, birth date (1800–2099), sequence, check character.
_ID18 = re.compile(r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]")
_ID15 = re.compile(r"[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}")
_DATE8 = re.compile(r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_YEAR = re.compile(r"(?:19|20)\d{2}")
# E-mail: the local part is read backwards from each "@" (up to the previous
# address), the domain forwards; both scans stop at the next "@", so each
# character is read at most twice and nothing backtracks across the text.
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# Web addresses (answers cite sources as "gansulong.com/c/030HP64532024.html"):
# their digits are page numbers, not phone or passport numbers, so inside one
# only an ID card or a mobile standing alone is masked. A placeholder already
# written into an address belongs to it, so masking twice changes nothing. Each
# attempt starts at the beginning of a word only (the lookbehind).
_URL = re.compile(
    r"(?<![A-Za-z0-9.\-/@_%])(?:https?://)?(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,}(?![A-Za-z0-9\-])"
    r"(?::\d{1,5})?(?:[/?#](?:\[(?:身份证号|手机号)\]|[\x21-\x7e…])*)?",
    re.IGNORECASE,
)
_URL_NUMBER = re.compile(r"\d+[Xx]?")


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


def ascii_fold(ch: str) -> str:
    """Full-width ASCII (``１``, ``Ａ``, ``＠``) as ASCII; one character in, one out."""
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    return ch


def digit_value(ch: str) -> tuple[str, str] | None:
    """``(digit, script)`` when ``ch`` stands for a digit, else None.

    Script ``"a"``: a decimal digit of any script (ASCII, full-width, …);
    ``"c"``: a Chinese digit word (lower-case, spoken or 大写).
    """
    if "0" <= ch <= "9":
        return ch, "a"
    spoken = _CHINESE_DIGITS.get(ch)
    if spoken is not None:
        return spoken, "c"
    if ch.isdigit():
        try:
            return str(unicodedata.digit(ch)), "a"
        except (TypeError, ValueError):
            return None
    return None


def _is_separator(ch: str) -> bool:
    if ch in _LINE_BREAKS:
        return False  # numbers on separate lines are separate numbers
    if ch in _SEPARATORS or ch.isspace():
        return True
    # Zero-width and other format characters, combining marks, controls.
    return unicodedata.category(ch) in ("Cf", "Cc", "Mn", "Me")


@dataclass
class _Group:
    start: int
    end: int            # exclusive
    digits: str         # ASCII digits, possibly ending with "X"
    script: str = "a"   # "a": decimal digits of any script; "c": Chinese digit words


def _groups(text: str, blocked: list[bool]) -> list[_Group]:
    """Runs of digits of one script; a check character ``X`` closes its run."""
    groups: list[_Group] = []
    current: list[str] = []
    start = script = None
    for pos, ch in enumerate(text):
        value = None if blocked[pos] else digit_value(ch)
        if value is not None and value[1] == script:
            current.append(value[0])
            continue
        if current:
            if ch in _CHECK_X and not blocked[pos]:
                current.append("X")
                groups.append(_Group(start, pos + 1, "".join(current), script))
                current, script = [], None
                continue
            groups.append(_Group(start, pos, "".join(current), script))
            current, script = [], None
        if value is not None:
            current, start, script = [value[0]], pos, value[1]
        elif ch in _CHECK_X and not blocked[pos] and _spaced_check(text, pos, groups):
            groups.append(_Group(pos, pos + 1, "X"))
    if current:
        groups.append(_Group(start, len(text), "".join(current), script))
    return groups


def _spaced_check(text: str, pos: int, groups: list[_Group]) -> bool:
    """An ``X`` standing alone after digits and separators ("… 0 0 2 X")."""
    if not groups or groups[-1].digits.endswith("X") or pos - groups[-1].end > _MAX_GAP:
        return False
    return all(_is_separator(c) for c in text[groups[-1].end:pos])


def _chains(text: str, groups: list[_Group]) -> list[list[_Group]]:
    """Groups joined by at most :data:`_MAX_GAP` separator characters on one line."""
    chains: list[list[_Group]] = []
    for group in groups:
        if chains:
            last = chains[-1][-1]
            gap = group.start - last.end
            if gap <= _MAX_GAP and all(_is_separator(c) for c in text[last.end:group.start]):
                chains[-1].append(group)
                continue
        chains.append([group])
    return chains


def _letter_prefix(text: str, start: int, floor: int) -> int:
    """Start of the 1–2 ASCII letters directly before ``start`` (a passport's
    ``E``, a 港澳通行证's ``C``, ``EA``), or ``start`` when there are none.

    ``floor``: the end of the previous digit group (its ``X`` is no letter).
    A third letter before makes it a word ("ABC1234567"), not a prefix.
    """
    end = start
    if end - 1 > floor and text[end - 1] in " \u3000" and _is_ascii_letter(text[end - 2]):
        end -= 1  # one space after the letter, as printed: "E 1234 5678"
    pos = end
    while pos > floor and end - pos < 3 and _is_ascii_letter(text[pos - 1]):
        pos -= 1
    if pos == end or end - pos > 2 or (pos > floor and _is_ascii_letter(text[pos - 1])):
        return start
    return pos


def _is_ascii_letter(ch: str) -> bool:
    folded = ascii_fold(ch)
    return folded.isascii() and folded.isalpha()


def _structured(digits: str, lettered: bool) -> str | None:
    """The kind of a number recognisable by its structure, in any grouping."""
    n = len(digits)
    if n < 7:
        return None
    if n == 18 and _ID18.fullmatch(digits):
        return "id_card"
    if n == 18 and digits.endswith("X") and digits[:17].isdigit():
        return "id_card"  # a mistyped birth date is still somebody's ID
    if "X" in digits:
        return None
    if n == 15 and _ID15.fullmatch(digits):
        return "id_card"
    if n in (11, 13, 15) and _MOBILE.fullmatch(digits):
        return "mobile"
    if lettered and 7 <= n <= 10:
        return "document"
    if digits[0] == "0" and n >= 10 and digits[1] != "0":
        # Area code 010/02x + 7–8 digits, or 0xxx + 7–8 digits.
        area = 3 if digits[1] in "12" else 4
        if 7 <= n - area <= 8 and digits[area] != "0":
            return "landline"
    return None


def _length_only(digits: str, chain: list[_Group], i: int, j: int) -> str | None:
    """The kind of a number recognisable only by its length, or None."""
    n = len(digits)
    number = digits[:-1] if digits.endswith("X") else digits
    if "X" in number:
        return None
    if 7 <= n <= 8 and "X" not in digits and digits[0] not in "01" and not _DATE8.fullmatch(digits):
        kind = "landline"
    elif 16 <= n <= 19:
        kind = "bank_card"
    elif n >= 20 or (n >= 11 and _glued(chain, i, j)):
        kind = "long_number"
    else:
        return None
    if i == j or _glued(chain, i, j):
        return kind  # one run of digits, not a list
    # Groups that touch (a change of script) read as one part of the list.
    parts = [chain[i].digits]
    for k in range(i + 1, j + 1):
        if chain[k - 1].end == chain[k].start:
            parts[-1] += chain[k].digits
        else:
            parts.append(chain[k].digits)
    if n < 16 and any(len(p) < 3 for p in parts[:-1]):
        return None  # "2026-11-30", "1,500,000": a date or an amount, not a phone
    # "12393，12345": the hotlines the bot itself names. Inside a run of groups a
    # "110" is part of the number ("1100001900 110 1000…").
    if _is_service_group(chain, i) or _is_service_group(chain, j):
        return None
    if any(_is_date(parts, k) for k in range(len(parts) - 2)):
        return None  # "2026-11-30，2026-12-01": dates
    if all(_YEAR.fullmatch(p) for p in parts) or all(len(p) <= 6 and p.endswith("00") for p in parts):
        return None  # "2020、2021、2022", "1500、3000、5000": years or amounts
    return kind


def _glued(chain: list[_Group], i: int, j: int) -> bool:
    """Groups i..j touch one another: one run of digits that only changes script
    ("00八一3000…"). A single Chinese digit at its end is a word ("…5678一直")."""
    if j > i and chain[j].script == "c" and len(chain[j].digits) == 1:
        return False
    return all(chain[k].end == chain[k + 1].start for k in range(i, j))


def _is_date(parts: list[str], k: int) -> bool:
    """Year, month, day as three groups from ``k`` ("2026-11-30", "2026.1.5")."""
    year, month, day = parts[k:k + 3]
    return bool(_YEAR.fullmatch(year)) and len(month) <= 2 and len(day) <= 2 \
        and 1 <= int(month) <= 12 and 1 <= int(day.rstrip("X") or 0) <= 31


def _is_service_group(chain: list[_Group], k: int) -> bool:
    """A hotline standing as a group of its own (not glued to other digits in
    another script, as in "3一一九0019…")."""
    if chain[k].digits not in _SERVICE_NUMBERS:
        return False
    glued_before = k > 0 and chain[k - 1].end == chain[k].start
    glued_after = k + 1 < len(chain) and chain[k].end == chain[k + 1].start
    return not (glued_before or glued_after)


def _next_char(text: str, pos: int) -> str:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return text[pos] if pos < len(text) else ""


def _prev_char(text: str, pos: int) -> str:
    while pos > 0 and text[pos - 1] == " ":
        pos -= 1
    return text[pos - 1] if pos > 0 else ""


def _is_amount(text: str, start: int, end: int) -> bool:
    """Digits ``text[start:end]`` followed by a unit or after a currency sign."""
    return _next_char(text, end) in _UNITS or _prev_char(text, start) in _CURRENCY


def _split_run(digits: str) -> list[tuple[int, str]] | None:
    """An unbroken run that is an ID and a mobile typed together: both parts."""
    for cut in (18, 15, 11):
        head, tail = digits[:cut], digits[cut:]
        first, second = _structured(head, False), _structured(tail, False)
        if first and second:
            return [(cut, first), (len(digits) - cut, second)]
    return None


def _matches(chain: list[_Group], i: int, lettered: bool) -> tuple:
    """The longest structured and the longest length-only match from group ``i``:
    ``(last group, kind)`` each, or None."""
    best_structured = best_length = None
    digits = ""
    for j in range(i, min(len(chain), i + _MAX_RANGE_GROUPS)):
        if j > i and chain[j - 1].digits.endswith("X"):
            break  # the check character ends a number
        digits += chain[j].digits
        if len(digits) > _MAX_RANGE_DIGITS:
            break
        kind = _structured(digits, lettered)
        if kind:
            best_structured = (j, kind)
        kind = _length_only(digits, chain, i, j)
        if kind:
            best_length = (j, kind)
    return best_structured, best_length


def _chain_spans(text: str, chain: list[_Group], floor: int,
                 spans: list[tuple[int, int, str]]) -> None:
    """Append the spans to mask in one chain: longest structured match from each
    group, else the longest length-only match; then go on after it."""
    found: list[tuple[int, int, str]] = []
    i, count = 0, len(chain)
    while i < count:
        prefix = _letter_prefix(text, chain[i].start, chain[i - 1].end if i else floor)
        best_structured, best_length = _matches(chain, i, prefix < chain[i].start)
        if best_structured and best_length and best_length[0] > best_structured[0]:
            end = best_structured[0]
            if chain[end].end == chain[end + 1].start and not chain[end].digits.endswith("X"):
                best_structured = None  # more digits follow without a separator
            elif _matches(chain, end + 1, False) == (None, None):
                # What would be left after the structured number is no number
                # of its own ("110000190101010 0011 3000000000"): all one run.
                best_structured = None
        if best_structured is None and best_length is not None:
            j, kind = best_length
            if kind == "long_number":
                # Past the caps, a long run goes on to the end of its chain.
                while j + 1 < count and not chain[j].digits.endswith("X") \
                        and not _is_service_group(chain, j + 1):
                    j += 1
                best_length = (j, kind)
            if _is_amount(text, chain[i].start, chain[j].end):
                i = j + 1  # an amount, a date or a count: keep all of it
                continue
            if i == j and kind == "long_number":
                parts = _split_run(chain[i].digits)
                if parts:
                    pos = chain[i].start
                    for length, part_kind in parts:
                        found.append((pos, pos + length, part_kind))
                        pos += length
                    i += 1
                    continue
        best = best_structured or best_length
        if best is None and len(chain[i].digits) > _MAX_RANGE_DIGITS:
            best = (i, "long_number")  # a run longer than any number: mask it whole
        if best is None:
            i += 1
            continue
        j, kind = best
        start, end = chain[i].start, chain[j].end
        if kind == "document":
            start = prefix
        elif kind == "mobile" and chain[i].digits.startswith("86") and start > 0 \
                and text[start - 1] in "+＋":
            start -= 1
        if start > 0 and text[start - 1] in "(（" and any(c in ")）" for c in text[start:end]):
            start -= 1
        if j + 1 < count and chain[j + 1].digits == "X":
            j += 1  # a check character set apart ("… 002 X") goes with its number
            end = chain[j].end
        found.append((start, end, kind))
        i = j + 1
    spans.extend(found + _left_over(text, chain, found))


def _left_over(text: str, chain: list[_Group], found: list[tuple[int, int, str]]
               ) -> list[tuple[int, int, str]]:
    """What the rules above left of personal numbers cut into odd groups or run
    together: a structured number (an ID, a mobile) kept inside a long run that
    ends in an amount ("…413000000000 110…204 13000000000元"); a group of 7+
    digits in a chain that holds a personal number; and 4+ digits in the groups
    right before or after a masked number ("110000190101010 2041300 00 00000",
    "1938 01 19 000101…": an ID's head read as a date). Digits before a unit or
    after a currency sign, 8-digit dates and the hotlines stay, unless they are an
    ID or a mobile."""
    covered = [any(s <= g.start < e for s, e, _ in found) for g in chain]
    extra: list[tuple[int, int, str]] = []
    for k, group in enumerate(chain):
        kind = None if covered[k] else _structured(group.digits, False)
        if kind:
            extra.append((group.start, group.end, kind))
            covered[k] = True
    if not any(covered):
        return extra

    def kept(a: int, b: int) -> bool:
        return _is_amount(text, chain[a].start, chain[b].end) \
            or any(_is_service_group(chain, k) for k in range(a, b + 1))

    k = 0
    while k < len(chain):
        if covered[k]:
            k += 1
            continue
        end = k
        while end + 1 < len(chain) and not covered[end + 1]:
            end += 1
        digits = sum(len(chain[i].digits.rstrip("X")) for i in range(k, end + 1))
        beside = (k > 0 and covered[k - 1]) or (end + 1 < len(chain) and covered[end + 1])
        longest = max(len(chain[i].digits.rstrip("X")) for i in range(k, end + 1))
        if not kept(k, end) and ((beside and digits >= 4) or (longest >= 7 and not any(
                _DATE8.fullmatch(chain[i].digits) for i in range(k, end + 1)))):
            extra.append((chain[k].start, chain[end].end, "long_number"))
        k = end + 1
    return extra


def _emails(folded: str) -> list[tuple[int, int]]:
    """Spans of e-mail addresses in the ASCII-folded text."""
    found: list[tuple[int, int]] = []
    last_end = 0
    at = folded.find("@")
    while at != -1:
        start = at
        while start > last_end and folded[start - 1] in _EMAIL_LOCAL:
            start -= 1
        domain = _EMAIL_DOMAIN.match(folded, at + 1)
        if start < at and domain:
            found.append((start, domain.end()))
            last_end = domain.end()
        at = folded.find("@", at + 1)
    return found


def mask_pii(text: str) -> tuple[str, PiiFindings]:
    """Replace personal numbers and e-mail addresses in ``text`` by placeholders.

    Returns the masked text and what was found (counts by kind). A placeholder
    ends a chain of digit groups, so what one pass kept beside a masked number
    (as part of an amount, say) can read differently on its own: passes repeat
    until nothing more is found (each one only removes digits), so masking masked
    text changes nothing.
    """
    findings = PiiFindings()
    for _ in range(8):
        text, found = _mask_once(text)
        if not found.found:
            break
        for kind, n in found.counts.items():
            findings.add(kind, n)
    return text, findings


def _mask_once(text: str) -> tuple[str, PiiFindings]:
    findings = PiiFindings()
    if not text:
        return text, findings
    folded = "".join(ascii_fold(ch) for ch in text)
    spans: list[tuple[int, int, str]] = []
    blocked = [False] * len(text)
    for start, end in _emails(folded):
        spans.append((start, end, "email"))
        for pos in range(start, end):
            blocked[pos] = True
    for url in _URL.finditer(folded):
        if blocked[url.start()]:
            continue
        for number in _URL_NUMBER.finditer(folded, url.start(), url.end()):
            kind = _structured(number.group().upper(), False)
            if kind in ("id_card", "mobile"):
                spans.append((number.start(), number.end(), kind))
        for pos in range(url.start(), url.end()):
            blocked[pos] = True
    floor = 0
    for chain in _chains(text, _groups(text, blocked)):
        _chain_spans(text, chain, floor, spans)
        floor = chain[-1].end
    if not spans:
        return text, findings
    spans.sort()
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        if start < pos:  # cannot happen (groups do not overlap e-mails); stay safe
            start = pos
        out.append(text[pos:start])
        out.append(MASKS[kind])
        findings.add(kind, 1)
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out), findings
