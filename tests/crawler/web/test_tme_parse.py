"""Tests for crawler.web.tme_parse against real t.me pages (tests/fixtures/tme_preview).

Every fixture page and fragment is parsed; the values asserted are read from the fixtures
(or from the expected results other projects' parsers publish for them). Where those
parsers' semantics differ from ours the test says why and asserts ours.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import pytest

from store.records import ChannelPage, EntityPage, Forward, Poll, Reaction, Reply
from crawler.web.tme_parse import parse_channel_page, parse_entity_page

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tme_preview"

# Inner fragments of a message (no .tgme_widget_message around them); tests wrap them.
INNER_FRAGMENTS = {
    "any2feed/link_preview.html", "any2feed/link_preview_video.html",
    "any2feed/media_cicrle_video.html", "any2feed/media_photo.html", "any2feed/media_video.html",
    "any2feed/media_video_gif.html", "any2feed/media_video_too_big.html", "any2feed/poll.html",
}
# Fixtures that are not message blocks at all.
NO_POSTS = {"tchan/channel_info.html", "tchan/parse_no_posts_found.html"}


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"fixture {path} is missing")
    return path.read_bytes()


def all_html_fixtures() -> list[str]:
    return sorted(str(path.relative_to(FIXTURES)) for path in FIXTURES.rglob("*.html"))


def wrap(inner: bytes | str, post: str = "frag/1") -> str:
    """An inner fragment inside the message block it was cut from."""
    if isinstance(inner, bytes):
        inner = inner.decode("utf-8")
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        '<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
        f'data-post="{post}">'
        f'<div class="tgme_widget_message_bubble">{inner}</div></div></div>'
    )


def only_post(name: str):
    page = parse_channel_page(fixture(name))
    assert len(page.posts) == 1, name
    return page.posts[0]


def kinds(post) -> list[str]:
    return [item.kind for item in post.media]


# ---------------------------------------------------------------------------------------------
# every fixture


def test_fixture_set_is_complete():
    names = all_html_fixtures()
    assert len(names) == 60  # any2feed 21, feedjam 1, hortay 2, infoscape 1, tchan 32, telegramkb 3
    assert INNER_FRAGMENTS <= set(names) and NO_POSTS <= set(names)


@pytest.mark.parametrize("name", all_html_fixtures())
def test_every_fixture_parses(name):
    for data in (fixture(name), fixture(name).decode("utf-8")):  # bytes and str alike
        page = parse_channel_page(data)
        assert isinstance(page, ChannelPage)
        if name in INNER_FRAGMENTS:
            assert page.posts == []
            page = parse_channel_page(wrap(data))
            assert [post.id for post in page.posts] == [1]
            assert page.posts[0].media or page.posts[0].link_preview or page.posts[0].poll
        elif name in NO_POSTS:
            assert page.posts == []
        else:
            assert page.posts, name
        for post in page.posts:
            assert post.id > 0 and post.channel and post.channel == post.channel.lower()
            assert post.source == "web"
            if post.date is not None:
                assert datetime.fromisoformat(post.date).tzinfo is not None
            for item in post.media:
                for url in (item.url, item.thumb_url):
                    assert url is None or url.startswith(("https://", "http://"))
            json.dumps(post.to_dict(), ensure_ascii=False)  # JSON-friendly


# ---------------------------------------------------------------------------------------------
# tchan's snippets and expected results

TCHAN = json.loads((FIXTURES / "tchan" / "expected_parse_results.json").read_bytes())
TCHAN_MESSAGES = sorted(
    name for name, value in TCHAN.items() if isinstance(value, dict) and "id" in value)

# Texts where tchan's text semantics differ from ours; ours keep the page's line breaks
# (one per <br>) and its spaces, tchan strips around inline elements, collapses repeated
# <br>s and puts every link or emoji on a line of its own.
OUR_TEXT = {
    # "<a>name 👍</a> pinned «...»": tchan glues the parts without their spaces.
    "parse_service_message_pinned": "tchan's test channel 👍 pinned «Going to pin this message»",
    # "link<br/><br/><a>": two <br>, two newlines.
    "parse_text_message_link_no_preview": "This is a message with a link\n\nhttps://brasil.io/",
    # "link with preview <a>": a space in the page, not a line break.
    "parse_text_message_link_with_right_preview": "link with preview https://python.org/",
}


def test_tchan_expected_results_cover_all_messages():
    assert len(TCHAN_MESSAGES) == 30


@pytest.mark.parametrize("name", TCHAN_MESSAGES)
def test_tchan_messages(name):
    expected = TCHAN[name]
    post = only_post(f"tchan/{name}.html")
    assert post.id == expected["id"]
    assert post.date == expected["created_at"]
    assert post.channel == expected["channel"].lower()  # we keep usernames lower case
    assert post.author == expected["author"]
    assert post.edited == expected["edited"]
    assert post.views == expected["views"]

    # tchan's "service" type is our Post.service (Post.text stays empty for those).
    text = post.service if expected["type"] == "service" else post.text
    assert (post.service is not None) == (expected["type"] == "service")
    if name in OUR_TEXT:
        assert text == OUR_TEXT[name]
    elif name == "parse_message_weird_preview":
        pass  # checked line by line in test_tchan_weird_preview_text
    else:
        assert text == (expected["text"] or "")  # tchan's None is our empty text

    if "forwarded_author" in expected:
        assert post.forwarded_from == Forward(
            channel="some_user", post=None, name=expected["forwarded_author"],
            url=expected["forwarded_author_url"])
    else:
        assert post.forwarded_from is None
    if "reply_to_id" in expected:
        assert post.reply_to.post == expected["reply_to_id"]
    if "preview_url" in expected:
        preview = post.link_preview
        assert preview.url == expected["preview_url"]
        assert preview.image_url == expected["preview_image_url"]
        assert preview.site_name == expected["preview_site_name"]
        assert preview.title == expected["preview_title"]
        assert preview.description == expected["preview_description"]
    else:
        assert post.link_preview is None

    check_tchan_urls(post, expected["urls"])


def check_tchan_urls(post, urls: list[list[str]]) -> None:
    """tchan's [type, url] pairs, each found where our records keep it."""
    media_urls = {item.url for item in post.media}
    thumbs = {item.thumb_url for item in post.media}
    for kind, url in urls:
        if kind == "photo" and "telegram.org/img/emoji/" in url:
            # tchan lists emoji images as photos; for us they are characters of the text
            assert post.text, url
        elif kind in ("photo", "video", "round-video", "audio"):
            assert url in media_urls, (kind, url)
        elif kind in ("thumbnail-video", "thumbnail-roundvideo"):
            assert url in thumbs, (kind, url)
        elif kind == "thumbnail-reply":
            assert post.reply_to is not None  # Reply keeps no thumbnail; the reply is there
        elif kind == "link" and "?q=%23" in url:
            # hashtag search links are hashtags for us, not links
            assert unquote(url.split("?q=%23", 1)[1]) in post.hashtags
            assert url not in post.links
        elif kind == "link" and url.startswith("https://maps.google.com/"):
            assert post.media[0].kind == "location" and post.media[0].url == url
        elif kind == "link":
            assert url in post.links, url
        else:
            raise AssertionError(f"unmapped tchan url type {kind}")
    # and the other way round: every photo/video/voice url we found, tchan found too
    tchan_urls = {url for _, url in urls}
    for item in post.media:
        if item.kind in ("photo", "video", "round_video", "voice", "sticker") and item.url:
            assert item.url in tchan_urls, item


