"""Duplicate-text detection for automation scores: which method finds copied posts, at what cost.

A seeded corpus: `--posts` posts in 100 channels; a fifth are copies of 40 spam templates,
disguised the way spam is (a new referral link or emoji per post, case, fullwidth or look-alike
letters, "&" for "and", a word added or dropped); the rest are distinct texts made from the
same vocabulary. Methods, each timed on the same posts:

- `baseline raw exact`: SHA of the raw text (what a plain GROUP BY text finds);
- `normalised exact`: detectors.automation.scores.duplicate_form, then exact;
- `normalised + MinHash LSH` (ours, `[automation] near_duplicate_jaccard` 0.8): the above, then
  datasketch MinHash LSH over character 5-gram shingles of the distinct forms.

Times are CPU seconds of this process (time.process_time), so a busy shared machine skews
them less than wall time. Recall: share of template copies put in a cluster with a copy from another channel.
False joins: distinct texts put in a cluster with any other text. Then the whole scoring,
`score_all`, in posts/s.

    python benchmarks/bench_automation.py [--posts N]
"""
from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.automation.scores import PostSample, Settings, duplicate_clusters, duplicate_form, score_all  # noqa: E402

WORDS = ("garden river morning coffee market bicycle library window harbour mountain bakery train lantern "
         "meadow festival orchard museum concert village bridge photo picture result seconds free tries "
         "credits friends invite online tool channel today tomorrow weekend update news").split()
LOOKALIKE = str.maketrans({"o": "о", "a": "а", "e": "е"})  # Cyrillic


def disguise(rng: random.Random, text: str, n: int) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        text = text.upper()
    elif kind == 1:
        text = text.translate(LOOKALIKE)
    elif kind == 2:
        text = text.replace(" and ", " & ")
    elif kind == 3:
        words = text.split()
        words.insert(rng.randrange(len(words)), rng.choice(WORDS))
        text = " ".join(words)
    elif kind == 4:
        words = text.split()
        del words[rng.randrange(len(words))]
        text = " ".join(words)
    else:
        text = "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" and rng.random() < 0.3 else c for c in text)
    return f"{text} https://t.me/tool{n % 9}_bot?start=r{n} {rng.choice(['🔥', '✨', '', '!!'])}"


def corpus(n: int, seed: int = 3) -> tuple[list[PostSample], set[int]]:
    rng = random.Random(seed)
    templates = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(14, 30))) + " and more" for _ in range(40)]
    posts, copies = [], set()
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(n):
        channel = f"ch{i % 100:03d}"
        when = (t0 + timedelta(seconds=i * 37 + rng.randrange(30))).isoformat()
        if rng.random() < 0.2:
            text = disguise(rng, rng.choice(templates), i)
            copies.add(i)
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 40)))
        posts.append(PostSample(channel, i, when, text))
    return posts, copies


def evaluate(name: str, posts: list[PostSample], copies: set[int], keys: list[str], seconds: float) -> None:
    members: dict[str, set[str]] = {}
    sizes: dict[str, int] = {}
    for p, k in zip(posts, keys):
        members.setdefault(k, set()).add(p.channel)
        sizes[k] = sizes.get(k, 0) + 1
    found = sum(1 for i in copies if members[keys[i]] - {posts[i].channel})
    false = sum(1 for i, k in enumerate(keys) if i not in copies and sizes[k] > 1)
    print(f"{name:28} recall {found / len(copies):.3f} ({found}/{len(copies)} copies), false joins "
          f"{false}/{len(posts) - len(copies)}, {seconds / len(posts) * 1e6:6.1f} us/post")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args()
    posts, copies = corpus(args.posts)
    import datasketch  # noqa: F401 - its import (scipy, about 1 s) is not part of the per-post cost
    print(f"{len(posts):,} posts in 100 channels, {len(copies):,} disguised copies of 40 templates")

    t = time.process_time()
    raw = [hashlib.blake2b(p.text.encode(), digest_size=8).hexdigest() for p in posts]
    evaluate("baseline raw exact", posts, copies, raw, time.process_time() - t)

    t = time.process_time()
    forms = [duplicate_form(p.text) for p in posts]
    t_forms = time.process_time() - t
    evaluate("normalised exact", posts, copies, forms, t_forms)

    t = time.process_time()
    clusters = duplicate_clusters(forms, Settings().near_duplicate_jaccard)
    ours = [clusters[f] for f in forms]
    evaluate("normalised + MinHash LSH", posts, copies, ours, t_forms + time.process_time() - t)

    t = time.process_time()
    scores = score_all(posts, Settings())
    seconds = time.process_time() - t
    print(f"score_all: {len(posts) / seconds:,.0f} posts/s ({len(scores)} channels in {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
