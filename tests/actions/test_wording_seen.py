"""The hotline number in the wording residents read, checked against the routing data
and the text of knowledge/wording as data — never by calling ``say`` on both sides."""
from __future__ import annotations

import yaml

from actions.answers import ActionAnswerTopic
from tests.actions.conftest import NATIONAL_HOTLINE, ROOT, Conversation, entity, wording
from tests.actions.test_answers import texts
from tests.yaml_text import strings


def test_the_default_hotline_is_the_national_medical_insurance_line():
    """A template's {hotline}, when no place routes elsewhere, is 12393: the national
    医保服务热线 that knowledge/hotline.yml routes medical-insurance business to."""
    data = yaml.safe_load((ROOT / "knowledge" / "hotline.yml").read_text(encoding="utf-8"))
    assert data["routing"]["default"]["business"] == NATIONAL_HOTLINE == "12393"
    assert data["hotlines"]["12393"]["name"] == "医保服务热线"


async def test_a_place_we_do_not_cover_is_told_the_hotline_number(shared_kb, domain):
    places = "、".join(p.name for p in shared_kb.places())
    convo = Conversation()
    convo.user("北京医保缴费渠道", "ask_payment_channels", [entity("city", "北京市", "北京")])
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    lines = messages[0]["text"].splitlines()
    assert lines[0] == wording("whereabouts.outside").format(place="北京市", places=places)
    # Where to ask comes after the national answer, not before it.
    assert "12393" not in lines[0] and "12393" in "".join(lines[1:])
    # A place the entity names that is no county or city we know of (a town): asked again.
    convo = Conversation()
    convo.user("周庄医保缴费渠道", "ask_payment_channels", [entity("city", "周庄", "周庄")])
    messages, _ = await convo.run(ActionAnswerTopic(), domain)
    first = messages[0]["text"]
    assert first.endswith("其他地方请拨打当地医保服务热线12393。")
    assert first == wording("follow_up.place_unknown").format(places=places, hotline="12393")


async def test_plan_figures_end_with_the_caveat_naming_the_hotline(shared_kb, domain):
    convo = Conversation(metadata={"city": "正宁县"})
    convo.user("正宁县居民慢特病有多少种", "ask_plan")
    reply = texts((await convo.run(ActionAnswerTopic(), domain))[0])
    caveat = wording("answer.facts_caveat").format(hotline=NATIONAL_HOTLINE)
    assert caveat in reply.splitlines() and caveat.endswith("现行标准请咨询12393。")


def test_the_wording_with_choices_leaves_how_to_choose_to_the_channel():
    """The web page shows buttons to tap, WeChat lists replies to type, the elder page
    reads out where to tap: an action's line saying "点下面的按钮" is wrong on WeChat."""
    data = yaml.safe_load((ROOT / "knowledge" / "wording" / "actions.yml").read_text(encoding="utf-8"))
    told = [s for s in strings(data) if "按钮" in s or "点下面" in s]
    assert told == []
