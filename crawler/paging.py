"""Where to page next, and what the channel's cursor becomes: a pure function.

t.me/s pages go newest-first with `?before=`. A sweep starts at the newest page and pages
back until it reaches posts it already has. The cursor must survive a crash half-way: it
keeps `last_id` (every post up to it is stored) and, while a sweep is unfinished, the
interval `[bottom, top]` that sweep did store. The next sweep fetches what is newer than
`top`, then jumps straight to `?before=bottom` and goes on down to `last_id`.
"""
from __future__ import annotations

from dataclasses import dataclass

from store.records import Cursor


@dataclass(frozen=True, slots=True)
class Position:
    """Where a sweep is: the newest id it saw, and whether its run joins the stored interval."""

    top: int
    joined: bool


@dataclass(frozen=True, slots=True)
class Step:
    cursor: Cursor  # store this with the page, in the same transaction
    next_before: int | None  # fetch ?before=<this> next; None: the channel is done
    position: Position | None


def next_step(cursor: Cursor, ids: list[int], before: int | None, position: Position | None) -> Step:
    """Given one page's post ids and its "older" link, decide the cursor and the next page.

    Never stops early on a short page or an id gap: only a missing "older" link or reaching
    stored posts ends a channel.
    """
    if not ids:
        return Step(cursor, None, position)
    lo = min(ids)
    if position is None:
        position = Position(top=max(max(ids), cursor.last_id), joined=not cursor.pending)
    if before is None or lo <= cursor.last_id:
        newest = max(position.top, cursor.top or 0, cursor.last_id)
        return Step(Cursor(last_id=newest), None, position)
    if position.joined:
        return Step(Cursor(cursor.last_id, position.top, lo), before, position)
    assert cursor.top is not None and cursor.bottom is not None
    if lo <= cursor.top + 1:
        bottom = min(lo, cursor.bottom)
        top = max(position.top, cursor.top)
        joined = Position(top=top, joined=True)
        return Step(Cursor(cursor.last_id, top, bottom), bottom, joined)
    return Step(cursor, before, position)
