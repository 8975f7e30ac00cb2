"""Automation scores: clockwork and copy-paste channels score high with readable reasons; people do not;
small channels are 'insufficient data', never accused."""
from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from store.sqlite import Store
from detectors.automation.scores import PostSample, Settings, duplicate_clusters, duplicate_form, score_all, score_subject
from detectors.automation.stage import detect_automation, list_automation
from tgsweep import cli
from tgsweep.config import Config

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=timezone.utc)
WORDS = ("garden river morning coffee market bicycle library window harbour mountain bakery train "
         "lantern meadow festival orchard museum concert village bridge").split()


def sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def clockwork(channel: str, n: int = 60, every: float = 600, jitter: float = 3, seed: int = 1) -> list[PostSample]:
    """A scheduler: a post every `every` seconds, a few seconds off at most, each text different."""
    rng = random.Random(seed)
    out, t = [], T0 + timedelta(seconds=17)
    for i in range(n):
        out.append(PostSample(channel, i + 1, t.isoformat(), sentence(rng), views=300))
        t += timedelta(seconds=every + rng.uniform(-jitter, jitter))
    return out


def human(channel: str, n: int = 60, seed: int = 2, texts: list[str] | None = None) -> list[PostSample]:
    """A person: irregular gaps (minutes to a day), any second, own words, some forwards and links."""
    rng = random.Random(seed)
    out, t = [], T0
    for i in range(n):
        t += timedelta(seconds=rng.expovariate(1 / 9000) + rng.uniform(0, 59))
        text = texts[i] if texts and i < len(texts) else sentence(rng, rng.randint(8, 30))
        out.append(PostSample(channel, i + 1, t.isoformat(), text, views=rng.randint(400, 1500),
                              forwarded=rng.random() < 0.15, links=int(rng.random() < 0.2)))
    return out


def by_subject(scores):
    return {s.subject: s for s in scores}


def test_clockwork_channel_scores_high_with_the_regularity_reason():
    scores = by_subject(score_all(clockwork("tick_tock") + human("diary"), Settings(), {"tick_tock": 1000}))
    tick = scores["channel:tick_tock"]
    assert tick.verdict == "automated" and tick.score >= 0.7
    assert tick.reasons[0].startswith("regularity: posts every 600 s ± 2 s (coefficient of variation 0.00 over 59")
    assert tick.features["subscores"]["regularity"] == 1.0 and tick.features["gaps"] == 59
    # the seconds are not on :00 and there are no bursts: those signals stay silent
    assert not any(r.startswith(("exact seconds", "bursts")) for r in tick.reasons)


def test_human_like_channel_scores_low():
    for seed in range(5):
        diary = by_subject(score_all(human("diary", seed=seed), Settings(), {"diary": 3000}))["channel:diary"]
        assert diary.verdict == "not_automated" and diary.score < 0.3, (seed, diary.score, diary.reasons)
        assert not any(r.startswith("regularity") for r in diary.reasons)


def test_on_the_minute_schedule_and_bursts_each_give_their_reason():
    rng = random.Random(5)
    t, posts = T0, []
    for i in range(40):  # on :00 seconds, irregular minutes, in bunches of six within half a minute
        if i % 6 == 0:
            t += timedelta(minutes=rng.randint(60, 900))
        else:
            t += timedelta(seconds=5)
        posts.append(PostSample("bunches", i + 1, t.replace(second=0).isoformat() if i % 6 == 0 else t.isoformat(),
                                sentence(rng)))
    s = score_subject("channel:bunches", "channel", posts, Settings())
    reasons = " | ".join(s.reasons)
    assert "bursts: " in reasons and "of 40 posts came in bursts of 5+ posts within 60 s (largest: 6 posts)" in reasons
    assert "regularity" not in reasons  # most gaps are 5 s: a burst, not a clock
    on_minute = [PostSample("sched", i, (T0 + timedelta(minutes=37 * i + i * i % 50)).isoformat(), "x")
                 for i in range(30)]
    sched = score_subject("channel:sched", "channel", on_minute, Settings())
    assert any(r == "exact seconds: 100 % of 30 posts went out at :00 seconds (about 2 % by chance)"
               for r in sched.reasons)


