"""Evidence bundles and takedown lists, from a real store filled through its own ingest path."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from crawler.media import write_media
from store.records import EntityPage, MediaItem, Post
from store.custody import entry_hash
from store.records import Capture, StoredMedia, now
from store.sqlite import Store
from graph.evidence.bundle import MANIFEST, build_bundle, bundle_files, verify_bundle
from graph.evidence.gather import SubjectError, gather_evidence, gather_takedown
from graph.takedown.items import render_csv, render_json
from tests.conftest import Sweeps
from tgsweep.config import parse_config

BOT = "undressxbot"
DEEP_LINK = f"https://t.me/{BOT}?start=ref42"


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return buffer.getvalue()


def config_for(folder: Path, keep: str = "all"):
    text = (f'[storage]\ndatabase = "db.sqlite"\nmedia_dir = "media"\n[media]\nkeep = "{keep}"\n'
            "[graph]\nescalation_threshold = 0.6\n")
    path = folder / "config.toml"
    path.write_text(text)
    try:
        return parse_config(text, path)
    except Exception:  # noqa: BLE001 - [graph] not there yet (the graph issue adds it): no threshold key
        text = text.replace("[graph]\nescalation_threshold = 0.6\n", "")
        path.write_text(text)
        return parse_config(text, path)


def page(channel: str, posts: dict[int, str]) -> bytes:
    """A minimal t.me/s page (synthetic) showing these posts' texts."""
    wraps = "".join(f'<div class="tgme_widget_message" data-post="{channel}/{n}"><div class="tgme_widget_message_text">'
                    f"{text}</div></div>" for n, text in posts.items())
    return f"<html><body>{wraps}</body></html>".encode()


PAGE = page("alpha", {1: "hello", 2: "try it", 3: "a picture"})
PAGE2 = page("news", {7: "beware"})
ENTITY = b"<html><body>Telegram: Contact @undressxbot (synthetic)</body></html>"
PICTURE = png((200, 30, 30))


async def fill(config, keep_file: bool = True) -> None:
    """alpha/1 plain, alpha/2 promotes the bot, alpha/3 a picture matched by a bank; news/7 promotes the bot."""
    store = await Store.open(config.storage.database)
    try:
        posts = [Post("alpha", 1, "2026-05-01T10:00:00+00:00", "hello"),
                 Post("alpha", 2, "2026-05-01T11:00:00+00:00", "try it", links=[DEEP_LINK]),
                 Post("alpha", 3, "2026-05-01T12:00:00+00:00", "a picture",
                      media=[MediaItem("photo", url="http://127.0.0.1:9/file/a.png")])]
        from crawler.paging import Cursor

        await store.ingest_page(1, "alpha", None, posts, Capture("channel_page", "http://x/s/alpha", PAGE),
                                Cursor(3), True)
        await store.ingest_page(1, "news", None, [Post("news", 7, "2026-05-02T09:00:00+00:00", "beware",
                                                       links=[DEEP_LINK])],
                                Capture("channel_page", "http://x/s/news", PAGE2), Cursor(7), True)
        await store.record_entity(1, EntityPage(BOT, "bot", "Undress X", "synthetic description"),
                                  Capture("entity_page", f"http://x/{BOT}", ENTITY))
        digest = hashlib.sha256(PICTURE).hexdigest()
        path = write_media(config.storage.media_dir, digest, PICTURE) if keep_file else None
        await store.store_media(1, "alpha", 3, 0, "http://127.0.0.1:9/file/a.png",
                                StoredMedia(digest, hashlib.md5(PICTURE).hexdigest(), len(PICTURE), "image/png",
                                            64, 48, path), None)
        t = now()
        async with store.transaction() as tx:
            await tx.execute("UPDATE media SET cluster='c0ffee' WHERE sha256=?", (digest,))
            await tx.execute("INSERT INTO bank_matches VALUES (?,?,?,?,?,?,?,?,?)",
                             (digest, "case_1", "sha256", digest, "victim request", 0, "near-certain", "whole", t))
            await tx.execute("UPDATE bots SET label='deepfake_generator', auto_label='deepfake_generator', score=0.93, "
                             "reasons=? WHERE username=?", (json.dumps(["promises to undress photos"]), BOT))
            for subject, kind, score, reasons in (
                    ("channel:alpha", "channel", 0.81, ["promotes 1 deepfake bot", "1 bank match"]),
                    (f"bot:{BOT}", "bot", 0.9, ["deepfake_generator verdict 0.93"]),
                    ("channel:news", "channel", 0.2, ["mentions a deepfake bot (reporting)"])):
                await tx.execute("INSERT INTO escalations(subject, kind, score, reasons, computed_at, escalated_at) "
                                 "VALUES (?,?,?,?,?,?)", (subject, kind, score, json.dumps(reasons), "2026-05-03T00:00:00+00:00",
                                                          "2026-05-03T00:00:00+00:00" if score >= 0.6 else None))
    finally:
        await store.close()


