"""Fit the classifier's weights on the training corpus, and report.

    python -m detectors.bots.calibrate            # fit, rewrite the weights in weights.toml, print figures
    python -m detectors.bots.calibrate --check    # print figures only

The training corpus is every labelled set except the blind ones: tests/fixtures/bot_profiles.jsonl,
bot_profiles_dev.jsonl and bot_profiles_train<N>_*.jsonl. One profile in three (by a hash of its
username) is held out of the fit, so its figures say something about profiles the weights have
not seen (not the lexicons: their writers read every training profile); only the blind sets
(benchmarks/eval_bots.py) measure generalisation. The model is a logistic regression
with one readable feature per reason (detectors.bots.classifier.features): a weight per signal
group and one for the core-offer combination, signs fixed (a positive group can only raise the
score, a negative one only lower it), L2-regularised, benign profiles weighted up (precision
first). The lexicons decide what each feature means; the fit only decides how much it counts.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from detectors.bots.classifier import LEXICON_DIR, Model, Thresholds, build_model, features, read_profile, score_bot

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
EVAL_SET = FIXTURES / "bot_profiles.jsonl"
POSITIVE = "deepfake_generator"
NONCORE_MAX = 2.0


def load_eval_set(path: Path = EVAL_SET) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_held_out(profile: dict[str, Any]) -> bool:
    """One profile in three, chosen by a hash of its username (stable across runs and machines)."""
    return int(hashlib.sha256(profile["username"].encode()).hexdigest(), 16) % 3 == 0


def training_corpus() -> list[dict[str, Any]]:
    """Every labelled profile the weights may be fitted on (never the blind sets)."""
    paths = [EVAL_SET, FIXTURES / "bot_profiles_dev.jsonl", *sorted(FIXTURES.glob("bot_profiles_train[0-9]*_*.jsonl"))]
    return [p for path in paths if path.exists() for p in load_eval_set(path)]


def design(profiles: list[dict[str, Any]], model: Model) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Feature names, the feature matrix (negative groups as their presence, subtracted by the fit's
    sign) and the labels."""
    names = sorted(model.positive) + sorted(model.negative) + ["combo"]
    index = {n: i for i, n in enumerate(names)}
    x = np.zeros((len(profiles), len(names)))
    for row, p in enumerate(profiles):
        found, own_words = read_profile(p, None, model)
        for name, value in features(found, model, own_words).items():
            x[row, index[name]] = -value if name in model.negative else value
    y = np.array([float(p["label"] == POSITIVE) for p in profiles])
    return names, x, y


def fit_weights(x: np.ndarray, y: np.ndarray, l2: float = 0.05, benign_weight: float = 3.0,
                max_weight: float | list[float] = 12.0) -> tuple[float, np.ndarray]:
    """Bounded logistic regression (scipy's L-BFGS-B): every weight in [0, its maximum], the bias free."""
    sample = np.where(y > 0, 1.0, benign_weight)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + x @ theta[1:]
        p = expit(z)
        eps = 1e-12
        value = -np.sum(sample * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) + l2 * np.sum(theta[1:] ** 2)
        grad_z = sample * (p - y)
        grad = np.concatenate([[grad_z.sum()], x.T @ grad_z + 2 * l2 * theta[1:]])
        return value, grad

    start = np.zeros(x.shape[1] + 1)
    caps = max_weight if isinstance(max_weight, list) else [max_weight] * x.shape[1]
    bounds = [(None, None)] + [(0.0, cap) for cap in caps]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return float(result.x[0]), result.x[1:]


def write_weights(path: Path, names: list[str], bias: float, weights: np.ndarray) -> None:
    """Rewrite the fitted numbers in weights.toml, leaving its comments and order alone."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^bias = .*$", f"bias = {bias:.4f}", text)
    for name, value in zip(names, weights):
        text = re.sub(rf"(?m)^{name} = [-0-9.]+\s*$", f"{name} = {value:.4f}", text)
    text = re.sub(r"\[platt\]\na = [^\n]*\nb = [^\n]*\n", "[platt]\na = -1.0\nb = 0.0\n", text)
    path.write_text(text, encoding="utf-8")


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
    profiles = training_corpus()
    train = [p for p in profiles if not is_held_out(p)]
    held = [p for p in profiles if is_held_out(p)]
    model = build_model()
    if not args.check:
        names, x, y = design(train, model)
        # a sign that is not an offer (a paywall, a referral, a mirror notice) is common in benign bots
        # a corpus of this size under-samples: it may never decide alone (NONCORE_MAX)
        caps = [NONCORE_MAX if n in model.positive and n not in model.core else 12.0 for n in names]
        bias, weights = fit_weights(x, y, max_weight=caps)
        path = LEXICON_DIR / "weights.toml"
        write_weights(path, names, bias, weights)
        print(f"fitted on {len(train)} profiles (written to {path}):")
        print(f"  bias {bias:+.3f}; " + ", ".join(f"{n} {w:.2f}" for n, w in zip(names, weights)))
        model = build_model()
    for name, part in (("all", profiles), ("fit", train), ("held-out", held)):
        figures = evaluate(part, model)
        print(figures.line(name))
        for username, expected, got, score in figures.misclassified[:40]:
            print(f"   {username}: expected {expected}, got {got} ({score:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
