"""The explorer's pages: the graph page and the token login."""
from __future__ import annotations

import hmac
import logging
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from tgsweep.explorer.state import COOKIE, STATIC, _session_value, state

log = logging.getLogger("tgsweep.explorer")

router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


@router.get("/login", include_in_schema=False)
async def login_form(request: Request) -> Response:
    ctx = state(request)
    if not ctx.settings.token:
        return RedirectResponse("/", status_code=303)
    return FileResponse(STATIC / "login.html")


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    ctx = state(request)
    if not ctx.settings.token:
        return RedirectResponse("/", status_code=303)
    given = parse_qs((await request.body()).decode("utf-8", "replace")).get("token", [""])[0]
    if not hmac.compare_digest(given.encode(), ctx.settings.token.encode()):
        log.warning("explorer: a login with a wrong token from %s", request.client.host if request.client else "?")
        return HTMLResponse("wrong token. <a href='/login'>try again</a>", status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, _session_value(ctx.settings.token), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response
