"""The honesty rules hold for every content file, and bad files are refused clearly."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from knowledge import lexicon, schema
from knowledge.schema import (
    DOC_NO,
    LIST_FIELDS,
    ContentError,
    numbers_in,
    read_all,
    read_place_file,
    squash,
)
from tests.knowledge.conftest import write_platforms

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_every_content_file_is_valid(content):
    ids = [p.id for p in content]
    assert "national" in ids
    assert {"lianyungang", "kaizhou", "changchun", "jiangmen", "zhengning"} <= set(ids)


def test_every_number_stated_is_in_its_source(content):
    """Every figure a resident can read is in the plan quote or the cited rule."""
    allowed_extra = {"12393", "12345"}
    for place in content:
        for item in [*place.entries, *place.facts]:
            texts = [getattr(item, "title", ""), getattr(item, "answer", ""), getattr(item, "brief", ""),
                     getattr(item, "gap", ""), getattr(item, "text", "")]
            texts += [line for fld in LIST_FIELDS for line in getattr(item, fld, ())]
            src = item.source
            if place.plan_title and src.document == place.plan_title:
                assert not src.says, item.id  # plan figures come from the verbatim quote only
            quoted = numbers_in(src.quote) | numbers_in(src.says) | allowed_extra | {str(src.as_of)}
            for t in texts:
                for doc_no in DOC_NO.findall(f"{src.document} {src.doc_no}"):
                    t = t.replace(doc_no, "")
                assert numbers_in(t) <= quoted, (item.id, t, numbers_in(t) - quoted)


def test_plan_quotes_are_verbatim(content):
    for place in content:
        if place.is_national:
            continue
        plan = squash(place.plan_text)
        for item in [*place.entries, *place.facts]:
            if item.source.document == place.plan_title:
                # Excerpts joined by "……" are each verbatim.
                for part in re.split("……|…", item.source.quote):
                    assert squash(part) in plan, item.id


def test_each_place_carries_its_plan_facts(content):
    for place in content:
        if not place.is_national:
            assert len(place.facts) >= 20, f"{place.id} has only {len(place.facts)} facts"


def test_generated_place_vocabulary_is_current(content):
    assert lexicon.stale(content) == [], "run `python -m knowledge lexicon`"


def _write(tmp_path: Path, doc: dict, name: str = "ceshi.yml") -> Path:
    (tmp_path / "content").mkdir(exist_ok=True)
    (tmp_path / "sources").mkdir(exist_ok=True)
    (tmp_path / "sources" / "ceshi.txt").write_text((FIXTURES / "ceshi.txt").read_text("utf-8"), "utf-8")
    write_platforms(tmp_path)
    path = tmp_path / "content" / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    return path


def _fixture_doc() -> dict:
    return yaml.safe_load((FIXTURES / "ceshi.yml").read_text("utf-8"))


def test_fixture_place_is_valid(tmp_path):
    content, errors = read_place_file(_write(tmp_path, _fixture_doc()))
    assert errors == []
    assert content.name == "测试县" and len(content.entries) == 2 and len(content.facts) == 2
    assert content.entries[1].gap == "现行病种目录，规划没有列出，请咨询12393。"


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["entries"][1].update(answer="2020年居民慢特病有45种。"), "numbers not in the quoted source: 45"),
    (lambda d: d["entries"][1]["source"].update(quote="城乡居民门诊慢特病病种扩展到50种。"), "does not occur verbatim"),
    (lambda d: d["entries"][1].update(answer="居民慢特病有40种。"), "must name its year"),
    (lambda d: d["facts"][1].update(text="2025年城乡居民住院基金支付比例达到70%左右。"), "presented as a target"),
    (lambda d: d["entries"][0].update(topic="ask_weather"), "unknown topic"),
    (lambda d: d["entries"][0].pop("answer"), "answer: is required"),
    (lambda d: d["entries"][0].update(applies_to=["外星人"]), "unknown person type"),
    (lambda d: d["entries"][0].update(brief="很" * 61 + "。"), "sentence longer than 60"),
    (lambda d: d["entries"][1].update(id="ceshi.remote_care_filing"), "used twice"),
    (lambda d: d["facts"][0].update(also_topics=["ask_weather"]), "also_topics: not another known topic"),
    (lambda d: d["facts"][0].update(brief="很" * 61 + "。"), "brief: sentence longer than 60"),
    (lambda d: d["facts"][0].update(brief="一共有99种。"), "brief: numbers not in the quoted source: 99"),
    (lambda d: d["facts"][0].update(also_topics=[d["facts"][0]["topic"]]), "also_topics: not another known topic"),
    (lambda d: d["facts"][0].update(keywords=["没*"]), "keywords: '没*': '*' must stand between two words"),
    (lambda d: d["facts"][0].update(keywords=["没**备案"]), "must stand between two words"),
    # What the plan leaves out is said last, in `gap`, and always with where to ask.
    (lambda d: d["entries"][0].update(answer="规划没有写明缴费标准，请拨打12393。"), "answer: says what the source does not give"),
    (lambda d: d["entries"][0].update(answer="缴费标准规划里没有列出，请拨打12393。"), "move that sentence to `gap`"),
    (lambda d: d["entries"][0].update(answer="当地缴费标准，我们的资料里没有，请拨打12393。"), "move that sentence to `gap`"),
    (lambda d: d["entries"][0].update(gap="规划没有写明缴费标准。"), "gap: must say where to ask"),
    (lambda d: d["entries"][0].update(gap="规划没有写明这99种病，请拨打12393。"), "gap: numbers not in the quoted source: 99"),
    (lambda d: d["entries"][0].update(gap="上面是全国的办法；本地的规划没有写明，请拨打12393。"), "gap: must read on its own"),
    # Elder mode says the brief's gap last: it is data, like `gap`, with the same duties.
    (lambda d: d["entries"][1].update(brief="2020年，居民慢特病有40种。现在的目录请问12393。"),
     "brief: names a hotline although the entry has a gap"),
    (lambda d: d["entries"][1].update(brief="2020年，居民慢特病有40种。现在有哪些病，规划没写。"),
     "brief: says what the source does not give"),
    (lambda d: d["entries"][0].update(brief_gap="拿不准的，可以打12393问。"), "brief_gap: needs a `gap`"),
    (lambda d: d["entries"][1].update(brief_gap="现在的目录请问医保部门。"), "brief_gap: must say where to ask"),
    (lambda d: d["entries"][1].update(brief_gap="现在的目录请问12393，" + "也可以到窗口问" * 10 + "。"),
     "brief_gap: sentence longer than"),
    (lambda d: d["entries"][1].update(brief_gap="现在的99种病请问12393。"), "brief_gap: numbers not in the quoted source: 99"),
])
def test_dishonest_or_broken_content_is_refused(tmp_path, mutate, expected):
    doc = _fixture_doc()
    mutate(doc)
    _, errors = read_place_file(_write(tmp_path, doc))
    assert any(expected in e for e in errors), errors
    # Errors name the file, the item and the field.
    assert all(e.startswith("ceshi.yml: ") for e in errors)


def test_unparseable_file_names_the_file(tmp_path):
    path = _write(tmp_path, {})
    path.write_text("place: [unclosed", "utf-8")
    _, errors = read_place_file(path)
    assert errors and errors[0].startswith("ceshi.yml: file: yaml:")


def test_read_all_collects_errors_of_every_file(sixth_place):
    broken = sixth_place / "ceshi.yml"
    broken.write_text(broken.read_text("utf-8").replace("扩展到40种", "扩展到41种"), "utf-8")
    with pytest.raises(ContentError) as exc:
        read_all(sixth_place)
    assert any("ceshi.yml" in e for e in exc.value.errors)


def test_an_alias_cannot_name_two_places(sixth_place):
    path = sixth_place / "ceshi.yml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["place"]["aliases"].append("长春")
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    with pytest.raises(ContentError) as exc:
        read_all(sixth_place)
    assert any("'长春' also names" in e for e in exc.value.errors)


def test_a_nickname_of_another_city_is_refused(sixth_place):
    path = sixth_place / "ceshi.yml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["place"]["aliases"].append("春城")
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    with pytest.raises(ContentError) as exc:
        read_all(sixth_place)
    assert "ceshi.yml: place: aliases: '春城' usually names 昆明" in exc.value.errors


@pytest.mark.parametrize("related, wrong", [
    ({"ask_enrolment": ["ask_weather"]}, "'ask_weather'"),
    ({"ask_enrolment": ["ask_enrolment"]}, "'ask_enrolment'"),
])
def test_related_topics_must_be_other_known_topics(sixth_place, monkeypatch, related, wrong):
    topics = {**schema.load_topics(), "related": related}
    monkeypatch.setattr(schema, "load_topics", lambda *a, **k: topics)
    with pytest.raises(ContentError) as exc:
        read_all(sixth_place)
    assert f"topics.yml: related: ask_enrolment: not another known topic: {wrong}" in exc.value.errors