def test_tchan_weird_preview_text():
    post = only_post("tchan/parse_message_weird_preview.html")
    lines = post.text.split("\n")
    assert lines[:3] == ["_", "", "✍️ CÂMARA APROVA"]
    assert "🔸 Projeto que aumenta penas para crimes sexuais contra crianças" in lines
    assert "🗳 Opine sobre esta proposta clicando aqui!" in lines
    assert "🔸Proposta que susta resoluções da Aneel sobre tarifas de transmissão." in lines
    assert lines[-1] == "____"
    assert post.hashtags == ["Punição_ampliada", "Poda_de_árvores", "Tarifas_de_transmissão"]
    assert post.links == [
        "http://bit.ly/3Tq1C4G", "http://bit.ly/3PCX1vn", "http://bit.ly/3tkdScB",
        "http://bit.ly/3A1c4c4", "http://bit.ly/3A3EoKS", "http://bit.ly/3zWxOpw",
        "https://bit.ly/2UBmLNC",
    ]
    assert post.edited and post.views == 1200 and post.channel_id == 1133150112


def test_tchan_channel_info():
    expected = TCHAN["channel_info"]
    page = parse_channel_page(fixture("tchan/channel_info.html"))
    info = page.channel
    assert info.username == expected["username"]
    assert info.title == expected["title"]
    assert info.description == expected["description"]
    assert info.photo_url == expected["image_url"]
    assert info.counters == {
        "subscribers": expected["subscribers"], "photos": expected["photos"],
        "videos": expected["videos"], "links": expected["links"],
    }


def test_tchan_no_posts_found():
    assert TCHAN["parse_no_posts_found"] == []
    page = parse_channel_page(fixture("tchan/parse_no_posts_found.html"))
    assert page.no_posts and page.posts == [] and page.before is None


