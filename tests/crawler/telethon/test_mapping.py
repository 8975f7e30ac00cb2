"""Telethon objects -> records: the real dumps in tests/fixtures/telethon, and types built for real."""
from __future__ import annotations

import base64
import json

from telethon import types

from crawler.telethon.mapping import (
    bot_profile, capture_bytes, channel_profile, map_message, map_messages, tl_from_dict,
)
from store.refs import bot_refs
from tests.crawler.telethon_fakes import (
    FakeTelegram, START, bot, fixture_messages, fixture_object, message, photo,
)
from telethon.tl.types import users as tl_users


def by_id(posts):
    return {p.id: p for p in posts}


def test_real_dumps_rebuild_and_capture_round_trip():
    """Every real dump rebuilds into Telethon objects; the evidence JSON rebuilds into the same objects."""
    for name in ("bloomberg_channel_messages.jsonl", "onepiecespoilhere_channel_messages.jsonl",
                 "britishnewspatriot_forwards.jsonl", "spotifygroup_channel_messages.jsonl"):
        messages = fixture_messages(name)
        assert messages and all(isinstance(m, (types.Message, types.MessageService)) for m in messages)
        body = json.loads(capture_bytes("messages.GetHistory", "x", messages))
        again = [tl_from_dict(o) for o in body["objects"]]
        assert [m.to_dict() for m in again] == [m.to_dict() for m in messages]


def test_real_dump_fields_map_like_the_web_records():
    posts = by_id(map_messages(fixture_messages("onepiecespoilhere_channel_messages.jsonl"), "OnePieceSpoilHere"))
    album = posts[3884]
    assert 3885 not in posts  # the album's second item is part of the first post, as on t.me/s
    assert [(m.kind, m.post_id) for m in album.media] == [("photo", 3884), ("photo", 3885)]
    assert album.text.startswith("The Official Devil Fruit") and album.extra["album_ids"] == [3884, 3885]
    assert album.channel == "onepiecespoilhere" and album.channel_id == 1508897975 and album.source == "telethon"
    assert posts[3751].service.startswith("Channel name was changed to «One Piece")
    assert posts[3755].reply_to.post == 3753 and posts[3755].reply_to.channel == "onepiecespoilhere"
    assert posts[3753].unsupported
    assert posts[3756].author and posts[3756].media[0].kind == "photo"
    assert posts[3733].media[0].kind == "video" and posts[3733].media[0].duration
    assert posts[3879].poll.votes == 688 and len(posts[3879].poll.options) == 7
    assert posts[3733].extra["replies"] == 21 and posts[3733].extra["forwards"] == 37
    assert posts[3733].date == "2025-08-10T14:32:20+00:00"

    news = by_id(map_messages(fixture_messages("bloomberg_channel_messages.jsonl"), "bloomberg"))
    assert news[3148].links == ["https://bloom.bg/4lzgWdi"]
    assert news[3148].link_preview.site_name == "Bloomberg.com"
    assert news[3148].media[0].kind == "link_preview_photo"
    assert news[3148].reactions[0].count == 44 and news[3148].views == 11849

    spotify = by_id(map_messages(fixture_messages("spotifygroup_channel_messages.jsonl"), "spotifygroup"))
    assert spotify[1].service == "Channel created"
    assert spotify[6].sticker and spotify[6].media[0].kind == "sticker"
    assert spotify[5].mentions == ["deezermusicbot"]
    assert [r.username for r in bot_refs(spotify[5])] == ["deezermusicbot"]


def test_real_forwards_keep_numeric_sources_and_hidden_names():
    posts = by_id(map_messages(fixture_messages("britishnewspatriot_forwards.jsonl"), "britishnewspatriot"))
    forwarded_album = posts[2479]
    assert forwarded_album.forwarded_from.channel_id == 1387912140
    assert forwarded_album.forwarded_from.post == 3985
    assert len(forwarded_album.media) == 2
    hidden = posts[2476].forwarded_from
    assert hidden.name == "Jordan" and hidden.channel is None and hidden.channel_id is None and hidden.user_id is None


def test_telegram_tracker_full_channel_and_history_envelopes():
    full = fixture_object("telegram_tracker_sgdivedeals_channel.json")
    profile = channel_profile(full)
    assert profile["username"] == "sgdivedeals" and profile["participants_count"] == 23449
    assert profile["linked_chat_id"] == 1307418026 and profile["about"].startswith("A deal channel")
    assert channel_profile(fixture_object("telegram_tracker_mustsharenews_channel.json"))["verified"] is True
    history = fixture_object("telegram_tracker_talktotallkoh_messages.json")
    [post] = map_messages(history.messages, "talktotallkoh")
    assert post.text == "test" and post.extra["replies"] == 1 and post.extra["discussion_channel_id"]


