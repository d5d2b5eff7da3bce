"""Where residents are insured and go for care: actions/whereabouts.py against simple peers.

`python -m devtools.evaluate_places` (part of `make eval`) reads the messages of two sets
in tests/places/, both written by other sessions apart from the cue lists, and writes
results/places/report.md: questions.yml, whose overall score informed one rule (the order
rule in actions/whereabouts.py), and test_questions.yml, written after that and kept for
the held-out figure; neither is tuned against item by item. The peers read the same places with the same gazetteer,
so the comparison is of the roles alone:
- last named: the last place named is the place of insurance (what Rasa's city slot
  keeps), the first other one the place of care;
- first named: the first place named is the place of insurance, the next other one care.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "development set (`tests/places/questions.yml`; its overall score informed the order rule)":
        ROOT / "tests" / "places" / "questions.yml",
    "held-out test set (`tests/places/test_questions.yml`)": ROOT / "tests" / "places" / "test_questions.yml",
}
REPORT = ROOT / "results" / "places" / "report.md"

Reading = tuple[Optional[str], Optional[str]]  # (insured, care)


@dataclass
class Score:
    insured: int = 0
    care: int = 0
    both: int = 0

    def add(self, got: Reading, want: Reading) -> None:
        self.insured += got[0] == want[0]
        self.care += got[1] == want[1]
        self.both += got == want


def _kb():
    """A knowledge store over a throwaway SQLite database of the shipped content."""
    import tempfile

    from knowledge.db import make_engine, make_session_factory
    from knowledge.loader import load
    from knowledge.schema import read_all
    from knowledge.store import KnowledgeStore

    folder = tempfile.mkdtemp(prefix="places-eval-")
    engine = make_engine(f"sqlite:///{folder}/kb.db")
    load(engine, read_all())
    return KnowledgeStore(make_session_factory(engine))


def readers(kb) -> dict[str, Callable[[str], Reading]]:
    from actions import whereabouts

    def project(text: str) -> Reading:
        found = whereabouts.read(text, kb)
        return (found.insured.name if found.insured else None, found.care.name if found.care else None)

    def by_order(last: bool) -> Callable[[str], Reading]:
        def peer(text: str) -> Reading:
            named = [r.name for r in whereabouts.read(text, kb).named]
            if not named:
                return None, None
            insured = named[-1] if last else named[0]
            return insured, next((n for n in named if n != insured), None)
        return peer

    return {"project (actions/whereabouts.py)": project, "peer: last named": by_order(True),
            "peer: first named": by_order(False)}


def evaluate(items: list[dict], kb) -> tuple[dict[str, Score], dict[str, dict[str, Score]], list[str]]:
    systems = readers(kb)
    total = {name: Score() for name in systems}
    by_style: dict[str, dict[str, Score]] = {}
    misses: list[str] = []
    for item in items:
        want = (item.get("insured"), item.get("care"))
        for name, read in systems.items():
            got = read(item["text"])
            total[name].add(got, want)
            by_style.setdefault(item.get("style", "plain"), {}).setdefault(name, Score()).add(got, want)
            if name.startswith("project") and got != want:
                misses.append(f"| {item['text']} | {want[0]} / {want[1]} | {got[0]} / {got[1]} |")
    return total, by_style, misses


def report(title: str, items: list[dict], total, by_style, misses) -> str:
    n = len(items)
    styles = Counter(i.get("style", "plain") for i in items)

    def pct(k: int, of: int) -> str:
        return f"{k / of:.1%}" if of else "-"

    lines = [
        f"## {title}", "", f"{n} messages.", "",
        "| system | place of insurance right | place of care right | both right |",
        "| --- | --- | --- | --- |",
    ]
    for name, score in total.items():
        lines.append(f"| {name} | {pct(score.insured, n)} | {pct(score.care, n)} | {pct(score.both, n)} |")
    lines += ["", "Both right, by style:", "",
              "| style | items | " + " | ".join(total) + " |", "| --- | --- |" + " --- |" * len(total)]
    for style, count in sorted(styles.items()):
        cells = " | ".join(pct(by_style[style][name].both, count) for name in total)
        lines.append(f"| {style} | {count} | {cells} |")
    lines += ["", f"Read otherwise than labelled by the project ({len(misses)}):", "",
              "| message | labelled insured / care | read |", "| --- | --- | --- |", *misses, ""]
    return "\n".join(lines)


HEADER = """# Place roles: where residents are insured, where they go for care

Messages written by other sessions than the cue lists (see tests/places/README.md and
TEST_README.md). All systems read the places with the same gazetteer
(`knowledge/regions.yml` plus our places' aliases); the peers assign roles by order only:
"last named" is what Rasa's city slot keeps, "first named" the plain order rule.
"""


def main() -> int:
    kb = _kb()
    sections = [HEADER]
    for title, path in SETS.items():
        items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
        total, by_style, misses = evaluate(items, kb)
        sections.append(report(title, items, total, by_style, misses))
        print(title.split(" (")[0])
        for name, score in total.items():
            print(f"  {name}: insured {score.insured}/{len(items)}, care {score.care}/{len(items)}, "
                  f"both {score.both}/{len(items)}")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(sections), encoding="utf-8")
    print(f"report: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