def test_cross_channel_duplicates_are_found_through_disguises_and_small_edits():
    template = "New tool is online, send a picture and get your result in seconds, three free tries every day"
    variants = [
        template + " https://t.me/some_tool_bot?start=ref1001 🔥",
        "NEW TOOL is online!!! Send a picture & get your result in seconds - three free tries every day @some_tool_bot",
        # fullwidth letters, Cyrillic o
        "Ｎｅｗ tооl is online, send a picture and get your result in seconds, three free tries every day",
        "New tool is online, send a picture and get your result in seconds, three free tries every single day",
    ]
    texts = {name: [variants[(i + k) % 4] if i % 2 == 0 else None for i in range(40)]
             for k, name in enumerate(["spam_a", "spam_b", "spam_c"])}
    posts = []
    for k, (name, ts) in enumerate(texts.items()):
        posts += human(name, n=40, seed=10 + k, texts=[t or sentence(random.Random(i * 7 + k), 15)
                                                        for i, t in enumerate(ts)])
    posts += human("bystander", n=40, seed=20)
    scores = by_subject(score_all(posts, Settings()))
    a = scores["channel:spam_a"]
    dup = next(r for r in a.reasons if r.startswith("duplicates: "))
    assert "copies or near-copies of posts in 2 other channels (spam_b, spam_c)" in dup
    assert a.features["cross_duplicate_share"] >= 0.4
    assert scores["channel:bystander"].features["cross_duplicate_share"] == 0
    # links, mentions, emoji, case, fullwidth and look-alike letters fall away: exact copies of one form;
    # "&" for "and" and one word added are near-copies that need MinHash
    forms = [duplicate_form(v) for v in variants]
    assert forms[0] == forms[2] and len(set(forms)) == 3
    assert len(set(duplicate_clusters(forms, 0.8).values())) == 1
    assert len(set(duplicate_clusters(forms, 1.0).values())) == 3


def test_forwards_links_and_bot_promotions_are_shares_of_posts():
    posts = [PostSample("relay", i, p.date, p.text, forwarded=i % 10 != 0, links=1, bots=("promo_bot",))
             for i, p in enumerate(human("relay", n=50), start=1)]
    reasons = score_subject("channel:relay", "channel", posts, Settings()).reasons
    assert "forwards: 90 % of 50 posts are forwards" in reasons
    assert "links: 100 % of 50 posts carry links or link buttons" in reasons
    assert "bot promotions: 100 % of 50 posts advertise bots (1 distinct: @promo_bot)" in reasons


def test_views_far_below_the_subscriber_count():
    posts = human("hollow", n=30)
    s = by_subject(score_all(posts, Settings(), {"hollow": 5_000_000}))["channel:hollow"]
    assert any(r.startswith("views: median") and "5,000,000 subscribers" in r and "few views" in r for r in s.reasons)
    unknown = by_subject(score_all(posts, Settings()))["channel:hollow"]
    assert unknown.features["subscores"]["views"] == 0 and unknown.features["subscribers"] is None


def test_small_channels_and_accounts_get_insufficient_data_not_a_score():
    posts = clockwork("tiny", n=12) + [PostSample("big", i, p.date, p.text, account="big/Night Desk")
                                       for i, p in enumerate(clockwork("big", n=30), start=1)][:8]
    scores = by_subject(score_all(posts, Settings()))
    for subject in ("channel:tiny", "account:big/Night Desk"):
        s = scores[subject]
        assert s.verdict == "insufficient_data" and s.score == 0.0
        assert s.reasons[0].startswith("insufficient data: ") and "at least 20" in s.reasons[0]
    assert by_subject(score_all(clockwork("tiny", n=12), Settings(min_posts=10)))["channel:tiny"].verdict == "automated"


def test_weights_and_threshold_come_from_the_settings():
    posts = clockwork("tick_tock")
    assert by_subject(score_all(posts, Settings()))["channel:tick_tock"].verdict == "automated"
    weights = dict(Settings().weights, regularity=0.5)
    quiet = by_subject(score_all(posts, Settings(weights=weights)))["channel:tick_tock"]
    assert quiet.score == 0.5 and quiet.verdict == "not_automated"


# -- the stage, on the store -------------------------------------------------------------------


