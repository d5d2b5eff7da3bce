"""Loading and querying the knowledge base, on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select

from knowledge.db import make_engine, make_session_factory
from knowledge.errors import EntryNotFound, StoreUnavailable
from knowledge.loader import load
from knowledge.models import Entry, Fact, Place
from knowledge.schema import ContentError, load_topics, read_all
from knowledge.store import KnowledgeStore

TOPICS = list(load_topics()["topics"])


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _counts(engine) -> tuple[int, int, int]:
    with make_session_factory(engine)() as s:
        return tuple(s.execute(select(func.count()).select_from(m)).scalar_one() for m in (Place, Entry, Fact))


def test_load_is_idempotent(engine, content):
    first = load(engine, content)
    counts = _counts(engine)
    second = load(engine, content)
    assert first.added == sum(counts) and first.removed == 0
    assert second.added == second.updated == second.removed == 0
    assert _counts(engine) == counts


def test_changed_entry_is_updated_and_removed_one_removed(engine, sixth_place):
    load(engine, read_all(sixth_place))
    path = sixth_place / "ceshi.yml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["entries"][0]["title"] = "异地就医备案（网上办）"
    del doc["facts"][1]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    report = load(engine, read_all(sixth_place))
    assert (report.added, report.updated, report.removed) == (0, 2, 1)  # place checksum + entry
    kb = KnowledgeStore(make_session_factory(engine))
    assert kb.answer("ask_remote_care_filing", "测试县").title == "异地就医备案（网上办）"
    assert [f.id for f in kb.facts("测试县", "住院报销比例", limit=5)] == []


def test_a_broken_file_changes_nothing(engine, sixth_place):
    load(engine, read_all(sixth_place))
    before = _counts(engine)
    path = sixth_place / "ceshi.yml"
    path.write_text(path.read_text("utf-8").replace("topic: ask_remote_care_filing", "topic: ask_nothing"), "utf-8")
    with pytest.raises(ContentError) as exc:
        load(engine, read_all(sixth_place))
    assert "ceshi.yml: entries[0] ceshi.remote_care_filing: topic: unknown topic 'ask_nothing'" in exc.value.errors
    assert _counts(engine) == before


def test_sixth_place_is_data_only(engine, sixth_place):
    load(engine, read_all(sixth_place))
    kb = KnowledgeStore(make_session_factory(engine))
    assert kb.resolve_place("测试老城").name == "测试县"
    local = kb.answer("ask_remote_care_filing", "测试县")
    assert local.scope == "local" and "测试医保" in local.answer
    national = kb.answer("ask_e_voucher", "测试县")
    assert national.scope == "national"
    facts = kb.facts("测试县", "测试县有多少人参保", limit=1)
    assert facts and "12.5万人" in facts[0].text
    assert kb.coverage(TOPICS).missing() == []


def test_every_topic_is_answered_for_every_place(engine, content):
    load(engine, content)
    cov = KnowledgeStore(make_session_factory(engine)).coverage(TOPICS)
    assert set(cov.places) == {"连云港市", "开州区", "长春市", "江门市", "正宁县"}
    assert cov.missing() == []
    # Each place has local content for at least a few topics.
    for place in cov.places:
        assert sum(cov.cells[(place, t)] == "local" for t in TOPICS) >= 4, place


def test_local_answer_preferred_and_national_fallback(engine, content):
    load(engine, content)
    kb = KnowledgeStore(make_session_factory(engine))
    for place in kb.places():
        for topic in TOPICS:
            ans = kb.answer(topic, place.name)
            assert ans.scope == ("local" if kb.has_local(topic, place.name) else "national")
            assert ans.source.document and (ans.source.quote or ans.source.says)
    with pytest.raises(EntryNotFound):
        kb.answer("ask_nothing", "长春市")


def test_place_names_resolve(kb):
    assert kb.resolve_place("开州区").name == "开州区"
    assert kb.resolve_place("我在连云港上班").name == "连云港市"
    assert kb.resolve_place("火星") is None


def test_database_down_is_a_domain_error(tmp_path):
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    kb = KnowledgeStore(make_session_factory(engine))
    with pytest.raises(StoreUnavailable):
        kb.answer("ask_enrolment", "长春市")
    engine.dispose()


def _with_aspects(content_dir):
    """The test place with every follow-up aspect filled in on its filing entry."""
    path = content_dir / "ceshi.yml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["entries"][0].update(
        eligibility=["在测试县参保的人都能办"], validity=["当场办结"],
        offline=["到县医保窗口办"], proxy=["家人可以带双方身份证代办"])
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")


def test_aspect_fields_round_trip(engine, sixth_place):
    _with_aspects(sixth_place)
    load(engine, read_all(sixth_place))
    kb = KnowledgeStore(make_session_factory(engine))
    local = kb.answer("ask_remote_care_filing", "测试县")
    assert local.eligibility == ("在测试县参保的人都能办",)
    assert local.validity == ("当场办结",)
    assert local.offline == ("到县医保窗口办",)
    assert local.proxy == ("家人可以带双方身份证代办",)
    # An entry without them answers empty tuples, not None.
    chronic = kb.answer("ask_chronic_disease_outpatient", "测试县")
    assert (chronic.eligibility, chronic.validity, chronic.offline, chronic.proxy) == ((), (), (), ())
    # Changing one aspect is an update, not a new row.
    path = sixth_place / "ceshi.yml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["entries"][0]["proxy"] = []
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    report = load(engine, read_all(sixth_place))
    assert (report.added, report.updated, report.removed) == (0, 2, 0)
    # A running store keeps what it read for cache_seconds; a new one reads the reload.
    assert kb.answer("ask_remote_care_filing", "测试县").proxy == ("家人可以带双方身份证代办",)
    assert KnowledgeStore(make_session_factory(engine)).answer("ask_remote_care_filing", "测试县").proxy == ()
    assert KnowledgeStore(make_session_factory(engine), cache_seconds=0).answer(
        "ask_remote_care_filing", "测试县").proxy == ()


def test_entries_and_facts_are_read_once_per_cache_period(engine, sixth_place):
    """Content changes only when it is loaded, so a turn's lookups come from memory."""
    from sqlalchemy import event

    load(engine, read_all(sixth_place))
    queries: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    kb = KnowledgeStore(make_session_factory(engine))
    first = kb.answer("ask_remote_care_filing", "测试县"), kb.facts("测试县", "住院报销比例", national=True)
    after_first = len(queries)
    again = kb.answer("ask_remote_care_filing", "测试县"), kb.facts("测试县", "住院报销比例", national=True)
    assert again == first and after_first > 0 and len(queries) == after_first
    # Without the cache every call reads again.
    fresh = KnowledgeStore(make_session_factory(engine), cache_seconds=0)
    fresh.answer("ask_remote_care_filing", "测试县")
    fresh.answer("ask_remote_care_filing", "测试县")
    assert len(queries) > after_first + 1


