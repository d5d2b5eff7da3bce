"""The one answer service: the entry rule the actions and the staff suggestions share."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import yaml

from knowledge import answer_service
from knowledge.db import make_engine, make_session_factory
from knowledge.loader import load
from knowledge.schema import load_topics, read_all
from knowledge.store import KnowledgeStore

TOPICS = list(load_topics()["topics"])


@dataclass
class _E:
    id: str
    applies_to: tuple[str, ...] = ()


def test_pick_prefers_the_person_type_then_the_general_entry_then_the_first_id():
    staff, general, residents = _E("b.staff", ("职工",)), _E("c.general"), _E("a.residents", ("居民",))
    entries = [staff, general, residents]
    assert answer_service.pick(entries, "职工") is staff
    assert answer_service.pick(entries, "居民") is residents
    assert answer_service.pick(entries, None) is general
    assert answer_service.pick(entries, "灵活就业") is general
    # Only person-specific entries: the first by id, whatever order they came in.
    assert answer_service.pick([staff, residents], None) is residents
    assert answer_service.pick([], "职工") is None


def test_every_place_and_topic_agrees_with_answer_for(kb):
    """The staff listing (one query) and the actions' lookup pick the same entries."""
    places = [None] + [p.name for p in kb.places()]
    for place in places:
        listing = answer_service.answers_by_topic(kb, place, TOPICS)
        for topic in TOPICS:
            found = answer_service.answer_for(kb, topic, place)
            assert listing[topic] == found.answer, (place, topic)
            # A local answer is completed by the national entry, a national one by nothing.
            if found.answer.scope == "local":
                assert found.national is not None and found.national.scope == "national"
                assert found.national.topic == topic
            else:
                assert found.national is None


@pytest.fixture
def person_kb(sixth_place, tmp_path):
    """测试县 with a second 备案 entry written for 职工 only."""
    path = sixth_place / "ceshi.yml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    extra = copy.deepcopy(doc["entries"][0])
    # Listed first and sorting before the general entry's id: the rule, not file order, decides.
    extra.update(id="ceshi.a_remote_care_filing_staff", title="异地就医备案（职工）", applies_to=["职工"])
    doc["entries"].insert(0, extra)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    load(engine, read_all(sixth_place))
    yield KnowledgeStore(make_session_factory(engine))
    engine.dispose()


@pytest.mark.parametrize("person, title", [(None, "异地就医备案"), ("居民", "异地就医备案"),
                                           ("职工", "异地就医备案（职工）")])
def test_person_type_picks_the_same_entry_both_ways(person_kb, person, title):
    topic = "ask_remote_care_filing"
    assert answer_service.answer_for(person_kb, topic, "测试县", person).answer.title == title
    assert answer_service.answers_by_topic(person_kb, "测试县", [topic], person)[topic].title == title
    assert person_kb.answer(topic, "测试县", person).title == title
