"""Writes knowledge/regions.yml, the names of China's provinces and their places.

    pip download --no-deps cpca==0.5.5 && unzip cpca-0.5.5-*.whl 'cpca/resources/*'
    python -m devtools.regions cpca/resources/adcodes.csv

cpca (MIT licence) ships the national administrative division codes (国家统计局
统计用区划代码): the first two digits name the province, the next two the prefecture,
the next two the county. The action server only reads the YAML this writes.

Short names ("南京" for 南京市) are kept for provinces and prefectures, for county-level
cities and for the districts of 北京, 天津, 上海 and 重庆 ("万州"), where the short name is
no everyday word (NOT_SHORT); other county-level places only by their full name, and only
where no other place shares it ("朝阳区" is in Beijing and in 长春: `ambiguous`, read as no
place). `within` gives each county-level place's prefecture (正宁县 → 庆阳市).
"""
from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "knowledge" / "regions.yml"

# Short names that are also everyday words or other things residents name ("合作医疗",
# "安宁疗护", "东方", "来宾", "阿里"); the full name ("合作市") still matches.
NOT_SHORT = {"合作", "安宁", "东方", "大安", "龙井", "安康", "白银", "来宾", "大同", "长治",
             "普洱", "阿里", "新民", "永安", "长乐", "福安", "高平", "阳春", "高安", "乐平", "江山",
             "个旧", "双河", "新星", "白杨", "永康", "红河", "怒江", "黄山", "东兴", "北流",
             # inside words residents write: 医保定点, 民营口腔, 每周口服, 平安顺利, 三明治
             "保定", "营口", "周口", "安顺", "三明", "高密", "宁安", "海伦", "尚志", "五常",
             "弥勒", "磐石", "临江", "三河", "南宫", "安国", "赤水", "古交", "孝义", "龙口",
             # districts of the province-level cities: 长寿 (long life), 南岸 (south bank), 石柱
             "长寿", "南岸", "石柱", "金山", "南开", "和平", "河东", "河西", "河北", "东城", "西城"}
MUNICIPALITIES = {"11", "12", "31", "50"}  # 北京, 天津, 上海, 重庆
GENERIC = {"市辖区", "县", "城区", "郊区", "矿区", "新区", "开发区", "高新区"}


def short_name(name: str, nations: list[str]) -> str | None:
    """"南京市" → "南京"; "延边朝鲜族自治州" → "延边"; "阿克苏地区" → "阿克苏"."""
    stripped = re.sub(r"(特别行政区|自治区|自治州|自治县|自治旗|新区|地区|盟|省|市|区|县)$", "", name)
    if stripped == name:
        return None
    while "自治" in name:  # 广西壮族 → 广西; 黔东南苗族侗族 → 黔东南; 新疆维吾尔 → 新疆
        nation = next((n for n in nations if stripped.endswith(n) and len(stripped) - len(n) >= 2), None)
        if nation is None:
            break
        stripped = stripped[: -len(nation)]
    return stripped if len(stripped) >= 2 else None


def build(adcodes: Path) -> dict:
    rows = list(csv.DictReader(adcodes.open(encoding="utf-8")))
    # cpca's list of the 56 nations sits beside its division codes; longest first.
    with (adcodes.parent / "56_nations.csv").open(encoding="utf-8") as f:
        named = {line.strip().split(",")[-1] for line in f if "族" in line}
    nations = sorted(named | {n.removesuffix("族") for n in named}, key=len, reverse=True)
    provinces = {r["adcode"][:2]: r["name"] for r in rows if r["adcode"][2:] == "0" * 10}
    prefectures = [r for r in rows if r["adcode"][4:] == "0" * 8 and r["adcode"][2:4] != "00"]
    counties = [r for r in rows if r["adcode"][6:] == "0" * 6 and r["adcode"][4:6] != "00"]
    county_count = Counter(r["name"] for r in counties)

    places: dict[str, dict[str, list[str]]] = {code: {} for code in provinces}
    prefecture_of = {r["adcode"][:4]: r["name"] for r in prefectures if r["name"] not in GENERIC}
    within: dict[str, str] = {}
    for r in prefectures:
        if r["name"] in GENERIC:
            continue
        short = short_name(r["name"], nations)
        places[r["adcode"][:2]][r["name"]] = [short] if short and short not in NOT_SHORT else []
    for r in counties:
        name = r["name"]
        if name in GENERIC or county_count[name] > 1 or len(name) < 3:
            continue
        # In the four province-level cities residents name districts short too ("去万州看病").
        municipal = r["adcode"][:2] in MUNICIPALITIES and name.endswith(("区", "县"))
        short = short_name(name, nations) if name.endswith("市") or municipal else None
        places[r["adcode"][:2]].setdefault(name, [short] if short and short not in NOT_SHORT else [])
        if r["adcode"][:4] in prefecture_of:
            within[name] = prefecture_of[r["adcode"][:4]]

    # A short name two places share names neither (吉林 is a province and a city in it: kept,
    # both are in 吉林省).
    owners: dict[str, set[str]] = {}
    for code, named in places.items():
        for shorts in named.values():
            for s in shorts:
                owners.setdefault(s, set()).add(code)
    for code in provinces:
        owners.setdefault(short_name(provinces[code], nations) or provinces[code], set()).add(code)
    shared = {s for s, codes in owners.items() if len(codes) > 1}
    province_shorts = {short_name(n, nations) for n in provinces.values()}

    out = []
    for code, name in sorted(provinces.items()):
        short = short_name(name, nations)
        named = places[code]
        out.append({
            "name": name,
            # A province keeps its short name ("海南"); a place sharing it loses its own.
            "aliases": [short] if short else [],
            "places": {full: [s for s in shorts if s not in shared and s not in province_shorts]
                       for full, shorts in sorted(named.items()) if full != name},
        })
    # Shared county names ("朝阳区", "鼓楼区") name no place, but keep a short name inside
    # them ("朝阳", 辽宁's 朝阳市) from being read.
    ambiguous = sorted(name for name, n in county_count.items() if n > 1 and name not in GENERIC)
    # The prefecture each county-level place lies in (正宁县 in 庆阳市).
    return {"provinces": out, "ambiguous": ambiguous, "within": dict(sorted(within.items()))}


HEADER = """\
# China's provinces and the places in them, for telling where a resident is insured
# and where they go for care (actions/whereabouts.py).
# Generated by `python -m devtools.regions` from the administrative division codes that
# cpca 0.5.5 (MIT licence, https://github.com/DQinYuan/chinese_province_city_area_mapper)
# ships; do not edit by hand. Short names: see devtools/regions.py.
"""


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    data = build(Path(argv[0]))
    OUT.write_text(HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120),
                   encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {sum(len(p['places']) for p in data['provinces'])} places "
          f"in {len(data['provinces'])} provinces")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
