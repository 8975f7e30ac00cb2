"""Escalation: one score per channel, bot and media cluster, 0..1, with the reasons behind it.

Signals (each 0..1) are combined as a noisy-OR, 1 - prod(1 - weight * signal): a weight is the
most that signal alone can give, and more evidence only ever raises the score. Harm signals
(known content from the hash banks, suspect bots promoted, bot mirrors) decide whether a subject
can escalate at all; context signals (repost reach, automation, centrality) only add to a
subject that has a harm signal. So a busy, central news channel that writes about deepfake bots
scores 0: naming a bot (a mention, a plain link) is not promoting it (a deep link with a start
code, a button, an inline "via" result), and only promotion counts.

`score_subjects` is pure (graph + analysis + automation scores -> escalations);
`save_escalations` writes them and, for a subject crossing the threshold for the first time,
the `escalation` alert, in the same transaction.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

import networkx as nx

from graph.analysis import Analysis, bot_suspicion, channels_forwarding, promotion_posts
from store.alerts import Alert
from store.escalations import EscalationsStore
from store.records import now
from store.refs import PROMOTION_KINDS
from tgsweep.config import GraphSettings, default

TIER_WEIGHT = {"near-certain": 1.0, "match": 1.0, "weak lead": 0.25}


@dataclass(frozen=True)
class Weights:
    """[graph] settings that shape the score (see tgsweep/config.py)."""

    bank_matches: float = default(GraphSettings, "weight_bank_matches")
    flagged_bots: float = default(GraphSettings, "weight_flagged_bots")
    mirrors: float = default(GraphSettings, "weight_mirrors")
    reach: float = default(GraphSettings, "weight_reach")
    automation: float = default(GraphSettings, "weight_automation")
    centrality: float = default(GraphSettings, "weight_centrality")
    min_bot_score: float = default(GraphSettings, "min_bot_score")
    threshold: float = default(GraphSettings, "escalation_threshold")

    @classmethod
    def from_config(cls, config: Any) -> "Weights":
        g = getattr(config, "graph", None)
        if g is None:
            return cls()
        return cls(g.weight_bank_matches, g.weight_flagged_bots, g.weight_mirrors, g.weight_reach,
                   g.weight_automation, g.weight_centrality, g.min_bot_score, g.escalation_threshold)


@dataclass
class Escalation:
    subject: str
    kind: str
    score: float
    reasons: list[str]
    signals: dict[str, float] = field(default_factory=dict)
    pagerank: float = 0.0
    community: int = -1
    posts: list[str] = field(default_factory=list)  # a few posts behind the harm signals, for the alert


def _saturate(x: float, half: float = 1.0) -> float:
    """0 for nothing, 0.5 at `half`, towards 1 with more."""
    return 1.0 - 0.5 ** (x / half) if x > 0 else 0.0


def _name(node: str) -> str:
    return node.split(":", 1)[1]


def _percentiles(graph: nx.MultiDiGraph, ranks: dict[str, float]) -> dict[str, float]:
    """PageRank as a percentile among nodes of the same kind (robust to graph size)."""
    by_kind: dict[str, list[str]] = {}
    for node, kind in graph.nodes(data="kind"):
        by_kind.setdefault(kind, []).append(node)
    out = {}
    for nodes in by_kind.values():
        ordered = sorted(nodes, key=lambda n: ranks.get(n, 0.0))
        span = max(1, len(ordered) - 1)
        for i, n in enumerate(ordered):
            out[n] = i / span if len(ordered) > 1 else 0.0
    return out


def _combine(harm: dict[str, tuple[float, float]], context: dict[str, tuple[float, float]]) -> float:
    parts = [w * s for w, s in harm.values() if s > 0]
    if not parts:
        return 0.0
    parts += [w * s for w, s in context.values() if s > 0]
    rest = 1.0
    for p in parts:
        rest *= 1.0 - min(1.0, max(0.0, p))
    return round(1.0 - rest, 4)


def _matched(attrs: dict[str, Any]) -> float:
    """Best tier weight of a media node's bank matches ("bank/tier")."""
    return max((TIER_WEIGHT.get(m.split("/", 1)[1], 0.0) for m in attrs.get("bank_matches") or []), default=0.0)


