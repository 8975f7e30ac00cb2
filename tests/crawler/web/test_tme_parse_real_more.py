"""More real t.me pages for crawler.web.tme_parse: message blocks cut from laconicman/telegram-kb's fixtures.

These are ``t.me/<channel>/<id>?embed=1`` widget pages (see tests/fixtures/tme_preview/SOURCES.txt,
telegramkb/): one ``.tgme_widget_message`` block each, without the ``_wrap`` around it that t.me/s
pages have. Every value asserted here was read off the HTML by eye.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from store.records import Reaction, Reply
from crawler.web.tme_parse import parse_channel_page

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tme_preview" / "telegramkb"


def only_post(name: str):
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"fixture {path} is missing")
    page = parse_channel_page(path.read_bytes())
    assert page.channel is None  # an embed block has no channel header
    assert page.before is None and not page.no_posts and page.problems == []
    assert len(page.posts) == 1, name
    return page.posts[0]


def test_iosdev_598_reply():
    post = only_post("iosdev_598_reply_embed_block.html")
    assert (post.channel, post.id) == ("iosdev", 598)
    assert post.date == "2022-09-07T18:31:21+00:00"
    assert post.views == 2400  # "2.4K"
    assert post.channel_id == 1181264642  # data-view "c":-1181264642 (also data-peer c1181264642_...)
    # the body, not the quoted text of the reply (which is also a .tgme_widget_message_text)
    assert post.text == (
        "Новый термин для чёлки, простите, выемки сверху\n\n"
        "Dynamic Island — фиксируем, запоминаем, ждём описания, можно ли с этим работать.\n\n"
        "@iOS Dev"
    )
    assert post.links == ["https://t.me/+ajof-VO5Sr5kNDMy"]  # an invite link: no mention
    assert post.mentions == []  # "@iOS" is too short to be a username
    assert post.reply_to == Reply(
        channel="iosdev", post=593, author="iOS Dev",
        text="Новые крутые анимации у чёлочки!  Ох, чувствую, надо ждать нового API для работы.  "
             "Посмотрим, на каком левеле будет доступна кастомизация (и будет ли в целом).  @iOS Dev",
    )
    assert post.media == []  # the reply thumbnail belongs to the quoted post
    assert post.forwarded_from is None and post.author is None and not post.edited
    assert not post.unsupported
    assert post.reactions == [
        Reaction("🔥", 25), Reaction("👍", 5), Reaction("😁", 3), Reaction("⚡", 2),
        Reaction("❤\u200d🔥", 1), Reaction("👏", 1),
    ]


def test_iosdev_599_poll():
    post = only_post("iosdev_599_poll_embed_block.html")
    assert (post.channel, post.id) == ("iosdev", 599)
    assert post.date == "2022-09-07T18:38:23+00:00"
    assert post.views == 2470  # "2.47K"
    assert post.channel_id == 1181264642
    assert post.text == "" and post.media == []
    assert post.poll is not None
    assert post.poll.question == "Хотели бы что-то изменить в своём наборе гаджетов от Apple?"
    assert post.poll.kind == "anonymous poll"
    assert post.poll.options == [
        ("Apple Watch Series 8", None), ("Apple Watch Ultra", None),
        ("AirPods Pro (2nd generation)", None), ("iPhone 14", None), ("iPhone 14 Pro", None),
        ("Оставлю всё как есть", None),
    ]  # no percentages are shown before one votes
    assert [r.count for r in post.reactions] == [9, 4, 3, 2, 1]
    assert post.reactions[0] == Reaction("👍", 9)


def test_iosdev_599_poll_votes_embed_layout():
    post = only_post("iosdev_599_poll_embed_block.html")
    assert post.poll is not None and post.poll.votes == 746


def test_iosgr_3996_forward_without_link():
    post = only_post("iosgr_3996_forward_embed_block.html")
    assert (post.channel, post.id) == ("iosgr", 3996)
    assert post.date == "2024-05-06T11:01:59+00:00"
    assert post.views == 5190  # "5.19K"
    assert post.channel_id == 1076035790
    assert post.author == "Egor Tolstoy"  # signature in the meta, before the date
    # the source is a bare <span>: a name, nothing to follow
    fwd = post.forwarded_from
    assert fwd is not None
    assert fwd.name == "Код Воробья для iOS разработчиков"
    assert (fwd.channel, fwd.post, fwd.url) == (None, None, None)
    # custom emoji (<tg-emoji>) read as their fallback emoji characters
    assert post.text == "Apple выкатила много новых дизайн-шаблонов в своем профиле для 🎨 Figma\n\nДля 💎 пока нету"
    assert post.links == ["https://www.figma.com/@apple"]
    assert post.mentions == []
    assert [item.kind for item in post.media] == ["photo"]
    assert post.media[0].url.startswith("https://cdn4.telesco.pe/file/AFFW4tWmgZxK7HZ71F9ixKau7Cwj_")
    assert post.media[0].url.endswith("_m4kww.jpg")
    assert post.media[0].post_id is None  # not an album item
    # the "Please open Telegram" box here is the media_not_supported_cont fallback, not a gap
    assert not post.unsupported
    assert post.reply_to is None and post.poll is None and post.link_preview is None
    assert post.reactions == [
        Reaction("👍", 30), Reaction("💅", 9), Reaction("❤", 4), Reaction("🔥", 3), Reaction("👎", 1),
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.html")))
def test_blocks_parse_as_wrapped_pages_too(name):
    """The same block inside the _wrap a t.me/s page puts around it reads the same."""
    block = (FIXTURES / name).read_text(encoding="utf-8")
    alone = only_post(name)
    wrapped = parse_channel_page(
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">' + block + "</div>")
    assert [p.to_dict() for p in wrapped.posts] == [alone.to_dict()]
