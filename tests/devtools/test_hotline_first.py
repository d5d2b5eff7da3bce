"""The count behind the README's figure of answers that name the hotline first."""
from __future__ import annotations

import dataclasses

import pytest

from actions import common
from devtools import hotline_first


@pytest.fixture
def gaps_in_answers(monkeypatch):
    """As before the gap field: the gap sentence closes the answer itself."""
    real = hotline_first.lookup

    def gap_in_answer(kb, ctx, topic):
        answer, national = real(kb, ctx, topic)
        if answer.gap:
            answer = dataclasses.replace(answer, answer=answer.answer + answer.gap, gap="")
        return answer, national

    monkeypatch.setattr(hotline_first, "lookup", gap_in_answer)


def test_gaps_no_longer_send_residents_to_the_phone_before_the_national_part(kb):
    result = hotline_first.count(kb)
    assert result.local >= 90 and result.with_national >= 80
    # What is left names a hotline as one channel among others or as the reporting step.
    assert len(result.hotline_first) <= 25
    assert "lianyungang.transfer" not in result.hotline_first


def test_a_gap_said_inside_the_answer_is_counted(kb, gaps_in_answers):
    result = hotline_first.count(kb)
    assert "lianyungang.transfer" in result.hotline_first and len(result.hotline_first) >= 75


def test_elder_mode_says_the_hotline_after_the_national_way_too(kb):
    result = hotline_first.count(kb, "elder")
    assert result.with_national >= 50
    assert "lianyungang.transfer" not in result.hotline_first


@pytest.mark.parametrize("mode", ["standard", "elder"])
def test_national_answers_give_their_steps_before_the_phone(kb, mode):
    """Where a place has no entry of its own (or no place is named), the national answer."""
    result = hotline_first.count_national(kb, mode)
    assert result.answers >= 30 and result.with_steps >= 25
    # Complaints: calling 12393 is the way itself, in the answer's first sentence.
    assert set(result.hotline_first) <= {"-:national.complain"}


def test_a_national_gap_said_inside_the_answer_is_counted(kb, gaps_in_answers):
    assert len(hotline_first.count_national(kb).hotline_first) >= 20


def test_no_answer_ends_by_naming_the_hotline_twice(kb):
    assert hotline_first.twice_at_the_end(kb) == []


def test_a_second_hotline_after_the_gap_is_counted(kb, monkeypatch):
    """As before 21d1ba8: the line on what no source gives named where to ask again."""
    monkeypatch.setitem(common.wording()["answer"], "missing_after_gap", "资料里没有写明：{labels}。请拨打{hotline}咨询。")
    found = hotline_first.twice_at_the_end(kb)
    assert "长春市:changchun.personal_account" in found and len(found) >= 10