def test_built_message_with_everything_only_the_api_shows():
    helper = bot(7001, "StickerHelperBot", "Sticker Helper")
    named = bot(7002, "namedbot", "Named")
    text = "Try it 👋 here and ask Named"
    markup = types.ReplyInlineMarkup(rows=[
        types.KeyboardInlineButtonRow(buttons=[
            types.KeyboardInlineButton(text="Open", type=types.InlineButtonTypeUrl(
                url="https://t.me/stickerhelperbot?start=ref123abc")),
            types.KeyboardInlineButton(text="Vote", type=types.InlineButtonTypeCallback(data=b"vote:1"))]),
        types.KeyboardInlineButtonRow(buttons=[
            types.KeyboardInlineButton(text="App", type=types.InlineButtonTypeWebView(url="https://app.example.org/m")),
            types.KeyboardInlineButton(text="Share", type=types.InlineButtonTypeSwitchInline(query="cats"))]),
    ])
    here = text.index("here")
    entities = [types.MessageEntityTextUrl(offset=here + 1, length=4, url="https://t.me/hiddenlinkbot?start=x9"),
                types.MessageEntityMentionName(offset=len("Try it 👋 here and ask ") + 1, length=5, user_id=7002)]
    msg = message(100, 5, text, via_bot_id=7001, reply_markup=markup, entities=entities, forwards=3,
                  replies=types.MessageReplies(replies=4, replies_pts=1),
                  restriction_reason=[types.RestrictionReason("android", "porn", "not shown")],
                  fwd_from=types.MessageFwdHeader(date=START, from_name="Hidden Person"),
                  reactions=types.MessageReactions(results=[
                      types.ReactionCount(reaction=types.ReactionEmoji("👍"), count=7),
                      types.ReactionCount(reaction=types.ReactionCustomEmoji(document_id=55), count=2)]),
                  media=types.MessageMediaPhoto(photo=photo(901)))
    client = FakeTelegram()
    msg._finish_init(client, {7001: helper, 7002: named}, None)  # what Telethon's iterator does
    post = map_message(msg, "Sample_News", {7002: named})  # mentioned users: from the collector's entity cache
    assert post.via_bot == "stickerhelperbot" and post.extra["via_bot_id"] == 7001
    assert [(b.kind, b.url, b.data) for b in post.buttons] == [
        ("url", "https://t.me/stickerhelperbot?start=ref123abc", None),
        ("callback", None, base64.b64encode(b"vote:1").decode()),
        ("web_app", "https://app.example.org/m", None),
        ("switch_inline", None, "cats")]
    assert post.links == ["https://t.me/hiddenlinkbot?start=x9"]  # hidden behind the word "here"
    assert post.extra["text_links"] == [["here", "https://t.me/hiddenlinkbot?start=x9"]]  # UTF-16 offsets
    assert post.extra["mention_names"] == [{"text": "Named", "user_id": 7002, "username": "namedbot"}]
    assert "namedbot" in post.mentions
    assert post.forwarded_from.name == "Hidden Person" and post.forwarded_from.channel is None
    assert [(r.emoji, r.count) for r in post.reactions] == [("👍", 7), ("custom:55", 2)]
    assert post.extra["restriction_reason"][0]["platform"] == "android"
    assert post.extra["forwards"] == 3 and post.extra["replies"] == 4
    assert post.media[0].kind == "photo" and post.media[0].url.startswith("tg://sample_news/5?media=photo")
    refs = {(r.username, r.how, r.param) for r in bot_refs(post)}
    assert {("stickerhelperbot", "via", None), ("stickerhelperbot", "button", "ref123abc"),
            ("hiddenlinkbot", "deep_link", "x9"), ("namedbot", "mention", None)} <= refs


def test_old_layer_button_classes_map_too():
    """Older Telethon layers name buttons KeyboardButtonUrl/Callback...: mapped by name, same kinds."""
    class KeyboardButtonCallback:  # the shape older layers have: text and data on the button
        def __init__(self, text, data):
            self.text, self.data = text, data

    class Row:
        def __init__(self, buttons):
            self.buttons = buttons

    class Markup:
        rows = [Row([KeyboardButtonCallback("Go", b"x")])]

    from crawler.telethon.mapping import _buttons

    assert [(b.kind, b.data) for b in _buttons(Markup())] == [("callback", "eA==")]


def test_bot_profile_from_full_user():
    user = bot(7001, "StickerHelperBot", "Sticker Helper")
    user.usernames = [types.Username("StickerHelperBot", active=True), types.Username("oldhelperbot")]
    user.scam = True
    full = tl_users.UserFull(
        full_user=types.UserFull(id=7001, settings=types.PeerSettings(), notify_settings=types.PeerNotifySettings(),
                                 common_chats_count=0, about="Makes stickers",
                                 bot_info=types.BotInfo(user_id=7001, description="Send a picture, get a sticker",
                                                        commands=[types.BotCommand("start", "begin")])),
        chats=[], users=[user])
    p = bot_profile(full)
    assert p["username"] == "stickerhelperbot" and p["bot"] and p["scam"]
    assert p["description"] == "Send a picture, get a sticker" and p["about"] == "Makes stickers"
    assert p["commands"] == [{"command": "start", "description": "begin"}]
    assert p["bot_active_users"] == 1200 and p["bot_info_version"] == 3
    assert p["usernames"] == ["stickerhelperbot", "oldhelperbot"]
