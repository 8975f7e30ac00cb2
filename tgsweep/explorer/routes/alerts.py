"""Alerts with their delivery state, and retries."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Query, Request

from store.deliveries import ALERT_SORTS
from tgsweep.explorer import data
from tgsweep.explorer.state import RetryIn, store_of

log = logging.getLogger("tgsweep.explorer")

router = APIRouter()


@router.get("/api/alerts", summary="a page of alerts with their delivery state, newest first")
async def alerts(request: Request, state: str | None = Query(None, pattern="^(pending|delivered|dead|withdrawn)$"),
                 offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000),
                 sort: str = Query("created", pattern=f"^({'|'.join(ALERT_SORTS)})$"),
                 order: str = Query("desc", pattern="^(asc|desc)$")) -> dict[str, Any]:
    rows, notes, total = await data.alerts(store_of(request), state, offset, limit, sort, order == "desc")
    return {"alerts": rows, "notes": notes, "total": total, "offset": offset, "limit": limit, "sort": sort,
            "order": order}


@router.post("/api/alerts/retry", summary="queue alerts for another delivery attempt")
async def retry(request: Request, body: RetryIn) -> dict[str, Any]:
    return {"queued": await data.retry(store_of(request), body.ids)}
