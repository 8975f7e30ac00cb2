from store.refs import ChannelRef, channel_refs
from store.records import Button, Forward, Post
from store.refs import BotRef, bot_refs


def make(**kw) -> Post:
    return Post(channel="hub", id=7, date=None, **kw)


def test_every_kind_of_bot_reference_is_found_once():
    post = make(
        via_bot="InlineHelperBot",
        mentions=["faceswap_bot", "friendly_channel"],
        links=["https://t.me/faceswap_bot", "https://t.me/mirror2_bot?start=ref_77", "https://t.me/app_bot?startapp=a1",
               "https://example.com/x"],
        buttons=[Button("Try it", "https://t.me/faceswap_bot?start=ref_77"), Button("Site", "https://example.com")],
    )
    assert bot_refs(post) == [
        BotRef("inlinehelperbot", "via"),
        BotRef("faceswap_bot", "mention"),
        BotRef("faceswap_bot", "link"),
        BotRef("mirror2_bot", "deep_link", "ref_77"),
        BotRef("app_bot", "deep_link", "a1"),
        BotRef("faceswap_bot", "button", "ref_77"),
    ]


def test_channel_refs_skip_bots_and_self():
    post = make(forwarded_from=Forward(channel="Origin", post=3, name="Origin"),
                links=["https://t.me/other_news/5", "https://t.me/hub/1", "https://t.me/x_bot"],
                mentions=["other_news", "third_chan", "some_bot"])
    assert channel_refs(post) == [ChannelRef("origin", "forward", 3), ChannelRef("other_news", "link", 5),
                                  ChannelRef("third_chan", "mention")]
    assert channel_refs(make(forwarded_from=Forward(name="Hidden person"))) == []