def test_tchan_media_details():
    post = only_post("tchan/parse_multimedia_message.html")
    assert [(item.kind, item.post_id, item.duration) for item in post.media] == [
        ("video", 84, 27), ("photo", 85, None), ("video", 86, 8), ("photo", 87, None)]
    big = only_post("tchan/parse_video_big.html").media
    assert [(item.kind, item.url, item.too_big, item.duration) for item in big] == [
        ("video", None, True, 52)]
    assert only_post("tchan/parse_round_video_single.html").media[0].duration == 5
    voice = only_post("tchan/parse_audio_message.html").media
    assert [(item.kind, item.duration) for item in voice] == [("voice", 1)]
    document = only_post("tchan/parse_audio_document.html").media
    assert [(item.kind, item.title) for item in document] == [("audio", "AUD-20130329-WA0000")]
    sticker = only_post("tchan/parse_sticker_message.html")
    assert sticker.sticker and kinds(sticker) == ["sticker"]
    assert not sticker.unsupported  # the "not supported in your browser" fallback is not it
    location = only_post("tchan/parse_location_message.html").media[0]
    assert location.thumb_url.startswith("https://static-maps.yandex.ru/")
    poll = only_post("tchan/parse_poll.html").poll
    assert poll == Poll(question="Let's do a quick poll quizz mode", kind="anonymous quiz",
                        options=[("Opt1", 0), ("Opt2", 0), ("Opt3", 0)], votes=0)
    reply = only_post("tchan/parse_text_reply_to_video.html").reply_to
    assert reply == Reply(channel="tchantest", post=19, author="tchan's test channel 👍",
                          text="Video")
    service = only_post("tchan/parse_service_message_channel_photo_updated.html")
    assert service.service == "Channel photo updated" and kinds(service) == ["photo"]
    assert only_post("tchan/parse_emoji_message.html").text == "👍"
    assert only_post("tchan/parse_unsigned_text_message.html").channel_id == 1591537674


# ---------------------------------------------------------------------------------------------
# infoscape: a full page and that project's canon parse


def test_infoscape_canon_posts():
    canon = json.loads(fixture("infoscape/infoscape_test_canon_posts.json"))
    page = parse_channel_page(fixture("infoscape/infoscape_test_page.html"))
    posts = {post.id: post for post in page.posts}
    assert sorted(posts) == [1, 2, 3, 4, 5, 7]
    assert len(canon) == len(posts)
    for entry in canon:
        channel, post_id = entry["link"].removeprefix("https://t.me/").split("/")
        post = posts[int(post_id)]
        assert post.channel == entry["source_id"] == channel
        assert datetime.fromisoformat(post.date).timestamp() == entry["timestamp"]
        # infoscape's "heading" is the plain text (service text for the service post)
        assert (post.service or post.text) == entry["heading"]
        # its "text" appends the photo as <img> and quotes the replied-to text
        if "<img" in entry["text"]:
            src = entry["text"].split('<img src="', 1)[1].split('"', 1)[0]
            assert [item.url for item in post.media] == [src]
        if "\n\n> " in entry["text"]:
            assert post.reply_to.text == entry["text"].split("\n\n> ", 1)[1]
    assert posts[1].service == "Channel created" and posts[1].text == ""
    assert posts[4].links == ["https://yandex.ru/"]
    assert posts[4].link_preview.site_name == "Яндекс"
    assert posts[4].link_preview.description == "Найдётся всё"
    assert posts[4].link_preview.image_url == posts[4].media[0].url
    assert [(item.kind, item.title) for item in posts[5].media] == [
        ("document", "2022-05-24 22.09.34.jpg")]
    assert posts[7].reply_to == Reply(channel="infoscape_test", post=2, author="infoscape_test",
                                      text="простое сообщение")
    assert page.channel.username == "infoscape_test"
    assert page.channel.counters == {"subscribers": 1, "photos": 1, "files": 1, "links": 1}
    assert {post.channel_id for post in page.posts} == {1523057384}


# ---------------------------------------------------------------------------------------------
# full pages


def test_any2feed_full_page():
    page = parse_channel_page(fixture("any2feed/full.html"))
    # SOURCES.txt says 20 posts; the captured file holds 12 message blocks.
    assert [post.id for post in page.posts] == [
        70989, 70990, 70992, 70995, 70996, 70997, 70998, 70999, 71000, 71006, 71007, 71008]
    assert {post.channel for post in page.posts} == {"topwar_official"}
    assert page.before == 70989 and not page.no_posts
    info = page.channel
    assert info.username == "topwar_official" and info.title == "Военное обозрение"
    assert not info.verified
    assert info.counters == {"subscribers": 109_000, "photos": 19_600, "videos": 15_400,
                             "files": 8, "links": 28_600}
    assert info.description.startswith("Официальный канал сайта topwar.ru\n\n")
    assert "@topwar_feedlback_bot" in info.description
    assert info.photo_url.startswith("https://cdn4.telegram-cdn.org/file/")

    posts = {post.id: post for post in page.posts}
    assert posts[70989].date == "2023-02-28T07:47:53+00:00" and posts[70989].views == 37_200
    album = posts[70992].media
    assert [(item.kind, item.post_id) for item in album] == [
        ("photo", 70992), ("photo", 70993), ("video", 70994)]
    assert album[2].duration == 16 and album[2].thumb_url
    assert album[2].url.startswith("https://cdn4.telegram-cdn.org/file/ee2e53dc9f.mp4?token=")
    assert [item.post_id for item in posts[71000].media] == list(range(71000, 71006))
    assert posts[70996].forwarded_from == Forward(
        channel="yaremshooter", post=1066, name="Военкор Ярем",
        url="https://t.me/yaremshooter/1066")
    assert posts[70996].links == ["https://t.me/infantmilitario/93419", "https://t.me/yaremshooter"]
    assert posts[70996].mentions == ["infantmilitario", "yaremshooter"]
    assert posts[70996].link_preview.url == "http://t.me/infantmilitario/93419"
    assert posts[70996].link_preview.title == "Милитарист"
    assert [(item.kind, item.too_big, item.url, item.duration) for item in posts[71006].media] == [
        ("video", True, None, 177)]
    assert posts[71006].forwarded_from.channel == "vysokygovorit"
    assert posts[71008].media[0].too_big is False and posts[71008].media[0].duration == 17
    assert not any(post.unsupported for post in page.posts)
    assert {post.channel_id for post in page.posts} == {1084368520}


