"""Routing from the data file: business vs general number, overrides, local channels."""
from __future__ import annotations

import pytest

from hotline import routing
from hotline.routing import RoutingDataError, load_routing, route


@pytest.fixture
def data(routing_path):
    return load_routing(routing_path)


def test_business_goes_to_12393(data):
    for reason in ("request_human", "fallback", "no_answer"):
        r = route(None, "ask_remote_care_filing", reason, routing=data)
        assert (r.hotline, r.name, r.role) == ("12393", "医保服务热线", "business")
        assert r.what_to_say == "请说明参保地和业务。"
        assert r.local_alternatives == ()


def test_complaint_about_medical_insurance_stays_with_business(data):
    assert route(None, "complain", "complain", routing=data).hotline == "12393"


def test_complaint_not_about_medical_insurance_goes_to_12345(data):
    for subject in ("other", "several_departments"):
        r = route(None, "complain", "complain", subject=subject, routing=data)
        assert (r.hotline, r.name, r.role) == ("12345", "政务服务便民热线", "general")
    # A case-handling reason counts as a complaint even on another topic.
    assert route(None, "ask_transfer", "case_handling", subject="several_departments", routing=data).hotline == "12345"
    # The subject does not matter for ordinary business.
    assert route(None, "ask_transfer", "request_human", subject="other", routing=data).hotline == "12393"


def test_place_override(data):
    r = route("lianyungang", "ask_transfer", "request_human", routing=data)
    assert (r.hotline, r.name) == ("0518-12393", "连云港医保热线")
    # An override number not described under hotlines keeps the role's default script.
    r = route("changchun", "complain", "complain", subject="other", routing=data)
    assert (r.hotline, r.name) == ("0431-12345", "政务服务便民热线")
    assert route("changchun", "ask_transfer", "fallback", routing=data).hotline == "12393"


def test_local_alternatives_from_the_store(data, store):
    # The real content: 连云港市 has its own service-channel entry (knowledge/content/lianyungang.yml).
    expected = store.answer("ask_service_channels", "连云港市")
    assert expected.scope == "local", "lianyungang.yml lost its ask_service_channels entry"
    r = route("lianyungang", "ask_transfer", "request_human", routing=data, store=store)
    assert r.local_alternatives == expected.channels and r.local_alternatives
    # Another place's own channels are not offered for 连云港市.
    other = store.answer("ask_service_channels", "长春市")
    assert not (set(other.channels) - set(expected.channels)) & set(r.local_alternatives)
    # A place without its own service-channel entry offers none (national is not local).
    assert route(None, "ask_transfer", "request_human", routing=data, store=store).local_alternatives == ()


def test_bad_data_names_the_field(tmp_path):
    bad = tmp_path / "hotline.yml"
    bad.write_text('hotlines: {"12393": {name: 医保}}\nrouting: {default: {business: "12393", general: "999"}}\n',
                   encoding="utf-8")
    with pytest.raises(RoutingDataError, match="routing.default.general"):
        load_routing(bad)
    with pytest.raises(FileNotFoundError):
        load_routing(tmp_path / "missing.yml")


def test_unknown_subject_rejected(data):
    with pytest.raises(ValueError):
        route(None, "complain", "complain", subject="weather", routing=data)


def test_default_data_loads():
    """The real knowledge/hotline.yml (or the wording fallback while it is missing)."""
    data = load_routing()
    assert data.default_business == "12393" and data.default_general == "12345"
    assert "complain" in data.case_handling_topics
    assert route(None, "ask_transfer", "request_human").hotline == "12393"
    assert routing.DEFAULT_PATH.name == "hotline.yml"