async def _insert(store: Store, posts: list[PostSample], extra: dict | None = None) -> None:
    t = T0.isoformat()
    async with store.transaction() as db:
        for p in posts:
            cols = {"channel": p.channel, "id": p.id, "date": p.date, "text": p.text, "views": p.views,
                    "author": p.account, "source": "web",
                    "record": json.dumps({"links": ["https://example.com"] * p.links}),
                    "first_seen": t, "last_seen": t, **(extra or {})}
            if callable(cols.get("from_id")):
                cols["from_id"] = cols["from_id"](p)
            await db.execute(f"INSERT INTO posts({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                             list(cols.values()))


async def test_stage_scores_accounts_from_from_id_when_the_column_exists(tmp_path):
    store = await Store.open(tmp_path / "t.db")
    try:
        async with store.transaction() as db:
            await db.execute("ALTER TABLE posts ADD COLUMN from_id INTEGER")  # as a Telethon collector would add it
        await _insert(store, clockwork("group_chat", n=30), {"from_id": lambda p: 4242 if p.id % 2 else 777})
        await _insert(store, [PostSample("broken", 1, "not a date", "x")], {"record": "{not json"})
        counts = await detect_automation(store, Config())
        assert counts["channels"] == 2 and counts["accounts"] == 2
        rows = {r["subject"]: r for r in await list_automation(store)}
        assert rows["account:4242"]["kind"] == "account" and rows["account:777"]["features"]["posts"] == 15
        assert rows["channel:broken"]["verdict"] == "insufficient_data"
        assert rows["channel:group_chat"]["verdict"] == "automated"
        # re-running rewrites the table, it does not pile up
        await detect_automation(store, Config())
        assert len(await list_automation(store)) == 4
    finally:
        await store.close()


def test_cli_automation_list(tmp_path, monkeypatch, capsys):
    import asyncio

    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndatabase = "t.db"\n\n[automation]\nmin_posts = 25\n')

    async def fill() -> None:
        store = await Store.open(tmp_path / "t.db")
        try:
            await _insert(store, clockwork("tick_tock", n=30) + clockwork("small", n=24))
        finally:
            await store.close()

    asyncio.run(fill())
    assert cli.main(["--config", str(config), "automation", "score"]) == 0
    assert "1 automated, 1 with insufficient data" in capsys.readouterr().out
    assert cli.main(["--config", str(config), "automation", "list"]) == 0
    shown = capsys.readouterr().out
    assert "channel:tick_tock  " in shown and "    - regularity: posts every 600 s" in shown
    assert "at least 25 are needed" in shown
    assert cli.main(["--config", str(config), "automation", "list", "--json", "--min-score", "0.5"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["subject"] for r in rows] == ["channel:tick_tock"] and rows[0]["verdict"] == "automated"


def test_demo_sweep_scores_the_clockwork_mirror_list_and_not_the_people(tmp_path, sweeps):
    """The demo corpus: swap_mirror_list posts every 30 min on the minute; the other channels are people."""
    run = subprocess.run([sys.executable, "-m", "tgsweep.cli", "demo", "--dir", str(tmp_path)], capture_output=True,
                         text=True, timeout=300, env=sweeps.env(), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "automation: 7 channels" in run.stdout
    assert "channel:swap_mirror_list 0.9" in run.stdout  # the summary names the automated channel
    db = sqlite3.connect(tmp_path / "tgsweep.db")
    rows = {r[0]: r for r in db.execute("SELECT subject, kind, score, reasons, features, computed_at "
                                        "FROM automation_scores")}
    mirror = rows["channel:swap_mirror_list"]
    assert mirror[1] == "channel" and mirror[2] >= 0.7 and json.loads(mirror[4])["verdict"] == "automated"
    assert json.loads(mirror[3])[0] == ("regularity: posts every 30 min ± 0 s "
                                        "(coefficient of variation 0.00 over 25 gaps)")
    people = {s: r for s, r in rows.items() if s.startswith("channel:") and s != "channel:swap_mirror_list"}
    assert len(people) == 6 and all(r[2] < 0.7 and json.loads(r[4])["verdict"] == "not_automated"
                                    for r in people.values())
    signatures = {s for s in rows if s.startswith("account:")}
    assert signatures and all(json.loads(rows[s][4])["verdict"] == "insufficient_data" for s in signatures)