def test_hortay_telegram_page():
    page = parse_channel_page(fixture("hortay/telegram-real.html"))
    ids = [post.id for post in page.posts]
    assert ids == [n for n in range(419, 440) if n != 434]
    assert len(ids) == 20
    info = page.channel
    assert info.username == "telegram" and info.title == "Telegram News" and info.verified
    assert info.counters == {"subscribers": 10_700_000, "photos": 13, "videos": 214,
                             "links": 357}
    assert info.description == (
        "The official Telegram on Telegram. Much recursion. Very Telegram. Wow.")
    assert page.before == 419
    posts = {post.id: post for post in page.posts}
    assert {n for n, post in posts.items() if post.edited} == {427, 429, 430, 431, 432, 433, 439}
    # "Please open Telegram to view this post" on 423, 424 and 430 sits in media_not_supported_cont, the
    # fallback old browsers show instead of media_supported_cont: the posts themselves are all there
    assert not any(post.unsupported for post in posts.values())
    assert {post.channel_id for post in page.posts} == {1005640892}  # data-view c=-1005640892
    assert posts[419].views == 2_380_000 and posts[435].views == 838_000
    assert posts[419].date == "2025-12-15T08:21:52+00:00"
    assert kinds(posts[419]) == ["photo"]
    assert [(item.kind, item.duration) for item in posts[421].media] == [("video", 6)]
    assert posts[421].media[0].url.startswith("https://cdn1.telesco.pe/file/042af6c2a6.mp4?token=")
    assert posts[421].mentions == ["durov", "telegram"]
    assert posts[430].text.startswith("⭐️ Disable Sharing in Private Chats.")  # tg-emoji
    assert "tg://settings/premium" in posts[430].links
    assert posts[420].link_preview.title == "Passkeys, Gift Purchase Offers and More"
    assert posts[420].link_preview.url == "https://telegram.org/blog/passkeys-and-gift-offers"
    assert kinds(posts[420]) == ["link_preview_photo"]
    assert posts[420].text.endswith("December Features\n1 • 2 • 3 • More")
    assert all(post.reactions == [] for post in page.posts)  # reactions are off in @telegram


def test_hortay_durov_reactions():
    page = parse_channel_page(fixture("hortay/durov-real_posts_486-487.html"))
    first, second = page.posts
    assert (first.id, second.id) == (486, 487)
    assert first.reactions == [
        Reaction("paid", 21_700), Reaction("custom:5472404692975753822", 113_000),
        Reaction("custom:5265077361648368841", 28_400),
        Reaction("custom:5447193685919811994", 17_900),
        Reaction("custom:5314647211299067950", 7_940),
    ]
    assert second.reactions[0] == Reaction("paid", 17_700)
    assert second.reactions[2] == Reaction("custom:5472404692975753822", 25_000)
    assert first.author == second.author == "Pavel Durov"
    assert first.channel_id == second.channel_id == 1006503122  # data-view c=-1006503122
    assert first.views == 3_080_000 and second.views == 2_270_000
    assert first.date == "2026-04-11T12:44:51+00:00"
    assert not first.unsupported and not second.unsupported  # the box is the custom-emoji fallback
    assert first.text.startswith("🔐 We’ve upgraded Telegram’s anti-censorship protocol.")
    assert page.channel is None and page.before is None  # a cut-out pair of posts


def test_feedjam_page():
    page = parse_channel_page(fixture("feedjam/feedjam_page_example.html"))
    assert [post.id for post in page.posts] == [1, 2, 3, 4, 5, 6, 7]
    assert page.before is None  # the channel's first page: no "load older" link
    assert page.channel.counters == {"subscribers": 1, "photos": 1}
    assert page.channel.photo_url is None  # an inline svg placeholder, nothing to fetch
    assert page.channel.description == "feedjam test"
    first = page.posts[0]
    assert first.service == "Channel created" and first.views is None
    assert page.posts[1].text == "what’s upp"
    assert kinds(page.posts[2]) == ["photo"]
    assert page.posts[5].text.startswith(
        "The standard Lorem Ipsum passage, used since the 1500s\n\"Lorem ipsum dolor sit amet")
    assert {post.channel_id for post in page.posts} == {1922921053}


