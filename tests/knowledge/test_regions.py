"""The names of China's provinces and places (knowledge/regions.yml), found in a message."""
from __future__ import annotations

import pytest

from knowledge.regions import Region, Regions, regions


def found(text: str, table: Regions | None = None) -> list[tuple[str, str]]:
    return [(m.said, m.region.name) for m in (table or regions()).find(text)]


def test_every_province_is_there_with_its_short_name():
    table = regions()
    for short, province in [("北京", "北京市"), ("江苏", "江苏省"), ("广西", "广西壮族自治区"), ("新疆", "新疆维吾尔自治区"),
                            ("内蒙古", "内蒙古自治区"), ("西藏", "西藏自治区"), ("香港", "香港特别行政区"), ("重庆", "重庆市")]:
        assert found(short, table) == [(short, province)]
    assert len({table.province_of(p) for p in ("北京", "江苏", "广西", "新疆", "台湾", "澳门")}) == 6


@pytest.mark.parametrize("said, name, province", [
    ("南京", "南京市", "江苏省"), ("广州市", "广州市", "广东省"), ("延边", "延边朝鲜族自治州", "吉林省"),
    ("黔东南", "黔东南苗族侗族自治州", "贵州省"), ("阿克苏", "阿克苏地区", "新疆维吾尔自治区"),
    ("昆山", "昆山市", "江苏省"), ("渝中区", "渝中区", "重庆市"), ("庆阳", "庆阳市", "甘肃省"),
])
def test_places_by_short_and_full_name(said, name, province):
    assert regions().find(said)[0].region == Region(name, province)


def test_the_longest_name_wins_and_names_do_not_overlap():
    # 连云港市, not 连云区 inside it; 海南藏族自治州 is in 青海, 海南 alone the province.
    assert found("连云港市的医保去海南藏族自治州能用吗") == [("连云港市", "连云港市"), ("海南藏族自治州", "海南藏族自治州")]
    assert found("海南") == [("海南", "海南省")]


@pytest.mark.parametrize("text", [
    "医保定点医院有哪些", "民营口腔医院能刷医保吗", "每周口服的药能报吗", "合作医疗怎么交", "安宁疗护能报销吗",
    "东方红", "外来宾客", "三明治", "平安顺利", "白银首饰", "长寿老人", "江南岸边", "银行东城支行",
])
def test_everyday_words_are_no_place(text):
    assert found(text) == []


def test_a_county_two_cities_share_is_no_place():
    # 朝阳区 is in Beijing and in 长春: it names neither.
    assert found("朝阳区") == []


def test_places_added_by_their_own_aliases_win():
    table = regions().with_places([("连云港市", "江苏省", ("东海", "灌南")), ("开平市", "广东省", ("开平",))])
    assert found("东海的去灌南", table) == [("东海", "连云港市"), ("灌南", "连云港市")]
    assert found("开平", table) == [("开平", "开平市")]
    assert found("开平区", table) == [("开平区", "开平区")]   # 唐山's district keeps its full name


def test_which_prefecture_and_province_a_place_lies_in():
    table = regions()
    assert table.contains("庆阳市", "正宁县") and table.contains("甘肃省", "正宁县")
    assert table.contains("重庆市", "开州区") and not table.contains("庆阳市", "开州区")
    assert not table.contains("庆阳市", "庆阳市")


def test_short_names_withheld_as_everyday_words_name_no_place():
    from devtools.regions import NOT_SHORT

    table = regions()
    for word in NOT_SHORT:
        # A province keeps its own short name (河北); no other place is named by it.
        assert all(m.region.name == m.region.province for m in table.find(word) if m.said == word), word
