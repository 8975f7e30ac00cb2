"""Logging set-up from `[logging]`: plain text, or one JSON object per line for log shippers.

Log lines carry context fields when there are any: `job` and `run` (the scheduled job and its
run number in the service's job history), `sweep_id` (the `sweeps` row), bound with `bind()`
for the whole process (a sweep is one process) or `bind_task()` for one asyncio task (a job
in the service). A child process started by the service inherits `job`/`run` through
$TGSWEEP_RUN ("<job>:<run>").

Every handler scrubs secrets by value (tgsweep/redact.py): no log line carries an API hash, a
session, a webhook secret or URL token, or the explorer token, whoever logged it.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from typing import Any

from tgsweep import redact
from tgsweep.config import Logging

RUN_ENV = "TGSWEEP_RUN"
_process_fields: dict[str, Any] = {}
_task_fields: ContextVar[dict[str, Any]] = ContextVar("tgsweep_log_fields", default={})  # noqa: B039 - never mutated, only replaced


def bind(**fields: Any) -> None:
    """Context for every later log line of this process (None removes a field)."""
    for key, value in fields.items():
        if value is None:
            _process_fields.pop(key, None)
        else:
            _process_fields[key] = value


def bind_task(**fields: Any) -> None:
    """Context for later log lines of the current asyncio task (and the tasks it starts)."""
    _task_fields.set({**_task_fields.get(), **{k: v for k, v in fields.items() if v is not None}})


def context_fields() -> dict[str, Any]:
    return {**_process_fields, **_task_fields.get()}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage(), **context_fields()}
        if record.exc_info or record.exc_text:  # exc_text: already formatted (and scrubbed) by the filter
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = context_fields()
        if not fields:
            return line
        head, sep, tail = line.partition("\n")  # a traceback stays below the first line
        return head + " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" + sep + tail


def setup_logging(settings: Logging) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    redact.install(handler)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    for noisy in ("scrapy", "twisted", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    job, _, run = os.environ.get(RUN_ENV, "").partition(":")
    if job:
        bind(job=job, run=int(run) if run.isdigit() else run or None)


def redact_root_handlers() -> None:
    """Scrub secrets from whatever the root logger's handlers write (start-up, before setup_logging)."""
    for handler in logging.getLogger().handlers:
        redact.install(handler)
