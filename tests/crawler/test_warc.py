"""WARC captures (crawler/warc.py, crawler/web/warc_capture.py): a real sweep over the loopback t.me
server writes WARC files that warcio checks, that pywb replays byte for byte, that the custody chain
covers, and that survive a killed process."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.warc import WarcLog, closed_files, file_sha256, recover
from tgsweep.demo.corpus import encode, picture
from tgsweep.demo.tme_server import Entity, World
from store.records import MediaItem, Post


def _check(path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "digest pass" in done.stdout and "fail" not in done.stdout, done.stdout


def _records(path: Path) -> list[tuple[str, str, dict, bytes, int | None]]:
    out = []
    with path.open("rb") as f:
        for r in ArchiveIterator(f):
            status = int(r.http_headers.get_statuscode()) if r.http_headers and r.rec_type == "response" else None
            out.append((r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), dict(r.rec_headers.headers),
                        r.content_stream().read(), status))
    return out


def _world() -> World:
    world = World(page_size=10)
    world.files["p.jpg"] = encode(picture(5, (64, 48)))
    alpha = Entity(username="alpha", id=1001, title="Alpha", counters={"subscribers": 10})
    for i in range(1, 16):
        media = [MediaItem(kind="photo", url="/file/p.jpg", width=64, height=48)] if i == 15 else []
        alpha.posts.append(Post(channel="alpha", id=i, date=f"2026-01-{i:02d}T10:00:00+00:00", text=f"post {i}",
                                media=media))
    world.add(alpha)
    return world


@pytest.fixture(scope="module")
def swept(sweeps, tmp_path_factory):
    folder = tmp_path_factory.mktemp("warc")
    with sweeps.Server(_world()) as server:
        config = sweeps.write_config(folder, server.base_url, ["alpha"])
        done = sweeps.sweep(config)
        assert done.returncode == 0, done.stderr
        yield config, server.base_url


def test_a_sweep_writes_warc_records_warcio_checks_with_the_real_status_and_the_custody_chain_holds_the_file(
        swept, sweeps):
    config, base = swept
    files = closed_files(config.parent / "warc")
    assert len(files) == 1 and not list((config.parent / "warc").glob("*.open"))
    path = files[0]
    _check(path)
    assert os.stat(path).st_mode & 0o077 == 0
    records = _records(path)
    kinds = [r[0] for r in records]
    assert kinds[0] == "warcinfo" and {"request", "response", "metadata"} <= set(kinds)
    pages = {sha: content for sha, content in sweeps.rows(
        config, "SELECT sha256, content FROM raw_captures WHERE kind='channel_page'")}
    responses = [r for r in records if r[0] == "response" and "/s/alpha" in r[1]]
    assert len(responses) == len(pages) == 2  # two pages of ten
    for _, _uri, _headers, body, status in responses:
        assert status == 200 and zlib.decompress(pages[hashlib.sha256(body).hexdigest()]) == body
    metadata = [json.loads(r[3]) for r in records if r[0] == "metadata"]
    sweep_id = sweeps.value(config, "SELECT max(id) FROM sweeps")
    assert ("channel_page", "alpha", sweep_id) in {(m["kind"], m["channel"], m["sweep"]) for m in metadata}
    media = [m for m in metadata if m["kind"] == "media"]
    assert media and all(m["sha256"] in {r[0] for r in sweeps.rows(config, "SELECT sha256 FROM media")} for m in media)
    held = sweeps.rows(config, "SELECT sha256, sweep_id FROM custody_log WHERE action='warc' AND url=?",
                       (f"warc:{path.name}",))
    assert held == [(file_sha256(path), sweep_id)]
    index = [json.loads(line) for line in Path(f"{path}.idx").read_text().splitlines()]
    assert len(index) == len(records)
    with path.open("rb") as f:  # each index line is one whole record, readable on its own
        for entry in index:
            f.seek(entry["offset"])
            one = next(iter(ArchiveIterator(f)))
            assert one.rec_type == entry["type"]


def test_pywb_replays_a_captured_channel_page_byte_for_byte(swept, sweeps, tmp_path):
    if shutil.which("wb-manager") is None:
        pytest.skip("pywb not installed (pip install -e '.[test]')")
    config, base = swept
    path = closed_files(config.parent / "warc")[0]
    page = next(r for r in _records(path) if r[0] == "response" and r[1].endswith("/s/alpha"))
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    for args in (["init", "cases"], ["add", "cases", str(path)]):
        done = subprocess.run(["wb-manager", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["wayback", "-p", str(port), "-b", "127.0.0.1"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, body = time.monotonic() + 60, None
        while body is None:
            try:  # id_: the archived bytes as they were, no rewriting
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/cases/2000id_/{page[1]}", timeout=5) as answer:
                    body = answer.read()
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        assert body == page[3]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_hash_only_mode_keeps_media_bytes_out_of_the_warc_and_says_so(sweeps, tmp_path):
    with sweeps.Server(_world()) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha"], media={"keep": "none"})
        assert sweeps.sweep(config).returncode == 0
    path = closed_files(tmp_path / "warc")[0]
    _check(path)
    records = _records(path)
    picture_bytes = _world().files["p.jpg"]
    assert all(picture_bytes not in body for _, _, _, body, _ in records)
    media = [json.loads(r[3]) for r in records if r[0] == "metadata" and json.loads(r[3])["kind"] == "media"]
    assert media and all("hash-only" in m["body"] for m in media)


def test_a_file_left_by_a_killed_process_is_cut_after_its_last_whole_record_and_entered_at_the_next_sweep(
        sweeps, tmp_path):
    folder = tmp_path / "warc"
    log = WarcLog(folder)
    for i in range(3):
        log.exchange(f"https://t.me/s/alpha?before={i}", 200, [("Content-Type", "text/html")], b"<p>page</p>" * 50,
                     meta={"channel": "alpha", "kind": "channel_page"})
    open_file = next(folder.glob("*.open"))
    log._file.close()  # the process dies: no close, and half a record at the end
    with open_file.open("ab") as f:
        f.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n")[:20])
    dead = 2 ** 22 + 7  # a pid no process has here
    stale = open_file.with_name(open_file.name.replace(f"-{os.getpid()}-", f"-{dead}-"))
    open_file.rename(stale)
    Path(f"{open_file}.idx").rename(Path(f"{stale}.idx"))
    live = WarcLog(folder)  # this process's own open file is left alone
    live.exchange("https://t.me/s/beta", 200, [], b"x")
    recovered = recover(folder)
    assert [r.records for r in recovered] == [10]  # warcinfo + 3 x (response, request, metadata)
    assert len(list(folder.glob("*.open"))) == 1
    _check(folder / recovered[0].name)
    live.close()
    with sweeps.Server(_world()) as server:  # the next sweep enters every closed file in the custody chain
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha"])
        assert sweeps.sweep(config).returncode == 0
        held = {r[0][len("warc:"):]: r[1] for r in sweeps.rows(
            config, "SELECT url, sha256 FROM custody_log WHERE action='warc'")}
        assert held == {p.name: file_sha256(p) for p in closed_files(folder)} and len(held) == 3
        assert sweeps.cli(config, "verify").returncode == 0
        victim = closed_files(folder)[0]
        with victim.open("ab") as f:  # altered after the fact: verify names it
            f.write(b"\0")
        done = sweeps.cli(config, "verify")
        assert done.returncode == 1 and f"WARC file {victim.name}: its SHA-256 differs" in done.stdout


def test_warc_capture_can_be_turned_off(sweeps, tmp_path):
    with sweeps.Server(_world()) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["alpha"], storage={"warc": False})
        assert sweeps.sweep(config).returncode == 0
    assert not (tmp_path / "warc").exists()
    assert sqlite3.connect(sweeps.db_path(config)).execute(
        "SELECT count(*) FROM custody_log WHERE action='warc'").fetchone()[0] == 0


def test_a_channel_exports_as_a_wacz_that_validates_and_holds_its_pages_unaltered(swept, sweeps, tmp_path):
    import zipfile

    from wacz.main import main as wacz_main

    config, _ = swept
    target = tmp_path / "alpha.wacz"
    done = sweeps.cli(config, "evidence", "export", "channel:alpha", "--format", "wacz", "-o", str(target))
    assert done.returncode == 0, done.stdout + done.stderr
    assert wacz_main(["validate", "-f", str(target)]) == 0  # py-wacz's validator: index, pages, hashes
    assert os.stat(target).st_mode & 0o077 == 0
    with zipfile.ZipFile(target) as z:
        names = z.namelist()
        assert {"datapackage.json", "pages/pages.jsonl"} <= set(names) and any(n.startswith("indexes/") for n in names)
        warc = next(n for n in names if n.startswith("archive/"))
        (tmp_path / "x.warc.gz").write_bytes(z.read(warc))
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").decode().splitlines()[1:]]
        package = json.loads(z.read("datapackage.json"))
    _check(tmp_path / "x.warc.gz")
    stored = {hashlib.sha256(zlib.decompress(c)).hexdigest() for (c,) in sweeps.rows(
        config, "SELECT content FROM raw_captures WHERE kind='channel_page'")}
    bodies = {hashlib.sha256(r[3]).hexdigest() for r in _records(tmp_path / "x.warc.gz")
              if r[0] == "response" and "/s/alpha" in r[1]}
    assert bodies == stored and len(stored) == 2
    assert {p["url"] for p in pages} and all("/s/alpha" in p["url"] for p in pages)
    assert "channel:alpha" in package.get("title", "") and "custody chain" in package.get("description", "")
    audit = sweeps.rows(config, "SELECT action, detail FROM audit_log WHERE subject='channel:alpha'")
    assert any(a == "export" and json.loads(d)["format"] == "wacz" for a, d in audit)
