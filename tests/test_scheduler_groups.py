"""Watchlist groups and the `discover` job in the service: one sweep job per group and source, each
on its own interval; a job dropped from the config leaves the job store at the next start."""
from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from scheduler import Service, cli_job, job_specs, sweep_job
from tgsweep.config import parse_config

GROUPS = """
[watch]
channels = ["alpha_news"]
interval_minutes = 30
[telethon]
api_id = 1
api_hash = "abc"
interval_minutes = 45
[[watch.groups]]
name = "hot"
channels = ["faceswap_hub"]
interval_minutes = 10
[[watch.groups]]
name = "slow-web"
channels = ["beta_chan"]
interval_minutes = 600
sources = ["web"]
"""


def config_from(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return parse_config(text, path), str(path.resolve())


def test_one_sweep_job_per_group_and_source_with_its_own_interval(tmp_path):
    config, path = config_from(tmp_path, GROUPS)
    specs = {s.id: s for s in job_specs(config)}
    sweeps = {k: (v.every, v.kwargs) for k, v in specs.items() if k.startswith("sweep_")}
    assert sweeps == {
        "sweep_web": (timedelta(minutes=30), {"config_path": path, "source": "web"}),
        "sweep_telethon": (timedelta(minutes=45), {"config_path": path, "source": "telethon"}),
        "sweep_web_hot": (timedelta(minutes=10), {"config_path": path, "source": "web", "group": "hot"}),
        "sweep_telethon_hot": (timedelta(minutes=10), {"config_path": path, "source": "telethon", "group": "hot"}),
        "sweep_web_slow-web": (timedelta(minutes=600), {"config_path": path, "source": "web", "group": "slow-web"}),
    }
    assert all(specs[k].func is sweep_job for k in sweeps)
    assert "discover" not in specs  # [discovery] interval_minutes = 0: discovery stays inside the sweeps


def test_group_telethon_jobs_need_the_account(tmp_path):
    text = GROUPS.replace('api_id = 1\napi_hash = "abc"\n', "")
    config, _ = config_from(tmp_path, text)
    ids = {s.id for s in job_specs(config)}
    assert {"sweep_web", "sweep_web_hot", "sweep_web_slow-web"} <= ids
    assert not {i for i in ids if i.startswith("sweep_telethon")}


def test_discover_job_runs_sweep_discovered_on_its_interval(tmp_path):
    config, path = config_from(tmp_path, "[discovery]\nenabled = true\ninterval_minutes = 15\n")
    spec = {s.id: s for s in job_specs(config)}["discover"]
    assert spec.func is cli_job and spec.every == timedelta(minutes=15)
    assert spec.kwargs == {"config_path": path, "job_id": "discover",
                           "argv": ["sweep", "--no-progress", "--source", "web", "--discovered"]}
    off, _ = config_from(tmp_path, "[discovery]\nenabled = false\ninterval_minutes = 15\n")
    assert "discover" not in {s.id for s in job_specs(off)}


def stored_jobs(jobs_db: Path) -> set[str]:
    db = sqlite3.connect(jobs_db)
    try:
        return {r[0] for r in db.execute("SELECT id FROM apscheduler_jobs")}
    finally:
        db.close()


def register(config) -> None:
    """What the service does at start (real APScheduler, real SQLite job store), then stop."""
    async def main() -> None:
        service = Service(config)
        scheduler = service._scheduler()
        scheduler.start(paused=True)
        try:
            service._register(scheduler)
        finally:
            scheduler.shutdown(wait=False)
    asyncio.run(main())


def test_a_group_removed_from_the_config_leaves_the_job_store_at_the_next_start(tmp_path):
    config, _ = config_from(tmp_path, GROUPS)
    register(config)
    jobs_db = config.schedule.jobs_database
    assert {"sweep_web", "sweep_web_hot", "sweep_telethon_hot", "sweep_web_slow-web"} <= stored_jobs(jobs_db)
    fewer, _ = config_from(tmp_path, GROUPS.split('[[watch.groups]]\nname = "slow-web"')[0])
    register(fewer)
    stored = stored_jobs(jobs_db)
    assert {"sweep_web", "sweep_telethon", "sweep_web_hot", "sweep_telethon_hot"} <= stored
    assert "sweep_web_slow-web" not in stored


def test_the_bank_sync_job_runs_media_sync_only_with_bank_sources(tmp_path):
    without = parse_config("", tmp_path / "config.toml")
    assert "sync_banks" not in [spec.id for spec in job_specs(without)]
    listed = parse_config('[media]\nbank_sources = [{ name = "case", path = "lists/case.csv" }]\n'
                          "[schedule]\nbank_sync_minutes = 30\n", tmp_path / "config.toml")
    (spec,) = [s for s in job_specs(listed) if s.id == "sync_banks"]
    assert spec.kwargs["argv"] == ["media", "sync"] and spec.every.total_seconds() == 1800
    assert listed.media.bank_sources[0].path == tmp_path / "lists" / "case.csv"  # relative to the config file
