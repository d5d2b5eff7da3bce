"""The masker: a table of real spellings, property tests with random numbers in
random renderings, the numbers residents need to see, and the real content."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.textproc.spellings import KEPT, PERSONAL
from tests.yaml_text import strings
from textproc import mask_pii
from textproc.pii import MASKS

ROOT = Path(__file__).resolve().parents[2]

# The test's own reading of digits, independent of the masker's: every way a
# digit can be written or dictated, back to ASCII.
_SPOKEN = {**{c: d for c, d in zip("零〇○洞", "0000")},
           **{c: "1" for c in "一幺壹"}, **{c: "2" for c in "二两兩贰貳"},
           **{c: "3" for c in "三叁"}, **{c: "4" for c in "四肆"}, **{c: "5" for c in "五伍"},
           **{c: "6" for c in "六陆陸"}, **{c: "7" for c in "七拐柒"}, **{c: "8" for c in "八捌"},
           **{c: "9" for c in "九勾玖"}}


def to_ascii_digits(text: str) -> str:
    """Full-width and spoken digits as ASCII; everything else unchanged."""
    out = []
    for ch in text:
        if ch in _SPOKEN:
            out.append(_SPOKEN[ch])
        elif ch.isdecimal():
            out.append(str(int(ch)))
        else:
            out.append(ch)
    return "".join(out)


# -- the table ---------------------------------------------------------------

@pytest.mark.parametrize("said, expected, number", PERSONAL, ids=[p[0] for p in PERSONAL])
def test_personal_numbers_are_masked(said: str, expected: str, number: str) -> None:
    masked, findings = mask_pii(said)
    assert masked == expected
    assert findings.found
    # The placeholders are the masker's, and no five digits of the number are left.
    assert set(re.findall(r"\[[^\]]+\]", masked)) <= set(MASKS.values())
    left = re.sub(r"[^0-9X]", "", to_ascii_digits(masked).upper())
    assert not any(number[k:k + 5] in left for k in range(len(number) - 4)), left


@pytest.mark.parametrize("said", KEPT)
def test_what_residents_need_to_see_is_kept(said: str) -> None:
    masked, findings = mask_pii(said)
    assert masked == said
    assert not findings.found


def test_the_table_is_large_enough() -> None:
    assert len(PERSONAL) >= 80 and len(PERSONAL) + len(KEPT) >= 120
    assert len({p[0] for p in PERSONAL}) == len(PERSONAL)


def test_findings_count_kinds_never_numbers() -> None:
    masked, findings = mask_pii("身份证11010519491231002X，手机13812345678，138 2222 7777，"
                                "卡6222021234567890123，邮箱a@b.cn，护照E12345678，座机0755-8888 6666")
    assert findings.counts == {"id_card": 1, "mobile": 2, "bank_card": 1, "email": 1,
                               "document": 1, "landline": 1}
    assert not re.search(r"\d{3}", repr(findings))


def test_every_answer_in_the_content_is_left_alone() -> None:
    """Tickets store bot answers too: no figure of the real content may be masked."""
    files = sorted((ROOT / "knowledge").rglob("*.yml")) + [ROOT / "domain.yml"]
    texts = [s for f in files for s in strings(yaml.safe_load(f.read_text(encoding="utf-8")))]
    texts += [line for f in sorted((ROOT / "knowledge" / "sources").glob("*.txt"))
              for line in f.read_text(encoding="utf-8").splitlines()]
    with_numbers = [t for t in texts if re.search(r"\d{3,}", t)]
    assert len(with_numbers) > 100  # the check reads the real content, not nothing
    changed = [t for t in texts if mask_pii(t)[1].found]
    assert changed == []


# -- random numbers, random renderings ----------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _check_char(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


@st.composite
def id_cards(draw) -> str:
    region = draw(st.integers(110000, 659999))
    year = draw(st.integers(1900, 2026))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    seq = draw(st.integers(0, 999))
    first17 = f"{region}{year}{month:02d}{day:02d}{seq:03d}"
    return first17 + _check_char(first17)


@st.composite
def old_id_cards(draw) -> str:
    region = draw(st.integers(110000, 659999))
    yy = draw(st.integers(0, 99))
    return f"{region}{yy:02d}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}" \
           f"{draw(st.integers(0, 999)):03d}"


mobiles = st.builds(lambda second, rest: f"1{second}{rest:09d}",
                    st.sampled_from("3456789"), st.integers(0, 10**9 - 1))

_RENDERINGS = {
    "0": "0０零〇洞", "1": "1１一幺壹", "2": "2２二两贰", "3": "3３三叁", "4": "4４四肆",
    "5": "5５五伍", "6": "6６六陆", "7": "7７七拐柒", "8": "8８八捌", "9": "9９九勾玖",
    "X": "XxＸ叉",
}
_SEPARATORS = ["", " ", "  ", ",", "，", "、", "。", "．", "·", ".", "-", "－", "—", " - ",
               "，，", "\u3000", "/", "\u200b", "\t"]
# Chinese text around the numbers: no digit words (一, 两…) and no X, so any
# digit left in the output came from the number. Units are in on purpose.
_WORDS = list("我的身份证号码是手机电话请帮查下备案异地就医报销怎么办元年月日天个人次岁号，。？！：")
chinese_text = st.lists(st.sampled_from(_WORDS + ["abc", " ", "E", "QQ", "电话："]),
                        max_size=8).map("".join)


@st.composite
def rendered(draw, number: str) -> str:
    """``number`` cut into random groups with random separators, each digit in a
    random script (ASCII, full-width, spoken with 幺/两/拐/洞/勾, 大写)."""
    out = []
    for pos, digit in enumerate(number):
        if pos and digit != "X" and draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(_SEPARATORS)))
        elif pos and digit == "X" and draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from([" ", "，", "-"])))
        out.append(draw(st.sampled_from(_RENDERINGS[digit])))
    return "".join(out)


def _assert_masked(text: str, number: str, masked: str) -> None:
    folded = to_ascii_digits(masked)
    assert not re.search(r"[0-9]", folded), (text, masked)
    assert number not in re.sub(r"\D", "", folded)


_SLOW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SLOW
@given(st.data(), st.one_of(id_cards(), old_id_cards(), mobiles), chinese_text, chinese_text)
def test_random_ids_and_mobiles_never_survive(data, number, before, after) -> None:
    text = before + data.draw(rendered(number)) + after
    masked, findings = mask_pii(text)
    _assert_masked(text, number, masked)
    kind = "mobile" if len(number) == 11 else "id_card"
    assert findings.counts.get(kind) == 1, (text, masked, findings.counts)


@_SLOW
@given(st.data(), id_cards(), mobiles, chinese_text, st.sampled_from(["", " ", "，", "\n"]))
def test_an_id_and_a_mobile_together_never_survive(data, id_card, mobile, before, sep) -> None:
    text = before + data.draw(rendered(id_card)) + sep + data.draw(rendered(mobile))
    masked, findings = mask_pii(text)
    # Glued to a mobile, an ID loses its shape: with the ID's tail cut into
    # groups ("…010 00 8138…"), a fragment of up to three digits may stand
    # between two placeholders; never four (a birth year) or more.
    digits = re.sub(r"(?<=\d)(?:\s|[,，、。．·./\-－—\u200b])+(?=\d)", "", to_ascii_digits(masked))
    assert not re.search(r"\d{4}", digits), (text, masked)
    assert sum(findings.counts.values()) >= 1


@_SLOW
@given(st.data(), mobiles, st.sampled_from(["+86", "+86 ", "86", "0086 ", "＋８６"]))
def test_mobiles_with_the_country_code_never_survive(data, mobile, prefix) -> None:
    text = "电话" + prefix + data.draw(rendered(mobile))
    masked, _ = mask_pii(text)
    assert masked == "电话[手机号]", (text, masked)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_unicode_never_raises_and_masking_is_idempotent(text) -> None:
    masked, _ = mask_pii(text)
    assert mask_pii(masked)[0] == masked


@_SLOW
@given(st.lists(st.one_of(chinese_text, id_cards(), mobiles, st.sampled_from(
    ["12393", "2025年", "1500元", "70%", " ", "，", "、", "-", "X", "叉", "E", "(", ")", "@", "."])),
    max_size=30))
def test_masking_mixed_text_is_idempotent(parts) -> None:
    masked, _ = mask_pii("".join(parts))
    again, findings = mask_pii(masked)
    assert again == masked and not findings.found


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(st.lists(st.sampled_from(
    ["1", "1 ", "2020、", "一", "a", "a@", "E1", "1X", ".", "-", "\u200b", "异地就医", "138 ",
     "11010519491231002X", "6222 "]), min_size=1, max_size=8), st.integers(0, 2**32))
def test_long_inputs(pieces, seed) -> None:
    """10,000 characters of the inputs most likely to make a scanner slow."""
    import random
    rng = random.Random(seed)
    text = "".join(rng.choice(pieces) for _ in range(10_000))[:10_000]
    masked, _ = mask_pii(text)
    assert mask_pii(masked)[0] == masked


@_SLOW
@given(st.lists(st.sampled_from(KEPT), max_size=12), st.sampled_from(["和", "或", "；然后", "\n"]))
def test_safe_numbers_stay_in_any_combination(parts, joiner) -> None:
    text = joiner.join(parts)
    assert mask_pii(text) == (text, mask_pii("")[1])


@pytest.mark.parametrize("text, expected", [
    # An 18-digit ID read as a 15-digit one, its tail and the mobile cut into odd
    # groups: the groups left over were kept (found by the property test above).
    ("110000190101010 2041300 0000000", "[身份证号] [电话号码] [号码]"),
    ("110000190101010 2041300 00 00000", "[身份证号] [电话号码] [号码]"),
    # An ID with an amount after it: the whole run was kept as an amount.
    ("110101199003077777 3000元", "[身份证号] 3000元"),
    ("11000019000101000413000000000 110000190001010004 13000000000元", "[号码] [身份证号] [手机号]元"),
    # An ID's head that reads as a date.
    ("1938 01 19 000101000113000000000", "[号码] [号码]"),
    # A run kept in one pass as an amount ("…号") but masked on its own: passes repeat.
    ("13000000000110000190001010004 13000000000 11000019000101000411000019000101000413000000000号",
     "[号码] [手机号] [号码]号"),
    # What stays: dates, amounts, the hotlines.
    ("2026-11-30 20261130", "2026-11-30 20261130"),
    ("补缴3000000元 ¥1500000", "补缴3000000元 ¥1500000"),
])
def test_numbers_cut_into_odd_groups_leave_nothing_behind(text: str, expected: str) -> None:
    assert mask_pii(text)[0] == expected
