"""Alerts with their delivery state, and retries."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request

from tgsweep.explorer import data
from tgsweep.explorer.state import RetryIn, store_of

log = logging.getLogger("tgsweep.explorer")

router = APIRouter()


@router.get("/api/alerts", summary="alerts with their delivery state")
async def alerts(request: Request) -> dict[str, Any]:
    rows, notes = await data.alerts(store_of(request))
    return {"alerts": rows, "notes": notes}


@router.post("/api/alerts/retry", summary="queue alerts for another delivery attempt")
async def retry(request: Request, body: RetryIn) -> dict[str, Any]:
    return {"queued": await data.retry(store_of(request), body.ids)}
