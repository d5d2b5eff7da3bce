""""Where to ask" when no source answers a detail: the routed hotline, and up to two
of the place's own walk-in windows (not its apps, not the hotline again)."""
from __future__ import annotations

from actions import common
from hotline import routing


def place(kb, name):
    return next(p for p in kb.places() if p.name == name)


def test_a_place_with_walk_in_windows_names_two_of_them_after_the_hotline(shared_kb):
    line = common.where_to_ask(shared_kb, place(shared_kb, "长春市"), "ask_remote_care_filing")
    assert line == "请拨打医保服务热线12393，或到医保经办服务窗口、长春医保一汽业务经办大厅咨询。"
    line = common.where_to_ask(shared_kb, place(shared_kb, "正宁县"), "ask_enrolment")
    assert line == "请拨打医保服务热线12393，或到正宁县医保经办窗口、乡镇政务服务中心咨询。"


def test_a_place_with_only_apps_and_hotlines_names_the_hotline_alone(shared_kb):
    line = common.where_to_ask(shared_kb, place(shared_kb, "连云港市"), "ask_enrolment")
    assert line == "请拨打医保服务热线12393咨询。"
    assert common.where_to_ask(shared_kb, None, "ask_enrolment") == "请拨打医保服务热线12393咨询。"


def test_broken_routing_still_names_the_hotline(shared_kb, monkeypatch):
    def broken(*args, **kwargs):
        raise routing.RoutingDataError("hotline.yml: routing.default is required")

    monkeypatch.setattr(routing, "route", broken)
    line = common.where_to_ask(shared_kb, place(shared_kb, "长春市"), "ask_enrolment")
    assert line == "请拨打12393咨询。"
