"""The mirror-direction words are data (detectors/bots/lexicon_mirrors.toml), packaged, and say which words they used."""
from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from detectors.bots.mirrors import MARKERS_PATH, PromoPost, load_markers, mirror_direction, notice_mirrors

NEW, OLD = "kappa_studio_bot", "sigma_studio_bot"


def test_direction_reports_the_words_it_used():
    found = mirror_direction(f"new bot @{NEW} (old @{OLD})", [NEW, OLD])
    assert found is not None
    new, old, words = found
    assert (new, old) == (NEW, OLD)
    assert "new bot" in words[NEW] and "old" in words[OLD]
    assert mirror_direction(f"@{NEW} and @{OLD}", [NEW, OLD]) is None


def test_evidence_names_the_words_and_still_reads_as_before():
    post = PromoPost("hub", 2, None, f"new bot @{NEW} (old @{OLD})", ((NEW, "mention", ""), (OLD, "mention", "")))
    (m,) = notice_mirrors([post])
    assert m.evidence.startswith(f"post hub/2 announces @{NEW} in place of @{OLD} (en")
    assert '"new bot"' in m.evidence and '"old"' in m.evidence


def test_the_markers_are_data_every_language_has_both_sides_and_no_word_contradicts_itself():
    assert MARKERS_PATH.parent.name == "bots" and MARKERS_PATH.parent / "lexicon" != MARKERS_PATH.parent
    raw = tomllib.loads(MARKERS_PATH.read_text(encoding="utf-8"))
    for lang in ("en", "ko", "ru", "uk", "zh", "ja", "es", "pt", "tr", "ar", "fa", "fr", "de", "id", "vi"):
        roles = {k.split("_")[0] for k in raw[lang] if k != "neutral"}
        assert roles == {"new", "old"}, lang
    markers = load_markers()  # raises on a word given different roles in two tables
    assert markers.roles("new bot") == {("new", "near")}
    assert ("old", "next") in markers.roles("instead of") and ("new", "prev") in markers.roles("instead of")


def test_the_markers_file_is_packaged_and_not_read_as_a_classifier_lexicon():
    root = Path(__file__).resolve().parents[3]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    data = pyproject["tool"]["setuptools"]["package-data"]["detectors.bots"]
    assert any(fnmatch("lexicon_mirrors.toml", pattern) for pattern in data)  # shipped with the package
    assert not (root / "detectors" / "bots" / "lexicon" / "lexicon_mirrors.toml").exists()
