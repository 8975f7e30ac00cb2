"""SQL of the service's job database (job_runs beside APScheduler's jobs table), a file apart from the store."""
from __future__ import annotations
