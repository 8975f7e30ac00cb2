"""Field-level limits of the page parser: a field that cannot be read is recorded, the post kept;
a post that cannot be identified or a page cut short loses nothing silently."""
from __future__ import annotations

from datetime import datetime, timezone

from store.records import Post
from crawler.web.tme_parse import parse_channel_page, parse_entity_page
from tgsweep.demo.tme_server import Entity, World, fill_text_entities, render_channel_page, render_entity_page

BASE = "http://127.0.0.1:9"


def _page() -> str:
    world = World(page_size=20)
    chan = Entity(username="limits_chan", id=7100, title="Limits")
    for n in (1, 2, 3):
        chan.posts.append(fill_text_entities(Post(channel="limits_chan", id=n, date=datetime(
            2026, 5, 1, n, tzinfo=timezone.utc).isoformat(), text=f"post {n}", views=1200, channel_id=7100)))
    world.add(chan)
    return render_channel_page(chan, chan.posts, None, False, BASE)


def test_a_whole_page_reads_without_problems():
    page = parse_channel_page(_page())
    assert [p.id for p in page.posts] == [1, 2, 3] and page.problems == []


def test_an_unreadable_count_blanks_the_field_not_the_post():
    html = _page().replace('tgme_widget_message_views">1.2K', 'tgme_widget_message_views">1.0e400', 1)
    page = parse_channel_page(html)
    assert [p.id for p in page.posts] == [1, 2, 3]
    assert page.posts[0].views is None and page.posts[0].text == "post 1" and page.posts[1].views == 1200
    assert page.problems == ["post 1: views '1.0e400' could not be read (left empty)"]


def test_an_id_that_is_not_one_is_refused_and_said():
    huge = "9" * 29
    html = _page().replace('data-post="limits_chan/2"', f'data-post="limits_chan/{huge}"', 1)
    html = html.replace('/limits_chan/2"', f'/limits_chan/{huge}"')
    page = parse_channel_page(html)
    assert [p.id for p in page.posts] == [1, 3]
    assert len(page.problems) == 1 and "id cannot be read" in page.problems[0]


def test_a_page_cut_mid_post_keeps_its_last_post_for_the_next_sweep():
    html = _page()
    cut = html[:html.index('data-post="limits_chan/3"') + 200]
    page = parse_channel_page(cut)
    assert [p.id for p in page.posts] == [1, 2]
    assert "ends mid-post: post 3 was not stored" in page.problems[0]


def test_the_page_for_a_name_nobody_holds_has_no_title():
    entity = parse_entity_page(render_entity_page(None, "nobody_here", BASE), "nobody_here")
    assert entity.title is None and entity.kind == "unknown"


def test_a_twice_escaped_link_reads_as_the_reader_clicks_it():
    html = _page().replace(">post 2<", '><a href="https://example.org/?a=1&amp;amp;b=2">here</a> post 2<', 1)
    page = parse_channel_page(html)
    assert "https://example.org/?a=1&b=2" in page.posts[1].links


def test_an_older_page_s_reply_quote_is_not_the_post_text():
    """2018 pages mark the quoted text as message text, without js-message_reply_text."""
    from store.records import Reply

    world = World(page_size=20)
    chan = Entity(username="old_layout", id=7200, title="Old")
    chan.posts.append(fill_text_entities(Post(channel="old_layout", id=5, date="2018-03-01T10:00:00+00:00",
                                              text="my own words https://example.org/own", channel_id=7200,
                                              reply_to=Reply(channel="old_layout", post=4, author="Old",
                                                             text="the quoted words"))))
    world.add(chan)
    html = render_channel_page(chan, chan.posts, None, False, BASE).replace(
        'class="tgme_widget_message_metatext js-message_reply_text"', 'class="tgme_widget_message_text"')
    (post,) = parse_channel_page(html).posts
    assert post.text.startswith("my own words") and "https://example.org/own" in post.links
