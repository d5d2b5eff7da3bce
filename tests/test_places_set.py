"""The place-role evaluation sets (tests/places/) are well formed.

`make eval` scores actions/whereabouts.py on it against order-only peers; the set is
never tuned against (tests/places/README.md).
"""
from __future__ import annotations

import yaml

from knowledge.regions import regions
from knowledge.schema import read_all
from tests.conftest import ROOT

STYLES = {"plain", "dialect", "cantonese", "elderly", "asr", "long", "word"}


def _items(name: str) -> list[dict]:
    return yaml.safe_load((ROOT / "tests" / "places" / name).read_text(encoding="utf-8"))["items"]


def test_every_item_is_labelled_with_places_the_assistant_can_name():
    served = {place.name for place in read_all() if place.id != "national"}
    table = regions()
    for file in ("questions.yml", "test_questions.yml"):
        items = _items(file)
        assert len(items) >= 100
        assert len({i["text"] for i in items}) == len(items), "duplicate messages"
        for item in items:
            assert set(item) <= {"text", "insured", "care", "style", "note"}, item
            assert item["style"] in STYLES, item
            for role in ("insured", "care"):
                name = item.get(role)
                assert name is None or name in served or table.province_of(name) is not None, (role, item)
