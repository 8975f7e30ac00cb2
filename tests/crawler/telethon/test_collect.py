"""The Telethon collector end to end, offline: real Telethon objects through FakeTelegram into a real Store."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from telethon import errors, types

from store.sqlite import Store
from crawler.telethon.client import NotLoggedIn
from crawler.telethon.collect import sweep_telethon
from tests.crawler.telethon_fakes import (
    START, FakeChannel, FakeTelegram, bot, channel, document, fixture_messages, jpeg, message, person, photo,
)
from tgsweep.config import parse_config

NEWS, FEED, SOURCE_ID = 1111111111, 3333333333, 2222222222


def make_config(folder: Path, channels: list[str], **telethon):
    text = (f'[storage]\ndatabase = "db.sqlite"\nmedia_dir = "media"\n[watch]\nchannels = {json.dumps(channels)}\n'
            '[media]\nmax_bytes = 1000000\n[telethon]\napi_id = 12345\napi_hash = "0123456789abcdef0123456789abcdef"\n'
            + "".join(f"{k} = {json.dumps(v)}\n" for k, v in telethon.items()))
    path = folder / "config.toml"
    path.write_text(text)
    return parse_config(text, path, env={})


def world() -> FakeTelegram:
    """@sample_news (service, via bot, buttons, hidden links and mentions, forwards, an album, a too-big video),
    @long_feed (250 posts with an album across the first page boundary), the real dumps of four channels."""
    tg = FakeTelegram()
    helper = bot(7001, "stickerhelperbot", "Sticker Helper")
    hidden = bot(7002, "hiddenlinkbot", "Hidden Link")
    named = bot(7003, "namedbot", "Named")
    mod = bot(7004, "modhelperbot", "Moderator")
    tg.add_bot(helper, "Send a picture and get a sticker back.", [("start", "begin"), ("pack", "make a pack")],
               "Sticker maker")
    tg.add_bot(hidden, "Weather forecasts for your city.", [("start", "begin")])
    tg.add_bot(named, "Translates short texts.", [])
    tg.add_bot(mod, "Removes spam from groups.", [("ban", "ban a spammer")])
    tg.users["someperson"] = person(8001, "someperson")
    source = channel(SOURCE_ID, "sample_source", "Sample Source")

    news = channel(NEWS, "sample_news", "Sample News")
    markup = types.ReplyInlineMarkup(rows=[types.KeyboardInlineButtonRow(buttons=[
        types.KeyboardInlineButton(text="Open", type=types.InlineButtonTypeUrl(
            url="https://t.me/stickerhelperbot?start=ref123abc")),
        types.KeyboardInlineButton(text="Vote", type=types.InlineButtonTypeCallback(data=b"vote:1")),
        types.KeyboardInlineButton(text="App", type=types.InlineButtonTypeWebView(url="https://app.example.org/m")),
        types.KeyboardInlineButton(text="Share", type=types.InlineButtonTypeSwitchInline(query="cats"))])])
    text3 = "Weather here, ask Named or @someperson"
    msgs = [
        types.MessageService(id=1, peer_id=types.PeerChannel(NEWS), date=START, action=types.MessageActionChannelCreate(
            title="Sample News")),
        message(NEWS, 2, "Stickers made easy", via_bot_id=7001, reply_markup=markup),
        message(NEWS, 3, text3, entities=[
            types.MessageEntityTextUrl(offset=text3.index("here"), length=4, url="https://t.me/hiddenlinkbot?start=x9"),
            types.MessageEntityMentionName(offset=text3.index("Named"), length=5, user_id=7003),
            types.MessageEntityMention(offset=text3.index("@someperson"), length=11)]),
        message(NEWS, 4, "An anonymous tip", fwd_from=types.MessageFwdHeader(date=START, from_name="Hidden Person")),
        message(NEWS, 5, "From the source", fwd_from=types.MessageFwdHeader(
            date=START, from_id=types.PeerChannel(SOURCE_ID), channel_post=77)),
        message(NEWS, 6, "", grouped_id=999, media=types.MessageMediaPhoto(photo=photo(906))),
        message(NEWS, 7, "Album caption", grouped_id=999, media=types.MessageMediaPhoto(photo=photo(907))),
        message(NEWS, 8, "", grouped_id=999, media=types.MessageMediaPhoto(photo=photo(908))),
        message(NEWS, 9, "A long clip", media=types.MessageMediaDocument(document=document(
            909, 50_000_000, [types.DocumentAttributeVideo(duration=600, w=1280, h=720)]))),
        message(NEWS, 10, "A photo", media=types.MessageMediaPhoto(photo=photo(910)), reactions=types.MessageReactions(
            results=[types.ReactionCount(reaction=types.ReactionEmoji("👍"), count=5)])),
    ]
    tg.add_channel(FakeChannel(news, msgs, entities=[helper, source], about="Benign sample news",
                               bots_in_chat=[mod]))
    for pid in (906, 907, 908, 910):
        tg.files[pid] = jpeg(pid)
    tg.files[909] = b"\x00\x00\x00\x18ftypmp42" + bytes(64)

    feed = channel(FEED, "long_feed", "Long Feed")
    feed_msgs = []
    for i in range(1, 251):
        if i in (99, 100, 101):
            feed_msgs.append(message(FEED, i, "album" if i == 99 else "", grouped_id=4242,
                                     media=types.MessageMediaPhoto(photo=photo(5000 + i))))
            tg.files[5000 + i] = jpeg(i)
        else:
            feed_msgs.append(message(FEED, i, f"Note {i}"))
    tg.add_channel(FakeChannel(feed, feed_msgs))

    for username, cid, dump in (("onepiecespoilhere", 1508897975, "onepiecespoilhere_channel_messages.jsonl"),
                                ("spotifygroup", 2606656273, "spotifygroup_channel_messages.jsonl"),
                                ("britishnewspatriot", 1799276919, "britishnewspatriot_forwards.jsonl")):
        real = fixture_messages(dump)
        tg.add_channel(FakeChannel(channel(cid, username), real))
        for m in real:
            target = getattr(m.media, "photo", None) or getattr(m.media, "document", None)
            if target is not None and hasattr(target, "id"):
                tg.files[target.id] = jpeg(target.id % 24) if isinstance(target, types.Photo) else b"\x1aE\xdf\xa3" + bytes(32)
    return tg


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def rows(config, sql, params=()):
    db = sqlite3.connect(config.storage.database)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


async def sweep(config, tg, channels=None, sleeps=None):
    store = await Store.open(config.storage.database)
    try:
        return await sweep_telethon(config, store, tg, channels, sleep=sleeps if sleeps is not None else Sleeps())
    finally:
        await store.close()


ALL = ["sample_news", "long_feed", "onepiecespoilhere", "spotifygroup", "britishnewspatriot"]


async def test_incremental_sweeps_fetch_only_new_posts_and_resolve_once(tmp_path):
    config = make_config(tmp_path, ALL)
    tg = world()
    _, stats, _ = await sweep(config, tg)
    assert tg.sent == []  # never sends, never presses Start, never joins
    # the five channels, then the referenced bots Telegram did not send with a message or profile:
    # hiddenlinkbot (a hidden link) and deezermusicbot (a mention; it does not exist here)
    assert tg.calls["resolve"] == len(ALL) + 2
    assert tg.calls["full_channel"] == len(ALL)
    feed_requests = [r for r in tg.history_requests if r["offset_id"] in (0, 100, 200)]
    assert len(feed_requests) >= 3
    ids = [r[0] for r in rows(config, "SELECT id FROM posts WHERE channel='long_feed' ORDER BY id")]
    assert ids == [i for i in range(1, 251) if i not in (100, 101)]  # the album is one post, 99
    album = rows(config, "SELECT position, item_post_id, status, sha256 FROM media_items "
                         "WHERE channel='long_feed' AND post_id=99")
    assert [(p, i) for p, i, _, _ in album] == [(0, 99), (1, 100), (2, 101)]
    assert {s for _, _, s, _ in album} == {"stored"} and len({h for *_, h in album}) == 3  # each item its own file
    assert rows(config, "SELECT last_id FROM cursors WHERE channel='long_feed' AND source='telethon'") == [(250,)]
    captures = rows(config, "SELECT count(*) FROM raw_captures WHERE kind='telethon_json'")[0][0]
    assert captures >= 3 + len(ALL)  # history pages and full profiles, as evidence
    # and as WARC `resource` records with a urn: target, the same bytes, the file in the custody chain
    import hashlib
    import zlib

    from warcio.archiveiterator import ArchiveIterator

    from crawler.warc import closed_files, file_sha256

    (warc,) = closed_files(config.storage.warc_dir)
    with warc.open("rb") as f:
        resources = {r.rec_headers.get_header("WARC-Target-URI"): r.content_stream().read()
                     for r in ArchiveIterator(f) if r.rec_type == "resource"}
    stored = {url: zlib.decompress(content) for url, content in rows(
        config, "SELECT url, content FROM raw_captures WHERE kind='telethon_json'")}
    assert {"urn:tgsweep:telethon:" + url.removeprefix("tg://"): body for url, body in stored.items()} == resources
    assert rows(config, "SELECT sha256 FROM custody_log WHERE action='warc'") == [(file_sha256(warc),)]
    assert hashlib.sha256(next(iter(resources.values()))).hexdigest() in {
        r[0] for r in rows(config, "SELECT sha256 FROM raw_captures")}

    # 120 new posts in the feed, nothing new elsewhere
    feed = tg.channels["long_feed"]
    feed.messages += [message(FEED, i, f"Note {i}") for i in range(251, 371)]
    tg.calls.clear()
    tg.history_requests.clear()
    _, stats, _ = await sweep(config, tg)
    assert tg.calls["resolve"] == 0 and tg.calls["full_channel"] == 0 and tg.calls["full_user"] == 0
    assert stats.new_posts == 120
    # long_feed: 2 requests (100 + 20) from the cursor; every other channel: one empty request
    assert [r["offset_id"] for r in tg.history_requests].count(250) == 1
    assert tg.calls["history"] == 2 + (len(ALL) - 1)
    assert rows(config, "SELECT count(*) FROM posts WHERE channel='long_feed'")[0][0] == 248 + 120


async def test_records_buttons_via_bot_hidden_links_forwards_and_media(tmp_path):
    config = make_config(tmp_path, ["sample_news"])
    tg = world()
    await sweep(config, tg)
    record = {r[0]: json.loads(r[1]) for r in rows(config, "SELECT id, record FROM posts WHERE channel='sample_news'")}
    assert sorted(record) == [1, 2, 3, 4, 5, 6, 9, 10]
    assert record[1]["service"] == "Channel created"
    assert record[2]["via_bot"] == "stickerhelperbot"
    assert [b["kind"] for b in record[2]["buttons"]] == ["url", "callback", "web_app", "switch_inline"]
    assert record[3]["links"] == ["https://t.me/hiddenlinkbot?start=x9"]
    assert record[4]["forwarded_from"] == {"channel": None, "post": None, "name": "Hidden Person", "url": None,
                                          "channel_id": None, "user_id": None}
    assert record[5]["forwarded_from"]["channel"] == "sample_source"  # the source came with the messages
    assert record[5]["forwarded_from"]["channel_id"] == SOURCE_ID and record[5]["forwarded_from"]["post"] == 77
    assert record[6]["text"] == "Album caption" and [m["post_id"] for m in record[6]["media"]] == [6, 7, 8]
    refs = set(rows(config, "SELECT bot, how, param FROM bot_refs WHERE channel='sample_news'"))
    assert {("stickerhelperbot", "via", ""), ("stickerhelperbot", "button", "ref123abc"),
            ("hiddenlinkbot", "deep_link", "x9")} <= refs
    # media: thumbnails first, then files within [media] max_bytes; the 50 MB video is recorded, not fetched
    video = rows(config, "SELECT status, error, thumb_sha256 FROM media_items WHERE channel='sample_news' AND post_id=9")
    assert video[0][0] == "error" and "max_bytes" in video[0][1] and video[0][2]
    stored = rows(config, "SELECT i.sha256, m.path FROM media_items i JOIN media m ON m.sha256 = i.sha256 "
                          "WHERE i.channel='sample_news' AND i.status='stored'")
    assert len(stored) == 4 and all((tmp_path / "media" / p).exists() for _, p in stored)
    custody = rows(config, "SELECT count(*) FROM custody_log WHERE url LIKE 'tg://sample_news/%'")[0][0]
    assert custody >= 5  # every file kept is in the custody chain under its tg:// name
    # the channel profile and bots: bots in the chat, via bots, every referenced bot (GetFullUser)
    about, counters, kind = rows(config, "SELECT description, counters, kind FROM channels WHERE username='sample_news'")[0]
    assert about == "Benign sample news" and json.loads(counters)["subscribers"] == 4321 and kind == "channel"
    bots = {r[0]: (r[1], r[2], json.loads(r[3])) for r in rows(
        config, "SELECT username, confirmed, description, profile FROM bots")}
    assert bots["stickerhelperbot"][:2] == (1, "Send a picture and get a sticker back.")
    assert bots["stickerhelperbot"][2]["commands"][1] == {"command": "pack", "description": "make a pack"}
    assert bots["stickerhelperbot"][2]["about"] == "Sticker maker"
    assert bots["stickerhelperbot"][2]["bot_active_users"] == 1200
    assert bots["hiddenlinkbot"][0] == 1 and bots["modhelperbot"][0] == 1
    assert tg.calls["full_user"] == 3  # stickerhelperbot, hiddenlinkbot, modhelperbot (namedbot: not referenced by name)

    from detectors.bots.stage import detect_bots  # the classifier sees the API profiles
    store = await Store.open(config.storage.database)
    try:
        counts = await detect_bots(store, config)
    finally:
        await store.close()
    assert counts["bots_scored"] >= 3
    scored = rows(config, "SELECT reasons FROM bots WHERE username='stickerhelperbot' AND scored_at IS NOT NULL")
    assert scored and json.loads(scored[0][0]) is not None


async def test_flood_wait_below_threshold_is_slept_through(tmp_path):
    config = make_config(tmp_path, ["sample_news"], flood_sleep_threshold=30)
    tg = world()
    tg.floods["full_channel"] = [12]
    tg.floods["full_user"] = [5]
    sleeps = Sleeps()
    _, stats, _ = await sweep(config, tg, sleeps=sleeps)
    assert sleeps == [12, 5]
    assert rows(config, "SELECT description FROM channels WHERE username='sample_news'") == [("Benign sample news",)]
    assert not rows(config, "SELECT * FROM sweep_errors WHERE kind='flood_wait'")
    assert stats.retries == 2


async def test_short_flood_waits_without_progress_are_recorded_not_slept_through_forever(tmp_path):
    config = make_config(tmp_path, ["sample_news"], flood_sleep_threshold=30)
    tg = world()
    tg.flood_at_request.update({1: 5, 2: 5, 3: 5, 4: 5})  # every history request of the channel waits 5 s
    sleeps = Sleeps()
    await sweep(config, tg, sleeps=sleeps)
    assert sleeps == [5]  # slept through once; the second wait with nothing stored in between is recorded
    assert rows(config, "SELECT kind FROM sweep_errors WHERE channel='sample_news'") == [("flood_wait",)]
    assert rows(config, "SELECT not_before IS NOT NULL FROM cursors WHERE channel='sample_news' "
                        "AND source='telethon'") == [(1,)]


async def test_flood_wait_above_threshold_is_recorded_skipped_then_resumed(tmp_path):
    config = make_config(tmp_path, ["long_feed", "sample_news"], flood_sleep_threshold=30)
    tg = world()
    tg.flood_at_request[2] = 3600  # the feed's second page
    sleeps = Sleeps()
    _, stats, _ = await sweep(config, tg, sleeps=sleeps)
    assert sleeps == []  # never slept an hour, never hammered
    (not_before, last_id), = rows(config, "SELECT not_before, last_id FROM cursors WHERE channel='long_feed' "
                                          "AND source='telethon'")
    assert not_before and last_id == 98  # the first page stored (its album kept back for the next page)
    assert rows(config, "SELECT count(*) FROM posts WHERE channel='sample_news'")[0][0] == 8  # the sweep went on
    assert rows(config, "SELECT kind FROM sweep_errors WHERE channel='long_feed'") == [("flood_wait",)]

    from tgsweep.status import gather_status
    status = await gather_status(config)
    assert {"channel": "long_feed", "source": "telethon", "until": not_before} in status["flood_waits"]

    tg.calls.clear()
    _, stats, _ = await sweep(config, tg)
    assert tg.calls["history"] == 1  # only sample_news; the feed waits
    assert any(s.startswith("long_feed: flood wait until") for s in stats.skipped)

    db = sqlite3.connect(config.storage.database)  # the wait has passed
    db.execute("UPDATE cursors SET not_before='2000-01-01T00:00:00+00:00' WHERE channel='long_feed'")
    db.commit()
    db.close()
    tg.calls.clear()
    tg.history_requests.clear()
    await sweep(config, tg)
    assert tg.history_requests[0]["offset_id"] == 98
    assert rows(config, "SELECT count(*) FROM posts WHERE channel='long_feed'")[0][0] == 248


async def test_account_wide_flood_wait_stops_that_request_kind(tmp_path):
    config = make_config(tmp_path, ["sample_news", "long_feed"], flood_sleep_threshold=30)
    tg = world()
    tg.floods["resolve"] = [None, 7200]  # the first resolve is fine, the second gets a two-hour wait
    _, stats, _ = await sweep(config, tg)
    assert rows(config, "SELECT scope, seconds FROM telethon_waits") == [("default:resolve", 7200)]
    assert any("account flood wait on resolve" in s for s in stats.skipped)
    from tgsweep.status import gather_status
    status = await gather_status(config)
    assert any(w["channel"] == "(account default: resolve)" for w in status["flood_waits"])
    tg.calls.clear()
    await sweep(config, tg)
    assert tg.calls["resolve"] == 0  # skipped until the wait passes; the resolved channel is still collected
    assert tg.calls["history"] == 1


async def test_unresolvable_and_deleted_channels_are_recorded_and_the_sweep_goes_on(tmp_path):
    config = make_config(tmp_path, ["no_such_channel", "sample_news", "long_feed", "someperson"])
    tg = world()
    await sweep(config, tg)
    errors_ = rows(config, "SELECT channel, kind, message FROM sweep_errors ORDER BY id")
    assert ("no_such_channel", "unavailable") in {(c, k) for c, k, _ in errors_}
    assert any(c == "someperson" and "a user, not a channel" in m for c, _, m in errors_)
    assert rows(config, "SELECT kind FROM telethon_entities WHERE username='no_such_channel'") == [("not_found",)]
    # the feed is deleted (or made private) before the next sweep
    tg.channels["long_feed"].gone = errors.ChannelPrivateError
    tg.channels["long_feed"].messages.append(message(FEED, 251, "never seen"))
    tg.calls.clear()
    await sweep(config, tg)
    assert tg.calls["resolve"] == 0  # the missing name is not asked again before retry_unavailable_hours
    gone = rows(config, "SELECT message FROM sweep_errors WHERE channel='long_feed'")
    assert gone and "not available (ChannelPrivateError)" in gone[-1][0]
    assert rows(config, "SELECT count(*) FROM posts WHERE channel='long_feed'")[0][0] == 248  # kept
    assert rows(config, "SELECT count(*) FROM posts WHERE channel='sample_news'")[0][0] == 8


async def test_stale_access_hash_is_resolved_again_by_username(tmp_path):
    config = make_config(tmp_path, ["long_feed"])
    tg = world()
    await sweep(config, tg)
    db = sqlite3.connect(config.storage.database)  # a hash from another session: ChannelInvalidError
    db.execute("UPDATE telethon_access SET access_hash = 1 WHERE username='long_feed'")
    db.commit()
    db.close()
    tg.channels["long_feed"].messages.append(message(FEED, 251, "new"))
    tg.calls.clear()
    _, stats, _ = await sweep(config, tg)
    assert tg.calls["resolve"] == 1 and stats.new_posts == 1
    assert rows(config, "SELECT access_hash FROM telethon_access WHERE username='long_feed'") == [(FEED * 7 + 1,)]


async def test_each_account_keeps_its_own_access_hashes_and_flood_waits(tmp_path):
    """Two accounts on one store (`tgsweep collector --account`): a hash or a wait of one never binds the other."""
    from crawler.telethon.collect import sweep_telethon
    from store import open_store
    from tgsweep.status import gather_status

    config = make_config(tmp_path, ["sample_news", "long_feed"], flood_sleep_threshold=30)
    first = world()
    first.floods["resolve"] = [None, 7200]  # the first account gets a two-hour wait on its second resolve
    store = await open_store(config.storage.database)
    try:
        await sweep_telethon(config, store, first, account="first")
        second = world()
        await sweep_telethon(config, store, second, account="second")  # not bound by the first's wait
        assert second.calls["resolve"] >= 2  # both channels (and the bots the first had to skip)
        assert await store.account_waits("first") == {"resolve": rows(config, "SELECT until FROM telethon_waits")[0][0]}
        assert await store.account_waits("second") == {}
        assert (await store.cached_entity("long_feed", "first")).access_hash is None  # never resolved by it
        assert (await store.cached_entity("long_feed", "second")).access_hash == FEED * 7 + 1
        await store.forget_access_hash("sample_news", "second")  # refused to the second: the first's stays
        assert (await store.cached_entity("sample_news", "second")).access_hash is None
        assert (await store.cached_entity("sample_news", "first")).access_hash is not None
    finally:
        await store.close()
    shown = [w["channel"] for w in (await gather_status(config))["flood_waits"]]
    assert "(account first: resolve)" in shown and not any("second" in w for w in shown)


async def test_session_without_login_says_to_run_login(tmp_path):
    from tgsweep.sweep import sweep_once

    config = make_config(tmp_path, ["sample_news"])
    tg = FakeTelegram(authorised=False)
    with pytest.raises(NotLoggedIn, match="run `tgsweep login`"):
        await sweep_once(config, source="telethon", telethon_client=tg)
    assert not rows(config, "SELECT * FROM sweeps")  # nothing started, nothing half-done


async def test_the_web_seeing_a_post_again_keeps_the_api_record_and_adds_no_copy(tmp_path):
    """Telethon first, then the web: one post per (channel, id); the API's record stays, web-only refs are added."""
    from crawler.paging import Cursor
    from store.records import Button, Post
    from store.records import Capture

    config = make_config(tmp_path, ["long_feed"])
    await sweep(config, world())
    store = await Store.open(config.storage.database)
    try:
        web = Post(channel="long_feed", id=5, date=None, text="Note 5", channel_id=FEED, source="web",
                   buttons=[Button(text="Go", url="https://t.me/webonlybot?start=abc1")])
        new = await store.ingest_page(None, "long_feed", None, [web], Capture("channel_page", "http://x/s/long_feed",
                                      b"<html>page</html>"), Cursor(last_id=5), done=False)
    finally:
        await store.close()
    assert new.new_ids == []
    (source, record), = rows(config, "SELECT source, record FROM posts WHERE channel='long_feed' AND id=5")
    assert source == "telethon" and json.loads(record)["source"] == "telethon"
    assert rows(config, "SELECT bot, how FROM bot_refs WHERE channel='long_feed' AND post_id=5") == [("webonlybot", "button")]


