"""`tgsweep serve`: the explorer's API, through an HTTP client against the real app on the demo's store."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from PIL import Image, ImageFilter, ImageStat

with warnings.catch_warnings():  # starlette's notice about a future httpx2; the client works as it is
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tests.conftest import Sweeps
from tgsweep.config import Config, load_config
from tgsweep.explorer.app import ServeSettings, UnsafeBinding, create_app

LOOPBACK = "http://127.0.0.1:8765"


def demo_copy(tmp_path_factory) -> Path:
    """A fresh copy of a store filled by `tgsweep demo` (run once per session); returns its config file.

    The demo is the whole pipeline on the synthetic corpus: sweep, bots, fingerprints, graph,
    escalation, alerts delivered to a JSONL sink. Each test module gets its own copy to change.
    """
    pristine = tmp_path_factory.getbasetemp() / "explorer-demo-pristine"
    if not (pristine / "config.toml").exists():
        run = subprocess.run([sys.executable, "-m", "tgsweep.cli", "demo", "--dir", str(pristine)],
                             capture_output=True, text=True, timeout=240, env=Sweeps.env())
        assert run.returncode == 0, run.stderr
    folder = tmp_path_factory.mktemp("explorer-demo")
    shutil.copytree(pristine, folder, dirs_exist_ok=True)
    return folder / "config.toml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return demo_copy(tmp_path_factory)


def _db(config: Path) -> sqlite3.Connection:
    db = sqlite3.connect(config.parent / "tgsweep.db", timeout=30)
    db.row_factory = sqlite3.Row
    return db


def _client(config: Config, **settings) -> TestClient:
    app = create_app(config, ServeSettings(**settings), prewarm=False)
    return TestClient(app, base_url=LOOPBACK)


@pytest.fixture(scope="module")
def client(demo):
    with _client(load_config(demo), analyst="analyst-ana") as c:
        yield c


def test_graph_holds_the_demo_network_with_positions(client, demo):
    graph = client.get("/api/graph").json()
    ids = {n["id"] for n in graph["nodes"]}
    assert {"channel:faceswap_hub", "bot:swapface_magic2_bot", "bot:photogen_pro_bot"} <= ids
    clusters = {r[0] for r in _db(demo).execute("SELECT id FROM media_clusters WHERE appearances > 1")}
    assert clusters and {f"media:{c}" for c in clusters} <= ids  # reposted pictures are nodes
    assert all(e["source"] in ids and e["target"] in ids for e in graph["edges"])
    assert {"promotes", "forwarded_from", "mirror_of", "posted"} <= {e["kind"] for e in graph["edges"]}
    mirror = {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "mirror_of"}
    assert ("bot:swapface_magic2_bot", "bot:swapface_magic_bot") in mirror
    assert len({(n["x"], n["y"]) for n in graph["nodes"]}) == len(graph["nodes"])  # laid out, no pile-up
    stored = {r["subject"]: r["score"] for r in _db(demo).execute("SELECT subject, score FROM escalations")}
    assert stored
    for node in graph["nodes"]:
        if node["id"] in stored:
            assert node["escalation"] == pytest.approx(stored[node["id"]], abs=1e-3)
    assert not graph["truncated"] and graph["total_nodes"] == len(graph["nodes"])


def test_graph_filters(client, demo):
    bots = client.get("/api/graph", params={"kind": "bot"}).json()
    assert bots["nodes"] and {n["kind"] for n in bots["nodes"]} == {"bot"}
    assert all(e["kind"] == "mirror_of" for e in bots["edges"])  # only edges between bots remain

    db = _db(demo)
    high = {r[0] for r in db.execute("SELECT subject FROM escalations WHERE score >= 0.7")}
    shown = {n["id"] for n in client.get("/api/graph", params={"min_escalation": 0.7}).json()["nodes"]}
    assert high and shown == high & {n["id"] for n in client.get("/api/graph").json()["nodes"]}

    everything = client.get("/api/graph").json()
    community = everything["communities"][0][0]
    one = client.get("/api/graph", params={"community": community}).json()["nodes"]
    assert one and {n["community"] for n in one} == {community} and len(one) < len(everything["nodes"])

    dated = [n for n in everything["nodes"] if n["first_seen"]]
    cut = sorted(n["last_seen"] for n in dated)[len(dated) // 2][:10]
    later = client.get("/api/graph", params={"since": cut}).json()["nodes"]
    assert later and all(n["last_seen"][:10] >= cut for n in later) and len(later) < len(everything["nodes"])

    top = client.get("/api/graph", params={"limit": 3}).json()
    assert len(top["nodes"]) == 3 and top["truncated"] and top["total_nodes"] == len(everything["nodes"])
    best = sorted((n["escalation"] for n in everything["nodes"]), reverse=True)[:3]
    assert sorted((n["escalation"] for n in top["nodes"]), reverse=True) == best

    assert client.get("/api/graph", params={"kind": "planet"}).status_code == 422


def test_graph_opens_on_the_escalated_neighbourhood_or_a_nodes_ego_network(client, demo):
    import networkx as nx

    everything = client.get("/api/graph").json()
    graph = nx.MultiDiGraph([(e["source"], e["target"]) for e in everything["edges"]])
    graph.add_nodes_from(n["id"] for n in everything["nodes"])
    undirected = graph.to_undirected()
    escalated = {n["id"] for n in everything["nodes"] if n["escalation"] >= 0.6}
    near = set(escalated) | {m for n in escalated for m in undirected.neighbors(n)}
    focused = {n["id"] for n in client.get("/api/graph", params={"focus": "escalated"}).json()["nodes"]}
    assert escalated and focused == near and len(focused) < len(everything["nodes"])
    ego = {n["id"] for n in client.get("/api/graph", params={"focus": "bot:morphme_ai_bot", "hops": 1}).json()["nodes"]}
    assert ego == {"bot:morphme_ai_bot", *undirected.neighbors("bot:morphme_ai_bot")}
    two = {n["id"] for n in client.get("/api/graph", params={"focus": "bot:morphme_ai_bot", "hops": 2}).json()["nodes"]}
    assert ego < two == set(nx.ego_graph(undirected, "bot:morphme_ai_bot", radius=2))
    assert client.get("/api/graph", params={"focus": "bot:nobody"}).json()["nodes"] == []

    # an edge's details, and a path between two nodes
    e = next(e for e in everything["edges"] if e["kind"] == "promotes")
    details = client.get("/api/edge", params={"source": e["source"], "target": e["target"]}).json()["edges"]
    promotes = next(d for d in details if d["kind"] == "promotes" and d["source"] == e["source"])
    assert promotes["count"] == e["count"] and promotes["posts"] and promotes["posts"][0]["url"].startswith("https://t.me/")
    far = max(nx.single_source_shortest_path_length(undirected, "bot:morphme_ai_bot").items(), key=lambda kv: kv[1])
    route = client.get("/api/path", params={"source": "bot:morphme_ai_bot", "target": far[0]}).json()
    assert route["nodes"][0] == "bot:morphme_ai_bot" and route["nodes"][-1] == far[0]
    assert len(route["nodes"]) == far[1] + 1 and route["edges"]
    assert client.get("/api/path", params={"source": "bot:morphme_ai_bot", "target": "bot:nobody"}).status_code == 404

    gexf = client.get("/api/graph", params={"focus": "escalated", "format": "gexf"})
    assert gexf.status_code == 200 and "attachment" in gexf.headers["content-disposition"]
    reread = nx.read_gexf(io.BytesIO(gexf.content))  # the view as Gephi would open it
    assert set(reread.nodes) == focused and reread.number_of_edges() > 0


def test_channel_page_data(client, demo):
    db = _db(demo)
    c = client.get("/api/channels/faceswap_hub").json()
    assert c["profile"]["title"] == db.execute("SELECT title FROM channels WHERE username='faceswap_hub'").fetchone()[0]
    assert c["posts"] == db.execute("SELECT count(*) FROM posts WHERE channel='faceswap_hub'").fetchone()[0]
    per_day = dict(db.execute("SELECT substr(date,1,10), count(*) FROM posts WHERE channel='faceswap_hub' "
                              "GROUP BY 1").fetchall())
    assert {a["day"]: a["posts"] for a in c["activity"]} == per_day
    forwarders = dict(db.execute("SELECT channel, count(*) FROM posts WHERE forwarded_channel='faceswap_hub' "
                                 "GROUP BY channel").fetchall())
    assert forwarders and {f["channel"]: f["posts"] for f in c["forwards_in"]} == forwarders
    codes = {bot: sorted(filter(None, (params or "").split(","))) for bot, params in db.execute(
        "SELECT bot, group_concat(DISTINCT nullif(param, '')) FROM bot_refs WHERE channel='faceswap_hub' GROUP BY bot")}
    assert {b["bot"]: b["referral_codes"] for b in c["bots_promoted"]} == codes
    assert any(b["referral_codes"] for b in c["bots_promoted"])
    known = [m for m in c["media"]["items"] if m["post"] == "faceswap_hub/14"]
    assert known and known[0]["bank_matches"][0]["bank"] == "demo_case"
    assert known[0]["cluster_files"] == 3 and known[0]["cluster_channels"] == 3
    cluster = client.get(f"/api/clusters/{known[0]['cluster']}").json()  # its summary counts, then lists, files
    assert cluster["file_count"] == 3 and len(cluster["files"]) == 3 and cluster["channels"]
    assert known[0]["preview"] == f"/api/media/{known[0]['sha256']}/image"  # blurred by default: no unblur flag
    esc = db.execute("SELECT reasons FROM escalations WHERE subject='channel:faceswap_hub'").fetchone()
    assert esc and c["escalation"]["reasons"] == json.loads(esc[0]) and c["escalation"]["reasons"]
    auto = db.execute("SELECT reasons FROM automation_scores WHERE subject='channel:faceswap_hub'").fetchone()
    assert auto and c["automation"]["reasons"] == json.loads(auto[0])
    assert client.get("/api/channels/no_such_channel").status_code == 404
    assert client.get("/api/channels/bad%20name").status_code == 422


def test_posts_of_a_channel_and_of_a_bot_paged_newest_first(client, demo):
    db = _db(demo)
    total = db.execute("SELECT count(*) FROM posts WHERE channel='faceswap_hub'").fetchone()[0]
    first = client.get("/api/channels/faceswap_hub/posts", params={"limit": 10}).json()
    assert first["total"] == total and len(first["posts"]) == min(10, total)
    ids = [p["id"] for p in first["posts"]]
    assert ids == sorted(ids, reverse=True)
    top = first["posts"][0]
    text = db.execute("SELECT text FROM posts WHERE channel='faceswap_hub' AND id=?", (top["id"],)).fetchone()[0]
    assert top["text"] == text and top["url"] == f"https://t.me/faceswap_hub/{top['id']}"
    second = client.get("/api/channels/faceswap_hub/posts", params={"limit": 10, "offset": 10}).json()
    assert not {p["id"] for p in second["posts"]} & set(ids)
    referencing = {tuple(r) for r in db.execute("SELECT DISTINCT channel, post_id FROM bot_refs WHERE bot='morphme_ai_bot'")}
    bot = client.get("/api/bots/morphme_ai_bot/posts", params={"limit": 500}).json()
    assert bot["total"] == len(referencing) and {(p["channel"], p["id"]) for p in bot["posts"]} == referencing
    assert all("morphme_ai_bot" in p["bots"] for p in bot["posts"])
    assert sum(a["posts"] for a in client.get("/api/bots/morphme_ai_bot").json()["activity"]) == len(referencing)
    assert client.get("/api/channels/bad%20name/posts").status_code == 422


def test_search_finds_channels_bots_known_content_hashes_and_post_text(client, demo):
    db = _db(demo)
    hit = client.get("/api/search", params={"q": "photo magic"}).json()  # faceswap_hub's title, any case
    assert "channel:faceswap_hub" in {c["node"] for c in hit["channels"]}
    assert "bot:morphme_ai_bot" in {b["node"] for b in client.get("/api/search", params={"q": "morphme"}).json()["bots"]}
    sha, cluster, label = db.execute("SELECT m.sha256, m.cluster, b.label FROM bank_matches b "
                                     "JOIN media m ON m.sha256 = b.sha256 LIMIT 1").fetchone()
    by_label = client.get("/api/search", params={"q": label[:12]}).json()["clusters"]
    assert cluster in {c["cluster"] for c in by_label} and any(c["banks"] for c in by_label)
    by_hash = client.get("/api/search", params={"q": sha[:10]}).json()["clusters"]
    assert [c["cluster"] for c in by_hash] == [cluster]
    channel, post_id, text = db.execute("SELECT channel, id, text FROM posts WHERE length(text) > 30 LIMIT 1").fetchone()
    words = text.split()[:3]
    posts = client.get("/api/search", params={"q": " ".join(words)}).json()["posts"]
    assert f"https://t.me/{channel}/{post_id}" in {p["url"] for p in posts}
    nothing = client.get("/api/search", params={"q": "100%_no_such"}).json()  # LIKE wildcards are literal
    assert not (nothing["channels"] or nothing["bots"] or nothing["clusters"] or nothing["posts"])
    assert client.get("/api/search", params={"q": "x"}).status_code == 422


def test_known_content_by_bank_label_and_cluster(client, demo):
    db = _db(demo)
    known = client.get("/api/known").json()
    banked = {tuple(r) for r in db.execute("SELECT DISTINCT b.bank, b.label, m.cluster FROM bank_matches b "
                                            "JOIN media m ON m.sha256 = b.sha256")}
    assert {(k["bank"], k["label"], k["cluster"]) for k in known} == banked
    top = known[0]
    cluster = db.execute("SELECT origin_channel, origin_post, channels FROM media_clusters WHERE id=?",
                         (top["cluster"],)).fetchone()
    assert (top["first"]["channel"], top["first"]["post"]) == (cluster[0], cluster[1])
    assert top["channels"] == json.loads(cluster[2]) and top["tier"] in ("near-certain", "match", "weak lead")
    assert top["preview"] == f"/api/media/{top['sha256']}/image"  # blurred: no unblur flag
    assert client.get("/api/known", params={"bank": "no_such_bank"}).json() == []


def test_the_queue_ranks_filters_and_pages_scored_subjects(client, demo):
    db = _db(demo)
    scored = db.execute("SELECT subject, score FROM escalations ORDER BY score DESC, subject").fetchall()
    page = client.get("/api/queue", params={"limit": 5}).json()
    assert page["total"] == len(scored) and [i["subject"] for i in page["items"]] == [s for s, _ in scored[:5]]
    assert page["items"][0]["reasons"] and len(page["items"][0]["reasons"]) <= 3
    nxt = client.get("/api/queue", params={"limit": 5, "offset": 5}).json()
    assert [i["subject"] for i in nxt["items"]] == [s for s, _ in scored[5:10]]
    bots = client.get("/api/queue", params={"kind": "bot", "min_score": 0.5}).json()["items"]
    assert bots and all(i["kind"] == "bot" and i["score"] >= 0.5 and i["label"] for i in bots)
    media = client.get("/api/queue", params={"kind": "media", "min_score": 0.5}).json()["items"]
    assert media and all(i["bank_matches"] >= 1 for i in media)
    done = client.post("/api/reviewed", json={"subject": page["items"][0]["subject"], "note": "seen"})
    assert done.status_code == 200
    again = client.get("/api/queue", params={"limit": 1}).json()["items"][0]
    assert again["reviewed_at"]
    assert client.get("/api/queue", params={"sort": "random"}).status_code == 422


def test_an_evidence_bundle_from_the_page_verifies_and_is_recorded(client, demo):
    from graph.evidence.bundle import verify_bundle

    got = client.get("/api/evidence", params={"subject": "channel:faceswap_hub"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert hashlib.sha256(got.content).hexdigest() == got.headers["x-bundle-sha256"]
    assert verify_bundle(got.content) == []  # the file re-reads: every member matches its manifest
    export = client.get("/api/audit", params={"subject": "channel:faceswap_hub"}).json()[0]
    assert export["action"] == "export" and export["detail"]["sha256"] == got.headers["x-bundle-sha256"]
    assert client.get("/api/evidence", params={"subject": "channel:no_such_channel"}).status_code == 404


def test_bot_page_data(client, demo):
    db = _db(demo)
    b = client.get("/api/bots/swapface_magic2_bot").json()
    row = db.execute("SELECT label, score, reasons FROM bots WHERE username='swapface_magic2_bot'").fetchone()
    assert b["verdict"]["reasons"] == json.loads(row["reasons"]) and b["verdict"]["score"] == row["score"]
    assert {m["bot"] for m in b["mirror_of"]} == {"swapface_magic_bot"}
    assert "swapface_magic3_bot" in {m["bot"] for m in b["mirrored_by"]}
    assert all(m["evidence"] for m in b["mirror_of"] + b["mirrored_by"])
    promoters = {ch: sorted(filter(None, (p or "").split(","))) for ch, p in db.execute(
        "SELECT channel, group_concat(DISTINCT nullif(param, '')) FROM bot_refs WHERE bot='swapface_magic2_bot' "
        "GROUP BY channel")}
    assert {p["channel"]: p["referral_codes"] for p in b["promoted_by"]} == promoters
    assert any(p["referral_codes"] for p in b["promoted_by"])
    listed = {x["username"] for x in client.get("/api/bots").json()}
    assert listed == {r[0] for r in db.execute("SELECT username FROM bots")}
    assert client.get("/api/bots/no_such_bot").status_code == 404


def _decision_state(config: Path) -> dict:
    db = _db(config)
    return {"bots": [tuple(r) for r in db.execute("SELECT username, label FROM bots ORDER BY username")],
            "decisions": [tuple(r) for r in db.execute("SELECT username, label, note, decided_by FROM bot_overrides "
                                                       "ORDER BY id")],
            "escalations": [(r[0], r[1], r[2], r[3] is not None) for r in db.execute(
                "SELECT subject, score, reasons, escalated_at FROM escalations ORDER BY subject")],
            "alerts": [tuple(r) for r in db.execute("SELECT id, type, subject, severity FROM alerts ORDER BY id")]}


def test_a_decision_re_scores_at_once_and_the_page_and_the_cli_leave_the_same_store(tmp_path_factory):
    """Confirming a bot re-scores it and the channels promoting it in the same request (escalations and
    their alerts), and `tgsweep bots label` on a copy of the same store leaves it identical."""
    by_page, by_cli = demo_copy(tmp_path_factory), demo_copy(tmp_path_factory)
    before = {r[0]: r[1] for r in _db(by_page).execute("SELECT subject, score FROM escalations")}
    assert before["bot:photogen_pro_bot"] == 0.0  # an unknown bot below the lead threshold: not escalated
    note = "offers undressing in its promotions"
    with _client(load_config(by_page), analyst="analyst-ana") as c:
        done = c.post("/api/bots/photogen_pro_bot/override", json={"decision": "confirm", "note": note}).json()
    moved = {r["subject"]: r for r in done["rescored"]}
    assert moved["bot:photogen_pro_bot"]["after"] > done["threshold"] and moved["bot:photogen_pro_bot"]["escalated"]
    for channel in ("channel:faceswap_hub", "channel:swap_mirror_list", "channel:ai_tools_digest"):  # promoters
        assert moved[channel]["after"] >= before[channel]
        assert any("promotes @photogen_pro_bot (deepfake_generator" in r for r in
                   json.loads(_db(by_page).execute("SELECT reasons FROM escalations WHERE subject=?",
                                                   (channel,)).fetchone()[0]))
    assert _db(by_page).execute("SELECT count(*) FROM alerts WHERE type='escalation' AND "
                                "subject='bot:photogen_pro_bot'").fetchone()[0] == 1
    cli = subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(by_cli), "bots", "label",
                          "photogen_pro_bot", "deepfake_generator", "--note", note, "--by", "analyst-ana"],
                         capture_output=True, text=True, timeout=120, env=Sweeps.env())
    assert cli.returncode == 0, cli.stderr
    assert "re-scored bot:photogen_pro_bot: 0.00 ->" in cli.stdout
    assert _decision_state(by_cli) == _decision_state(by_page)


def test_override_is_stored_like_the_cli(client, demo):
    done = client.post("/api/bots/photogen_pro_bot/override",
                       json={"decision": "confirm", "note": "offers undressing in its promotions"})
    assert done.status_code == 200, done.text
    assert done.json()["label"] == "deepfake_generator" and done.json()["by"] == "analyst-ana"
    db = _db(demo)
    row = db.execute("SELECT label, note, decided_by FROM bot_overrides WHERE username='photogen_pro_bot' "
                     "ORDER BY id DESC").fetchone()
    assert tuple(row) == ("deepfake_generator", "offers undressing in its promotions", "analyst-ana")
    assert db.execute("SELECT label FROM bots WHERE username='photogen_pro_bot'").fetchone()[0] == "deepfake_generator"

    client.post("/api/bots/photogen_pro_bot/override", json={"decision": "reject", "note": "second look: a filter"})
    b = client.get("/api/bots/photogen_pro_bot").json()
    assert [o["label"] for o in b["overrides"]] == ["benign", "deepfake_generator"]  # newest first, none lost
    assert b["verdict"]["label"] == "benign" and b["verdict"]["override"]["note"] == "second look: a filter"

    assert client.post("/api/bots/photogen_pro_bot/override", json={"decision": "confirm", "note": ""}).status_code == 422
    assert client.post("/api/bots/photogen_pro_bot/override", json={"note": "no decision"}).status_code == 422
    assert client.post("/api/bots/no_such_bot/override", json={"decision": "confirm", "note": "x"}).status_code == 404
    cross = client.post("/api/bots/photogen_pro_bot/override", json={"decision": "confirm", "note": "x"},
                        headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    form = client.post("/api/bots/photogen_pro_bot/override", content='{"decision": "confirm", "note": "x"}',
                       headers={"Content-Type": "text/plain"})  # what a cross-site form could send
    assert form.status_code == 422
    assert db.execute("SELECT count(*) FROM bot_overrides WHERE username='photogen_pro_bot'").fetchone()[0] == 2
    decisions = client.get("/api/audit", params={"subject": "bot:photogen_pro_bot"}).json()
    assert [(e["action"], e["detail"]["label"], e["who"]) for e in decisions] == [
        ("decision", "benign", "analyst-ana"), ("decision", "deepfake_generator", "analyst-ana")]


def test_case_notes_and_the_audit_trail_are_kept_per_subject(client, demo):
    note = client.post("/api/notes", json={"subject": "channel:faceswap_hub", "note": "shares the school photos",
                                           "tags": ["School", "urgent", " ", "urgent"]})
    assert note.status_code == 200, note.text
    entries = client.get("/api/audit", params={"subject": "channel:faceswap_hub"}).json()
    assert entries[0]["action"] == "note" and entries[0]["who"] == "analyst-ana" and entries[0]["at"]
    assert entries[0]["detail"] == {"note": "shares the school photos", "tags": ["school", "urgent"]}
    assert client.post("/api/notes", json={"subject": "table:x", "note": "x"}).status_code == 422
    assert client.post("/api/notes", json={"subject": "bot:x", "note": ""}).status_code == 422

    db = _db(demo)
    sha, cluster = db.execute("SELECT m.sha256, m.cluster FROM media_items i JOIN media m ON m.sha256 = i.sha256 "
                              "WHERE i.channel='faceswap_hub' AND i.post_id=14").fetchone()
    before = len(client.get("/api/audit", params={"subject": f"media:{cluster}"}).json())
    client.get(f"/api/media/{sha}/image")  # a blurred preview is not a reveal
    assert len(client.get("/api/audit", params={"subject": f"media:{cluster}"}).json()) == before
    client.get(f"/api/media/{sha}/image", params={"unblur": 1})
    reveal = client.get("/api/audit", params={"subject": f"media:{cluster}"}).json()[0]
    assert (reveal["action"], reveal["who"], reveal["detail"]["sha256"]) == ("reveal", "analyst-ana", sha)


def _edge_energy(picture: Image.Image) -> float:
    """Mean edge strength inside the picture (the filter leaves a 1 px border untouched: cropped)."""
    edges = picture.convert("L").filter(ImageFilter.FIND_EDGES)
    return ImageStat.Stat(edges.crop((2, 2, edges.width - 2, edges.height - 2))).mean[0]


def test_media_previews_are_blurred_unless_asked(client, demo):
    db = _db(demo)
    sha, path = db.execute("SELECT m.sha256, m.path FROM media_items i JOIN media m ON m.sha256 = i.sha256 "
                           "WHERE i.channel='faceswap_hub' AND i.post_id=14").fetchone()
    original = (demo.parent / "media" / path).read_bytes()

    blurred = client.get(f"/api/media/{sha}/image")
    assert blurred.status_code == 200 and blurred.headers["content-type"] == "image/jpeg"
    assert blurred.content != original and blurred.headers["x-preview"] == "blurred"
    preview = Image.open(io.BytesIO(blurred.content))
    assert max(preview.size) <= 256
    sharp = Image.open(io.BytesIO(original)).convert("RGB")
    sharp.thumbnail(preview.size)
    assert _edge_energy(preview) < _edge_energy(sharp) / 2  # blurred, not just scaled down

    unblurred = client.get(f"/api/media/{sha}/image", params={"unblur": 1})
    assert unblurred.status_code == 200 and unblurred.content == original
    assert hashlib.sha256(unblurred.content).hexdigest() == sha

    detail = client.get(f"/api/media/{sha}").json()
    assert detail["sha256"] == sha and detail["pdq"] and detail["bank_matches"]
    assert client.get("/api/media/" + "0" * 64 + "/image").status_code == 404
    assert client.get("/api/media/not-a-hash/image").status_code == 422


def test_hash_only_mode_has_no_images(demo):
    config = load_config(demo)
    config = config.model_copy(update={"media": config.media.model_copy(update={"keep": "none"})})
    sha = _db(demo).execute("SELECT sha256 FROM media WHERE mime='image/jpeg' AND path IS NOT NULL").fetchone()[0]
    with _client(config) as c:
        for params in ({}, {"unblur": 1}):
            gone = c.get(f"/api/media/{sha}/image", params=params)
            assert gone.status_code == 404 and "hash-only" in gone.json()["detail"]
        channel = c.get("/api/channels/faceswap_hub").json()
        assert channel["media"]["items"] and all(m["preview"] is None and m["sha256"] for m in channel["media"]["items"])
        assert c.get(f"/api/media/{sha}").json()["sha256"] == sha  # hashes are still shown
        assert c.get("/api/info").json()["hash_only"] is True


def test_token_guards_everything_off_loopback(demo, caplog):
    config = load_config(demo)
    with pytest.raises(UnsafeBinding):
        create_app(config, ServeSettings(host="0.0.0.0"))
    refused = subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(demo), "serve", "--host",
                              "0.0.0.0"], capture_output=True, text=True, timeout=60, env=Sweeps.env())
    assert refused.returncode == 2 and "token" in refused.stderr

    token = "s3cret-explorer-token"
    app = create_app(config, ServeSettings(host="0.0.0.0", token=token), prewarm=False)
    with TestClient(app, base_url="http://10.1.2.3:8765", follow_redirects=False) as c:
        assert c.get("/api/graph").status_code == 401
        assert c.get("/api/graph", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/").status_code == 303 and c.get("/").headers["location"] == "/login"
        assert c.get("/api/bots", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert c.post("/login", data={"token": "wrong"}).status_code == 401
        logged_in = c.post("/login", data={"token": token})
        assert logged_in.status_code == 303 and token not in logged_in.headers.get("set-cookie", "")
        assert c.get("/").status_code == 200 and c.get("/api/graph").status_code == 200  # the cookie now
    assert token not in caplog.text


def test_loopback_answers_only_to_loopback_names(client):
    assert client.get("/api/info", headers={"Host": "attacker.example"}).status_code == 400
    assert client.get("/api/info", headers={"Host": "localhost:8765"}).status_code == 200


def test_alerts_with_delivery_state_and_retry(client, demo):
    db = _db(demo)
    stored = {r["id"]: r["state"] for r in db.execute("SELECT id, state FROM alerts")}
    listed = client.get("/api/alerts").json()["alerts"]
    assert stored and {a["id"]: a["state"] for a in listed} == stored
    alert = next(a for a in listed if a["state"] == "delivered")  # the demo delivered its alerts to a JSONL sink
    assert alert["sinks"] and {"sink", "state", "attempts"} <= set(alert["sinks"][0])
    # a sink gave up on this alert (dead-lettered): retry makes it due again
    db.execute("UPDATE alert_deliveries SET state='dead', last_error='gave up' WHERE alert_id=?", (alert["id"],))
    db.execute("UPDATE alerts SET state='dead' WHERE id=?", (alert["id"],))
    db.commit()
    assert client.post("/api/alerts/retry", json={"ids": [alert["id"]]}).json() == {"queued": 1}
    assert db.execute("SELECT state FROM alerts WHERE id=?", (alert["id"],)).fetchone()[0] == "pending"
    again = {a["id"]: a for a in client.get("/api/alerts").json()["alerts"]}[alert["id"]]
    assert again["state"] == "pending" and {s["state"] for s in again["sinks"]} == {"pending"}

    # a page at a time, newest first; filtered by state
    ordered = [r[0] for r in db.execute("SELECT id FROM alerts ORDER BY created_at DESC, id")]
    page = client.get("/api/alerts", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == len(ordered) and [a["id"] for a in page["alerts"]] == ordered[1:3]
    assert all(a["sinks"] for a in page["alerts"] if a["state"] == "delivered")  # new ones wait for the deliver job
    pending = client.get("/api/alerts", params={"state": "pending"}).json()
    waiting = [r[0] for r in db.execute("SELECT id FROM alerts WHERE state='pending' ORDER BY created_at DESC, id")]
    assert alert["id"] in waiting and pending["total"] == len(waiting)
    assert [a["id"] for a in pending["alerts"]] == waiting and {a["state"] for a in pending["alerts"]} == {"pending"}
    assert client.get("/api/alerts", params={"state": "lost"}).status_code == 422


def test_openapi_and_pages(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/graph", "/api/channels/{username}", "/api/bots/{username}", "/api/bots/{username}/override",
            "/api/media/{sha256}/image", "/api/alerts", "/api/alerts/retry"} <= set(paths)
    page = client.get("/")
    assert page.status_code == 200 and "/static/vendor/cytoscape.min.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]  # nothing from a CDN
    assert client.get("/static/vendor/cytoscape.min.js").status_code == 200
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN: not served


async def test_the_explorer_opens_with_a_note_when_the_graph_cannot_be_built(demo, monkeypatch):
    """One graph builder (graph.build): when it fails, the page still opens, empty, saying why."""
    import graph.build
    from store.sqlite import Store
    from tgsweep.explorer.data import load_graph

    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(graph.build, "build_graph", broken)
    store = await Store.open(demo.parent / "tgsweep.db")
    try:
        graph, notes = await load_graph(store)
    finally:
        await store.close()
    assert graph.number_of_nodes() == 0
    assert notes and "disk on fire" in notes[0]


def test_every_table_sorts_on_the_server_both_ways_and_pages(client, demo):
    """Alerts, bots, channels and posts: sorted on the server by the column asked for, either way, paged."""
    db = _db(demo)
    rank = {"critical": 3, "high": 2, "medium": 1, "low": 0}
    for order in ("desc", "asc"):
        page = client.get("/api/alerts", params={"sort": "severity", "order": order, "limit": 1000}).json()
        got = [rank[a["severity"]] for a in page["alerts"]]
        assert got == sorted(got, reverse=order == "desc") and len(set(got)) > 1
    assert client.get("/api/alerts", params={"sort": "payload"}).status_code == 422  # only the columns offered

    names = [b["username"] for b in client.get("/api/bots", params={"sort": "username", "order": "asc"}).json()]
    assert names == sorted(r[0] for r in db.execute("SELECT username FROM bots"))
    answer = client.get("/api/bots", params={"sort": "username", "order": "asc", "offset": 2, "limit": 3})
    assert [b["username"] for b in answer.json()] == names[2:5] and answer.headers["X-Total-Count"] == str(len(names))
    scores = [b["score"] for b in client.get("/api/bots").json() if b["score"] is not None]
    assert scores == sorted(scores, reverse=True)  # by score, highest first, unless asked otherwise

    posts = {r[0]: r[1] for r in db.execute("SELECT channel, count(*) FROM posts GROUP BY channel")}
    listed = client.get("/api/channels", params={"sort": "posts", "limit": 500}).json()
    assert listed["total"] == db.execute("SELECT count(*) FROM channels WHERE kind IS NOT 'bot'").fetchone()[0]
    counts = [c["posts"] for c in listed["channels"]]
    assert counts == sorted(counts, reverse=True) and counts[0] == max(posts.values())
    assert all(c["posts"] == posts.get(c["username"], 0) for c in listed["channels"])
    second = client.get("/api/channels", params={"sort": "posts", "offset": 1, "limit": 1}).json()["channels"]
    assert second[0]["username"] == listed["channels"][1]["username"]
    watched = client.get("/api/channels", params={"watched": "true", "limit": 500}).json()
    assert watched["total"] == db.execute("SELECT count(*) FROM channels WHERE watched=1 AND kind IS NOT 'bot'").fetchone()[0]
    scored = [c["escalation"] for c in client.get("/api/channels", params={"limit": 500}).json()["channels"]]
    known = [s for s in scored if s is not None]
    assert known == sorted(known, reverse=True) and scored[:len(known)] == known  # unscored last

    busiest = max(posts, key=posts.get)
    for order in ("desc", "asc"):
        views = [p["views"] for p in client.get(f"/api/channels/{busiest}/posts",
                                                  params={"sort": "views", "order": order, "limit": 500}).json()["posts"]]
        present = [v for v in views if v is not None]
        assert present == sorted(present, reverse=order == "desc") and len(set(present)) > 1


def _graph_ids(config: Config, wait_fresh: bool = True) -> tuple[set[str], list[str]]:
    import time

    app = create_app(config, ServeSettings(analyst="restart-test"), prewarm=True)
    with TestClient(app, base_url=LOOPBACK) as c:
        deadline = time.monotonic() + 60
        while True:
            graph = c.get("/api/graph").json()
            if not (wait_fresh and graph["notes"]) or time.monotonic() > deadline:
                return {n["id"] for n in graph["nodes"]}, graph["notes"]
            time.sleep(0.1)


def test_a_restarted_explorer_serves_the_saved_graph_and_rebuilds_only_when_the_store_moved_on(tmp_path_factory,
                                                                                               monkeypatch):
    import asyncio
    import os
    import time

    from store.sqlite import Store
    from tgsweep.explorer import state

    config = load_config(demo_copy(tmp_path_factory))
    saved = Path(f"{config.storage.database}.explorer.pickle")
    first, _ = _graph_ids(config)
    deadline = time.monotonic() + 30
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert saved.exists() and os.stat(saved).st_mode & 0o077 == 0  # private

    def no_build(database):
        raise AssertionError("the store has not changed: the saved graph should have served")

    monkeypatch.setattr(state, "_build_apart", no_build)
    again, notes = _graph_ids(config, wait_fresh=False)
    assert again == first and notes == []
    monkeypatch.undo()

    async def new_promotion() -> None:  # what a sweep would write: a post promoting a bot never seen before
        store = await Store.open(config.storage.database)
        try:
            async with store.transaction() as tx:
                await tx.execute("INSERT INTO posts(channel, id, date, text, source, record, first_seen, last_seen) "
                                 "VALUES ('faceswap_hub', 99999, '2026-06-01T00:00:00+00:00', 'try it', 'web', '{}', "
                                 "'2026-06-01T00:00:00+00:00', '2026-06-01T00:00:00+00:00')")
                await tx.execute("INSERT INTO bot_refs VALUES ('faceswap_hub', 99999, 'brand_new_swap_bot', "
                                 "'deep_link', 'x1')")
        finally:
            await store.close()

    asyncio.run(new_promotion())
    moved, notes = _graph_ids(config)
    assert notes == [] and moved == first | {"bot:brand_new_swap_bot"}

    saved.write_bytes(b"not a pickle")  # torn or foreign: built afresh, with a warning, never an error
    torn, notes = _graph_ids(config)
    assert torn == moved and notes == []


def test_what_changed_since_the_last_visit(demo):
    db = _db(demo)
    escalated = db.execute("SELECT count(*) FROM escalations WHERE escalated_at IS NOT NULL").fetchone()[0]
    alerts = dict(db.execute("SELECT severity, count(*) FROM alerts GROUP BY severity").fetchall())
    files = db.execute("SELECT count(DISTINCT sha256) FROM bank_matches").fetchone()[0]
    with _client(load_config(demo), analyst="analyst-bo") as bo:
        bo.post("/api/notes", json={"subject": "channel:faceswap_hub", "note": "asked the platform", "tags": []})
    with _client(load_config(demo), analyst="analyst-ana") as ana:
        everything = ana.get("/api/changes", params={"since": "2000-01-01T00:00:00Z"}).json()
        assert everything["escalated_total"] == escalated and everything["alerts"] == alerts
        assert everything["bank_matches"]["files"] == files and everything["bank_matches"]["banks"]
        scores = [e["score"] for e in everything["escalated"]]
        assert scores == sorted(scores, reverse=True) and len(scores) == min(10, escalated)
        assert ("analyst-bo", "note", "channel:faceswap_hub") in {(o["who"], o["action"], o["subject"])
                                                                 for o in everything["others"]}
        assert all(o["who"] != "analyst-ana" for o in everything["others"])  # one's own work is not news
        later = ana.get("/api/changes", params={"since": "2999-01-01T00:00:00+00:00"}).json()
        assert (later["escalated_total"], later["alerts"], later["bank_matches"]["files"], later["others"],
                later["discovered"]) == (0, {}, 0, [], 0)
        assert ana.get("/api/changes", params={"since": "yesterday"}).status_code == 422


def test_the_queue_filters_by_label_bank_community_and_date(client, demo):
    db = _db(demo)
    labelled = {f"bot:{r[0]}" for r in db.execute("SELECT username FROM bots WHERE label='deepfake_generator'")}
    got = client.get("/api/queue", params={"label": "deepfake_generator", "limit": 500}).json()["items"]
    assert got and {i["subject"] for i in got} == labelled & {r[0] for r in db.execute("SELECT subject FROM escalations")}
    bank = db.execute("SELECT bank FROM bank_matches LIMIT 1").fetchone()[0]
    clusters = {f"media:{r[0]}" for r in db.execute("SELECT DISTINCT m.cluster FROM media m JOIN bank_matches b "
                                                     "ON b.sha256 = m.sha256 WHERE b.bank = ?", (bank,))}
    channels = {f"channel:{r[0]}" for r in db.execute("SELECT DISTINCT i.channel FROM media_items i JOIN bank_matches b "
                                                       "ON b.sha256 = i.sha256 WHERE b.bank = ?", (bank,))}
    scored = {r[0] for r in db.execute("SELECT subject FROM escalations")}
    got = {i["subject"] for i in client.get("/api/queue", params={"bank": bank, "limit": 500}).json()["items"]}
    assert got and got == (clusters | channels) & scored
    assert client.get("/api/queue", params={"bank": "no_such_bank"}).json()["total"] == 0
    community = db.execute("SELECT community FROM escalations WHERE community IS NOT NULL LIMIT 1").fetchone()[0]
    got = client.get("/api/queue", params={"community": community, "limit": 500}).json()["items"]
    assert got and {i["community"] for i in got} == {community}
    assert client.get("/api/queue", params={"since": "2999-01-01"}).json()["total"] == 0
    assert client.get("/api/queue", params={"label": "evil"}).status_code == 422