# ---------------------------------------------------------------------------------------------
# any2feed message blocks and inner fragments


def test_any2feed_messages():
    post = only_post("any2feed/message_text.html")
    assert post.id == 70991 and post.views == 33_400
    assert post.text.startswith(
        "Неопознанный летающий объект замечен в 160 – 200 км от Петербурга\n\nПо данным")
    assert "\n " not in post.text and "  " not in post.text  # source indentation is gone

    post = only_post("any2feed/message_link_preview.html")
    assert post.link_preview.url == "https://vnnews.ru/georgiy-zotov-okkupaciya-volosatym-kr/"
    assert post.link_preview.site_name == "Ваши новости — интернет-газета"
    assert post.link_preview.description.endswith("Выглядит сие довольно жалко…")
    assert kinds(post) == ["link_preview_photo"]

    post = only_post("any2feed/message_link_preview_text_only.html")
    assert post.link_preview.image_url is None and kinds(post) == []
    assert post.link_preview.description == (
        "Распоряжение Президента Российской Федерации от 27.02.2023 № 59-рп\n\"О поощрении\"")
    assert post.links == [
        "http://publication.pravo.gov.ru/Document/View/0001202302270011?index=7&rangeSize=1"]

    post = only_post("any2feed/message_link_preview_video.html")
    assert post.edited and post.text == "Жениться вам, барин, пора! 😁\n\nhttps://t.me/shalnyak/5410"
    assert post.mentions == ["shalnyak"]
    assert post.link_preview.title == "Shalnyak"
    assert post.link_preview.image_url.startswith("https://cdn4.telegram-cdn.org/file/RJ8QZu8B")

    post = only_post("any2feed/message_media_file.html")
    assert [(item.kind, item.title) for item in post.media] == [
        ("document", "Оппозиционные медиапроекты.pdf")]
    assert post.forwarded_from == Forward(
        channel="kremlinprachka", post=20294, name="Кремлёвская прачка",
        url="https://t.me/kremlinprachka/20294")

    post = only_post("any2feed/message_media_forwarded_from.html")
    assert (post.forwarded_from.channel, post.forwarded_from.post) == ("dimsmirnov175", 44604)
    assert kinds(post) == ["photo"] and post.media[0].post_id is None

    post = only_post("any2feed/message_media_photo_and_video.html")
    assert [(item.kind, item.post_id) for item in post.media] == [
        ("video", 46908), ("photo", 46909), ("photo", 46910)]
    assert post.hashtags == ["Белгород", "Беспилотники"]
    assert post.mentions == ["anna_news"] and post.links == ["https://t.me/anna_news"]
    assert post.text.startswith("Ночью над Белгородом сбили 3 беспилотника\n\n")

    post = only_post("any2feed/message_media_round_video.html")
    assert [(item.kind, item.duration) for item in post.media] == [("round_video", 44)]
    assert post.media[0].url and post.media[0].thumb_url and not post.unsupported

    post = only_post("any2feed/message_poll.html")
    assert post.poll == Poll(
        question="Как лучше?", kind="anonymous poll", votes=222,
        options=[("Несколько постов в день", 16), ("Один пост в несколько дней", 83),
                 ("Свой вариант в комментарии", 3)])
    assert post.views == 1_100

    post = only_post("any2feed/message_sticker.html")
    assert post.sticker and [(item.kind, item.url) for item in post.media] == [
        ("sticker", "https://cdn4.telegram-cdn.org/file/sticker.tgs?token=H..G")]
    assert post.author == "🅰️User"

    post = only_post("any2feed/message_voice.html")
    assert [(item.kind, item.duration) for item in post.media] == [("voice", 27 * 60 + 40)]
    assert post.forwarded_from == Forward(name="Спортивный Екб")  # a hidden source
    assert post.mentions == ["kakberadio", "kakberadiobot"]
    assert post.text.split("\n")[:3] == ["Обсудили:", "", "- Сталина не забыть"]

    post = only_post("any2feed/message_with_from_author.html")
    assert post.author == "🅰️rkadiy Ivanov" and post.text == "test" and post.views == 1


@pytest.mark.parametrize("name, expected", [
    ("media_photo.html", [("photo", None)]),
    ("media_video.html", [("video", 34)]),
    ("media_video_gif.html", [("gif", None)]),
    ("media_cicrle_video.html", [("round_video", 57)]),
    ("media_video_too_big.html", [("video", 69)]),
    ("link_preview.html", [("link_preview_photo", None)]),
    ("link_preview_video.html", [("link_preview_photo", None)]),
    ("poll.html", []),
])
def test_any2feed_inner_fragments(name, expected):
    post = parse_channel_page(wrap(fixture(f"any2feed/{name}"))).posts[0]
    assert [(item.kind, item.duration) for item in post.media] == expected
    for item in post.media:
        assert item.url or item.too_big
        assert item.too_big == (name == "media_video_too_big.html")
        if item.kind in ("video", "gif", "round_video"):
            assert item.thumb_url.startswith("https://cdn4.telegram-cdn.org/file/")
    if name.startswith("link_preview"):
        assert post.link_preview.site_name
    if name == "poll.html":
        assert post.poll.question == "Как лучше?" and len(post.poll.options) == 3


