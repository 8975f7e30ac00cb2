"""tgsweep on a PostgreSQL store answers what it answers on SQLite: the demo run once on each, then every
read route of the explorer's API and every read command asked the same questions, the answers compared."""
from __future__ import annotations

import re
import subprocess
import sys
import warnings
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tests.conftest import Sweeps
from tgsweep.config import load_config
from tgsweep.explorer.app import ServeSettings, create_app

VOLATILE = {"computed_at", "created_at", "first_seen", "last_seen", "at", "decided_at", "scored_at", "updated_at",
            "fetched_at", "first_fetched", "imported_at", "matched_at", "since", "generated_at", "delivered_at",
            "next_attempt_at", "window_start", "profile_at", "escalated_at", "seen_at", "url", "database", "x", "y",
            "elapsed", "version", "started_at", "finished_at", "path", "sha256", "bundle_sha256", "sink"}


def shape(value: Any) -> Any:
    """What must agree across engines: keys, lengths, numbers and words, not times, ids or layout."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return sorted((shape(v) for v in value), key=repr)
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, str):  # a time of the run, a loopback port
        return re.sub(r"127\.0\.0\.1:\d+", "HOST", re.sub(r"20\d\d-\d\d-\d\dT[\d:.]+\+00:00", "TIME", value))
    return value


def run_demo(folder, store_url: str | None = None) -> None:
    extra = ["--store-url", store_url] if store_url else []
    run = subprocess.run([sys.executable, "-m", "tgsweep.cli", "demo", "--dir", str(folder), *extra],
                         capture_output=True, text=True, timeout=240, env=Sweeps.env())
    assert run.returncode == 0, run.stderr


QUESTIONS = ["/api/info", "/api/graph", "/api/graph?kind=bot", "/api/graph?min_escalation=0.7",
             "/api/channels", "/api/channels?sort=posts&order=desc", "/api/channels/faceswap_hub",
             "/api/channels/faceswap_hub/posts", "/api/bots", "/api/bots?sort=score&order=desc",
             "/api/bots/swapface_magic2_bot", "/api/bots/swapface_magic2_bot/posts", "/api/queue",
             "/api/queue?kind=bot", "/api/known", "/api/search?q=swap", "/api/search?q=faceswap",
             "/api/alerts", "/api/alerts?state=delivered", "/api/changes?since=2020-01-01T00:00:00%2B00:00",
             "/api/path?source=channel:faceswap_hub&target=bot:swapface_magic_bot",
             "/api/audit?subject=bot:swapface_magic2_bot"]


@pytest.fixture(scope="module")
def demos(tmp_path_factory, postgres):
    folder = tmp_path_factory.mktemp("parity")
    run_demo(folder / "sqlite")
    run_demo(folder / "postgresql", postgres.new_database())
    return folder


def test_every_read_route_answers_the_same_on_both_engines(demos):
    tmp_path = demos
    answers: dict[str, dict[str, Any]] = {}
    for engine in ("sqlite", "postgresql"):
        config = load_config(tmp_path / engine / "config.toml")
        with TestClient(create_app(config, ServeSettings(), prewarm=False), base_url="http://127.0.0.1:8765") as c:
            paths = c.get("/openapi.json").json()["paths"]
            asked = {q.split("?")[0].replace("faceswap_hub", "{username}").replace("swapface_magic2_bot", "{username}")
                     for q in QUESTIONS}
            unasked = [p for p, ops in paths.items() if "get" in ops and p not in asked]
            # media and clusters are named by hash; the evidence route writes a file: asked below by name
            assert set(unasked) <= {"/api/edge", "/api/media/{sha256}", "/api/media/{sha256}/image",
                                    "/api/clusters/{cluster}", "/api/evidence"}, unasked
            got = {}
            for question in QUESTIONS:
                response = c.get(question)
                assert response.status_code == 200, (engine, question, response.text[:300])
                got[question] = response.json()
            cluster = min(n["id"] for n in got["/api/graph"]["nodes"] if n["kind"] == "media")  # the graph's order may differ
            response = c.get(f"/api/clusters/{cluster.split(':', 1)[1]}")
            assert response.status_code == 200, (engine, response.text[:300])
            got["cluster"] = response.json()
            edge = min((e for e in got["/api/graph"]["edges"] if e["kind"] == "promotes"),
                       key=lambda e: (e["source"], e["target"]))
            response = c.get("/api/edge", params={"source": edge["source"], "target": edge["target"]})
            assert response.status_code == 200, (engine, response.text[:300])
            got["edge"] = response.json()
        answers[engine] = got
    for question in answers["sqlite"]:
        assert shape(answers["postgresql"][question]) == shape(answers["sqlite"][question]), question


def test_shape_keeps_what_must_agree():
    assert shape({"score": 0.12345, "at": "now", "rows": [{"b": 2}, {"a": 1}]}) == {
        "rows": [{"a": 1}, {"b": 2}], "score": 0.123}


COMMANDS = [["status"], ["verify"], ["watch", "list"], ["bots", "list"], ["automation", "list"], ["media", "banks"],
            ["alerts", "list"], ["takedown", "list"], ["evidence", "takedown", "--format", "csv"],
            ["graph", "build", "--top", "5"], ["export", "misp"]]


def normal(text: str, folder) -> str:
    text = text.replace(str(folder / "sqlite"), "DIR").replace(str(folder / "postgresql"), "DIR")
    text = re.sub(r"20\d\d-\d\d-\d\dT[\d:.]+(\+00:00|Z)", "TIME", text)
    text = re.sub(r"\d+\.\d+ s\b", "S", text)  # timings
    text = re.sub(r'"uuid": "[0-9a-f-]+"', "UUID", text)  # MISP's per-export ids
    return re.sub(r"127\.0\.0\.1:\d+", "HOST", text)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_read_command_prints_the_same_on_both_engines(demos, command):
    printed = {}
    for engine in ("sqlite", "postgresql"):
        config = demos / engine / "config.toml"
        done = subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), *command],
                              capture_output=True, text=True, timeout=120, env=Sweeps.env(), cwd=config.parent)
        assert done.returncode == 0, (engine, done.stderr[-2000:])
        printed[engine] = normal(done.stdout, demos)
    if command == ["status"]:  # PostgreSQL's own part: distributed mode's workers, queues and leases
        assert "distributed mode: 0 worker(s)" in printed["postgresql"]
        printed["postgresql"] = printed["postgresql"].split("distributed mode:")[0]
    if command == ["alerts", "list"]:  # newest first: alerts raised in one run's same instant may come in either order
        printed = {engine: sorted(block.strip() for block in re.split(r"\n(?=alrt_)", text)) for engine, text in printed.items()}
    assert printed["postgresql"] == printed["sqlite"]
