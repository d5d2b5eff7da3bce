"""`make eval`: NLU on the held-out set, a report with macro-F1 and confusions."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def train_nlu(config: Path, out_dir: Path) -> Path:
    """Train an NLU-only model with another pipeline, for comparison."""
    cmd = [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(config),
           "--nlu", "data/nlu", "--out", str(out_dir), "--fixed-model-name", "baseline"]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return out_dir / "baseline.tar.gz"


def run_rasa_test(model: Path, holdout: Path, out: Path, config: Path | None) -> None:
    cmd = [str(Path(sys.executable).parent / "rasa"), "test", "nlu", "--nlu", str(holdout),
           "--model", str(model), "--out", str(out), "--no-plot"]
    subprocess.run(cmd, cwd=ROOT, check=True)


def summarise(out: Path) -> dict:
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    pairs = []
    for intent, row in report.items():
        if isinstance(row, dict) and "confused_with" in row:
            pairs += [(n, intent, other) for other, n in row["confused_with"].items()]
    pairs.sort(reverse=True)
    per_intent = {k: v["f1-score"] for k, v in report.items() if isinstance(v, dict) and "support" in v
                  and k not in ("macro avg", "weighted avg", "micro avg")}
    return {
        "macro_f1": report["macro avg"]["f1-score"],
        "accuracy": report.get("accuracy") or report.get("micro avg", {}).get("f1-score"),
        "per_intent_f1": per_intent,
        "confusions": [{"true": t, "predicted": p, "count": n} for n, t, p in pairs[:15]],
    }


def write_report(summary: dict, path: Path, holdout: Path, model: Path) -> None:
    lines = [f"# NLU evaluation on `{holdout.relative_to(ROOT)}`", "",
             f"model: `{model.relative_to(ROOT)}`", "",
             f"- macro-F1: **{summary['macro_f1']:.3f}**",
             f"- accuracy: {summary['accuracy']:.3f}" if summary["accuracy"] is not None else "", "",
             "## Weakest intents", "", "| intent | F1 |", "| --- | --- |"]
    for intent, f1 in sorted(summary["per_intent_f1"].items(), key=lambda kv: kv[1])[:10]:
        lines.append(f"| {intent} | {f1:.3f} |")
    lines += ["", "## Most frequent confusions", "", "| true | predicted | count |", "| --- | --- | --- |"]
    lines += [f"| {c['true']} | {c['predicted']} | {c['count']} |" for c in summary["confusions"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="models/assistant.tar.gz")
    parser.add_argument("--holdout", default="tests/nlu_holdout.yml")
    parser.add_argument("--out", default="results/nlu")
    parser.add_argument("--min-macro-f1", type=float, default=0.90)
    parser.add_argument("--train-config", help="train an NLU model with this config first (comparison)")
    args = parser.parse_args()
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.train_config:
        args.model = str(train_nlu(ROOT / args.train_config, out / "model").relative_to(ROOT))
    run_rasa_test(ROOT / args.model, ROOT / args.holdout, out, None)
    summary = summarise(out)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    write_report(summary, out / "report.md", ROOT / args.holdout, ROOT / args.model)
    print(f"macro-F1 {summary['macro_f1']:.3f} on {args.holdout} (report: {args.out}/report.md)")
    for c in summary["confusions"][:8]:
        print(f"  {c['true']} → {c['predicted']}: {c['count']}")
    if summary["macro_f1"] < args.min_macro_f1:
        print(f"FAIL: macro-F1 below {args.min_macro_f1}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