async def gather(config, subject: str):
    store = await Store.open(config.storage.database)
    try:
        return await gather_evidence(store, config, subject)
    finally:
        await store.close()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def test_bundle_holds_posts_captures_media_custody_and_a_correct_manifest(tmp_path):
    config = config_for(tmp_path)
    await fill(config)
    evidence = await gather(config, "channel:alpha")
    files = unzip(build_bundle(evidence))

    posts = [json.loads(line) for line in files["posts.jsonl"].decode().splitlines()]
    assert [(p["channel"], p["id"]) for p in posts] == [("alpha", 1), ("alpha", 2), ("alpha", 3)]
    assert posts[1]["bot_refs"] == [BOT] and posts[2]["media"][0]["bank_matches"][0]["bank"] == "case_1"
    digest = hashlib.sha256(PICTURE).hexdigest()
    assert files[f"media/{digest}"] == PICTURE

    store = await Store.open(config.storage.database)
    try:  # raw captures byte-identical to the store's
        page_sha = hashlib.sha256(PAGE).hexdigest()
        assert files[f"captures/{page_sha}.html"] == await store.read_capture(page_sha) == PAGE
        custody = [dict(r) for r in await store.fetchall("SELECT * FROM custody_log ORDER BY seq")]
    finally:
        await store.close()
    assert f"captures/{hashlib.sha256(PAGE2).hexdigest()}.html" not in files  # news is not alpha's

    # manifest: every other file, with its SHA-256
    listed = dict(reversed(line.split("  ", 1)) for line in files[MANIFEST].decode().splitlines())
    assert set(listed) == set(files) - {MANIFEST}
    assert all(hashlib.sha256(files[name]).hexdigest() == sha for name, sha in listed.items())

    entries = [json.loads(line) for line in files["custody.jsonl"].decode().splitlines()]
    assert {e["sha256"] for e in entries} == {page_sha, digest}
    for e in entries:  # each entry is the store's, and its hash recomputes from its fields
        assert e == custody[e["seq"] - 1]
        assert entry_hash(e["prev_hash"], e["seq"], e["at"], e["action"], e["sha256"], e["url"],
                          e["sweep_id"]) == e["entry_hash"]
    subject = json.loads(files["subject.json"])
    assert subject["custody_head"]["entry_hash"] == custody[-1]["entry_hash"]
    assert subject["escalation"]["score"] == 0.81

    summary = files["summary.md"].decode()
    assert "Escalation score 0.81" in summary and "promotes 1 deepfake bot" in summary
    assert f"bot @{BOT}: deepfake_generator" in summary and f"media {digest}: bank case_1" in summary
    assert "a picture" not in summary and "hello" not in summary  # no post texts in the summary
    assert verify_bundle(build_bundle(evidence)) == []


