"""`tgsweep media import-hashes`, `media hash` and `media match` through the real CLI (subprocesses)."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

IMAGES = Path(__file__).resolve().parents[1] / "fixtures" / "images"  # tests/fixtures/images
HASH_FIELDS = {"path", "sha256", "md5", "pdq", "pdq_quality", "phash"}


@pytest.fixture
def folder(sweeps, tmp_path):
    config = sweeps.write_config(tmp_path, "http://127.0.0.1:9", [])
    kodim01 = (IMAGES / "kodim01.png").read_bytes()
    copy = io.BytesIO()  # a re-upload: darker, smaller, JPEG
    img = ImageEnhance.Brightness(Image.open(IMAGES / "kodim01.png").convert("RGB")).enhance(0.8)
    img.resize((384, 256)).save(copy, "JPEG", quality=70)
    (tmp_path / "copy.jpg").write_bytes(copy.getvalue())
    (tmp_path / "other.png").write_bytes((IMAGES / "kodim23.png").read_bytes())
    (tmp_path / "broken.jpg").write_bytes(copy.getvalue()[:300])
    (tmp_path / "original.png").write_bytes(kodim01)
    return config


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_media_hash_writes_the_contract_fields_and_errors_per_file(sweeps, folder):
    done = sweeps.cli(folder, "media", "hash", "original.png", "broken.jpg", "missing.png")
    assert done.returncode == 1  # some files could not be hashed
    good, broken, missing = jsonl(done.stdout)
    assert HASH_FIELDS <= set(good) and "error" not in good
    assert good["path"] == "original.png" and len(good["pdq"]) == 64 and len(good["phash"]) == 16
    assert good["sha256"] == hashlib.sha256((folder.parent / "original.png").read_bytes()).hexdigest()
    assert good["pdq_quality"] >= 50
    assert broken["error"].startswith("corrupt image") and broken["pdq"] is None and len(broken["sha256"]) == 64
    assert missing["path"] == "missing.png" and "could not read" in missing["error"] and missing["sha256"] is None


def test_import_reports_bad_rows_by_line_loads_the_rest_and_match_finds_the_copy(sweeps, folder):
    hashed = jsonl(sweeps.cli(folder, "media", "hash", "original.png").stdout)[0]
    (folder.parent / "list.csv").write_text(
        "hash_type,hash,label\n"
        f"pdq,{hashed['pdq']},victim photo\n"
        "sha1,0123456789abcdef0123456789abcdef01234567,unsupported type\n"
        "pdq,not-hex-at-all,broken\n"
        f"md5,{'ab' * 16},some video\n"
        "phash,123,too short\n", encoding="utf-8")
    done = sweeps.cli(folder, "media", "import-hashes", "list.csv", "--bank", "case")
    assert done.returncode == 1, done.stdout + done.stderr  # bad rows make the exit status say so
    assert "list.csv:3:" in done.stderr and "list.csv:4:" in done.stderr and "list.csv:6:" in done.stderr
    assert "list.csv:2:" not in done.stderr and "list.csv:5:" not in done.stderr
    assert "2 hashes read" in done.stdout and "3 bad rows skipped" in done.stdout
    assert sweeps.rows(folder, "SELECT hash_type, label, line FROM bank_hashes ORDER BY line") == [
        ("pdq", "victim photo", 2), ("md5", "some video", 5)]

    done = sweeps.cli(folder, "media", "match", "copy.jpg", "other.png")
    assert done.returncode == 0, done.stderr
    copy, other = jsonl(done.stdout)
    assert copy["path"] == "copy.jpg" and other["path"] == "other.png" and other["matches"] == []
    (match,) = copy["matches"]
    assert {"bank", "label", "hash_type", "distance"} <= set(match)
    assert (match["bank"], match["label"], match["hash_type"]) == ("case", "victim photo", "pdq")
    assert 0 <= match["distance"] <= 31


def test_an_unreadable_hash_list_loads_nothing(sweeps, folder):
    done = sweeps.cli(folder, "media", "import-hashes", "nowhere.csv", "--bank", "case")
    assert done.returncode == 2 and "nowhere.csv" in done.stderr


def test_sync_follows_a_newer_list_and_refuses_one_it_cannot_read_whole(sweeps, folder):
    hashed = jsonl(sweeps.cli(folder, "media", "hash", "original.png").stdout)[0]
    listed = folder.parent / "list.csv"
    listed.write_text(f"hash_type,hash,label\npdq,{hashed['pdq']},victim photo\nmd5,{'ab' * 16},old\n", encoding="utf-8")
    done = sweeps.cli(folder, "media", "sync", "list.csv", "--bank", "case")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 new, 0 withdrawn" in done.stdout
    listed.write_text(f"hash_type,hash,label\npdq,{hashed['pdq']},victim photo\n", encoding="utf-8")
    done = sweeps.cli(folder, "media", "sync", "list.csv", "--bank", "case")
    assert done.returncode == 0 and "0 new, 1 withdrawn" in done.stdout, done.stdout + done.stderr
    assert sweeps.rows(folder, "SELECT hash_type FROM bank_hashes") == [("pdq",)]
    version = hashlib.sha256(listed.read_bytes()).hexdigest()
    assert sweeps.rows(folder, "SELECT version FROM hash_banks WHERE name='case'") == [(version,)]

    listed.write_text("hash_type,hash,label\npdq,not-hex-at-all,broken\n", encoding="utf-8")
    done = sweeps.cli(folder, "media", "sync", "list.csv", "--bank", "case")
    assert done.returncode == 1 and "bank case not synced" in done.stderr and "list.csv:2:" in done.stderr
    assert sweeps.rows(folder, "SELECT hash_type FROM bank_hashes") == [("pdq",)]  # the bank is untouched


def test_sync_without_a_file_syncs_every_configured_list(sweeps, folder):
    (folder.parent / "lists").mkdir()
    (folder.parent / "lists" / "case.csv").write_text(f"hash_type,hash,label\nmd5,{'ab' * 16},one\n", encoding="utf-8")
    assert sweeps.cli(folder, "media", "sync").returncode == 2  # nothing configured, nothing given
    text = folder.read_text(encoding="utf-8")  # the fixture is the config file
    section = '[media]\nbank_sources = [{ name = "case", path = "lists/case.csv" }]\n'  # relative to the config
    folder.write_text(text.replace("[media]\n", section, 1) if "[media]\n" in text else text + "\n" + section,
                      encoding="utf-8")
    done = sweeps.cli(folder, "media", "sync")
    assert done.returncode == 0 and "bank case synced" in done.stdout, done.stdout + done.stderr
    assert sweeps.rows(folder, "SELECT bank, hash FROM bank_hashes") == [("case", "ab" * 16)]
