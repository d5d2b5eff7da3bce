"""The validator's newer rules: Chinese numerals, every visible field, national rules in
our own words, tense as of late 2026, and the allow-list of apps and platforms.

Each bad fixture must be refused with a message naming file, entry and field.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.schema import arabic, cn_number, numbers_in, read_place_file, stale_phrases
from tests.knowledge.conftest import write_platforms

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FILING = "ceshi.yml: entries[0] ceshi.remote_care_filing: "


def _write(tmp_path: Path, doc: dict) -> Path:
    (tmp_path / "content").mkdir(exist_ok=True)
    (tmp_path / "sources").mkdir(exist_ok=True)
    (tmp_path / "sources" / "ceshi.txt").write_text((FIXTURES / "ceshi.txt").read_text("utf-8"), "utf-8")
    write_platforms(tmp_path)
    path = tmp_path / "content" / "ceshi.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    return path


def _doc() -> dict:
    return yaml.safe_load((FIXTURES / "ceshi.yml").read_text("utf-8"))


def _errors(tmp_path: Path, mutate) -> list[str]:
    doc = _doc()
    mutate(doc)
    _, errors = read_place_file(_write(tmp_path, doc))
    return errors


def _national_source(doc: dict, **changes) -> None:
    """Give the filing entry a national document cited in our own words."""
    source = {
        "document": "国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知",
        "doc_no": "医保发〔2022〕22号", "date": "2022年", "section": "备案有效期限",
        "says": "临时外出就医人员的备案有效期原则上不少于6个月。", "found_at": "readke.com/c/3391599.html",
    }
    source.update(changes)
    doc["entries"][0]["source"] = {k: v for k, v in source.items() if v is not None}


@pytest.mark.parametrize("words, digits", [
    ("六个月", "6个月"), ("百分之二十", "20%"), ("十个百分点", "10个百分点"), ("两年", "2年"),
    ("二十三种", "23种"), ("一千元", "1000元"), ("三万人", "30000人"),
    # Not figures: idioms, plan names, a lone 一, digits with 万.
    ("一站式", "一站式"), ("“十四五”期间", "“十四五”期间"), ("一次性告知", "一次性告知"),
    ("479.81万人", "479.81万人"),
])
def test_chinese_numerals_read_as_digits(words, digits):
    assert arabic(words) == digits


def test_cn_number():
    assert [cn_number(w) for w in ("六", "十", "十二", "二十", "一百零五", "两千", "三万")] == [
        6, 10, 12, 20, 105, 2000, 30000]
    assert cn_number("万") == 0 and cn_number("abc") is None


@pytest.mark.parametrize("mutate, field, expected", [
    # Chinese numerals are figures like digits.
    (lambda d: d["entries"][0].update(answer="备案有效期是六个月。"), "answer", "numbers not in the quoted source: 6"),
    (lambda d: d["entries"][0].update(brief="没备案的少报百分之二十。"), "brief", "numbers not in the quoted source: 20"),
    # Every field a resident sees is checked, old and new.
    (lambda d: d["entries"][0].update(title="异地就医备案（3个工作日办结）"), "title", "numbers not in the quoted source: 3"),
    (lambda d: d["entries"][0].update(channels=["拨打96102备案"]), "channels[0]", "numbers not in the quoted source: 96102"),
    (lambda d: d["entries"][0].update(materials=["近两年的病历"]), "materials[0]", "numbers not in the quoted source: 2"),
    (lambda d: d["entries"][0].update(eligibility=["在外地住满十二个月的人"]), "eligibility[0]", "numbers not in the quoted source: 12"),
    (lambda d: d["entries"][0].update(validity=["备案两年有效"]), "validity[0]", "numbers not in the quoted source: 2"),
    (lambda d: d["entries"][0].update(offline=["打电话0934-123备案"]), "offline[0]", "numbers not in the quoted source: 0934, 123"),
    (lambda d: d["entries"][0].update(proxy=["家人带5种材料代办"]), "proxy[0]", "numbers not in the quoted source: 5"),
    # Plan tasks told as if under way now, and past deadlines told as ahead.
    (lambda d: d["entries"][0].update(answer="测试县计划让异地就医备案在网上办理。"), "answer", "reads as under way"),
    (lambda d: d["entries"][0].update(brief="医保费正逐步改由税务部门征收。"), "brief", "'正逐步改由税务部门'"),
    (lambda d: d["entries"][0].update(steps=["测试县正在推广网上备案"]), "steps[0]", "reads as under way"),
    (lambda d: d["entries"][0].update(answer="测试县将建立统一的服务中心。"), "answer", "reads as under way"),
    (lambda d: d["entries"][0].update(answer="规划要求的网上备案，目标是2025年前完成。"), "answer", "'2025年前'"),
    (lambda d: d["entries"][0].update(answer="到2025年将实现网上备案。"), "answer", "'到2025年将'"),
    (lambda d: d["entries"][0].update(channels=["县里在推进的网上备案"]), "channels[0]", "reads as under way"),
    (lambda d: d["facts"][0].update(text="测试县要全面推行网上备案。"), "text", "reads as under way"),
    # Apps and platforms must be on the allow-list.
    (lambda d: d["entries"][0].update(answer="可以在“测试通”APP上办理。"), "answer", "not in knowledge/platforms.yml: '“测试通”APP'"),
    (lambda d: d["entries"][0].update(channels=["粤医保"]), "channels[0]", "not in knowledge/platforms.yml: '粤医保'"),
    (lambda d: d["entries"][0].update(steps=["打开测试县医保小程序"]), "steps[0]", "not in knowledge/platforms.yml: '测试县医保小程序'"),
    (lambda d: d["entries"][0].update(offline=["用微信城市服务缴费"]), "offline[0]", "not in knowledge/platforms.yml: '城市服务'"),
    # A national rule stated in our own words: its figures come from `says`.
    (lambda d: _national_source(d) or d["entries"][0].update(answer="备案有效期不少于十二个月。"), "answer",
     "numbers not in the quoted source: 12"),
    (lambda d: _national_source(d, date=None), "source.date", "is required with source.says"),
    (lambda d: _national_source(d, found_at=""), "source.found_at", "is required with source.says"),
    (lambda d: _national_source(d, says=None), "source.quote", "is required (or source.says"),
    (lambda d: d["entries"][0]["source"].update(says="测试县规划说备案要6个月。"), "source.says", "quoted verbatim"),
])
def test_each_rule_refuses_a_bad_fixture(tmp_path, mutate, field, expected):
    errors = _errors(tmp_path, mutate)
    item = "ceshi.yml: facts[0] ceshi.fact.enrolled_2020: " if field == "text" else FILING
    assert any(e.startswith(item + field + ": ") and expected in e for e in errors), errors


@pytest.mark.parametrize("mutate", [
    # What the rules must let through.
    lambda d: None,
    lambda d: _national_source(d) or d["entries"][0].update(
        answer="医保发〔2022〕22号规定，临时外出的备案有效期原则上不少于六个月。",
        validity=["临时外出就医人员的备案，有效期原则上不少于6个月"]),
    lambda d: d["facts"][1].update(text="规划提出要提高住院保障，目标是到2025年城乡居民住院基金支付比例达到70%左右。"),
    lambda d: d["entries"][1].update(answer="截至2020年，测试县在推进慢特病认定，居民慢特病病种扩展到40种。"),
    lambda d: d["entries"][0].update(answer="可以在国家医保服务平台APP或国家异地就医备案小程序办理，也可以用微信、支付宝。",
                                     channels=["国家医保服务平台APP", "“测试医保”微信公众号", "手机APP"]),
    lambda d: d["entries"][0].update(answer="到县医保窗口要先排队，需要推进度的请打12393。"),
])
def test_honest_content_passes(tmp_path, mutate):
    assert _errors(tmp_path, mutate) == []


def test_stale_phrases_finds_the_issue_examples():
    assert stale_phrases("长春计划让异地就医备案能在网上审批")
    assert stale_phrases("医保费正逐步改由税务部门征收")
    assert stale_phrases("目标是2025年前完成")
    assert stale_phrases("长春会扩大基层医院的医保定点")
    assert stale_phrases("不会用手机的，可以到社会保险经办机构办") == []
    assert stale_phrases("规划提出，到2025年目标是参保率稳定在95%以上。") == []
    assert stale_phrases("2020年，门诊费用跨省直接结算也在试点。") == []


def test_numbers_in_counts_chinese_figures():
    assert numbers_in("有效期原则上不少于六个月，降幅不超过十个百分点") == {"6", "10"}
    assert numbers_in("“十四五”期间一站式结算") == set()


@pytest.mark.parametrize("document, doc_no, section, short", [
    ("长春市医疗保障事业发展“十四五”规划", "", "三、主要任务", "《长春市医疗保障事业发展“十四五”规划》三、主要任务"),
    ("国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知", "医保发〔2022〕22号", "备案有效期限",
     "《国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》（医保发〔2022〕22号）备案有效期限"),
    ("中华人民共和国社会保险法；国税地税征管体制改革方案（中共中央办公厅、国务院办公厅）", "", "",
     "《中华人民共和国社会保险法》、《国税地税征管体制改革方案》（中共中央办公厅、国务院办公厅）"),
    ("河南省医疗保障服务中心《什么是医保电子凭证？》", "", "", "河南省医疗保障服务中心《什么是医保电子凭证？》"),
    ("中华人民共和国社会保险法；国务院办公厅关于健全基本医疗保险参保长效机制的指导意见（国办发〔2024〕38号）",
     "国办发〔2024〕38号", "社会保险法第二十三条；指导意见二、完善政策措施",
     "《中华人民共和国社会保险法》、《国务院办公厅关于健全基本医疗保险参保长效机制的指导意见》（国办发〔2024〕38号）"
     "；社会保险法第二十三条；指导意见二、完善政策措施"),
    ("关于印发“十四五”全民医疗保障规划的通知（国办发〔2021〕36号）", "国办发〔2021〕36号", "序言",
     "《关于印发“十四五”全民医疗保障规划的通知》（国办发〔2021〕36号）序言"),
])
def test_citation_residents_see(document, doc_no, section, short):
    from knowledge.schema import Source
    assert Source(document, section, "", None, doc_no=doc_no).short == short


def test_a_quote_may_join_excerpts_of_the_plan(tmp_path):
    joined = "开通“测试医保”微信公众号，实现异地就医备案网上办理。……城乡居民门诊慢特病病种扩展到40种。"
    assert _errors(tmp_path, lambda d: d["entries"][0]["source"].update(quote=joined)) == []
    forged = "开通“测试医保”微信公众号，实现异地就医备案网上办理。……备案当天办结。"
    errors = _errors(tmp_path, lambda d: d["entries"][0]["source"].update(quote=forged))
    assert errors == [FILING + "source.quote: does not occur verbatim in the plan text: 备案当天办结。…"]