async def test_bot_subject_bare_username_and_verify_catches_tampering(tmp_path):
    config = config_for(tmp_path)
    await fill(config)
    evidence = await gather(config, f"@{BOT.upper()}")  # a bare name known as a bot
    assert evidence.subject == f"bot:{BOT}"
    files = bundle_files(evidence)
    assert {(json.loads(l)["channel"], json.loads(l)["id"]) for l in files["posts.jsonl"].decode().splitlines()} \
        == {("alpha", 2), ("news", 7)}
    assert files[f"captures/{hashlib.sha256(ENTITY).hexdigest()}.html"] == ENTITY  # its profile page
    assert json.loads(files["bots.jsonl"].decode().splitlines()[0])["label"] == "deepfake_generator"

    tampered = dict(files)
    tampered["posts.jsonl"] = files["posts.jsonl"].replace(b"try", b"TRY")
    from graph.evidence.bundle import zip_bytes

    assert verify_bundle(zip_bytes(tampered)) == ["posts.jsonl: SHA-256 does not match the manifest (altered)",
                                                  "post alpha/2: text differs from the capture it cites"]
    with pytest.raises(SubjectError, match="not in the store"):
        await gather(config, "channel:nosuchchannel")


async def test_hash_only_mode_has_no_media_bytes_and_a_missing_file_is_not_fatal(tmp_path):
    config = config_for(tmp_path, keep="none")
    await fill(config, keep_file=False)
    files = unzip(build_bundle(await gather(config, "media:c0ffee")))
    assert not [n for n in files if n.startswith("media/")]
    (media,) = [json.loads(line) for line in files["media.jsonl"].decode().splitlines()]
    assert media["sha256"] == hashlib.sha256(PICTURE).hexdigest() and media["file"] is None
    assert "hash-only" in media["not_included"]
    assert PICTURE not in b"".join(files.values())
    assert [json.loads(l)["id"] for l in files["posts.jsonl"].decode().splitlines()] == [3]


def test_export_is_deterministic_and_the_cli_verifies_it(tmp_path):
    import asyncio

    config = config_for(tmp_path)
    asyncio.run(fill(config))
    sweeps = Sweeps()
    first = sweeps.cli(config.source, "evidence", "export", "alpha", "-o", "one.zip")
    assert first.returncode == 0, first.stderr
    second = sweeps.cli(config.source, "evidence", "export", "channel:alpha", "-o", "two.zip")
    one, two = (tmp_path / "one.zip").read_bytes(), (tmp_path / "two.zip").read_bytes()
    assert one == two and f"sha256 {hashlib.sha256(one).hexdigest()}" in second.stdout
    exports = sweeps.rows(config.source, "SELECT action, subject, detail FROM audit_log ORDER BY id")
    assert [(a, s) for a, s, _ in exports] == [("export", "channel:alpha")] * 2  # who and when, per export
    assert hashlib.sha256(one).hexdigest() in exports[0][2]
    assert sweeps.cli(config.source, "evidence", "verify", "one.zip").returncode == 0
    # an altered capture, re-zipped with the original manifest
    with zipfile.ZipFile(tmp_path / "bad.zip", "w", zipfile.ZIP_STORED) as bad:
        for name, data in unzip(one).items():
            bad.writestr(name, data.replace(b"hello", b"HELLO"))
    done = sweeps.cli(config.source, "evidence", "verify", "bad.zip")
    assert done.returncode == 1 and "does not match" in done.stdout


