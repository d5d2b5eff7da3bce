"""National follow-ups for chronic-disease recognition and remote-care filing.

Where a place's own entry says nothing about doing it without a smartphone or
having family do it, the resident now gets the national rule (医保发〔2020〕54号:
windows may not turn people away because it can be done online; family and friends
can act for older people at the window), with its citation, instead of the hotline
only. The expected sentences are read from the loaded knowledge base; only the
document number and the points that make the rule are written here.
"""
from __future__ import annotations

import pytest

from actions.common import say
from tests.actions.test_aspects import follow_up

DOC_NO = "医保发〔2020〕54号"


def places_without(kb, topic: str, field: str) -> list[str]:
    """Places with a local entry for ``topic`` that says nothing for ``field``."""
    names = []
    for place in kb.places():
        local = kb.answer(topic, place.name)
        if local.scope == "local" and not tuple(v for v in getattr(local, field) if v):
            names.append(place.name)
    return names


@pytest.mark.parametrize("mode", ("standard", "elder"))
@pytest.mark.parametrize("topic,aspect,field,points", [
    ("ask_chronic_disease_outpatient", "proxy", "proxy", ("家人或亲友", "代办", "12393")),
    ("ask_chronic_disease_outpatient", "offline", "offline", ("窗口", "拒绝受理")),
    ("ask_remote_care_filing", "proxy", "proxy", ("家人或亲友", "窗口", "12393")),
    ("ask_remote_care_filing", "offline", "offline", ("不能因为网上能办", "也提供预约")),
])
async def test_a_place_without_its_own_rule_gets_the_national_one(shared_kb, topic, aspect, field, points, mode):
    kb = shared_kb
    national = kb.answer(topic, None)
    items = tuple(v for v in getattr(national, field) if v)
    assert items, f"national {topic} has no {field}"
    assert DOC_NO in national.source.short
    places = places_without(kb, topic, field)
    assert places, f"every place has its own {topic} {field}; the national rule is never used"
    for name in places:
        reply, _ = await follow_up(kb, name, topic, mode, aspect)
        case = f"{name} {topic} {aspect} {mode}: {reply}"
        assert all(item in reply for item in items), case
        assert all(point in reply for point in points), case
        assert f"依据：{national.source.short}" in reply and DOC_NO in reply, case
        assert say("follow_up.national_for_place", place=name) in reply, case


@pytest.mark.parametrize("mode", ("standard", "elder"))
async def test_chronic_materials_give_the_national_cap_and_where_to_ask(shared_kb, mode):
    """全国医疗保障经办政务服务事项清单 (2020): at most 4 kinds of papers; which ones, the place says."""
    kb = shared_kb
    topic = "ask_chronic_disease_outpatient"
    national = kb.answer(topic, None)
    assert "全国医疗保障经办政务服务事项清单" in national.source.short
    places = places_without(kb, topic, "materials")
    assert places
    for name in places:
        reply, _ = await follow_up(kb, name, topic, mode, "materials")
        assert all(m in reply for m in national.materials), reply
        assert "不超过4种" in reply and "12393" in reply and "全国医疗保障经办政务服务事项清单" in reply, reply


async def test_chronic_materials_no_longer_name_an_unsourced_list(shared_kb):
    """The national materials said 病历和检查报告 without a document saying so."""
    national = shared_kb.answer("ask_chronic_disease_outpatient", None)
    assert national.materials and all("病历" not in m for m in national.materials + national.steps)
    assert any("参保地" in m and "12393" in m for m in national.materials)