async def test_media_left_by_a_flood_wait_is_fetched_by_a_later_sweep(tmp_path):
    config = make_config(tmp_path, ["sample_news"], flood_sleep_threshold=30)
    tg = world()
    tg.floods["media"] = [None, 3600]  # the first download goes through, then a one-hour wait
    await sweep(config, tg)
    assert rows(config, "SELECT scope FROM telethon_waits") == [("default:media",)]
    pending = rows(config, "SELECT count(*) FROM media_items WHERE channel='sample_news' AND status='pending'")[0][0]
    assert pending >= 4  # posts are stored; their files wait
    db = sqlite3.connect(config.storage.database)
    db.execute("UPDATE telethon_waits SET until='2000-01-01T00:00:00+00:00'")
    db.commit()
    db.close()
    tg.calls.clear()
    _, stats, _ = await sweep(config, tg)
    assert tg.calls["get_messages"] == 1 and stats.new_posts == 0
    assert rows(config, "SELECT count(*) FROM media_items WHERE channel='sample_news' AND status='pending'") == [(0,)]
    assert rows(config, "SELECT count(*) FROM media_items WHERE channel='sample_news' AND status='stored'") == [(4,)]


async def test_sigterm_stops_the_sweep_cleanly_keeping_what_was_stored(tmp_path):
    import asyncio
    import os
    import signal

    config = make_config(tmp_path, ["long_feed", "sample_news"], download_full_media=False)
    tg = world()
    tg.slow_request[2] = 30  # the feed's second page hangs, and SIGTERM arrives meanwhile
    tg.before_request[2] = lambda: asyncio.get_running_loop().call_later(0.2, os.kill, os.getpid(), signal.SIGTERM)
    sweep_id, stats, _ = await sweep(config, tg)
    assert rows(config, "SELECT status FROM sweeps WHERE id=?", (sweep_id,)) == [("interrupted",)]
    assert rows(config, "SELECT last_id FROM cursors WHERE channel='long_feed' AND source='telethon'") == [(98,)]
    assert rows(config, "SELECT count(*) FROM posts WHERE channel='long_feed'") == [(98,)]