async def test_takedown_list_names_escalated_posts_and_bots_over_the_threshold(tmp_path):
    config = config_for(tmp_path)
    await fill(config)
    store = await Store.open(config.storage.database)
    try:
        items = await gather_takedown(store, config)  # crossed [graph] escalation_threshold
        stricter = {i["url"] for i in await gather_takedown(store, config, 0.85)}  # the bot alone scores 0.9
        assert stricter == {f"https://t.me/{BOT}", "https://t.me/alpha/2", "https://t.me/news/7"}
    finally:
        await store.close()
    by_url = {i["url"]: i for i in items}
    assert f"https://t.me/{BOT}" in by_url and by_url[f"https://t.me/{BOT}"]["kind"] == "bot"
    assert "https://t.me/alpha" in by_url  # the escalated channel itself
    assert "https://t.me/news" not in by_url  # 0.2: under the threshold
    post = by_url["https://t.me/alpha/3"]
    assert (post["channel"], post["post_id"], post["kind"]) == ("alpha", 3, "post")
    assert post["sha256s"] == [hashlib.sha256(PICTURE).hexdigest()] and post["first_seen"]
    assert by_url["https://t.me/alpha/2"]["subjects"]  # promotes the escalated bot
    assert "https://t.me/alpha/1" not in by_url  # nothing wrong with it

    doc = json.loads(render_json(items))
    assert doc["counts"]["telegram"]["bots"] == 1 and doc["platforms"]["telegram"]["posts"]
    rows = list(csv.DictReader(io.StringIO(render_csv(items))))
    assert {r["url"] for r in rows} == set(by_url) and rows[0]["platform"] == "telegram"


async def test_a_media_file_altered_on_disk_is_left_out_and_said_so(tmp_path):
    config = config_for(tmp_path)
    await fill(config)
    digest = hashlib.sha256(PICTURE).hexdigest()
    (file,) = [p for p in config.storage.media_dir.rglob(digest)]
    file.write_bytes(png((0, 0, 255)))
    files = unzip(build_bundle(await gather(config, "channel:alpha")))
    assert f"media/{digest}" not in files
    (media,) = [json.loads(line) for line in files["media.jsonl"].decode().splitlines()]
    assert "does not match its SHA-256" in media["not_included"]


def _rebuilt(files: dict[str, bytes]) -> bytes:
    """A tampered bundle whose manifest was regenerated over the tampered files."""
    from graph.evidence.bundle import MANIFEST, manifest, zip_bytes

    files = {k: v for k, v in files.items() if k != MANIFEST}
    return zip_bytes(dict(sorted((files | {MANIFEST: manifest(files)}).items())))


async def test_a_regenerated_manifest_does_not_hide_edits_swaps_or_removals(tmp_path):
    config = config_for(tmp_path)
    await fill(config)
    files = bundle_files(await gather(config, "channel:alpha"))
    assert verify_bundle(_rebuilt(files)) == []
    capture = f"captures/{hashlib.sha256(PAGE).hexdigest()}.html"
    media = next(n for n in files if n.startswith("media/"))

    edited = dict(files, **{"posts.jsonl": files["posts.jsonl"].replace(b'"hello"', b'"goodbye"')})
    assert "post alpha/1: text differs from the capture it cites" in verify_bundle(_rebuilt(edited))

    forged = page("alpha", {1: "goodbye", 2: "try it", 3: "a picture"})
    swapped = {k: v for k, v in files.items() if k != capture}
    swapped[f"captures/{hashlib.sha256(forged).hexdigest()}.html"] = forged
    swapped["captures.jsonl"] = files["captures.jsonl"].replace(
        hashlib.sha256(PAGE).hexdigest().encode(), hashlib.sha256(forged).hexdigest().encode())
    swapped["posts.jsonl"] = edited["posts.jsonl"].replace(
        hashlib.sha256(PAGE).hexdigest().encode(), hashlib.sha256(forged).hexdigest().encode())
    assert any("has no custody entry" in p for p in verify_bundle(_rebuilt(swapped)))

    lines = files["custody.jsonl"].decode().splitlines()
    cut = dict(files, **{"custody.jsonl": ("\n".join(l for l in lines if hashlib.sha256(PAGE).hexdigest() not in l)
                                           + "\n").encode()})
    assert any("capture has no custody entry" in p for p in verify_bundle(_rebuilt(cut)))

    removed = {k: v for k, v in files.items() if k != media}
    assert f"{media}: listed in media.jsonl but missing" in verify_bundle(_rebuilt(removed))
