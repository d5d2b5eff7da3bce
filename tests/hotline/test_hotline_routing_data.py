"""Routing as staff edit it: complaint subjects from word lists, place overrides that
leave a role unset, every malformed field named, edits taken without a restart, and
local channels when the knowledge base cannot answer."""
from __future__ import annotations

import os
import textwrap
from types import SimpleNamespace

import pytest

from hotline import routing
from hotline.routing import RoutingDataError, load_routing, route
from knowledge.errors import KnowledgeError

SUBJECTS_YAML = textwrap.dedent("""\
    hotlines:
      "12393": {name: " 医保服务热线 ", what_to_say: " 请说明参保地和业务。 "}
      "12345": {name: 政务服务便民热线, source: {document: 国办发〔2020〕53号}}
    routing:
      default: {business: "12393", general: "12345"}
      places:
        dalian: {business: null, general: "0411-12345", weather: "000"}
    case_handling_topics: [complain]
    complaint_subjects:
      medical_insurance: [医保, 报销]
      other_departments: [公积金, 物业]
    """)


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "hotline.yml"
    path.write_text(SUBJECTS_YAML, encoding="utf-8")
    return load_routing(path)


def test_complaint_subject_comes_from_the_word_lists(data):
    assert data.subject_of("物业乱收费，没人管") == "other"
    assert data.subject_of("公积金和医保报销都办不下来") == "several_departments"
    assert data.subject_of("报销被拒了") == "medical_insurance"
    # No words of either list, or no text at all: it stays with medical insurance.
    assert data.subject_of("态度很差") == "medical_insurance"
    assert data.subject_of(None) == "medical_insurance"


def test_real_word_lists_send_other_departments_to_12345():
    data = load_routing()
    assert data.subject_of("公积金中心不给办") == "other"
    assert route(None, "complain", "complain", subject=data.subject_of("公积金中心不给办")).hotline == "12345"
    assert route(None, "complain", "complain", subject=data.subject_of("医院结算出错")).hotline == "12393"


def test_override_that_leaves_a_role_unset_keeps_the_default(data):
    assert data.numbers_for("dalian") == {"business": "12393", "general": "0411-12345"}
    assert data.numbers_for(None) == {"business": "12393", "general": "12345"}
    assert data.numbers_for("nowhere") == {"business": "12393", "general": "12345"}
    r = route("dalian", "complain", "complain", subject="other", routing=data)
    assert (r.hotline, r.name, r.role) == ("0411-12345", "政务服务便民热线", "general")


def test_names_and_scripts_are_trimmed_and_a_missing_script_is_empty(data):
    business = route(None, "ask_enrolment", "request_human", routing=data)
    assert (business.name, business.what_to_say) == ("医保服务热线", "请说明参保地和业务。")
    general = route(None, "complain", "complain", subject="other", routing=data)
    assert general.what_to_say == ""
    assert data.hotlines["12393"].source == {}
    assert data.hotlines["12345"].source == {"document": "国办发〔2020〕53号"}


@pytest.mark.parametrize("text, field", [
    ("[12393]", "a mapping with hotlines/routing"),
    ("hotlines: {}", "hotlines: a mapping"),
    ("hotlines: [12393]", "hotlines: a mapping"),
    ('hotlines: {"12393": {name: " "}}', "hotlines.12393.name"),
    ('hotlines: {"12393": 医保}', "hotlines.12393.name"),
    ('hotlines: {"12393": {name: 医保}}', "routing.default is required"),
    ('hotlines: {"12393": {name: 医保}}\nrouting: [default]', "routing.default is required"),
    ('hotlines: {"12393": {name: 医保}}\nrouting: {default: {general: "12393"}}', "routing.default.business"),
    ('hotlines: {"12393": {name: 医保}}\nrouting: {default: {business: "12393", general: "12393"}, places: {x: "1"}}',
     "routing.places.x must be a mapping"),
    ('hotlines: {"12393": {name: 医保}}\nrouting: {default: {business: "12393", general: "12393"}}\n'
     'case_handling_topics: complain', "case_handling_topics must be a list"),
    ('hotlines: {"12393": {name: 医保}}\nrouting: {default: {business: "12393", general: "12393"}}\n'
     'complaint_subjects: [医保]', "complaint_subjects must be a mapping"),
])
def test_each_malformed_field_is_named_with_the_file(tmp_path, text, field):
    path = tmp_path / "hotline.yml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(RoutingDataError) as caught:
        load_routing(path)
    assert field in str(caught.value)
    assert str(caught.value).startswith("hotline.yml: ")


