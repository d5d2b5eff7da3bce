"""Shared test data for the hand-off and the staff console: routing data, real content."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knowledge.schema import ContentError, PlaceContent, read_all

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


def knowledge_content() -> tuple[list[PlaceContent], str]:
    """(places, "real"): the real content of knowledge/content.

    There is no stand-in: when the content does not validate, the tests that need
    it fail and say why, instead of passing on a small fixture that hides the break.
    """
    try:
        places = read_all()
    except ContentError as exc:
        pytest.fail("knowledge/content does not validate (these tests need the real content):\n"
                    + "\n".join(exc.errors[:20]), pytrace=False)
    if not any(p.is_national for p in places):
        pytest.fail("knowledge/content has no national baseline (national.yml)", pytrace=False)
    return places, "real"
