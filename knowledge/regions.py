"""China's provinces and the places in them (knowledge/regions.yml), found in a message.

Knows nothing of which places we serve: callers add those (``Regions.with_places``), so a
served place's own aliases ("东海", "台山") name it, not the bare division.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Optional

import yaml

REGIONS_FILE = Path(__file__).resolve().parent / "regions.yml"


@dataclass(frozen=True)
class Region:
    name: str       # "南京市"; a province stands for itself ("北京市", "江苏省")
    province: str   # "江苏省"


@dataclass(frozen=True)
class Mention:
    region: Region
    said: str       # the words in the message ("南京")
    start: int
    end: int


class Regions:
    """Names → regions; a name mapped to ``None`` is read as no place ("朝阳区" is in
    Beijing and in 长春), so no shorter name inside it is read either."""

    def __init__(self, names: dict[str, Region | None], within: dict[str, str] | None = None):
        self._names = dict(names)
        self._within = dict(within or {})
        self._longest = max((len(n) for n in self._names), default=0)

    @classmethod
    def load(cls, path: Path = REGIONS_FILE) -> "Regions":
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        names: dict[str, Region | None] = {name: None for name in data.get("ambiguous") or ()}
        for province in data["provinces"]:
            own = Region(province["name"], province["name"])
            for label in (province["name"], *province.get("aliases", [])):
                names[label] = own
            for full, shorts in (province.get("places") or {}).items():
                region = Region(full, province["name"])
                for label in (full, *(shorts or [])):
                    names.setdefault(label, region)
        return cls(names, data.get("within"))

    def with_places(self, places: Iterable[tuple[str, str, Iterable[str]]],
                    not_places: Iterable[str] = ()) -> "Regions":
        """A copy where each ``(name, province, aliases)`` names that place, and so does every
        place inside it ("开平" is 江门's); ``not_places`` are words that only look like a
        place ("打开平台", "云南白药")."""
        names: dict[str, Region | None] = dict(self._names)
        for name, province, aliases in places:
            region = Region(name, province)
            for label, known in self._names.items():
                if known is not None and self._within.get(known.name) == name:
                    names[label] = region
            for label in (name, *aliases):
                if len(label) >= 2:
                    names[label] = region
        for words in not_places:
            names[words] = None
        return Regions(names, self._within)

    def contains(self, outer: str, name: str) -> bool:
        """Whether the place ``name`` ("正宁县") lies in ``outer`` ("庆阳市" or "甘肃省")."""
        region = self._names.get(name)
        return outer in (self._within.get(name), region.province if region else None) and outer != name

    def named(self, label: str) -> Region | None:
        """The region ``label`` names exactly ("北京" → 北京市), if any."""
        return self._names.get(label)

    def province_of(self, name: str) -> str | None:
        region = self.named(name)
        return region.province if region else None

    def find(self, text: str) -> list[Mention]:
        """Every place named in ``text``, leftmost and longest first, none overlapping."""
        return scan(text, self._longest, lambda i, label: (label in self._names, self._names.get(label)))


def scan(text: str, longest: int,
         lookup: Callable[[int, str], tuple[bool, Optional[Region]]]) -> list[Mention]:
    """Leftmost-longest matching: ``lookup(start, chars)`` says whether the characters match
    and which region they name (``None``: matched, but no place, so nothing inside them is read)."""
    found: list[Mention] = []
    i = 0
    while i < len(text):
        for size in range(min(longest, len(text) - i), 1, -1):
            matched, region = lookup(i, text[i:i + size])
            if matched:
                if region is not None:
                    found.append(Mention(region, text[i:i + size], i, i + size))
                i += size
                break
        else:
            i += 1
    return found


@lru_cache(maxsize=1)
def regions() -> Regions:
    return Regions.load()
