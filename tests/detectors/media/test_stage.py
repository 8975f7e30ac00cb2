"""The enrich stage's repost clusters: a cropped re-post joins its original's cluster when keypoints
on both kept files confirm it; an unrelated picture does not; without the files nothing is linked."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from crawler.media import inspect_media, write_media
from detectors.media.banks import MatchSettings
from detectors.media.geometry import confirm
from detectors.media.stage import backfill_crops, build_clusters, fingerprint_pending
from store.sqlite import Store

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"  # tests/fixtures/images (Kodak)


def jpeg(img: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def recrop(name: str) -> bytes:
    """A re-post: 10 % off the bottom, shrunk to 60 %, a caption bar on top."""
    img = Image.open(IMAGES / name).convert("RGB")
    w, h = img.size
    cut = img.crop((0, 0, w, h - int(h * 0.1))).resize((int(w * 0.6), int(h * 0.54)))
    bar = Image.new("RGB", (cut.width, cut.height + 40), "white")
    bar.paste(cut, (0, 40))
    return jpeg(bar)


def test_keypoints_tell_a_recropped_copy_from_a_different_photo():
    original = jpeg(Image.open(IMAGES / "kodim05.png"))
    same = confirm(original, recrop("kodim05.png"))
    other = confirm(original, jpeg(Image.open(IMAGES / "kodim14.png")))
    assert same.same and same.inliers >= 100 and "agree with one transform" in same.reason
    assert not other.same and other.inliers < 25
    assert not confirm(original, b"not a picture").same


async def clustered(tmp_path: Path, keep_files: bool, builds: int = 1) -> tuple[dict, dict[str, str | None]]:
    store = await Store.open(tmp_path / "db.sqlite")
    media_dir = tmp_path / "media"
    files = {"original": jpeg(Image.open(IMAGES / "kodim05.png")), "re-post": recrop("kodim05.png"),
             "unrelated": jpeg(Image.open(IMAGES / "kodim14.png"))}
    try:
        for position, data in enumerate(files.values()):
            inspected = inspect_media(data, "photo", 10**8)
            inspected.media.path = write_media(media_dir, inspected.media.sha256, data)
            await store.store_media(None, f"channel{position}", 1, 0, f"https://example.invalid/{position}",
                                    inspected.media, None)
        await fingerprint_pending(store, media_dir, 10**8, workers=1)
        if not keep_files:  # as hash-only mode leaves it: hashes, no files
            async with store.transaction() as db:
                await db.execute("UPDATE media SET path = NULL")
        for _ in range(builds):
            counts = await build_clusters(store, 31, 50, MatchSettings(), media_dir)
        import hashlib

        by_sha = {r["sha256"]: r["cluster"] for r in await store.fetchall("SELECT sha256, cluster FROM media")}
        return counts, {name: by_sha[hashlib.sha256(data).hexdigest()] for name, data in files.items()}
    finally:
        await store.close()


async def test_a_recropped_repost_joins_its_original_only_when_the_pixels_confirm_it(tmp_path):
    counts, cluster = await clustered(tmp_path, keep_files=True)
    assert cluster["original"] == cluster["re-post"] != cluster["unrelated"]
    assert counts["crop_links"] == 1 and counts["crop_candidates_rejected"] == 0
    assert counts["repost_clusters"] == 1


async def test_without_the_files_a_crop_candidate_is_not_linked(tmp_path):
    counts, cluster = await clustered(tmp_path, keep_files=False)
    assert len({cluster["original"], cluster["re-post"], cluster["unrelated"]}) == 3
    assert counts["crop_links"] == 0 and counts["crop_candidates_unconfirmable"] == 1


async def test_a_pair_is_compared_once_and_its_answer_kept(tmp_path):
    counts, cluster = await clustered(tmp_path, keep_files=True, builds=2)
    assert cluster["original"] == cluster["re-post"]  # still linked on the second build
    assert counts["crop_links"] == 1 and counts["crop_candidates_compared"] == 0  # from media_pair_checks
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        (same, reason), = await store.fetchall("SELECT same, reason FROM media_pair_checks")
        assert same == 1 and "agree with one transform" in reason
    finally:
        await store.close()


async def test_pictures_hashed_before_crop_hypotheses_get_them_and_a_missing_file_changes_nothing(tmp_path):
    await clustered(tmp_path, keep_files=True)
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        rows = await store.fetchall("SELECT sha256, path, pdq FROM media ORDER BY sha256")
        async with store.transaction() as db:  # as a store from before the upgrade
            await db.execute("UPDATE media SET pdq_crops = NULL")
        (tmp_path / "media" / rows[0]["path"]).unlink()
        assert await backfill_crops(store, tmp_path / "media", 10**8) == 2
        after = await store.fetchall("SELECT sha256, pdq, length(pdq_crops) AS n FROM media ORDER BY sha256")
        assert [r["pdq"] for r in after] == [r["pdq"] for r in rows]  # no hash lost
        assert after[0]["n"] is None and all(r["n"] and r["n"] % 64 == 0 for r in after[1:])
    finally:
        await store.close()


async def test_a_low_quality_picture_is_not_back_filled_again_and_again(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        flat = Image.new("RGB", (400, 300), (120, 130, 140))
        data = jpeg(flat)
        inspected = inspect_media(data, "photo", 10**8)
        inspected.media.path = write_media(tmp_path / "media", inspected.media.sha256, data)
        await store.store_media(None, "c", 1, 0, "https://example.invalid/1", inspected.media, None)
        await fingerprint_pending(store, tmp_path / "media", 10**8, workers=1)
        (crops,), = await store.fetchall("SELECT pdq_crops FROM media")
        assert crops == b""  # computed: none (quality too low), not NULL
        assert await store.media_without_crops(10) == []
    finally:
        await store.close()
