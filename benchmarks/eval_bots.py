"""Bot classifier accuracy on each labelled set, side by side: the training sets (tuned on: the
lexicon's author, helpers' sets, and earlier rounds' blind sets once reported) and the current
round's blind sets (helpers given only a brief; never tuned on).

    python benchmarks/eval_bots.py [--by-language] [--misses SET]

Precision and recall of `deepfake_generator` at the default thresholds ([bots]); `unknown`
counts as not flagged. The blind figures are the ones to quote.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors.bots.classifier import score_bot  # noqa: E402

SETS = {"train": ROOT / "tests/fixtures/bot_profiles.jsonl", "dev": ROOT / "tests/fixtures/bot_profiles_dev.jsonl",
        "train2_a": ROOT / "tests/fixtures/bot_profiles_train2_a.jsonl",
        "train2_b": ROOT / "tests/fixtures/bot_profiles_train2_b.jsonl",
        "train3_a": ROOT / "tests/fixtures/bot_profiles_train3_a.jsonl",
        "train3_b": ROOT / "tests/fixtures/bot_profiles_train3_b.jsonl",
        # round 3's blind sets: reported blind (README), then added to the training corpus
        "train5_a": ROOT / "tests/fixtures/bot_profiles_train5_a.jsonl",
        "train5_b": ROOT / "tests/fixtures/bot_profiles_train5_b.jsonl",
        "train5_c": ROOT / "tests/fixtures/bot_profiles_train5_c.jsonl",
        "train4_a": ROOT / "tests/fixtures/bot_profiles_train4_a.jsonl",
        # round 4's blind sets: reported blind (README), then added to the training corpus
        "train6_a": ROOT / "tests/fixtures/bot_profiles_train6_a.jsonl",
        "train6_b": ROOT / "tests/fixtures/bot_profiles_train6_b.jsonl",
        # round 5's blind sets: reported blind (README), then added to the training corpus
        "train7_a": ROOT / "tests/fixtures/bot_profiles_train7_a.jsonl",
        "train7_b": ROOT / "tests/fixtures/bot_profiles_train7_b.jsonl",
        # round 6's blind sets: reported blind (README), then added to the training corpus
        "train8_a": ROOT / "tests/fixtures/bot_profiles_train8_a.jsonl",
        "train8_b": ROOT / "tests/fixtures/bot_profiles_train8_b.jsonl",
        # round 7's blind sets: reported blind (README), then added to the training corpus
        "train9_a": ROOT / "tests/fixtures/bot_profiles_train9_a.jsonl",
        "train9_b": ROOT / "tests/fixtures/bot_profiles_train9_b.jsonl",
        # round 8's blind sets: reported blind (README), then added to the training corpus
        "train10_a": ROOT / "tests/fixtures/bot_profiles_train10_a.jsonl",
        "train10_b": ROOT / "tests/fixtures/bot_profiles_train10_b.jsonl",
        "blind_n": ROOT / "tests/fixtures/blind/bot_profiles_blind_n.jsonl",
        "blind_o": ROOT / "tests/fixtures/blind/bot_profiles_blind_o.jsonl"}


def evaluate(rows: list[dict]) -> dict:
    tp = fp = fn = tn = 0
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # found, deepfakes, false positives
    misses = []
    for row in rows:
        verdict = score_bot(row)
        flagged = verdict.label == "deepfake_generator"
        positive = row["label"] == "deepfake_generator"
        lang = row.get("language", "?").split("-")[0]
        if positive:
            by_lang[lang][1] += 1
            by_lang[lang][0] += flagged
            tp += flagged
            fn += not flagged
            if not flagged:
                misses.append((row["username"], verdict.score, verdict.reasons[:3]))
        else:
            fp += flagged
            tn += not flagged
            by_lang[lang][2] += flagged
            if flagged:
                misses.append(("FALSE POSITIVE " + row["username"], verdict.score, verdict.reasons[:3]))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"n": len(rows), "precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn,
            "by_language": dict(by_lang), "misses": misses}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--by-language", action="store_true")
    parser.add_argument("--misses", help="print the misses of this set (never for a blind set while tuning)")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated names of the sets above")
    args = parser.parse_args()
    print(f"{'set':8} {'n':>4} {'precision':>9} {'recall':>7}  tp  fp  fn")
    results = {}
    for name, path in SETS.items():
        if name not in args.sets.split(",") or not path.exists():
            continue
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        r = results[name] = evaluate(rows)
        print(f"{name:8} {r['n']:>4} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['tp']:>3} {r['fp']:>3} {r['fn']:>3}")
    if args.by_language:
        for name, r in results.items():
            print(name + ": " + ", ".join(f"{lang} {f}/{n}" + (f" fp{x}" if x else "")
                                          for lang, (f, n, x) in sorted(r["by_language"].items())))
    if args.misses:
        for m in results[args.misses]["misses"]:
            print(m)


if __name__ == "__main__":
    main()
