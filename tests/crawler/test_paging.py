"""The cursor logic, driven against a model of t.me's `?before=` paging.

A simulated channel publishes posts (with gaps and albums), sweeps crash at arbitrary pages,
and each next sweep must end with every post collected and the cursor at the newest one.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.paging import Cursor, next_step


def page(ids: list[int], before: int | None, size: int = 20) -> tuple[list[int], int | None]:
    """t.me/s: the `size` newest ids below `before`, and the older link when older ids exist."""
    older = [i for i in ids if before is None or i < before]
    shown = older[-size:]
    return shown, (min(shown) if shown and len(older) > len(shown) else None)


def sweep(ids: list[int], cursor: Cursor, stored: set[int], crash_after: int | None = None) -> tuple[Cursor, int]:
    """Run one sweep; return the cursor as committed and the number of page requests."""
    before, position, requests = None, None, 0
    while True:
        if crash_after is not None and requests == crash_after:
            return cursor, requests  # killed: whatever was committed stays
        shown, older = page(ids, before)
        requests += 1
        step = next_step(cursor, shown, older, position)
        stored.update(shown)  # same transaction as the cursor
        cursor, position = step.cursor, step.position
        if step.next_before is None:
            return cursor, requests
        before = step.next_before


def test_first_sweep_collects_everything_and_second_fetches_one_page():
    ids = list(range(1, 101))
    stored: set[int] = set()
    cursor, requests = sweep(ids, Cursor(), stored)
    assert stored == set(ids) and cursor == Cursor(last_id=100) and requests == 5
    ids += [101, 102]
    cursor, requests = sweep(ids, cursor, stored)
    assert requests == 1 and cursor.last_id == 102 and stored == set(ids)


def test_short_pages_and_gaps_do_not_stop_early():
    ids = [1, 2, 3] + list(range(50, 60)) + [200, 201] + list(range(500, 530))
    stored: set[int] = set()
    cursor, _ = sweep(ids, Cursor(), stored)
    assert stored == set(ids) and cursor.last_id == 529


def test_crash_then_new_posts_then_resume_jumps_over_what_is_stored():
    ids = list(range(1, 201))
    stored: set[int] = set()
    cursor, _ = sweep(ids, Cursor(), stored, crash_after=3)  # pages 200..141 stored, then killed
    assert cursor.pending and cursor.last_id == 0 and cursor.top == 200
    ids += list(range(201, 211))
    requests_before = len(stored)
    cursor, requests = sweep(ids, cursor, stored)
    assert stored == set(ids) and cursor == Cursor(last_id=210)
    # one page for the new posts (which overlaps the stored interval), then straight on from the bottom
    assert requests == 1 + 7 and requests_before == 60


def test_empty_page_keeps_the_cursor():
    step = next_step(Cursor(last_id=5), [], None, None)
    assert step.cursor == Cursor(last_id=5) and step.next_before is None


@settings(max_examples=300, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 5), min_size=1, max_size=120),
    crashes=st.lists(st.integers(0, 8), max_size=4),
    growth=st.lists(st.integers(0, 45), max_size=4),
)
def test_any_crash_sequence_ends_with_every_post_once(gaps, crashes, growth):
    ids: list[int] = []
    for gap in gaps:
        ids.append((ids[-1] if ids else 0) + gap)
    stored: set[int] = set()
    cursor = Cursor()
    for crash, more in zip(crashes, growth + [0] * len(crashes)):
        cursor, _ = sweep(ids, cursor, stored, crash_after=crash)
        assert stored <= set(ids)
        for _ in range(more):
            ids.append(ids[-1] + 1)
        # invariant: everything up to last_id, and the pending interval, is stored
        assert {i for i in ids if i <= cursor.last_id} <= stored
        if cursor.pending:
            assert {i for i in ids if cursor.bottom <= i <= cursor.top} <= stored
    cursor, _ = sweep(ids, cursor, stored)
    assert stored == set(ids) and cursor == Cursor(last_id=ids[-1])