def _channel(graph: nx.MultiDiGraph, node: str, w: Weights, pct: dict[str, float],
             automation: dict[str, tuple[float, list[str]]]) -> tuple[dict, dict, list[str], list[str]]:
    reasons, posts = [], []
    bank_x, bank_count, bank_posts, banks = 0.0, 0, [], set()
    suspect, mirrors, mentioned = [], [], []
    for _, target, key, e in graph.out_edges(node, keys=True, data=True):
        t = graph.nodes[target]
        if key == "posted" and _matched(t) > 0:
            bank_x += e["count"] * _matched(t)
            bank_count += e["count"]
            bank_posts += e["posts"]
            banks.update(t.get("bank_matches") or [])
        elif key == "promotes":
            strength = bot_suspicion(t, w.min_bot_score)
            promoted = promotion_posts(e)
            if promoted and strength > 0:
                suspect.append((strength, target, promoted, e))
                posts += e["posts"][:3]
                preds = [_name(v) for _, v, k in graph.out_edges(target, keys=True) if k == "mirror_of"]
                if preds:
                    mirrors.append((target, preds))
            elif not promoted:
                mentioned.append(target)
    s_bank = _saturate(bank_x)
    if s_bank:
        reasons.append(f"posted known content ({', '.join(sorted(banks))}) in {bank_count} post(s): "
                       f"{', '.join(sorted(set(bank_posts))[:5])}")
        posts = sorted(set(bank_posts))[:5] + posts
    rest = 1.0
    for strength, target, promoted, e in sorted(suspect, key=lambda s: (-s[0], s[1])):
        rest *= 1.0 - 0.5 * strength
        t = graph.nodes[target]
        hows = ", ".join(sorted(h for h in (e.get("how") or {}) if h in PROMOTION_KINDS))
        codes = f"; start codes {', '.join(e.get('params', [])[:4])}" if e.get("params") else ""
        verdict = t.get("label", "unknown") + (f", bot score {t.get('bot_score', 0):.2f}"
                                               if t.get("label") != "deepfake_generator" else "")
        reasons.append(f"promotes @{_name(target)} ({verdict}) in {promoted} post(s) by {hows}{codes}")
    s_bots = 1.0 - rest
    s_mirrors = _saturate(len(mirrors))
    for target, preds in mirrors:
        reasons.append(f"promotes @{_name(target)}, a mirror of @{', @'.join(sorted(preds))} (ban evasion)")
    forwarded_by = channels_forwarding(graph, node)
    spread = set()
    for _, target, key in graph.out_edges(node, keys=True):
        if key == "posted" and graph.nodes[target].get("origin_channel") == _name(node):
            spread |= {u for u, _, k in graph.in_edges(target, keys=True) if k == "posted" and u != node}
    reach = forwarded_by | spread
    s_reach = _saturate(len(reach), 2.0)
    auto_score, auto_reasons = automation.get(node, (0.0, []))
    harm = {"bank_matches": (w.bank_matches, s_bank), "flagged_bots": (w.flagged_bots, s_bots),
            "mirrors": (w.mirrors, s_mirrors)}
    context = {"reach": (w.reach, s_reach), "automation": (w.automation, auto_score),
               "centrality": (w.centrality, pct.get(node, 0.0))}
    if any(s for _, s in harm.values()):
        if reach:
            reasons.append(f"reposted by {len(reach)} channel(s): {', '.join(sorted(_name(r) for r in reach)[:5])}")
        if auto_score:
            reasons.append(f"automation score {auto_score:.2f}" + (f": {'; '.join(auto_reasons[:2])}"
                                                                    if auto_reasons else ""))
        if pct.get(node, 0.0) >= 0.75:
            reasons.append(f"central in the graph (PageRank higher than {pct[node]:.0%} of the other channels)")
    else:
        reasons.append("no known content, no suspect bot promoted, no mirrors: not escalated")
        if mentioned:
            reasons.append(f"names {', '.join('@' + _name(m) for m in sorted(mentioned)[:5])} without promoting "
                           "it (mention or plain link only; not counted)")
    return harm, context, reasons, posts


