"""`tgsweep demo` is a new user's first command: it must run the whole pipeline offline."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tgsweep.demo.corpus import build_demo_world, demo_watchlist


def _sqlite_rows(path):
    def rows(sql):
        db = sqlite3.connect(path)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    return rows


def _postgres_rows(url):
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)

    def rows(sql):
        with psycopg.connect(host=u.host, port=u.port, user=u.username, dbname=u.database) as db:
            return [tuple(r) for r in db.execute(sql).fetchall()]
    return rows


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_demo_sweeps_twice_exports_and_verifies(tmp_path, engine, request):
    """The whole pipeline, on either store: the same outputs from the same world."""
    extra = ["--store-url", request.getfixturevalue("pg_url")] if engine == "postgresql" else []
    run = subprocess.run([sys.executable, "-m", "tgsweep.cli", "demo", "--dir", str(tmp_path), *extra],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    rows = _sqlite_rows(tmp_path / "tgsweep.db") if engine == "sqlite" else _postgres_rows(extra[1])
    assert "custody chain:" in run.stdout and "verified" in run.stdout
    assert "1 new post(s)" in run.stdout  # the second sweep found only the post published in between

    world = build_demo_world()
    expected = {(name, p.id) for name, e in world.entities.items() if e.has_preview for p in e.posts}
    messages = [json.loads(line) for line in (tmp_path / "messages.jsonl").read_text().splitlines()]
    got = [(m["channel"], m["id"]) for m in messages]
    assert len(got) == len(set(got))  # nothing twice
    assert expected <= set(got)  # everything served, including the discovered channel
    assert {m["channel"] for m in messages} >= set(demo_watchlist()) - {"private_swap_club"}

    errors = dict(rows("SELECT kind, count(*) FROM sweep_errors GROUP BY kind"))
    assert errors == {"media": 3}  # the truncated JPEG, the non-image and the bomb, recorded not raised
    assert rows("SELECT has_preview FROM channels WHERE username='private_swap_club'") == [(0,)]
    # the known picture from the demo's hash list is found again in all three channels that reposted it
    found = {r[0] for r in rows("SELECT DISTINCT i.channel FROM bank_matches b JOIN media_items i "
                                       "ON i.sha256 = b.sha256 WHERE b.bank = 'demo_case' AND b.hash_type = 'pdq'")}
    assert found == {"faceswap_hub", "neural_pics", "meme_relay"}
    assert "repost cluster" in run.stdout
    # alerts: raised with their causes, written once each to the demo's JSONL sink over both sweeps
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert f"{len(alerts)} alerts written to {tmp_path / 'alerts.jsonl'}" in run.stdout
    assert len({a["id"] for a in alerts}) == len(alerts) and "bank_match" in {a["type"] for a in alerts}
    # the analyst's confirmation between the sweeps: a deepfake_bot alert for it, and, through its lineage,
    # for the banned bot it replaced and the mirror that replaced it; the mirror links around it
    by_type = {t: {a["subject"] for a in alerts if a["type"] == t} for t in ("deepfake_bot", "mirror")}
    assert by_type["deepfake_bot"] == {"bot:swapface_magic2_bot", "bot:swapface_magic_bot", "bot:swapface_magic3_bot"}
    reasons = dict(rows("SELECT username, reasons FROM bots WHERE username LIKE 'swapface_magic%'"))
    assert json.loads(reasons["swapface_magic_bot"])[0].startswith("lineage: replaced by its mirror @swapface_magic2_bot")
    assert by_type["mirror"] == {"bot:swapface_magic2_bot", "bot:swapface_magic3_bot"}
    assert rows("SELECT label FROM bots WHERE username='swapface_magic2_bot'") == [("deepfake_generator",)]
    assert rows("SELECT count(*) FROM alerts WHERE state != 'delivered'") == [(0,)]