def test_aspect_coverage_local_national_missing(engine, sixth_place):
    _with_aspects(sixth_place)
    load(engine, read_all(sixth_place))
    kb = KnowledgeStore(make_session_factory(engine))
    national = {e.topic: e for p in read_all(sixth_place) if p.is_national for e in p.entries}
    cov = kb.aspect_coverage(["ask_remote_care_filing", "ask_chronic_disease_outpatient"])
    assert "测试县" in cov.places and "time" in cov.aspects
    # The filing entry carries every aspect itself.
    for aspect in ("steps", "channels", "eligibility", "time", "offline", "proxy"):
        assert cov.cells[("测试县", "ask_remote_care_filing", aspect)] == "local", aspect
    # Its materials list is empty: the national entry's list stands in.
    assert national["ask_remote_care_filing"].materials
    assert cov.cells[("测试县", "ask_remote_care_filing", "materials")] == "national"
    # The chronic entry has no steps of its own: national if the national entry has them.
    want = "national" if national["ask_chronic_disease_outpatient"].steps else "missing"
    assert cov.cells[("测试县", "ask_chronic_disease_outpatient", "steps")] == want
    assert all(v in ("local", "national", "missing") for v in cov.cells.values())
    assert cov.missing() == [k for k, v in cov.cells.items() if v == "missing"]
    # Restricted to some topics (the CLI's key topics), in the same order.
    assert cov.missing(["ask_chronic_disease_outpatient"]) == [
        k for k, v in cov.cells.items() if v == "missing" and k[1] == "ask_chronic_disease_outpatient"]
    assert cov.missing([]) == []


def test_an_older_knowledge_table_is_rebuilt(tmp_path, content):
    """A database made before the aspect columns existed loads without manual steps."""
    from sqlalchemy import Column, MetaData, String, Table, Text, inspect

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    old = MetaData()
    Table("kb_entries", old, Column("id", String(128), primary_key=True), Column("title", Text))
    old.create_all(engine)
    load(engine, content)
    columns = {c["name"] for c in inspect(engine).get_columns("kb_entries")}
    assert {"eligibility", "validity", "offline", "proxy", "source_says"} <= columns
    assert _counts(engine)[1] == sum(len(p.entries) for p in content)
    engine.dispose()


