"""The explorer serves media bytes only from under [storage] media_dir, whatever a media row says."""
from __future__ import annotations

import logging
import sqlite3

import pytest

from tests.tgsweep.test_explorer import _client, demo_copy
from tgsweep.config import load_config


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_copy(tmp_path_factory)


def test_a_tampered_media_path_is_not_served(demo, caplog):
    db = sqlite3.connect(demo.parent / "tgsweep.db", timeout=30)
    sha, path = db.execute("SELECT sha256, path FROM media WHERE mime='image/jpeg' AND path IS NOT NULL").fetchone()
    media_dir = demo.parent / "media"
    outside = demo.parent / "outside.jpg"  # e.g. ../../etc/passwd: any file outside the media folder
    outside.write_bytes((media_dir / path).read_bytes())
    (media_dir / "link.jpg").symlink_to(outside)
    caplog.set_level(logging.WARNING)
    with _client(load_config(demo)) as client:
        assert client.get(f"/api/media/{sha}/image").status_code == 200  # as collected: served
        for tampered in ("../outside.jpg", str(outside), "link.jpg", "../../../../../../etc/passwd", "/etc/passwd"):
            db.execute("UPDATE media SET path=? WHERE sha256=?", (tampered, sha))
            db.commit()
            for params in ({}, {"unblur": 1}):
                answer = client.get(f"/api/media/{sha}/image", params=params)
                assert answer.status_code == 404, (tampered, params)
        db.execute("UPDATE media SET path=? WHERE sha256=?", (path, sha))
        db.commit()
        assert client.get(f"/api/media/{sha}/image", params={"unblur": 1}).status_code == 200
    assert "outside the media folder" in caplog.text
