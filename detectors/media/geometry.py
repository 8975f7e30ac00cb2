"""Geometric confirmation that two pictures show the same source: ORB keypoints agreeing under one
similarity transform (OpenCV, RANSAC).

A crop hypothesis (detectors/media/crops.py) says "this picture could be a crop of that one";
between two files we hold, the pixels can settle it. Keypoints are found on both pictures at
`WORK_SIZE` px with caption bars and borders left out (`content_box`: text on a bar makes many
keypoints that agree between any two memes with the same bar), matched by Hamming distance with
Lowe's ratio test, and a rotation + uniform scale + shift is fitted with RANSAC. The pair is
the same source when at least `MIN_INLIERS` matches and `MIN_SHARE` of the good matches agree
with it, at a scale a re-post plausibly has. Pure: bytes in, a `Confirmation` out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.media.fingerprints import FingerprintError, content_box, decode_for_hashing

MIN_INLIERS = 25  # keypoint matches agreeing with one transform
MIN_SHARE = 0.3  # ... and this share of the good matches
RATIO = 0.75  # Lowe's ratio test
SCALES = (0.4, 2.5)  # a re-post is not shrunk or enlarged more than this against the other
FEATURES = 1500


@dataclass(slots=True)
class Confirmation:
    same: bool
    inliers: int
    matches: int
    reason: str


def _keypoints(data: bytes):
    import cv2

    img, _, _ = decode_for_hashing(data)
    gray = np.asarray(img.convert("L"))
    top, bottom, left, right = content_box(gray.astype(np.float32))
    mask = np.zeros(gray.shape, dtype=np.uint8)
    h, w = gray.shape
    mask[top:h - bottom, left:w - right] = 255
    orb = cv2.ORB_create(nfeatures=FEATURES)
    return orb.detectAndCompute(gray, mask)


def confirm(a: bytes, b: bytes) -> Confirmation:
    """Whether pictures `a` and `b` show the same source, and why (never raises)."""
    import cv2

    try:
        (ka, da), (kb, db) = _keypoints(a), _keypoints(b)
    except FingerprintError as exc:
        return Confirmation(False, 0, 0, f"not compared: {exc}")
    if da is None or db is None or len(ka) < MIN_INLIERS or len(kb) < MIN_INLIERS:
        return Confirmation(False, 0, 0, "too few keypoints to compare")
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
    good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < RATIO * n.distance]
    if len(good) < MIN_INLIERS:
        return Confirmation(False, 0, len(good), f"{len(good)} keypoint matches (at least {MIN_INLIERS} needed)")
    src = np.float32([ka[m.queryIdx].pt for m in good])
    dst = np.float32([kb[m.trainIdx].pt for m in good])
    transform, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=4.0)
    if transform is None:
        return Confirmation(False, 0, len(good), "no transform fits the keypoint matches")
    count = int(inliers.sum())
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    same = count >= MIN_INLIERS and count >= MIN_SHARE * len(good) and SCALES[0] <= scale <= SCALES[1]
    return Confirmation(same, count, len(good),
                        f"{count} of {len(good)} keypoint matches agree with one transform (scale {scale:.2f})")