KEY_TOPICS = list(load_topics()["key_topics"])


def test_key_topics_aspects_come_from_a_source(engine, content):
    """The follow-ups residents ask most have a local or national answer."""
    load(engine, content)
    cov = KnowledgeStore(make_session_factory(engine)).aspect_coverage(KEY_TOPICS)
    assert cov.topics == KEY_TOPICS and cov.aspects == ["materials", "channels", "steps", "eligibility",
                                                         "time", "offline", "proxy"]
    must = {
        "ask_remote_care_filing": ("materials", "channels", "steps", "eligibility", "time", "offline"),
        "ask_chronic_disease_outpatient": ("materials", "channels", "steps", "eligibility"),
        "ask_enrolment": ("materials", "channels", "steps", "eligibility", "time", "offline", "proxy"),
        "ask_payment_channels": ("channels", "steps", "eligibility", "time", "proxy"),
    }
    for place in cov.places:
        for topic, aspects in must.items():
            for aspect in aspects:
                assert cov.cells[(place, topic, aspect)] != "missing", (place, topic, aspect)
    # Local where the plan says it, national where only the national rules do.
    assert cov.cells[("开州区", "ask_remote_care_filing", "offline")] == "local"
    assert cov.cells[("正宁县", "ask_chronic_disease_outpatient", "eligibility")] == "local"
    assert cov.cells[("长春市", "ask_remote_care_filing", "steps")] == "national"
    assert cov.cells[("长春市", "ask_payment_channels", "offline")] == "local"


def test_local_entries_carry_no_placeholder_procedure(content):
    """A hotline-only step or channel list in a local entry would hide the national
    procedure (the app, the mini-program) that the composition shows in its place."""
    national = {e.topic: e for p in content if p.is_national for e in p.entries}
    generic = {"12393医保服务热线", "医保经办服务窗口", "经办窗口", "正宁县医保经办窗口"}
    for place in content:
        if place.is_national:
            continue
        for entry in place.entries:
            base = national[entry.topic]
            if entry.topic in KEY_TOPICS or (base.steps and base.topic not in ("complain", "report_fraud")):
                assert not any("12393" in step for step in entry.steps), entry.id
            # Where the national entry names an app or account, a hotline-only list hides it.
            if any(mark in c for c in base.channels for mark in ("APP", "公众号", "小程序", "微信")):
                assert not entry.channels or not set(entry.channels) <= generic, entry.id


def test_nicknames_of_other_cities_are_not_aliases(kb):
    for nickname in ("春城", "港城"):  # 春城 is usually 昆明; 港城 names several ports
        assert kb.resolve_place(nickname) is None
    assert kb.resolve_place("北国春城").name == "长春市"


def test_national_rules_answer_fact_questions_when_asked_for(kb):
    # Local facts only by default: a place's figures are never mixed with others'.
    local = kb.facts("长春市", "断保了要等多久才能报销", topic="ask_enrolment", limit=3)
    assert all(h.place == "长春市" for h in local)
    both = kb.facts("长春市", "断保了要等多久才能报销", topic="ask_enrolment", limit=3, national=True)
    assert both[0].id == "national.fact.waiting_period" and both[0].place == "全国"
    assert both[0].source.doc_no == "国办发〔2024〕38号" and "3个月" in both[0].source.says
    filing = kb.facts("正宁县", "备案有效期多久", topic="ask_remote_care_filing", limit=1, national=True)
    assert filing[0].id == "national.fact.filing_validity"
    # No place: the national rules alone (what a situation rule is chosen from).
    rules = kb.facts(None, "断保了要等多久才能报销", limit=50, national=True)
    assert rules and all(h.scope == "national" and h.place == "全国" for h in rules)
    assert kb.facts(None, "断保了要等多久才能报销", limit=50) == []


def test_the_cache_stays_bounded_whatever_residents_type(engine, sixth_place):
    """The person type in an answer's key is the NLU's entity text (any words a resident
    types): the cache must not keep one entry per distinct text for the process's life."""
    load(engine, read_all(sixth_place))
    kb = KnowledgeStore(make_session_factory(engine))
    expected = kb.answer("ask_remote_care_filing", "测试县")
    for i in range(3000):
        assert kb.answer("ask_remote_care_filing", "测试县", f"第{i}种人") == expected
    assert len(kb._cache) <= KnowledgeStore.MAX_CACHED
    # What is asked on every turn is still served from memory afterwards.
    assert kb.answer("ask_remote_care_filing", "测试县") == expected
