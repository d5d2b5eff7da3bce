"""Shared test data for the hand-off and the staff console.

``knowledge_content()`` is the real content when it validates, else a tiny fixture
(national baseline + 连云港市) built directly from the loader's dataclasses.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

from knowledge.schema import ContentError, EntryData, PlaceContent, Source, read_all

ROUTING_YAML = textwrap.dedent("""\
    hotlines:
      "12393": {name: 医保服务热线, what_to_say: 请说明参保地和业务。, source: {document: 国家医保局公告}}
      "12345": {name: 政务服务便民热线, what_to_say: 请说明问题和涉及部门。, source: {document: 国务院办公厅意见}}
      "0518-12393": {name: 连云港医保热线, what_to_say: 连云港本地热线。}
    routing:
      default: {business: "12393", general: "12345"}
      places:
        lianyungang: {business: "0518-12393"}
        changchun: {general: "0431-12345"}
    case_handling_topics: [complain]
    """)


def write_routing(tmp_path: Path) -> Path:
    path = tmp_path / "hotline.yml"
    path.write_text(ROUTING_YAML, encoding="utf-8")
    return path


def _entry(eid: str, topic: str, title: str, answer: str, *, steps=(), channels=(), materials=(),
           document: str = "国家医疗保障局办事指南", quote: str = "") -> EntryData:
    return EntryData(
        id=eid, topic=topic, title=title, answer=answer, brief=answer[:40], steps=tuple(steps),
        channels=tuple(channels), materials=tuple(materials), applies_to=(), handoff=topic == "complain",
        source=Source(document, "一、服务事项", quote or answer, 2020),
    )


def fixture_content() -> list[PlaceContent]:
    national = PlaceContent(
        id="national", name="全国", province="", aliases=(), plan_title=None, plan_text=None, entries=[
            _entry("national.remote_care_filing", "ask_remote_care_filing", "异地就医备案",
                   "到外地看病前先办理异地就医备案，可以在国家医保服务平台APP上办理。",
                   steps=("打开国家医保服务平台APP", "选择异地就医备案", "填写就医地并提交"),
                   channels=("国家医保服务平台APP", "参保地医保经办窗口")),
            _entry("national.cross_region_settlement", "ask_cross_region_settlement", "异地就医直接结算",
                   "备案后在外地定点医院看病，可以直接刷医保卡或医保电子凭证结算。"),
            _entry("national.chronic", "ask_chronic_disease_outpatient", "门诊慢特病",
                   "高血压、糖尿病等门诊慢特病，经认定后门诊费用可按规定报销。",
                   materials=("身份证", "诊断证明")),
            _entry("national.reimbursement", "ask_reimbursement", "报销待遇",
                   "住院费用按参保地规定的起付线和比例报销。"),
            _entry("national.manual", "ask_manual_reimbursement", "零星（手工）报销",
                   "没有直接结算的费用，可以带发票和病历到参保地经办机构手工报销。",
                   materials=("发票原件", "病历", "费用清单")),
            _entry("national.payment", "ask_payment_channels", "缴费渠道与缴费期",
                   "居民医保每年集中缴费，可以通过税务APP、银行或微信缴费。"),
            _entry("national.e_voucher", "ask_e_voucher", "医保电子凭证",
                   "在微信或支付宝里搜索医保电子凭证，按提示激活即可使用。"),
            _entry("national.service_channels", "ask_service_channels", "办理渠道",
                   "医保业务可以在国家医保服务平台APP或当地医保经办窗口办理。",
                   channels=("国家医保服务平台APP",)),
            _entry("national.complain", "complain", "投诉",
                   "对医保服务不满意，可以拨打12393反映。"),
        ], checksum="fixture")
    lianyungang = PlaceContent(
        id="lianyungang", name="连云港市", province="江苏省", aliases=("连云港", "港城", "海州区"),
        plan_title="连云港市“十四五”医疗保障发展规划", plan_text="", entries=[
            _entry("lianyungang.service_channels", "ask_service_channels", "办理渠道",
                   "连云港市医保业务可以在市民中心医保窗口或江苏医保云APP办理。",
                   channels=("连云港市民中心医保窗口", "江苏医保云APP"),
                   document="连云港市“十四五”医疗保障发展规划"),
            _entry("lianyungang.remote_care_filing", "ask_remote_care_filing", "异地就医备案",
                   "连云港参保人可以在江苏医保云APP办理异地就医备案。",
                   steps=("打开江苏医保云APP", "选择异地就医备案", "提交"),
                   channels=("江苏医保云APP",), document="连云港市“十四五”医疗保障发展规划"),
        ], checksum="fixture")
    return [national, lianyungang]


def knowledge_content() -> tuple[list[PlaceContent], str]:
    """(places, which) — the real content if it validates, else the fixture."""
    try:
        places = read_all()
    except ContentError:
        return fixture_content(), "fixture"
    if not any(p.id == "national" for p in places):
        return fixture_content(), "fixture"
    return places, "real"
