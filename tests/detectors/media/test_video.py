"""Video keyframes: one per second through PyAV, repeats dropped, matched by banks; broken files are recorded."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from crawler.media import inspect_media, write_media
from store.sqlite import Store
from detectors.media.banks import BankMatcher, MatchSettings, import_bank, match_all_media, parse_hash_csv
from detectors.media.stage import fingerprint_media, fingerprint_pending
from detectors.media.fingerprints import fingerprint, fingerprint_file
from detectors.media.video import fingerprint_video, is_video

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"  # tests/fixtures/images
SIZE = (320, 240)


def still(n: int = 5) -> np.ndarray:
    img = Image.open(IMAGES / f"kodim{n:02d}.png").convert("RGB")
    return np.asarray(img.resize(SIZE))


def panned(step: int) -> np.ndarray:
    img = Image.open(IMAGES / "kodim05.png").convert("RGB")  # 768x512: a 480x360 window moving right
    return np.asarray(img.crop((step * 12, 0, step * 12 + 480, 360)).resize(SIZE))


def make_video(frames: list[np.ndarray], fps: int = 10) -> bytes:
    """A small H.264 MP4 of benign frames (Kodak photographs and plain colours)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for a in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="rgb24")))
        out.mux(stream.encode())
    return buf.getvalue()


@pytest.fixture(scope="module")
def video() -> bytes:
    # 0-2 s the same photo, 2-4 s a pan across another part of it, 4-6 s plain blue
    return make_video([still()] * 20 + [panned(i) for i in range(20)] + [np.full((240, 320, 3), (30, 90, 200),
                                                                                 np.uint8)] * 20)


def test_one_keyframe_per_second_with_repeats_dropped(video):
    fp = fingerprint_video(video)
    assert fp.error is None and is_video(video)
    assert fp.sha256 == hashlib.sha256(video).hexdigest() and fp.md5 == hashlib.md5(video).hexdigest()
    times = [f["t"] for f in fp.frames]
    # sampled at 0..5 s; 1 s repeats the still photo and 5 s the plain blue: dropped
    assert times == [0.0, 2.0, 3.0, 4.0]
    assert [f["pdq_quality"] >= 50 for f in fp.frames] == [True, True, True, False]  # blue is featureless
    assert (fp.width, fp.height) == SIZE and fp.duration == pytest.approx(5.0, abs=0.2)
    assert fp.pdq == fp.frames[0]["pdq"]
    # every usable keyframe is findable: its whole hash is stored, its rotations/alternates are looked up with
    assert {f["pdq"] for f in fp.frames[:3]} <= {fp.pdq, *fp.pdq_alt}
    assert fp.frames[1]["pdq_lookup"][3] in fp.pdq_lookup


def test_a_bank_pdq_of_a_frame_matches_the_video_and_md5_matches_the_file(video):
    frame = io.BytesIO()
    Image.fromarray(still()).save(frame, "PNG")
    photo = fingerprint(frame.getvalue())
    other = fingerprint((IMAGES / "kodim21.png").read_bytes())
    matcher = BankMatcher([("case", "pdq", photo.pdq, "frame"), ("case", "pdq", other.pdq, "another photo"),
                           ("stopncii", "md5", hashlib.md5(video).hexdigest(), "the video")])
    found = {m.label: m for m in matcher.match(fingerprint_video(video))}
    assert set(found) == {"frame", "the video"}
    assert found["frame"].via.startswith("keyframe at 0 s") and found["frame"].distance <= 10
    assert found["the video"].tier == "near-certain" and found["the video"].hash_type == "md5"


def test_corrupt_truncated_and_empty_videos_are_recorded_errors(video):
    assert fingerprint_video(b"").error == "empty file (0 bytes)"
    broken = fingerprint_video(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    assert broken.error.startswith("corrupt video") and broken.sha256 and not broken.frames
    cut = fingerprint_video(video[: len(video) // 3])
    assert cut.error and "video" in cut.error and cut.md5 == hashlib.md5(video[: len(video) // 3]).hexdigest()
    # the `media hash` path tells videos from pictures by their bytes
    assert fingerprint_media(video, "video", 10**7).frames and fingerprint_media(video, "voice", 10**7) is None


def test_fingerprint_file_reads_videos(tmp_path, video):
    path = tmp_path / "clip.mp4"
    path.write_bytes(video)
    fp = fingerprint_file(str(path))
    assert fp.error is None and len(fp.frames) == 4


async def test_enrich_fingerprints_a_kept_video_and_bank_matching_names_the_keyframe(tmp_path, video):
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        media_dir = tmp_path / "media"
        bad = b"\x1aE\xdf\xa3" + b"\x00" * 500  # WebM magic, nothing after it
        for position, data in enumerate([video, bad]):
            inspected = inspect_media(data, "video", 10**7)
            assert inspected.error is None  # a video container is accepted as it is (evidence), decoded later
            inspected.media.path = write_media(media_dir, inspected.media.sha256, data)
            await store.store_media(None, "demo", 1, position, f"https://example.invalid/{position}",
                                    inspected.media, None)
        counts = await fingerprint_pending(store, media_dir, 10**7, workers=1, video=(3.0, 12))
        assert counts["fingerprinted"] == 1 and counts["fingerprint_errors"] == 1
        rows = {r["sha256"]: r for r in await store.fetchall("SELECT * FROM media")}
        good = rows[hashlib.sha256(video).hexdigest()]
        frames = json.loads(good["frames"])
        assert [f["t"] for f in frames] == [0.0, 2.0, 3.0]  # max_video_seconds = 3: nothing after 3 s
        assert good["pdq"] == frames[0]["pdq"] and good["fingerprint_error"] is None
        assert rows[hashlib.sha256(bad).hexdigest()]["fingerprint_error"].startswith("corrupt video")
        # a bank made from a picture of the panned part finds the video at its keyframe
        pan = io.BytesIO()
        Image.fromarray(panned(10)).save(pan, "JPEG", quality=85)
        csv = f"hash_type,hash,label\npdq,{fingerprint(pan.getvalue()).pdq},pan\n"
        await import_bank(store, "case", parse_hash_csv(csv))
        counts = await match_all_media(store, MatchSettings())
        assert counts["media_matched"] == 1
        (via,) = [r[0] for r in await store.fetchall("SELECT via FROM bank_matches")]
        assert via.startswith("keyframe at 3 s")  # pan step 10 is frame 30 of 10 per second
    finally:
        await store.close()
