"""The service's re-visit jobs: `refresh_profiles` (`tgsweep bots refresh`) and `recheck_takedowns`
(`tgsweep takedown check`) are registered with their own intervals and run as child processes."""
from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

from scheduler import cli_job, job_specs
from tests.test_scheduler import Service, job_runs_safe, server, service_config, wait_until  # noqa: F401
from tgsweep.config import parse_config


def test_job_specs_have_fixed_ids_and_their_own_intervals(tmp_path):
    path = tmp_path / "config.toml"
    text = "[schedule]\ntakedown_check_minutes = 90\nbot_refresh_minutes = 720\n"
    path.write_text(text)
    specs = {s.id: s for s in job_specs(parse_config(text, path))}
    assert specs["recheck_takedowns"].every == timedelta(minutes=90)
    assert specs["refresh_profiles"].every == timedelta(minutes=720)
    assert specs["recheck_takedowns"].func is cli_job and specs["recheck_takedowns"].kwargs == {
        "config_path": str(path.resolve()), "job_id": "recheck_takedowns", "argv": ["takedown", "check"]}
    assert specs["refresh_profiles"].kwargs["argv"] == ["bots", "refresh"]


def test_the_service_runs_the_recheck_jobs_on_their_schedule(sweeps, tmp_path, server):  # noqa: F811
    config = service_config(sweeps, tmp_path, server, takedown_check_minutes=0.02, bot_refresh_minutes=0.02)
    assert sweeps.cli(config, "watch", "add", "alpha").returncode == 0
    service = Service(sweeps, config)

    def finished(job: str) -> int:
        return sum(1 for r in job_runs_safe(config) if r[1] == job and r[2] == "ok")

    try:
        wait_until(lambda: finished("recheck_takedowns") and finished("refresh_profiles"), 60,
                   "a run of each re-check job", service)
        assert service.terminate() == 0, service.output()
    finally:
        service.close()
    runs = [r for r in job_runs_safe(config) if r[1] in ("recheck_takedowns", "refresh_profiles")]
    assert all(r[2] in ("ok", "interrupted") for r in runs), runs
    db = sqlite3.connect(config.parent / "jobs.db")
    try:
        stored = {r[0] for r in db.execute("SELECT id FROM apscheduler_jobs")}
    finally:
        db.close()
    assert {"recheck_takedowns", "refresh_profiles", "sweep_web"} <= stored
    status = json.loads(sweeps.cli(config, "status", "--json").stdout)
    jobs = {j["id"]: j for j in status["jobs"]}
    assert jobs["recheck_takedowns"]["every_seconds"] == 1.2 and jobs["recheck_takedowns"]["last_run"]["status"]
    assert jobs["refresh_profiles"]["last_run"]["status"] in ("ok", "interrupted")