def _bot(graph: nx.MultiDiGraph, node: str, w: Weights,
         pct: dict[str, float]) -> tuple[dict, dict, list[str], list[str]]:
    t = graph.nodes[node]
    strength = bot_suspicion(t, w.min_bot_score)
    reasons, posts = [], []
    if t.get("label") == "deepfake_generator":
        reasons.append("labelled deepfake_generator" + ("" if not t.get("bot_reasons") else
                                                         f": {'; '.join(t['bot_reasons'][:2])}"))
    elif strength:
        reasons.append(f"classifier score {strength:.2f} (label {t.get('label', 'unknown')})"
                       + (f": {'; '.join(t.get('bot_reasons', [])[:2])}" if t.get("bot_reasons") else ""))
    promoters = set()
    for u, _, key, e in graph.in_edges(node, keys=True, data=True):
        if key == "promotes" and promotion_posts(e):
            promoters.add(u)
            posts += e["posts"][:2]
    related = [(_name(v), "mirror of") for _, v, k in graph.out_edges(node, keys=True) if k == "mirror_of"]
    related += [(_name(u), "replaced by") for u, _, k in graph.in_edges(node, keys=True) if k == "mirror_of"]
    s_mirrors = _saturate(len(related))
    harm = {"flagged_bots": (w.flagged_bots, strength), "mirrors": (w.mirrors, s_mirrors if strength else 0.0)}
    context = {"reach": (w.reach, _saturate(len(promoters), 2.0)), "centrality": (w.centrality, pct.get(node, 0.0))}
    if strength:
        for name, how in sorted(related):
            reasons.append(f"{how} @{name}")
        if promoters:
            reasons.append(f"promoted by {len(promoters)} channel(s): "
                           f"{', '.join(sorted(_name(p) for p in promoters)[:5])}")
    else:
        reasons.append(f"label {t.get('label', 'unknown')}" + (f", classifier score {t.get('bot_score', 0):.2f} "
                                                                f"below {w.min_bot_score}" if t.get("label") != "benign"
                                                                else "") + ": not escalated")
    return harm, context, reasons, posts


def _media(graph: nx.MultiDiGraph, node: str, w: Weights) -> tuple[dict, dict, list[str], list[str]]:
    t = graph.nodes[node]
    channels = sorted({_name(u) for u, _, k in graph.in_edges(node, keys=True) if k == "posted"})
    posts = [p for _, _, e in graph.in_edges(node, data=True) for p in e["posts"]][:5]
    harm = {"bank_matches": (w.bank_matches, _matched(t))}
    context = {"reach": (w.reach, _saturate(len(channels) - 1, 2.0))}
    reasons = []
    if _matched(t):
        reasons.append(f"matches {', '.join(t['bank_matches'])}")
        reasons.append(f"posted by {len(channels)} channel(s): {', '.join(channels[:5])}; origin candidate "
                       f"{t.get('origin') or 'unknown'}")
    else:
        reasons.append(f"reposted picture, no bank match: not escalated ({len(channels)} channels)")
    return harm, context, reasons, posts


def score_subjects(graph: nx.MultiDiGraph, analysis: Analysis, weights: Weights | None = None,
                   automation: dict[str, tuple[float, list[str]]] | None = None,
                   only: Iterable[str] | None = None) -> list[Escalation]:
    """Every channel, bot and media node scored (or only those in `only`), highest first."""
    w = weights or Weights()
    automation = automation or {}
    pct = _percentiles(graph, analysis.pagerank)
    out = []
    nodes = graph.nodes(data="kind") if only is None else [(n, graph.nodes[n].get("kind")) for n in only if n in graph]
    for node, kind in nodes:
        if kind == "channel":
            harm, context, reasons, posts = _channel(graph, node, w, pct, automation)
        elif kind == "bot":
            harm, context, reasons, posts = _bot(graph, node, w, pct)
        elif kind == "media":
            harm, context, reasons, posts = _media(graph, node, w)
        else:
            continue
        score = _combine(harm, context)
        signals = {name: round(s, 4) for name, (_, s) in {**harm, **context}.items()}
        out.append(Escalation(node, kind, score, reasons, signals, analysis.pagerank.get(node, 0.0),
                              analysis.community.get(node, -1), list(dict.fromkeys(posts))[:10]))
    out.sort(key=lambda e: (-e.score, e.subject))
    return out


# -- the store edge ---------------------------------------------------------------------------------

