"""Banned bots and their lineage: verdicts carried along `mirror_of` links. Pure.

A banned bot's profile can no longer be read, and its mirror's profile may say nothing; what
ties them to a deepfake generator is the network: a notice that one replaces the other, or a
referral code moved from one to the other (detectors/bots/mirrors.py). The rule, in precision's
favour:
- a bot the classifier left `unknown` that is linked by `mirror_of` (either direction, through
  a chain) to a `deepfake_generator` becomes `deepfake_generator`, the link named as the reason;
- being promoted in the same posts as a generator only raises an `unknown` bot's score (never
  to the threshold), with a reason: association alone never makes a generator;
- a `benign` verdict from the bot's own words and an analyst's decision are never changed.
"""
from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import replace
from typing import Iterable

from detectors.bots.classifier import Thresholds, Verdict

GENERATOR = "deepfake_generator"
ASSOCIATION_BONUS = 0.15


def apply_lineage(verdicts: dict[str, Verdict], decided: dict[str, str],
                  links: Iterable[tuple[str, str, str, str]], co_promoted: Iterable[tuple[str, str]],
                  thresholds: Thresholds) -> dict[str, Verdict]:
    """New verdicts after lineage. `decided`: analyst labels; `links`: (bot, predecessor, kind,
    evidence) mirror rows; `co_promoted`: pairs of bots named in the same post."""
    out = dict(verdicts)

    def label(name: str) -> str | None:
        return decided.get(name) or (out[name].label if name in out else None)

    relation: dict[tuple[str, str], str] = {}  # (x, y) -> how x is linked to y, from x's side
    neighbours: dict[str, set[str]] = defaultdict(set)
    for bot, predecessor, kind, evidence in links:
        relation.setdefault((bot, predecessor), f"mirror of @{predecessor} ({kind}: {evidence})")
        relation.setdefault((predecessor, bot), f"replaced by its mirror @{bot} ({kind}: {evidence})")
        neighbours[bot].add(predecessor)
        neighbours[predecessor].add(bot)
    queue = deque(sorted(name for name in set(out) | set(decided) if label(name) == GENERATOR))
    while queue:
        source = queue.popleft()
        for name in sorted(neighbours.get(source, ())):
            verdict = out.get(name)
            if verdict is None or name in decided or verdict.label != "unknown":
                continue
            out[name] = replace(verdict, label=GENERATOR, score=max(verdict.score, thresholds.generator),
                                reasons=[f"lineage: {relation[(name, source)]}, a deepfake_generator"] +
                                [r for r in verdict.reasons if not r.startswith("no signal")])
            queue.append(name)
    generators = {name for name in set(out) | set(decided) if label(name) == GENERATOR}
    partners: dict[str, set[str]] = defaultdict(set)
    for a, b in co_promoted:
        if b in generators:
            partners[a].add(b)
        if a in generators:
            partners[b].add(a)
    for name, with_ in partners.items():
        verdict = out.get(name)
        if verdict is None or name in decided or verdict.label != "unknown":
            continue
        score = min(thresholds.generator - 0.01, verdict.score + ASSOCIATION_BONUS)
        if score <= verdict.score:
            continue
        names = ", ".join(f"@{n}" for n in sorted(with_)[:3])
        out[name] = replace(verdict, score=round(score, 4), reasons=verdict.reasons + [
            f"association: promoted in the same posts as {names} (deepfake_generator); raises the score, "
            "never the label"])
    return out
