"""Summarise the last `mutmut run` (make mutation) as a Markdown report.

Reads mutmut's per-file results under mutants/ and the reviewed equivalent mutants in
tests/mutation/equivalent.yml (mutant name -> one-line reason). A mutant whose function no
selected test runs ("no tests") counts as surviving: nothing would notice it either.

    python tests/mutation/summarize.py [--sample PATTERN] [--title TEXT] > report.md
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
KILLED = {1, 3, 37}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, 24, -24, 152, 255}


def results(pattern: str) -> dict[str, dict[str, int | None]]:
    """exit code by mutant name, by source file, for the mutants the pattern selects."""
    by_file: dict[str, dict[str, int | None]] = {}
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        source = str(meta.relative_to("mutants"))[: -len(".meta")]
        chosen = {k: v for k, v in codes.items() if fnmatch.fnmatch(k, pattern)}
        if chosen:
            by_file[source] = chosen
    return by_file


def folder(source: str) -> str:
    return source if source.startswith("hotline/") else source.split("/")[0] + "/"


def status(code: int | None) -> str:
    if code is None:
        return "not run"
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    if code in TIMEOUT:
        return "timeout"
    return "suspicious"


def changed_lines(name: str, source: str) -> str:
    """The mutated line, `old` -> `new`, from mutmut's own diff."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    try:
        diff = get_diff_for_mutant(name, path=Path(source)).splitlines()
    except Exception as exc:  # noqa: BLE001 - a report line, not a failure
        return f"(diff unavailable: {exc})"
    minus = [line[1:].strip() for line in diff if line.startswith("-") and not line.startswith("---")]
    plus = [line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++")]
    return f"`{' / '.join(minus)[:110]}` → `{' / '.join(plus)[:110]}`"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", default="*", help="fnmatch pattern over mutant names (the run's selection)")
    parser.add_argument("--title", default="Mutation testing")
    parser.add_argument("--before", type=Path, help="an earlier report: its table is repeated for comparison")
    parser.add_argument("--note", default="", help="a paragraph under the title (how the run was made)")
    args = parser.parse_args()
    equivalent = yaml.safe_load((HERE / "equivalent.yml").read_text(encoding="utf-8")) or {}

    by_file = results(args.sample)
    counts: dict[str, Counter] = defaultdict(Counter)
    for source, codes in by_file.items():
        for code in codes.values():
            counts[folder(source)][status(code)] += 1
            counts["total"][status(code)] += 1

    out = [f"# {args.title}", "", f"Selection: mutants matching `{args.sample}`.", ""]
    if args.note:
        out += [args.note, ""]
    out += ["| scope | killed | survived | no tests | timeout | not run | total | % surviving |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scope in sorted(k for k in counts if k != "total") + ["total"]:
        c = counts[scope]
        run = sum(c.values()) - c["not run"]
        alive = c["survived"] + c["no tests"]
        share = f"{100 * alive / run:.1f} %" if run else "-"
        out.append(f"| {scope} | {c['killed']} | {c['survived']} | {c['no tests']} | "
                   f"{c['timeout']} | {c['not run']} | {sum(c.values())} | {share} |")
    out += ["", "Surviving = survived + no tests (no selected test runs that function); "
            "a timeout counts as killed in mutmut's score but is listed apart here.", ""]
    alive_names = [k for codes in by_file.values() for k, v in codes.items() if status(v) in ("survived", "no tests")]
    judged = sum(1 for k in alive_names if k in equivalent)
    run_total = sum(counts["total"].values()) - counts["total"]["not run"]
    if run_total:
        out += [f"Of the {len(alive_names)} surviving, {judged} are judged equivalent or unreachable (reasons "
                f"below); without them {100 * (len(alive_names) - judged) / max(1, run_total - judged):.1f} % survive.",
                ""]
    if args.before and args.before.exists():
        table = [line for line in args.before.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
        out += [f"Before (`{args.before.name}`):", ""] + table + [""]

    out += ["## Surviving mutants by file", ""]
    for source, codes in by_file.items():
        alive = sorted((k for k, v in codes.items() if status(v) in ("survived", "no tests")),
                       key=lambda k: (k.rsplit("__mutmut_", 1)[0], int(k.rsplit("_", 1)[1])))
        if not alive:
            continue
        out += [f"### {source} ({len(alive)})", ""]
        for name in alive:
            short = name.split(".", 2)[-1]
            reason = equivalent.get(name)
            note = f" — equivalent: {reason}" if reason else ""
            tag = " (no tests)" if status(codes[name]) == "no tests" else ""
            out.append(f"- `{short}`{tag}: {changed_lines(name, source)}{note}")
        out.append("")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
