"""Residents' conversations through the running gateway, model and action server."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import Resident, get_json

pytestmark = pytest.mark.stack


def resident(gateway: str, **kw) -> Resident:
    return Resident(gateway, f"e2e-{uuid.uuid4().hex[:8]}", **kw)


def test_health_reports_every_part(gateway):
    status, body = get_json(f"{gateway}/health")
    assert status == 200 and body == {"status": "ok", "rasa": "ok", "actions": "ok"}


def test_place_given_first_is_used_for_the_question(gateway):
    r = resident(gateway)
    r.say("你好")
    r.say("我在长春")
    reply = r.say("异地就医备案咋整啊")
    text = Resident.text(reply)
    assert "依据：" in text and "您是在哪里参保的" not in text
    assert reply["handoff"] is None


def test_the_bot_asks_for_the_place_then_answers_without_repeating(gateway):
    r = resident(gateway)
    first = r.say("我妈高血压 能不能办门诊慢特病")
    assert "您是在哪里参保的" in Resident.text(first)
    titles = [b["title"] for b in first["replies"][-1]["buttons"]]
    assert "正宁县" in titles
    button = next(b for b in first["replies"][-1]["buttons"] if b["title"] == "正宁县")
    answer = Resident.text(r.say(button["payload"]))
    assert "慢特病" in answer and "依据：" in answer


def test_follow_ups_refine_the_same_topic(gateway):
    r = resident(gateway, city="开州区")
    r.say("怎么办理异地就医备案")
    for follow_up in ("那需要带什么材料", "在哪里办"):
        text = Resident.text(r.say(follow_up))
        assert "依据：" in text or "12393" in text, follow_up


def test_elder_mode_answers_briefly_and_repeats(gateway):
    standard = Resident.text(resident(gateway, city="江门市").say("医保电子凭证怎么激活"))
    elder_resident = resident(gateway, city="江门市", mode="elder")
    elder = Resident.text(elder_resident.say("医保电子凭证怎么激活"))
    assert len(elder) < len(standard)
    assert Resident.text(elder_resident.say("再说一遍")) == elder


def test_plan_figures_come_with_their_year(gateway):
    text = Resident.text(resident(gateway, city="正宁县").say("正宁县居民门诊慢特病有多少种"))
    assert "52" in text and "2020" in text


def test_asking_for_a_person_gives_a_ticket(gateway):
    reply = resident(gateway, city="连云港市").say("我要转人工")
    assert reply["handoff"]["hotline"] == "12393"
    assert reply["handoff"]["ticket"] in Resident.text(reply)


def test_out_of_scope_is_not_answered_as_medical_insurance(gateway):
    text = Resident.text(resident(gateway).say("我的公积金怎么提取"))
    assert "12345" in text and "依据：" not in text


def test_traditional_and_full_width_input(gateway):
    text = Resident.text(resident(gateway, city="长春市").say("異地就醫備案怎麼辦理"))
    assert "依据：" in text