def test_minimal_data_defaults_the_optional_sections(tmp_path):
    path = tmp_path / "hotline.yml"
    path.write_text('hotlines: {"12393": {name: 医保}}\nrouting: {default: {business: "12393", general: "12393"}}\n',
                    encoding="utf-8")
    data = load_routing(path)
    assert (data.places, data.case_handling_topics, data.subject_words) == ({}, (), {})
    # Without case-handling topics only the reason makes a complaint.
    assert route(None, "complain", "request_human", subject="other", routing=data).role == "business"
    assert route(None, "complain", "complain", subject="other", routing=data).role == "general"


def test_an_edited_file_is_read_again_without_a_restart(tmp_path):
    path = tmp_path / "hotline.yml"
    path.write_text(SUBJECTS_YAML, encoding="utf-8")
    assert load_routing(path).numbers_for("dalian")["general"] == "0411-12345"
    path.write_text(SUBJECTS_YAML.replace("0411-12345", "0411-88888"), encoding="utf-8")
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))  # a later save, even within one clock tick
    assert load_routing(path).numbers_for("dalian")["general"] == "0411-88888"


def test_without_the_routing_file_the_wording_fallback_names_12393(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(routing, "DEFAULT_PATH", tmp_path / "absent.yml")
    data = load_routing()
    assert (data.default_business, data.default_general) == ("12393", "12345")
    assert data.hotlines["12393"].name == "医保服务热线"
    assert "absent.yml is missing" in caplog.text
    assert route(None, "ask_enrolment", "fallback").hotline == "12393"


class _Store:
    """A knowledge store with one place that has (or lacks) its own channels."""

    def __init__(self, scope="local", fail=False):
        self.scope, self.fail, self.asked = scope, fail, []

    def places(self):
        if self.fail:
            raise KnowledgeError("database down")
        return [SimpleNamespace(id="dalian", name="大连市"), SimpleNamespace(id="xian", name="西安市")]

    def answer(self, topic, place_name):
        self.asked.append((topic, place_name))
        if self.fail:
            raise KnowledgeError("database down")
        return SimpleNamespace(scope=self.scope, channels=["大连医保APP", "窗口"])


def test_local_channels_are_looked_up_by_the_place_name(data):
    store = _Store()
    r = route("xian", "ask_enrolment", "request_human", routing=data, store=store)
    assert r.local_alternatives == ("大连医保APP", "窗口")
    assert store.asked == [("ask_service_channels", "西安市")]
    # A given place name saves the lookup.
    route("xian", "ask_enrolment", "request_human", routing=data, store=store, place_name="大连市")
    assert store.asked[-1] == ("ask_service_channels", "大连市")
    # National channels are not local alternatives; an unknown place has none.
    assert route("xian", "ask_enrolment", "request_human", routing=data, store=_Store("national")).local_alternatives == ()
    assert route("atlantis", "ask_enrolment", "request_human", routing=data, store=_Store()).local_alternatives == ()
    # Without a knowledge base (the gateway's case) a known place still gets its number.
    r = route("dalian", "ask_enrolment", "request_human", routing=data, place_name="大连市")
    assert (r.hotline, r.local_alternatives) == ("12393", ())


def test_a_knowledge_base_that_is_down_still_hands_off(data):
    r = route("dalian", "ask_enrolment", "request_human", routing=data, store=_Store(fail=True))
    assert (r.hotline, r.local_alternatives) == ("12393", ())
    r = route("dalian", "ask_enrolment", "request_human", routing=data, store=_Store(fail=True), place_name="大连市")
    assert r.local_alternatives == ()
