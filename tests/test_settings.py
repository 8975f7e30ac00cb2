"""Each setting's default is written once, in tgsweep/config.py; the components read it from there.

The components keep settings objects of their own (pure code takes plain values, not the config
model), so this checks both halves: every default a component holds agrees with the config's, and
the component's source takes it from `default(...)` rather than writing the number again.
"""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from detectors.automation.scores import Settings as AutomationSettings
from detectors.bots.classifier import MAX_PROMOTIONS, Thresholds
from detectors.media.banks import MatchSettings
from detectors.media.fingerprints import DEFAULT_MAX_PIXELS, MIN_QUALITY
from detectors.media.video import DEFAULT_DEDUPE_DISTANCE, DEFAULT_MAX_SECONDS
from graph.escalation import Weights
from graph.build import MAX_POSTS
from store.alerts import AlertSettings
from store.records import PostLimits
from tgsweep.config import Config
from tgsweep.explorer.app import ServeSettings

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Config()

# (component's value, the config's value, the module that must take it from `default`)
PAIRS = [
    (PostLimits().bot_lookups, CONFIG.web.max_bot_lookups_per_post, "store/records.py"),
    (PostLimits().media, CONFIG.web.max_media_per_post, "store/records.py"),
    (AlertSettings().rules, frozenset(CONFIG.alerts.rules), "store/alerts.py"),
    (AlertSettings().min_bank_tier, CONFIG.alerts.min_bank_tier, "store/alerts.py"),
    (AlertSettings().mirror_flagged_only, CONFIG.alerts.mirror_flagged_only, "store/alerts.py"),
    (MAX_PROMOTIONS, CONFIG.bots.max_promotions, "detectors/bots/classifier.py"),
    (Thresholds().generator, CONFIG.bots.generator_threshold, "detectors/bots/classifier.py"),
    (Thresholds().benign, CONFIG.bots.benign_threshold, "detectors/bots/classifier.py"),
    (MIN_QUALITY, CONFIG.fingerprints.min_pdq_quality, "detectors/media/fingerprints.py"),
    (DEFAULT_MAX_PIXELS, CONFIG.media.max_pixels, "detectors/media/fingerprints.py"),
    (DEFAULT_MAX_SECONDS, CONFIG.media.max_video_seconds, "detectors/media/video.py"),
    (DEFAULT_DEDUPE_DISTANCE, CONFIG.media.video_dedupe_distance, "detectors/media/video.py"),
]
PAIRS += [(MAX_POSTS, CONFIG.graph.max_edge_posts, "graph/build.py")]
PAIRS += [(getattr(ServeSettings(), k), getattr(CONFIG.serve, k), "tgsweep/explorer/app.py")
          for k in ("host", "port", "blur", "analyst", "max_nodes")]
PAIRS += [(getattr(AutomationSettings(), f.name), getattr(CONFIG.automation, f.name), "detectors/automation/scores.py")
          for f in dataclasses.fields(AutomationSettings) if f.name != "weights"]
PAIRS += [(w, getattr(CONFIG.automation, f"weight_{k}"), "detectors/automation/scores.py")
          for k, w in AutomationSettings().weights.items()]
PAIRS += [(getattr(MatchSettings(), f.name), getattr(CONFIG.fingerprints, f.name), "detectors/media/banks.py")
          for f in dataclasses.fields(MatchSettings)]
_WEIGHTS = {"bank_matches": "weight_bank_matches", "flagged_bots": "weight_flagged_bots", "mirrors": "weight_mirrors",
            "reach": "weight_reach", "automation": "weight_automation", "centrality": "weight_centrality",
            "min_bot_score": "min_bot_score", "threshold": "escalation_threshold"}
PAIRS += [(getattr(Weights(), k), getattr(CONFIG.graph, v), "graph/escalation.py") for k, v in _WEIGHTS.items()]


@pytest.mark.parametrize("component, config, module", PAIRS)
def test_a_component_default_agrees_with_the_config(component, config, module):
    assert component == config, f"{module} holds {component!r}, tgsweep/config.py says {config!r}"


@pytest.mark.parametrize("module", sorted({m for _, _, m in PAIRS}))
def test_the_component_takes_its_defaults_from_the_config(module):
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "default"]
    assert calls, f"{module} writes its defaults again instead of `default(Section, key)` from tgsweep.config"