# ---------------------------------------------------------------------------------------------
# synthetic posts for what no fixture shows


def message(inner: str, post: str = "examplechan/7", classes: str = "", view: str = "") -> str:
    data_view = f' data-view="{view}"' if view else ""
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap {classes} js-widget_message" '
        f'data-post="{post}"{data_view}><div class="tgme_widget_message_bubble">{inner}'
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        '<div class="tgme_widget_message_info short js-message_info">'
        '<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" '
        f'href="https://t.me/{post}"><time datetime="2026-01-02T03:04:05+00:00" class="time">'
        "03:04</time></a></span></div></div></div></div></div>"
    )


def text_block(html: str) -> str:
    return f'<div class="tgme_widget_message_text js-message_text" dir="auto">{html}</div>'


def test_links_mentions_hashtags():
    html = message(text_block(
        'Try <a href="https://t.me/Example_ImageBot?start=ref42">this</a>, '
        '<a href="https://t.me/s/otherchan">preview</a> '
        '<a href="https://t.me/joinchat/AbCdEf123">join</a> '
        '<a href="https://t.me/+AbCdEf123">invite</a> '
        '<a href="https://t.me/c/1234567890/55">private</a> '
        '<a href="https://t.me/newsroom/123">post</a> '
        '<a href="tg://resolve?domain=Helper_Bot">app</a> '
        '<a href="https://durovnews.t.me/">sub</a> '
        '<a href="https://t.me/addstickers/SomePack">pack</a> '
        '<a href="https://example.org/a?b=1&amp;c=2">site</a> '
        '<a href="https://example.org/a?b=1&amp;c=2">again</a> '
        '<a href="https://www.google.com/search?q=%23notours">search</a> '
        '<a href="?q=%23Sample_Tag">#Sample_Tag</a> <a href="?q=%24USD">$USD</a><br/>'
        'write to @Plain_Mention or mail someone@example.org'))
    post = parse_channel_page(html).posts[0]
    assert post.links == [
        "https://t.me/Example_ImageBot?start=ref42", "https://t.me/s/otherchan",
        "https://t.me/joinchat/AbCdEf123", "https://t.me/+AbCdEf123",
        "https://t.me/c/1234567890/55", "https://t.me/newsroom/123",
        "tg://resolve?domain=Helper_Bot", "https://durovnews.t.me/",
        "https://t.me/addstickers/SomePack", "https://example.org/a?b=1&c=2",
        "https://www.google.com/search?q=%23notours",
    ]
    assert post.mentions == [
        "example_imagebot", "newsroom", "helper_bot", "durovnews", "plain_mention"]
    assert post.hashtags == ["Sample_Tag"]
    assert post.text.endswith("#Sample_Tag $USD\nwrite to @Plain_Mention or mail "
                              "someone@example.org")


def test_via_bot_buttons_and_reply_via_bot():
    html = message(
        '<div class="tgme_widget_message_author accent_color">'
        '<a class="tgme_widget_message_owner_name" href="https://t.me/examplechan">'
        '<span dir="auto">Example</span></a>&nbsp;via&nbsp;'
        '<a class="tgme_widget_message_via_bot" href="https://t.me/ExampleInlineBot">'
        "@ExampleInlineBot</a></div>"
        '<a class="tgme_widget_message_reply" href="https://t.me/examplechan/6">'
        '<div class="tgme_widget_message_author accent_color">'
        '<span class="tgme_widget_message_author_name" dir="auto">Example</span>&nbsp;via&nbsp;'
        '<span class="tgme_widget_message_via_bot">@OtherBot</span></div>'
        '<div class="tgme_widget_message_metatext js-message_reply_text" dir="auto">Earlier</div>'
        "</a>"
        + text_block("Hello")
        + '<div class="tgme_widget_message_inline_keyboard">'
        '<div class="tgme_widget_message_inline_row">'
        '<a class="tgme_widget_message_inline_button url_button" '
        'href="https://t.me/ExampleInlineBot?start=go">'
        '<span class="tgme_widget_message_inline_button_text" dir="auto">Open the bot</span></a>'
        '<a class="tgme_widget_message_inline_button url_button" href="https://example.org/">'
        '<span class="tgme_widget_message_inline_button_text" dir="auto">Site</span></a>'
        "</div></div>")
    post = parse_channel_page(html).posts[0]
    assert post.via_bot == "exampleinlinebot"  # the reply's own via-bot is not ours
    assert post.reply_to == Reply(channel="examplechan", post=6, author="Example", text="Earlier")
    assert [(button.text, button.url, button.kind) for button in post.buttons] == [
        ("Open the bot", "https://t.me/ExampleInlineBot?start=go", "url"),
        ("Site", "https://example.org/", "url"),
    ]
    assert post.text == "Hello" and post.date == "2026-01-02T03:04:05+00:00"


