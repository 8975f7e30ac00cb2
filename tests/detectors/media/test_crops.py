"""Crop-tolerant PDQ: the padded hypotheses, their trusted bits, and a cropped photo found in a list made elsewhere."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from detectors.media.banks import BankMatcher, MatchSettings
from detectors.media.crops import HYPOTHESES, VARIANTS, CropHashes, crop_hashes, describe, plain_hash
from detectors.media.fingerprints import bits_to_hex, decode_for_hashing, fingerprint, hamming, reference_pdq

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"  # tests/fixtures/images (Kodak)


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def cut(img: Image.Image, top: float, bottom: float, left: float, right: float) -> Image.Image:
    w, h = img.size
    return img.crop((int(w * left), int(h * top), w - int(w * right), h - int(h * bottom)))


def original_only_list(names: list[str]) -> list[tuple[str, str, str, str]]:
    """A list made elsewhere: the reference PDQ of each original file and nothing else."""
    return [("victims", "pdq", reference_pdq((IMAGES / n).read_bytes())[0], n) for n in names]


@pytest.mark.parametrize("name", ["kodim03.png", "kodim08.png", "kodim19.png"])
def test_the_unpadded_pipeline_is_pdq_bit_for_bit(name):
    img, _, _ = decode_for_hashing((IMAGES / name).read_bytes())
    rgb = np.ascontiguousarray(np.asarray(img))
    bits, _ = pdqhash.compute(rgb)
    assert plain_hash(rgb) == bits_to_hex(bits)


def test_hypotheses_cover_every_side_one_side_and_each_axis_up_to_16_percent():
    assert len(HYPOTHESES) == len(set(HYPOTHESES)) == 44 and VARIANTS == 48
    assert (0.08, 0.0, 0.0, 0.0) in HYPOTHESES and (0.0, 0.0, 0.0, 0.16) in HYPOTHESES
    assert (0.04, 0.04, 0.12, 0.12) in HYPOTHESES and (0.0, 0.0, 0.0, 0.0) not in HYPOTHESES
    assert describe(HYPOTHESES.index((0.08, 0.0, 0.0, 0.0))) == "cropped: original = this picture + about 8 % at the top"
    assert describe(HYPOTHESES.index((0.04, 0.04, 0.12, 0.12))) == (
        "cropped: original = this picture + about 4 % at the top and bottom and 12 % on the left and right")
    assert describe(VARIANTS + len(HYPOTHESES) + 3) == (  # the trimmed picture's last covered corner
        "this picture without a border or caption bar with its bottom-right corner covered (a logo or watermark there)")


def test_packing_round_trips_and_every_hypothesis_trusts_enough_bits_or_none():
    img, _, _ = decode_for_hashing((IMAGES / "kodim05.png").read_bytes())
    hashes = crop_hashes(np.asarray(img))
    again = CropHashes.unpack(hashes.pack())
    assert again.bits.shape == (48, 32) and np.array_equal(again.bits, hashes.bits)
    assert np.array_equal(again.masks, hashes.masks)
    trusted = np.unpackbits(hashes.masks, axis=1).sum(axis=1)
    assert all(t == 0 or t >= 96 for t in trusted) and (trusted > 0).sum() >= 30


def test_an_8_percent_crop_on_every_side_is_found_in_an_original_only_list_as_a_match():
    names = ["kodim03.png", "kodim08.png", "kodim15.png", "kodim21.png"]
    matcher = BankMatcher(original_only_list(names), MatchSettings())
    for name in names:
        copy = jpeg(cut(Image.open(IMAGES / name), 0.08, 0.08, 0.08, 0.08))
        fp = fingerprint(copy)
        assert hamming(fp.pdq, reference_pdq((IMAGES / name).read_bytes())[0]) > 31  # plain PDQ misses it
        found = matcher.match(fp)
        assert [m.label for m in found] == [name], name  # its own original and no other
        assert found[0].tier == "match" and found[0].distance <= 24
        assert found[0].via.startswith("cropped: original = this picture + about 8 % on every side")
        assert "bits it can trust differ" in found[0].via


def test_a_one_sided_crop_names_the_side_that_was_cut():
    matcher = BankMatcher(original_only_list(["kodim23.png"]), MatchSettings())
    found = matcher.match(fingerprint(jpeg(cut(Image.open(IMAGES / "kodim23.png"), 0.0, 0.12, 0.0, 0.0))))
    assert found and found[0].label == "kodim23.png" and found[0].tier in ("match", "weak lead")
    assert "at the bottom" in found[0].via


def test_crop_matching_is_a_setting_and_never_near_certain():
    names = ["kodim15.png"]
    copy = fingerprint(jpeg(cut(Image.open(IMAGES / names[0]), 0.08, 0.08, 0.08, 0.08)))
    assert BankMatcher(original_only_list(names), MatchSettings(crop_matching=False)).match(copy) == []
    found = BankMatcher(original_only_list(names), MatchSettings(crop_match=0)).match(copy)
    assert found and all(m.tier == "weak lead" for m in found)


def test_a_flat_low_quality_picture_is_never_searched_as_a_crop():
    rng = np.random.default_rng(7)
    sky = np.linspace(120, 200, 384)[:, None, None] + rng.normal(0, 1.0, (384, 512, 3))
    flat = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8))
    fp = fingerprint(jpeg(flat))
    assert fp.pdq_quality is not None and fp.pdq_quality < 70
    # a list holding pictures close to every crop hypothesis of it: a search would find them
    hashes = crop_hashes(np.asarray(decode_for_hashing(jpeg(flat))[0]))
    entries = [("b", "pdq", bytes(row).hex(), f"h{i}") for i, row in enumerate(hashes.bits)]
    fp.pdq_crops = fp.pdq_crops or hashes.pack()
    assert BankMatcher(entries, MatchSettings(min_pdq_quality=0)).match(fp) == []  # the default quality gate
    assert BankMatcher(entries, MatchSettings(min_pdq_quality=0, crop_min_quality=0)).match(fp) != []
