"""Nothing silently lost: every media item is requested in the sweep that found it, edits are
kept as versions with their own capture, and bots are profiled in the sweep that found them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from store.records import Button, MediaItem, Post
from tgsweep.demo.corpus import encode, picture
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

START = datetime(2026, 5, 1, tzinfo=timezone.utc)


def _post(channel: str, n: int, media: list[MediaItem] | None = None, text: str = "", **kw) -> Post:
    return fill_text_entities(Post(channel=channel, id=n, date=(START + timedelta(hours=n)).isoformat(),
                                   text=text or f"post {n} of {channel}", media=media or [], channel_id=9000, **kw))


def media_world() -> World:
    """Three channels, 36 media items over several pages: enough for reads to lag behind commits."""
    world = World(page_size=8)
    for c, name in enumerate(["pics_one", "pics_two", "pics_three"]):
        entity = Entity(username=name, id=9000 + c, title=name)
        for n in range(1, 13):
            file = f"{name}_{n}.jpg"
            world.files[file] = encode(picture(800 + 20 * c + n, (48, 36)))
            entity.posts.append(_post(name, n, [MediaItem(kind="photo", url=f"/file/{file}", width=48, height=36)]))
        world.add(entity)
    return world


def test_twenty_fresh_sweeps_leave_no_media_pending(sweeps, tmp_path):
    with sweeps.Server(media_world()) as server:
        for run in range(20):
            config = sweeps.write_config(tmp_path / f"run{run}", server.base_url,
                                         ["pics_one", "pics_two", "pics_three"], web={"concurrent_requests": 8})
            done = sweeps.sweep(config)
            assert done.returncode == 0, done.stdout + done.stderr
            states = dict(sweeps.rows(config, "SELECT status, count(*) FROM media_items GROUP BY status"))
            assert states == {"stored": 36}, f"run {run}: {states}"


def test_an_incremental_sweep_fetches_the_media_of_its_one_new_post(sweeps, tmp_path):
    world = media_world()
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["pics_one"])
        assert sweeps.sweep(config).returncode == 0
        world.files["new.jpg"] = encode(picture(999, (48, 36)))
        server.add_post(_post("pics_one", 13, [MediaItem(kind="photo", url="/file/new.jpg", width=48, height=36)]))
        second = sweeps.sweep(config)
        assert second.returncode == 0, second.stdout
    assert sweeps.rows(config, "SELECT status FROM media_items WHERE post_id=13") == [("stored",)]


def test_an_edit_is_a_new_version_citing_its_own_capture(sweeps, tmp_path):
    world = World(page_size=20)
    news = Entity(username="edit_news", id=9100, title="News")
    news.posts += [_post("edit_news", 1), _post("edit_news", 2, text="first wording")]
    world.add(news)
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["edit_news"])
        assert sweeps.sweep(config).returncode == 0
        first_capture = sweeps.value(config, "SELECT capture_sha256 FROM posts WHERE id=2")
        news.posts[1].text = "second wording"
        news.posts[1].edited = True
        server._wrap_cache.clear()
        assert sweeps.sweep(config).returncode == 0
        assert sweeps.sweep(config).returncode == 0  # unchanged: no third version
    versions = sweeps.rows(config, "SELECT version, kind, text, capture_sha256 FROM post_versions "
                                   "WHERE channel='edit_news' AND id=2 ORDER BY version")
    assert [(v, k, t) for v, k, t, _ in versions] == [(1, "first", "first wording"), (2, "edit", "second wording")]
    assert versions[0][3] == first_capture and versions[1][3] != first_capture
    assert sweeps.rows(config, "SELECT text, capture_sha256 FROM posts WHERE id=2") == [("second wording",
                                                                                       versions[1][3])]
    assert sweeps.value(config, "SELECT count(*) FROM post_versions WHERE id=1") == 1
    verify = sweeps.cli(config, "verify")
    assert verify.returncode == 0, verify.stdout


def test_a_post_naming_many_bots_is_capped_and_says_so(sweeps, tmp_path):
    world = World(page_size=20)
    spam = Entity(username="spam_chan", id=9200, title="Spam")
    buttons = [Button(text=f"b{i}", url=f"https://t.me/spam{i:03d}_bot") for i in range(40)]
    spam.posts.append(_post("spam_chan", 1, text="many bots", buttons=buttons))
    world.add(spam)
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["spam_chan"], web={"max_bot_lookups_per_post": 5})
        done = sweeps.sweep(config)
        entity_requests = [r for r in server.requests() if r["path"].startswith("/spam")]
    assert done.returncode == 1  # done, with a recorded problem
    assert len(entity_requests) == 5
    assert "max_bot_lookups_per_post" in sweeps.value(config, "SELECT message FROM sweep_errors WHERE kind='limit'")
    assert sweeps.value(config, "SELECT count(*) FROM bot_refs") == 40  # every reference is still recorded


@pytest.mark.parametrize("pages", [3])
def test_a_never_ending_feed_stops_at_the_page_limit_and_resumes(sweeps, tmp_path, pages):
    world = World(page_size=5)
    long = Entity(username="long_chan", id=9300, title="Long")
    long.posts += [_post("long_chan", n) for n in range(1, 41)]
    world.add(long)
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["long_chan"], web={"max_pages_per_channel": pages})
        first = sweeps.sweep(config)
        assert first.returncode == 1
        assert sweeps.value(config, "SELECT count(*) FROM posts") == 15
        assert "max_pages_per_channel" in sweeps.value(config, "SELECT message FROM sweep_errors WHERE kind='limit'")
        for _ in range(3):
            sweeps.sweep(config)
    assert sweeps.value(config, "SELECT count(*) FROM posts") == 40


def test_a_sweep_killed_with_sigkill_is_closed_as_killed_at_the_next_start(sweeps, tmp_path):
    import signal
    import time

    world = World(page_size=5)
    slow = Entity(username="slow_chan", id=9400, title="Slow")
    slow.posts += [_post("slow_chan", n) for n in range(1, 31)]
    world.add(slow)
    with sweeps.Server(world) as server:
        for page in ["", "?before=26", "?before=21"]:
            server.add_faults(f"/s/slow_chan{page}", {"delay": 1.0})
        config = sweeps.write_config(tmp_path, server.base_url, ["slow_chan"])
        process = sweeps.spawn_sweep(config)
        deadline = time.monotonic() + 30
        while sweeps.post_count(config) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
        assert sweeps.rows(config, "SELECT status FROM sweeps") == [("running",)]
        server.clear_faults()
        assert sweeps.sweep(config).returncode == 0
    assert sweeps.rows(config, "SELECT id, status FROM sweeps ORDER BY id") == [(1, "killed"), (2, "ok")]
    assert sweeps.value(config, "SELECT count(*) FROM posts") == 30


def test_a_post_with_many_media_downloads_only_the_first_few_and_says_why(sweeps, tmp_path):
    world = World(page_size=20)
    chan = Entity(username="album_chan", id=9500, title="Album")
    items = []
    for k in range(8):
        world.files[f"al{k}.jpg"] = encode(picture(1200 + k, (40, 30)))
        items.append(MediaItem(kind="video", url=f"/file/al{k}.jpg", thumb_url=f"/file/al{k}.jpg", width=40,
                               height=30, post_id=1 + k))
    chan.posts.append(_post("album_chan", 1, items))
    world.add(chan)
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["album_chan"], web={"max_media_per_post": 3})
        done = sweeps.sweep(config)
        fetched = {r["path"] for r in server.requests("/file/")}
    assert done.returncode == 1  # done, with the cut recorded
    states = sweeps.rows(config, "SELECT position, status, error FROM media_items ORDER BY position")
    assert [s for _, s, _ in states] == ["stored"] * 3 + ["skipped"] * 5
    assert all("max_media_per_post" in e for _, s, e in states if s == "skipped")
    assert fetched == {f"/file/al{k}.jpg" for k in range(3)}  # nothing of the skipped items, thumbs included
    assert "max_media_per_post" in sweeps.value(config, "SELECT message FROM sweep_errors WHERE kind='limit'")
