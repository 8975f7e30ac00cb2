"""`--source all`: the web crawl of the loopback t.me server and the Telethon collector into one store.

The same post seen by both is one post (matched by channel id and post id); the API's richer
record (callback buttons, numeric ids) is kept (and stays when the web sees the post again:
test_telethon_collect.py). The run is a subprocess (Twisted's reactor runs once per process) driving `run_sweep` with an
offline FakeTelegram holding the same channel as Telethon objects.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from store.records import Button, MediaItem, Post
from tgsweep.demo.corpus import encode, picture
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

CID = 1500000001
START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)

DRIVER = r'''
import json, sys
from telethon import types
from tests.crawler.telethon_fakes import FakeChannel, FakeTelegram, channel, message, photo
from tgsweep.config import load_config
from tgsweep.sweep import run_sweep

CID = %d
tg = FakeTelegram()
markup = types.ReplyInlineMarkup(rows=[types.KeyboardInlineButtonRow(buttons=[
    types.KeyboardInlineButton(text="Open", type=types.InlineButtonTypeUrl(url="https://t.me/stickerhelperbot?start=ref1")),
    types.KeyboardInlineButton(text="Vote", type=types.InlineButtonTypeCallback(data=b"v1"))])])
msgs = [message(CID, 1, "Hello from both", reply_markup=markup),
        message(CID, 2, "", grouped_id=7, media=types.MessageMediaPhoto(photo=photo(9002))),
        message(CID, 3, "Album", grouped_id=7, media=types.MessageMediaPhoto(photo=photo(9003))),
        message(CID, 4, "Last one")]
tg.add_channel(FakeChannel(channel(CID, "dual_news"), msgs))
tg.files[9002] = open(sys.argv[2], "rb").read()
tg.files[9003] = open(sys.argv[3], "rb").read()
result = run_sweep(load_config(sys.argv[1]), progress=False, source="all", telethon_client=tg)
print(json.dumps({"status": result.status, "web": result.sweep_id, "telethon": result.telethon[0],
                  "new_tg": result.telethon[1].new_posts, "new_web": result.stats.new_posts,
                  "calls": dict(tg.calls), "sent": len(tg.sent)}))
''' % CID


def world(files: dict[str, bytes]) -> World:
    w = World(page_size=20)
    w.files.update(files)
    entity = Entity(username="dual_news", id=CID, title="Dual News")
    posts = [
        Post(channel="dual_news", id=1, date=START.isoformat(), text="Hello from both", channel_id=CID,
             buttons=[Button(text="Open", url="https://t.me/stickerhelperbot?start=ref1")]),
        Post(channel="dual_news", id=2, date=(START + timedelta(minutes=2)).isoformat(), text="Album", channel_id=CID,
             media=[MediaItem(kind="photo", url="/file/a.jpg", post_id=2), MediaItem(kind="photo", url="/file/b.jpg",
                                                                                    post_id=3)]),
        Post(channel="dual_news", id=4, date=(START + timedelta(minutes=4)).isoformat(), text="Last one", channel_id=CID),
    ]
    entity.posts = [fill_text_entities(p) for p in posts]
    w.add(entity)
    return w


def test_source_all_stores_one_post_per_channel_id_and_post_id(sweeps, tmp_path):
    files = {"a.jpg": encode(picture(11, (64, 48))), "b.jpg": encode(picture(12, (64, 48)))}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    with sweeps.Server(world(files)) as server:
        config = sweeps.write_config(tmp_path / "run", server.base_url, ["dual_news"],
                                     telethon={"api_id": 1, "api_hash": "0123456789abcdef"})
        done = subprocess.run([sys.executable, str(driver), str(config), str(tmp_path / "a.jpg"),
                               str(tmp_path / "b.jpg")], capture_output=True, text=True, timeout=120,
                              cwd=config.parent, env=sweeps.env())
        assert done.returncode == 0, done.stderr[-3000:]
        first = json.loads(done.stdout.strip().splitlines()[-1])
    assert first["status"] == "ok" and first["sent"] == 0
    assert first["new_web"] == 3 and first["new_tg"] == 0  # the web saw them first: Telethon adds no second copy
    assert first["calls"]["history"] == 1
    posts = sweeps.rows(config, "SELECT id, channel_id, source, record FROM posts ORDER BY id")
    assert [(i, c, s) for i, c, s, _ in posts] == [(1, CID, "web"), (2, CID, "web"), (4, CID, "web")]
    record = json.loads(posts[0][3])
    assert [b["kind"] for b in record["buttons"]] == ["url", "callback"]  # the API's record won
    assert sweeps.rows(config, "SELECT count(*) FROM media_items WHERE post_id=2") == [(2,)]
    exported = sweeps.export(config)
    assert [(m["channel"], m["id"]) for m in exported] == [("dual_news", 1), ("dual_news", 2), ("dual_news", 4)]
    assert ("stickerhelperbot", "button", "ref1") in set(sweeps.rows(config, "SELECT bot, how, param FROM bot_refs"))
    assert sweeps.rows(config, "SELECT source, status FROM sweeps ORDER BY id") == [("web", "ok"), ("telethon", "ok")]