async def automation_scores(store: EscalationsStore) -> dict[str, tuple[float, list[str]]]:
    """Table automation_scores (interface 4) if it exists: subject -> (score, reasons)."""
    out = {}
    for subject, score, reasons in await store.automation_score_rows():
        try:
            decoded = json.loads(reasons) if reasons else []
        except ValueError:
            decoded = []
        out[subject] = (float(score or 0.0), decoded if isinstance(decoded, list) else [])
    return out


def severity(score: float) -> str:
    return "critical" if score >= 0.95 else "high" if score >= 0.8 else "medium"


async def save_escalations(store: EscalationsStore, escalations: list[Escalation], threshold: float,
                           alerts: bool = True) -> dict[str, int]:
    """Write every score; a subject at or above `threshold` gets its alert in the same transaction.

    One alert per subject ever (its id is a hash of the subject): the first run that finds it
    escalated writes it, later runs find it there. With `alerts` off (`[alerts] rules` without
    `escalation`) none is written; turning the rule back on alerts what is escalated then.
    """
    t = now()
    counts = {"scored": len(escalations), "escalated": 0, "newly_escalated": 0, "alerts": 0}

    def plan(before: dict[str, str | None]) -> tuple[list[tuple], list[Alert]]:
        """Given when each subject was first escalated: the rows to write and the alerts to queue."""
        rows, raised = [], []
        for e in escalations:
            escalated_at = before.get(e.subject)
            if e.score >= threshold:
                counts["escalated"] += 1
                if escalated_at is None:
                    escalated_at = t
                    counts["newly_escalated"] += 1
                evidence = {"kind": e.kind, "score": e.score, "signals": e.signals, "posts": e.posts,
                            "urls": [f"https://t.me/{p}" for p in e.posts], "pagerank": e.pagerank,
                            "community": e.community, "threshold": threshold}
                if alerts:
                    raised.append(Alert("escalation", e.subject, severity(e.score), e.reasons, evidence,
                                        f"escalation:{e.subject}"))
            rows.append((e.subject, e.kind, e.score, json.dumps(e.reasons, ensure_ascii=False), e.pagerank,
                         e.community, t, json.dumps(e.signals, sort_keys=True), escalated_at))
        return rows, raised

    counts["alerts"] = await store.save_escalations(plan)
    return counts


def _row(r: Any) -> dict[str, Any]:
    d = dict(r)
    d["reasons"] = json.loads(d["reasons"] or "[]")
    d["signals"] = json.loads(d.get("signals") or "{}")
    return d


async def list_escalations(store: EscalationsStore, min_score: float = 0.0) -> list[dict[str, Any]]:
    """Scored subjects (interface 3), highest first, reasons decoded."""
    return [_row(r) for r in await store.escalation_rows(min_score=min_score)]


async def escalated_subjects(store: EscalationsStore, threshold: float | None = None) -> list[dict[str, Any]]:
    """Escalations rows, highest first: None = subjects that crossed [graph] escalation_threshold
    (escalated_at set); a number = subjects scoring at least that now."""
    return [_row(r) for r in await store.escalation_rows(threshold=threshold)]


async def escalated_posts(store: EscalationsStore, threshold: float | None = None) -> list[dict[str, Any]]:
    """The posts behind escalated subjects (interface 3), for evidence bundles and takedown lists
    (each with the post's date and when it was first collected).

    `threshold` as in `escalated_subjects`. A channel's posts are those that promote a suspect bot
    (deep link, button, via) or carry a file matching a bank; a bot's, the posts that promote it;
    a media cluster's, the posts showing it.
    """
    subjects = [s for s in await escalated_subjects(store, threshold) if s["kind"] in ("channel", "bot", "media")]
    out = []
    for s in subjects:
        name = s["subject"].split(":", 1)[1]
        for channel, post_id in await store.subject_posts(s["kind"], name, PROMOTION_KINDS):
            date, first_seen = await store.post_dates(channel, post_id)
            shas = await store.post_files(channel, post_id)
            out.append({"channel": channel, "post_id": post_id, "url": f"https://t.me/{channel}/{post_id}",
                        "date": date, "first_seen": first_seen,
                        "subject": s["subject"], "score": s["score"],
                        "reasons": s["reasons"], "sha256s": shas})
    return out
