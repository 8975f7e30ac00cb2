"""Fit the classifier's Platt scaling on the train split of the evaluation set, and report.

    python -m detectors.calibrate            # fit, rewrite [platt] in weights.toml, print figures
    python -m detectors.calibrate --check    # print figures only

The evaluation set (tests/fixtures/bot_profiles.jsonl) is split by a hash of the username:
one profile in three is held out and never used for fitting, so the held-out figures say
something about profiles the calibration has not seen. Only the two Platt coefficients are
fitted; the group weights are set by hand in weights.toml.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detectors.bot_classifier import LEXICON_DIR, Model, Thresholds, build_model, find_signals, profile_fields, \
    raw_score, score_bot

EVAL_SET = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bot_profiles.jsonl"
POSITIVE = "deepfake_generator"


def load_eval_set(path: Path = EVAL_SET) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_held_out(profile: dict[str, Any]) -> bool:
    """One profile in three, chosen by a hash of its username (stable across runs and machines)."""
    return int(hashlib.sha256(profile["username"].encode()).hexdigest(), 16) % 3 == 0


def fit_platt(z: list[float], y: list[int], iterations: int = 200) -> tuple[float, float]:
    """Platt's method: logistic fit of p = 1/(1+exp(a*z+b)), with his smoothed targets, by Newton steps."""
    n_pos, n_neg = sum(y), len(y) - sum(y)
    hi, lo = (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)
    t = [hi if v else lo for v in y]
    a, b = 0.0, math.log((n_neg + 1) / (n_pos + 1))
    for _ in range(iterations):
        g_a = g_b = h_aa = h_ab = h_bb = 0.0
        for zi, ti in zip(z, t):
            s = a * zi + b
            p = 1 / (1 + math.exp(s)) if s > -50 else 1.0
            d = ti - p  # derivative of the log-loss with respect to s
            w = p * (1 - p)
            g_a += d * zi
            g_b += d
            h_aa += w * zi * zi
            h_ab += w * zi
            h_bb += w
        h_aa += 1e-9
        h_bb += 1e-9
        det = h_aa * h_bb - h_ab * h_ab
        if abs(det) < 1e-12:
            break
        step_a = (h_bb * g_a - h_ab * g_b) / det
        step_b = (h_aa * g_b - h_ab * g_a) / det
        a, b = a - step_a, b - step_b
        if abs(step_a) < 1e-9 and abs(step_b) < 1e-9:
            break
    return a, b


@dataclass
class Figures:
    n: int
    tp: int
    fp: int
    fn: int
    misclassified: list[tuple[str, str, str, float]]  # username, expected, got, score

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self, name: str) -> str:
        return (f"{name}: n={self.n} precision={self.precision:.3f} recall={self.recall:.3f} F1={self.f1:.3f} "
                f"(tp={self.tp} fp={self.fp} fn={self.fn})")


def evaluate(profiles: list[dict[str, Any]], model: Model | None = None,
             thresholds: Thresholds | None = None) -> Figures:
    """Precision/recall of the `deepfake_generator` label; every other label counts as "not flagged"."""
    tp = fp = fn = 0
    wrong = []
    for p in profiles:
        v = score_bot(p, thresholds=thresholds, model=model)
        flagged, truth = v.label == POSITIVE, p["label"] == POSITIVE
        tp += flagged and truth
        fp += flagged and not truth
        fn += truth and not flagged
        if flagged != truth:
            wrong.append((p["username"], p["label"], v.label, v.score))
    return Figures(len(profiles), tp, fp, fn, wrong)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only; do not rewrite weights.toml")
    args = parser.parse_args(argv)
    profiles = load_eval_set()
    train = [p for p in profiles if not is_held_out(p)]
    held = [p for p in profiles if is_held_out(p)]
    model = build_model()
    if not args.check:
        z = [raw_score(find_signals(profile_fields(p), model), model) for p in train]
        a, b = fit_platt(z, [int(p["label"] == POSITIVE) for p in train])
        path = LEXICON_DIR / "weights.toml"
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\[platt\]\na = [^\n]*\nb = [^\n]*\n", f"[platt]\na = {a:.4f}\nb = {b:.4f}\n", text)
        path.write_text(text, encoding="utf-8")
        print(f"fitted on {len(train)} train profiles: a={a:.4f} b={b:.4f} (written to {path})")
        model = build_model()
    for name, part in (("all", profiles), ("train", train), ("held-out", held)):
        figures = evaluate(part, model)
        print(figures.line(name))
        for username, expected, got, score in figures.misclassified:
            print(f"   {username}: expected {expected}, got {got} ({score:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
