"""Automation scores for channels and posting accounts, from behaviour alone. Pure.

A person posts at uneven times, rarely in bursts, in their own words. A script posts on a
clock (every 600 s, on the minute), in bursts, copies the same text into many channels, and
mostly forwards, links or advertises bots. Each of those behaviours is a subscore in 0..1
with a reason a person can check ("posts every 600 s ± 3 s"); the combined score is a
noisy-OR, ``1 - prod(1 - weight * subscore)``, so one strong signal can carry it (its weight
says how far) and weak ones add up slowly. Precision first: a subject with fewer than
``min_posts`` dated posts is ``insufficient_data`` with score 0, never accused; a signal
without enough material of its own (text posts, views, a subscriber count) is left out.

Near-duplicates: texts are normalised (disguises undone by ``detectors.normalize``; links,
@mentions, digits and punctuation dropped, so templated spam with a new referral code per
post meets in one form), exact copies share a key, and MinHash LSH (datasketch) over
shingles joins texts whose Jaccard similarity reaches ``near_duplicate_jaccard``.
"""
from __future__ import annotations

import hashlib
import re
import statistics
import zlib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from detectors.normalize import normalize
from tgsweep.config import Automation, default

SIGNALS = ("regularity", "exact_seconds", "bursts", "duplicates", "repeats", "forwards", "links", "bot_promotions",
           "views")

# Where each subscore starts (0) and saturates (1): (feature, from, to). Documented in README.
RAMPS: dict[str, tuple[float, float]] = {
    "cv": (0.3, 0.05),              # coefficient of variation of the gaps between posts (people: 0.8 and up)
    "periodic_share": (0.5, 0.9),   # share of gaps within +-2 % (at least 2 s) of the median gap
    "exact_seconds": (0.2, 0.8),    # share of posts at :00 seconds (1.7 % by chance)
    "bursts": (0.1, 0.5),           # share of posts inside a burst
    "cross_duplicates": (0.1, 0.5),  # share of text posts copied in other channels
    "own_repeats": (0.3, 0.8),      # share of text posts repeating the subject's earlier texts
    "forwards": (0.5, 0.95),
    "links": (0.6, 0.95),
    "bot_promotions": (0.3, 0.8),
    "low_views": (0.02, 0.002),     # median views / subscribers, low: bought or dead subscribers
    "high_views": (3.0, 10.0),      # median views / subscribers, high: bought views
}

MIN_PERIOD = 60.0  # seconds: a "period" shorter than this is a burst, not a schedule

_URL = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.I)
_MENTION = re.compile(r"@[A-Za-z0-9_]{3,32}")
_NON_WORD = re.compile(r"[\W\d_]+")


@dataclass(frozen=True)
class Settings:
    """The `[automation]` settings (tgsweep/config.py) that the scoring needs."""

    min_posts: int = default(Automation, "min_posts")
    min_text_posts: int = default(Automation, "min_text_posts")
    min_text_length: int = default(Automation, "min_text_length")
    threshold: float = default(Automation, "threshold")
    near_duplicate_jaccard: float = default(Automation, "near_duplicate_jaccard")
    burst_posts: int = default(Automation, "burst_posts")
    burst_seconds: float = default(Automation, "burst_seconds")
    weights: dict[str, float] = field(default_factory=lambda: {
        key.removeprefix("weight_"): default(Automation, key) for key in Automation.model_fields
        if key.startswith("weight_")})


@dataclass(frozen=True, slots=True)
class PostSample:
    """What the scoring reads of one post (the stage builds these from `posts` rows)."""

    channel: str
    id: int
    date: str | None  # ISO 8601
    text: str = ""
    views: int | None = None
    forwarded: bool = False
    links: int = 0  # links in the text plus URL buttons
    bots: tuple[str, ...] = ()  # bots the post references (bot_refs)
    account: str | None = None  # the posting account: from_id, else the author signature


@dataclass
class AutomationScore:
    subject: str  # channel:<username> or account:<id or channel/signature>
    kind: str  # channel or account
    score: float  # 0..1; 0.0 for insufficient_data
    verdict: str  # automated, not_automated, insufficient_data
    reasons: list[str]
    features: dict[str, Any]


def ramp(value: float, start: float, full: float) -> float:
    """0 at `start`, 1 at `full` (either direction), linear between, clamped."""
    if start == full:
        return 1.0 if value >= full else 0.0
    return max(0.0, min(1.0, (value - start) / (full - start)))


def epoch(date: str | None) -> float | None:
    if not date:
        return None
    try:
        return datetime.fromisoformat(date).timestamp()
    except ValueError:
        return None


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def duration(seconds: float) -> str:
    """600 -> '600 s', 5400 -> '90 min', 86400 -> '24 h': short and exact enough to read."""
    if seconds < 1000:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h".replace(".0 h", " h")


def pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def duplicate_form(text: str) -> str:
    """The form copies meet in: disguises undone, links, @mentions, digits and punctuation gone."""
    if not text:
        return ""
    text = _MENTION.sub(" ", _URL.sub(" ", text))
    return " ".join(_NON_WORD.sub(" ", normalize(text)).split())


def _shingles(form: str, k: int = 5, limit: int = 1000) -> list[bytes]:
    """Character 5-grams of the (first 1,000 characters of the) form: any script, robust to a word
    added or dropped (word 3-grams lose a third of their overlap to one small edit in a short post)."""
    form = form[:limit]
    if form.isascii():  # slicing bytes once beats encoding every shingle
        data = form.encode()
        return list({data[i:i + k] for i in range(max(1, len(data) - k + 1))})
    return list({form[i:i + k].encode() for i in range(max(1, len(form) - k + 1))})


_BATCH = 5000


def duplicate_clusters(forms: Iterable[str], jaccard: float, num_perm: int = 64) -> dict[str, str]:
    """Distinct text forms -> cluster id: exact copies share one; MinHash LSH joins near-duplicates.

    LSH only proposes candidates; a pair is joined when its estimated Jaccard similarity of
    shingles reaches `jaccard` (1.0: exact copies only, no MinHash at all).
    """
    distinct = list(dict.fromkeys(f for f in forms if f))
    parent = list(range(len(distinct)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(distinct) > 1 and jaccard < 1.0:
        from datasketch import LeanMinHash, MinHash, MinHashLSH

        lsh = MinHashLSH(threshold=jaccard, num_perm=num_perm)
        # crc32: a C hash, the same in every run (datasketch's default sha1 in Python was 60 % of the time)
        lean: list[LeanMinHash] = []
        for start in range(0, len(distinct), _BATCH):  # shingles of one batch at a time: memory stays flat
            lean += [LeanMinHash(m) for m in MinHash.bulk([_shingles(f) for f in distinct[start:start + _BATCH]],
                                                          num_perm=num_perm, hashfunc=zlib.crc32)]
        for i, mh in enumerate(lean):
            tried: set[int] = set()  # one comparison per cluster among the candidates, not one per candidate:
            joined = False  # a spam text in 2,000 channels is one cluster, not 2,000 pairs
            for j in lsh.query(mh):
                root = find(j)
                if root in tried or root == find(i):
                    continue
                tried.add(root)
                if mh.jaccard(lean[j]) >= jaccard:
                    parent[find(i)] = root
                    joined = True
            if not joined:  # a copy of a text already indexed is not indexed again: the candidates a
                lsh.insert(i, mh)  # query returns stay few however many copies a spam network posts
    return {f: hashlib.blake2b(distinct[find(i)].encode(), digest_size=8).hexdigest()
            for i, f in enumerate(distinct)}


# -- the signals: each returns (subscore 0..1, reason or None, features) -------------------------

Signal = tuple[float, str | None, dict[str, Any]]


def regularity(times: list[float]) -> Signal:
    """Clockwork posting: gaps between posts that barely vary, or mostly one period."""
    gaps = [b - a for a, b in zip(times, times[1:])]
    mean = statistics.fmean(gaps) if gaps else 0.0
    if mean <= 0:
        return 0.0, None, {}
    sd = statistics.pstdev(gaps)
    cv = sd / mean
    med = statistics.median(gaps)
    tolerance = max(2.0, 0.02 * med)
    periodic = sum(abs(g - med) <= tolerance for g in gaps) / len(gaps)
    by_cv, by_period = ramp(cv, *RAMPS["cv"]), ramp(periodic, *RAMPS["periodic_share"])
    if med < MIN_PERIOD:  # most posts seconds apart: bursts (their own signal), not a clock
        by_period = 0.0
    features = {"gaps": len(gaps), "mean_gap_s": round(mean, 1), "gap_sd_s": round(sd, 1), "gap_cv": round(cv, 3),
                "median_gap_s": round(med, 1), "periodic_share": round(periodic, 3)}
    if by_cv == by_period == 0:
        return 0.0, None, features
    if by_cv >= by_period:
        reason = (f"posts every {duration(mean)} ± {duration(sd)} "
                  f"(coefficient of variation {cv:.2f} over {len(gaps)} gaps)")
    else:
        reason = f"{pct(periodic)} of {len(gaps)} gaps between posts are {duration(med)} ± {duration(tolerance)}"
    return max(by_cv, by_period), reason, features


def exact_seconds(times: list[float]) -> Signal:
    """Posts on the exact minute (:00 seconds): scheduled or scripted; 1 in 60 by chance."""
    share = sum(int(t) % 60 == 0 for t in times) / len(times)
    sub = ramp(share, *RAMPS["exact_seconds"])
    reason = f"{pct(share)} of {len(times)} posts went out at :00 seconds (about 2 % by chance)" if sub else None
    return sub, reason, {"exact_second_share": round(share, 3)}


def bursts(times: list[float], burst_posts: int, window: float) -> Signal:
    """Many posts within a short window: share of posts inside such a burst."""
    inside = [False] * len(times)
    largest = 1
    for i, t in enumerate(times):
        end = bisect_right(times, t + window, lo=i)
        largest = max(largest, end - i)
        if end - i >= burst_posts:
            inside[i:end] = [True] * (end - i)
    share = sum(inside) / len(times)
    sub = ramp(share, *RAMPS["bursts"])
    reason = (f"{pct(share)} of {len(times)} posts came in bursts of {burst_posts}+ posts within "
              f"{duration(window)} (largest: {largest} posts)") if sub else None
    return sub, reason, {"burst_share": round(share, 3), "largest_burst": largest}


def duplicates(posts: list[PostSample], forms: dict[tuple[str, int], str], clusters: dict[str, str],
               cluster_channels: dict[str, set[str]], min_text_posts: int) -> dict[str, Signal]:
    """Texts copied into other channels (duplicates), and texts the subject keeps repeating (repeats).

    Forwards are left out (they are counted as forwards); so are texts shorter than
    `min_text_length` after normalisation ("Sample", "Main channel: <link>").
    """
    own = [(p, clusters[forms[(p.channel, p.id)]]) for p in posts if (p.channel, p.id) in forms]
    if len(own) < min_text_posts:
        empty = (0.0, None, {"text_posts": len(own)})
        return {"duplicates": empty, "repeats": empty}
    # each post asks only whether its cluster reaches another channel (the subject's own channel is in
    # it); the other channels are gathered once per cluster: linear in posts, not posts x channels
    copied = sum(1 for p, cluster in own if len(cluster_channels[cluster]) > 1)
    posted_in: dict[str, set[str]] = {}
    for p, cluster in own:
        posted_in.setdefault(cluster, set()).add(p.channel)
    others: set[str] = set()
    for cluster, mine in posted_in.items():  # the union over posts of (cluster's channels - post's channel)
        if len(cluster_channels[cluster]) > 1:
            others |= cluster_channels[cluster] if len(mine) > 1 else cluster_channels[cluster] - mine
    cross = copied / len(own)
    repeats = (len(own) - len({c for _, c in own})) / len(own)
    by_cross, by_repeat = ramp(cross, *RAMPS["cross_duplicates"]), ramp(repeats, *RAMPS["own_repeats"])
    named = ", ".join(sorted(others)[:3]) + (", ..." if len(others) > 3 else "")
    return {
        "duplicates": (by_cross, f"{pct(cross)} of {len(own)} text posts are copies or near-copies of posts in "
                                 f"{len(others)} other channel{'s' if len(others) != 1 else ''} ({named})"
                       if by_cross else None,
                       {"text_posts": len(own), "cross_duplicate_share": round(cross, 3),
                        "duplicate_channels": sorted(others)[:20]}),
        "repeats": (by_repeat, f"{pct(repeats)} of {len(own)} text posts repeat its own earlier texts"
                    if by_repeat else None, {"repeat_share": round(repeats, 3)}),
    }


def shares(posts: list[PostSample]) -> dict[str, Signal]:
    """Share of forwards, of posts with links, of posts that advertise bots."""
    n = len(posts)
    fwd = sum(p.forwarded for p in posts) / n
    links = sum(p.links > 0 for p in posts) / n
    promo = sum(bool(p.bots) for p in posts) / n
    bots = sorted({b for p in posts for b in p.bots})
    subs = {"forwards": ramp(fwd, *RAMPS["forwards"]), "links": ramp(links, *RAMPS["links"]),
            "bot_promotions": ramp(promo, *RAMPS["bot_promotions"])}
    named = ", ".join("@" + b for b in bots[:3]) + (", ..." if len(bots) > 3 else "")
    return {
        "forwards": (subs["forwards"], f"{pct(fwd)} of {n} posts are forwards" if subs["forwards"] else None,
                     {"forward_share": round(fwd, 3)}),
        "links": (subs["links"], f"{pct(links)} of {n} posts carry links or link buttons" if subs["links"] else None,
                  {"link_share": round(links, 3)}),
        "bot_promotions": (subs["bot_promotions"],
                           f"{pct(promo)} of {n} posts advertise bots ({len(bots)} distinct: {named})"
                           if subs["bot_promotions"] else None,
                           {"bot_promotion_share": round(promo, 3), "bots_advertised": len(bots)}),
    }


def views_ratio(posts: list[PostSample], subscribers: int | None, min_posts: int) -> Signal:
    """Median views per post against the subscriber count: bought subscribers or bought views."""
    viewed = [p.views for p in posts if p.views is not None]
    if not subscribers or subscribers <= 0 or len(viewed) < max(1, min_posts // 2):
        return 0.0, None, {"subscribers": subscribers, "posts_with_views": len(viewed)}
    med = statistics.median(viewed)
    ratio = med / subscribers
    low, high = ramp(ratio, *RAMPS["low_views"]), ramp(ratio, *RAMPS["high_views"])
    features = {"subscribers": subscribers, "posts_with_views": len(viewed), "median_views": med,
                "views_per_subscriber": round(ratio, 4)}
    if not (low or high):
        return 0.0, None, features
    shown = f"{ratio * 100:.2f} % of them: few views for so many subscribers" if low else \
        f"{ratio:.1f} views per subscriber: far more views than subscribers"
    return max(low, high), f"median {med:,.0f} views per post with {subscribers:,} subscribers ({shown})", features


# -- combining -----------------------------------------------------------------------------------

def combine(subscores: dict[str, float], weights: dict[str, float]) -> float:
    """Noisy-OR: 1 - prod(1 - weight * subscore) over the signals that could be measured."""
    keep = 1.0
    for name, value in subscores.items():
        keep *= 1.0 - max(0.0, min(1.0, weights.get(name, 0.0) * value))
    return round(1.0 - keep, 4)


def score_subject(subject: str, kind: str, posts: list[PostSample], settings: Settings,
                  forms: dict[tuple[str, int], str] | None = None, clusters: dict[str, str] | None = None,
                  cluster_channels: dict[str, set[str]] | None = None,
                  subscribers: int | None = None) -> AutomationScore:
    """One channel's or account's score from its posts (and the corpus-wide duplicate clusters)."""
    times = sorted(t for p in posts if (t := epoch(p.date)) is not None)
    if len(times) < settings.min_posts:
        return AutomationScore(subject, kind, 0.0, "insufficient_data",
                               [f"insufficient data: {len(times)} dated posts; at least {settings.min_posts} "
                                "are needed before behaviour is scored"], {"posts": len(times)})
    signals: dict[str, Signal] = {
        "regularity": regularity(times),
        "exact_seconds": exact_seconds(times),
        "bursts": bursts(times, settings.burst_posts, settings.burst_seconds),
        **shares(posts),
    }
    if forms is not None and clusters is not None and cluster_channels is not None:
        signals.update(duplicates(posts, forms, clusters, cluster_channels, settings.min_text_posts))
    if kind == "channel":
        signals["views"] = views_ratio(posts, subscribers, settings.min_posts)
    subscores = {name: round(sub, 3) for name, (sub, _, _) in signals.items()}
    score = combine(subscores, settings.weights)
    ranked = sorted(signals.items(), key=lambda kv: -settings.weights.get(kv[0], 0.0) * kv[1][0])
    reasons = [f"{name.replace('_', ' ')}: {reason}" for name, (sub, reason, _) in ranked if sub > 0 and reason]
    features: dict[str, Any] = {"posts": len(times), "first_post": _iso(times[0]), "last_post": _iso(times[-1]),
                                "subscores": subscores}
    for _, (_, _, more) in signals.items():
        features.update(more)
    verdict = "automated" if score >= settings.threshold else "not_automated"
    return AutomationScore(subject, kind, score, verdict, reasons, features)


def account_subject(post: PostSample) -> str | None:
    return f"account:{post.account}" if post.account else None


def score_all(posts: Iterable[PostSample], settings: Settings,
              subscribers: dict[str, int] | None = None) -> list[AutomationScore]:
    """Every channel and posting account in `posts`, highest score first."""
    posts = list(posts)
    subscribers = subscribers or {}
    forms: dict[tuple[str, int], str] = {}
    for p in posts:
        if not p.forwarded:
            form = duplicate_form(p.text)
            if len(form) >= settings.min_text_length:
                forms[(p.channel, p.id)] = form
    clusters = duplicate_clusters(forms.values(), settings.near_duplicate_jaccard)
    cluster_channels: dict[str, set[str]] = {}
    for (channel, _), form in forms.items():
        cluster_channels.setdefault(clusters[form], set()).add(channel)
    by_channel: dict[str, list[PostSample]] = {}
    by_account: dict[str, list[PostSample]] = {}
    for p in posts:
        by_channel.setdefault(p.channel, []).append(p)
        if (subject := account_subject(p)) is not None:
            by_account.setdefault(subject, []).append(p)
    out = [score_subject(f"channel:{c}", "channel", ps, settings, forms, clusters, cluster_channels,
                         subscribers.get(c)) for c, ps in by_channel.items()]
    out += [score_subject(a, "account", ps, settings, forms, clusters, cluster_channels)
            for a, ps in by_account.items()]
    return sorted(out, key=lambda s: (-s.score, s.subject))
