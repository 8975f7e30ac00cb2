"""Bot scoring speed: profiles/s of score_bot against a naive baseline, in the same run.

Baseline: a plain lower-cased substring scan of every profile field for every raw lexicon
term (no normalisation, no trie), the obvious first implementation. Requirement: score_bot
>= 5,000 profiles/s.

    python benchmarks/bench_bots.py [--rounds N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.bots.classifier import default_model, load_lexicon, profile_fields, score_bot  # noqa: E402
from detectors.bots.calibrate import load_eval_set  # noqa: E402


def naive_scan(profiles: list[dict], terms: list[tuple[str, str]]) -> int:
    hits = 0
    for p in profiles:
        fields = profile_fields(p)
        for text in fields.values():
            low = text.lower()
            for term, _group in terms:
                if term in low:
                    hits += 1
    return hits


def rate(fn, profiles: list[dict], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn(profiles)
    return len(profiles) * rounds / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    profiles = load_eval_set()
    default_model()  # compile once, outside the timing
    terms = [(t.lower(), g) for groups in load_lexicon().values() for g, ts in groups.items() for t in ts]
    ours = rate(lambda ps: [score_bot(p) for p in ps], profiles, args.rounds)
    naive = rate(lambda ps: naive_scan(ps, terms), profiles, max(1, args.rounds // 4))
    print(f"{len(profiles)} profiles x {args.rounds} rounds; {len(terms)} lexicon terms")
    print(f"score_bot (normalise + Aho-Corasick + score): {ours:,.0f} profiles/s")
    print(f"baseline (naive substring scan, no normalisation): {naive:,.0f} profiles/s")
    print(f"ratio: {ours / naive:.1f}x; requirement >= 5,000 profiles/s: {'met' if ours >= 5000 else 'NOT met'}")
    return 0 if ours >= 5000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