@pytest.mark.parametrize("shown, count", [
    ("7", 7), ("1.2K", 1_200), ("436.6K", 436_600), ("3.1M", 3_100_000), ("1.18M", 1_180_000),
    ("7.94K", 7_940), ("113K", 113_000), ("2B", 2_000_000_000), ("12 345", 12_345),
])
def test_abbreviated_counts(shown, count):
    html = message('<span class="tgme_widget_message_views">' + shown + "</span>"
                   '<div class="tgme_widget_message_reactions js-message_reactions">'
                   '<span class="tgme_reaction"><i class="emoji" style="background-image:'
                   "url('//telegram.org/img/emoji/40/F09F918D.png')\"><b>👍</b></i>"
                   + shown + "</span></div>")
    post = parse_channel_page(html).posts[0]
    assert post.views == count
    assert post.reactions == [Reaction("👍", count)]


def data_view(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("c, expected", [
    (-1005640892, 1005640892),        # what t.me shows: the bare id, negated
    (-1001005640892, 1005640892),     # the Bot API form, should it ever appear
    (1591537674, 1591537674),
])
def test_channel_id_from_data_view(c, expected):
    html = message(text_block("x"), view=data_view({"c": c, "p": 7, "t": 1, "h": "ab"}))
    assert parse_channel_page(html).posts[0].channel_id == expected


def test_too_big_document_and_unsupported_markers():
    html = message(
        '<a class="tgme_widget_message_document_wrap" href="https://t.me/examplechan/7">'
        '<div class="tgme_widget_message_document_icon accent_bg"></div>'
        '<div class="tgme_widget_message_document"><div class="tgme_widget_message_document_title">'
        "big.zip</div></div></a>"
        '<div class="message_media_not_supported_wrap"><div class="message_media_not_supported">'
        '<div class="message_media_not_supported_label">Media is too big</div></div></div>')
    post = parse_channel_page(html).posts[0]
    assert [(item.kind, item.title, item.too_big) for item in post.media] == [
        ("document", "big.zip", False), ("unsupported", None, True)]
    assert not post.unsupported


# ---------------------------------------------------------------------------------------------
# entity pages (t.me/<name>): synthetic pages modelled on t.me's markup


def entity_page(title: str, extra: str | tuple[str, ...] | None, action: str | None,
                preview: str | None = None, description: str = "") -> str:
    parts = [
        '<!DOCTYPE html><html><head><meta property="og:title" content="' + title + '">'
        "<title>Telegram: Contact @someone</title></head><body><div class=\"tgme_page_wrap\">"
        '<div class="tgme_body_wrap"><div class="tgme_page">'
        '<div class="tgme_page_photo"><a href="tg://resolve?domain=someone">'
        '<img class="tgme_page_photo_image" src="https://cdn4.telesco.pe/file/photo.jpg"></a></div>'
        f'<div class="tgme_page_title"><span dir="auto">{title}</span>'
        '<i class="verified-icon"></i></div>'
    ]
    for line in (extra,) if isinstance(extra, str) else extra or ():
        parts.append(f'<div class="tgme_page_extra">\n    {line}\n  </div>')
    if description:
        parts.append(f'<div class="tgme_page_description" dir="auto">{description}</div>')
    if action is not None:
        parts.append('<div class="tgme_page_action"><a class="tgme_action_button_new shine" '
                     f'href="tg://resolve?domain=someone">{action}</a></div>')
    parts.append('<div class="tgme_page_additional">If you have <strong>Telegram</strong>, '
                 "you can contact <br><strong>Someone</strong> right away.</div>")
    if preview is not None:
        parts.append('<div class="tgme_page_context_link_wrap"><a class="tgme_page_context_link" '
                     f'href="/s/{preview}">Preview channel</a></div>')
    parts.append("</div></div></div></body></html>")
    return "".join(parts)


def test_entity_channel():
    page = parse_entity_page(entity_page(
        "Example News", "10 736 432 subscribers", "View in Telegram", preview="examplenews",
        description="Daily news.<br/>Bot: <a href=\"https://t.me/examplehelperbot\">"
                    "@examplehelperbot</a>"), "ExampleNews")
    assert page == EntityPage(
        username="examplenews", kind="channel", title="Example News",
        description="Daily news.\nBot: @examplehelperbot", extra="10 736 432 subscribers",
        photo_url="https://cdn4.telesco.pe/file/photo.jpg", has_preview=True,
        counters={"subscribers": 10_736_432})


def test_entity_channel_without_counter_but_preview():
    page = parse_entity_page(entity_page("Quiet", None, "View in Telegram", preview="quiet"),
                             "quiet")
    assert (page.kind, page.has_preview, page.counters) == ("channel", True, {})


def test_entity_group():
    page = parse_entity_page(entity_page("Example Chat", "1 234 members, 56 online",
                                         "View in Telegram"), "examplechat")
    assert page.kind == "group" and not page.has_preview
    assert page.counters == {"members": 1_234, "online": 56}


@pytest.mark.parametrize("extra, action, name, kind", [
    ("@Example_ImageBot", "Start Bot", "example_imagebot", "bot"),
    ("@Example_ImageBot", "Send Message", "example_imagebot", "bot"),  # "@…bot", no counters
    ("@helperapp", "Open bot", "helperapp", "bot"),                    # the button says so
    (("@helperapp", "12 345 monthly users"), "Open App", "helperapp", "bot"),
    ("@jane_doe", "Send Message", "jane_doe", "user"),
    ("@robot_fan_club", "Send Message", "robot_fan_club", "user"),     # "bot" inside, not at end
])
def test_entity_bots_and_users(extra, action, name, kind):
    page = parse_entity_page(entity_page("Someone", extra, action), name)
    assert page.kind == kind
    assert page.username == name
    assert page.extra.startswith("@")
    assert page.counters == ({"monthly_users": 12_345} if isinstance(extra, tuple) else {})


def test_entity_unknown_and_garbage():
    page = parse_entity_page(entity_page("Telegram: Contact @nobody_here", None,
                                         "Send Message"), "@Nobody_Here")
    assert (page.username, page.kind, page.counters) == ("nobody_here", "unknown", {})
    for junk in ("", "no html at all", b"\x00\xff\xfe", "<html><body><p>hi", "<<<>>>"):
        assert parse_entity_page(junk, "x").kind == "unknown"


# ---------------------------------------------------------------------------------------------
# robustness


@pytest.mark.parametrize("junk", [
    "", b"", "plain text, no markup", b"\x00\xff\xfe\xfd binary", "<<<>>>", "<", "</div></div>",
    "<div class='tgme_widget_message' data-post='x/abc'>no id</div>",
    "<div class='tgme_widget_message' data-post=''></div>",
    "<div class='tgme_widget_message' data-post='/5'><span class='tgme_widget_message_views'>"
    "lots</span><time datetime=''></time></div>",
    "<div class='tgme_widget_message' data-post='a/1' data-view='!!not base64!!'>"
    "<a class='tgme_widget_message_reply'></a><div class='tgme_widget_message_forwarded_from'>"
    "</div><a class='tgme_widget_message_photo_wrap' style='background-image:url('></a>"
    "<div class='tgme_widget_message_poll'></div><span class='tgme_reaction'></span>"
    "<a class='tgme_widget_message_link_preview'></a><div class='tgme_widget_message_text'>"
    "<a>no href</a><br></div></div>",
    None, 42,
])
def test_garbage_does_not_raise(junk):
    page = parse_channel_page(junk)
    assert isinstance(page, ChannelPage)
    for post in page.posts:
        assert post.id >= 1


def test_non_html_gives_empty_page():
    for junk in ("", b"", "plain text", None):
        assert parse_channel_page(junk) == ChannelPage(channel=None, posts=[], before=None)


def test_post_missing_parts():
    page = parse_channel_page("<div class='tgme_widget_message' data-post='Some_Chan/12'></div>")
    post = page.posts[0]
    assert (post.channel, post.id, post.date, post.text, post.views) == ("some_chan", 12, None,
                                                                         "", None)
    # the id can come from the date link when data-post is missing
    page = parse_channel_page(
        '<div class="tgme_widget_message"><a class="tgme_widget_message_date" '
        'href="https://t.me/some_chan/13"><time datetime="2026-01-01T00:00:00+00:00"></time></a>'
        "</div>")
    assert [(post.channel, post.id, post.date) for post in page.posts] == [
        ("some_chan", 13, "2026-01-01T00:00:00+00:00")]


def test_truncated_page_keeps_what_it_can():
    data = fixture("hortay/telegram-real.html")
    page = parse_channel_page(data[: len(data) // 2])
    assert page.channel.username == "telegram"
    assert page.posts and page.posts[0].id == 419
    assert all(post.date for post in page.posts[:-1])


def test_channel_argument_names_fragments():
    page = parse_channel_page("<div class='tgme_widget_message_wrap'><div "
                              "class='tme_no_messages_found'>No posts found</div></div>",
                              channel="@Some_Chan")
    assert page.no_posts and page.channel is None and page.posts == []
    page = parse_channel_page("<div class='tgme_widget_message' data-post='/5'></div>",
                              channel="Some_Chan")
    assert [(post.channel, post.id) for post in page.posts] == [("some_chan", 5)]


def test_older_link_falls_back_to_href_and_rel_prev():
    wrap = ('<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="chan/50">'
            '<div class="tgme_widget_message_text">hi</div></div></div>')
    by_href = f'<a class="tme_messages_more" href="/s/chan?before=50"></a>{wrap}'
    by_head = f'<html><head><link rel="prev" href="/s/chan?before=50"></head><body>{wrap}</body></html>'
    assert parse_channel_page(by_href, "chan").before == 50
    assert parse_channel_page(by_head, "chan").before == 50
    assert parse_channel_page(wrap, "chan").before is None
