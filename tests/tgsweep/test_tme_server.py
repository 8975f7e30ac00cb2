"""The loopback t.me server, through a real HTTP client, and the demo corpus it serves."""
from __future__ import annotations

import base64
import http.client
import json
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from store.records import Button, Forward, MediaItem, Post
from tgsweep.demo.corpus import (
    BROKEN_FILES, DISCOVERY_ONLY, SHARED_PICTURE, build_demo_world, demo_watchlist,
)
from tgsweep.demo.tme_server import (
    Entity, TmeServer, World, absolute_urls, fill_text_entities, format_count, world_from_json,
    world_to_json,
)

ROOT = Path(__file__).resolve().parents[2]
JPEG = b"\xff\xd8\xff\xe0 not really a jpeg"


# --------------------------------------------------------------------------------------------
# helpers


def small_world() -> World:
    """45 wraps in @alpha: every 10th an album of 3 ids, gaps after every 7th; plus other kinds."""
    world = World(files={"a.jpg": JPEG})
    alpha = Entity(username="alpha", id=1234567, title="Alpha Channel", description="About @beta_chan",
                   counters={"subscribers": 12345, "photos": 5})
    next_id = 1
    for i in range(45):
        media = []
        if i % 10 == 3:
            media = [MediaItem(kind="photo", url="/file/a.jpg", post_id=next_id + k) for k in range(3)]
        post = Post(channel="alpha", id=next_id, date=f"2026-02-01T{i % 24:02d}:00:00+00:00",
                    text=f"post number {i}", views=10 + i, media=media, channel_id=alpha.id)
        alpha.posts.append(fill_text_entities(post))
        next_id += len(media) or 1
        if i % 7 == 5:
            next_id += 2  # deleted posts
    world.add(alpha)
    world.add(Entity(username="quiet", id=42, title="Quiet", counters={"subscribers": 3}))
    world.add(Entity(username="closed", id=43, title="Closed", preview=False, counters={"subscribers": 7}))
    world.add(Entity(username="someone", id=44, title="Some One", kind="user", description="hi"))
    world.add(Entity(username="helper_bot", id=45, title="Helper", kind="bot", description="I help."))
    world.add(Entity(username="chatroom", id=46, title="Chat Room", kind="group", members=1200, online=7))
    return world


@pytest.fixture()
def server():
    with TmeServer(small_world()) as srv:
        yield srv


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def get_no_redirect(url: str) -> tuple[int, dict[str, str]]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def post_json(url: str, data: object) -> tuple[int, object]:
    req = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wrap_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-post="[^"/]+/(\d+)"', html)]


def more_before(html: str) -> int | None:
    found = re.findall(r'class="tme_messages_more js-messages_more" data-before="(\d+)"', html)
    return int(found[0]) if found else None


def walk(base: str, name: str) -> list[str]:
    """Every page of a channel, newest first, following the "more" links."""
    pages, url = [], f"{base}/s/{name}"
    while True:
        status, _, body = get(url)
        assert status == 200
        html = body.decode()
        pages.append(html)
        before = more_before(html)
        if before is None:
            return pages
        assert f'href="/s/{name}?before={before}"' in html
        url = f"{base}/s/{name}?before={before}"


# --------------------------------------------------------------------------------------------
# feed pages


def test_first_page_is_the_newest_20_oldest_first_with_a_more_link(server):
    status, headers, body = get(server.base_url + "/s/alpha")
    html = body.decode()
    all_ids = [p.id for p in server.world.get("alpha").posts]
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert wrap_ids(html) == all_ids[-20:]
    assert more_before(html) == all_ids[-20]
    assert 'class="tgme_channel_info"' in html and "@beta_chan" in html
    assert '<span class="counter_value">12.3K</span> <span class="counter_type">subscribers</span>' in html


def test_paging_visits_every_wrap_once_and_the_last_page_has_no_more_link(server):
    pages = walk(server.base_url, "alpha")
    all_ids = [p.id for p in server.world.get("alpha").posts]
    assert [len(wrap_ids(p)) for p in pages] == [20, 20, 5]
    seen = [i for page in reversed(pages) for i in wrap_ids(page)]
    assert seen == all_ids
    assert more_before(pages[-1]) is None and "tme_messages_more" not in pages[-1]
    assert any(b - a > 1 for a, b in zip(all_ids, all_ids[1:]))  # the world does have gaps


def test_an_album_is_one_wrap_whose_items_link_their_own_ids(server):
    album = next(p for p in server.world.get("alpha").posts if p.media)
    html = get(f"{server.base_url}/s/alpha?before={album.id + 1}")[2].decode()
    wrap = html[html.index(f'data-post="alpha/{album.id}"'):]
    wrap = wrap[:wrap.index("tgme_widget_message_footer")]
    assert "tgme_widget_message_grouped_wrap" in wrap
    assert re.findall(r'href="https://t.me/alpha/(\d+)\?single"', wrap) == [str(album.id + k) for k in range(3)]
    assert f"{server.base_url}/file/a.jpg" in wrap
    view = re.search(r'data-view="([^"]+)"', html[html.index(f'data-post="alpha/{album.id}"'):]).group(1)
    decoded = json.loads(base64.urlsafe_b64decode(view + "=" * (-len(view) % 4)))
    assert decoded["c"] == -1234567 and decoded["p"] == f"{album.id}g"


def test_before_inside_a_gap_and_before_the_first_post(server):
    ids = [p.id for p in server.world.get("alpha").posts]
    gap = next(a + 1 for a, b in zip(ids, ids[1:]) if b - a > 1 and a + 1 not in ids)
    html = get(f"{server.base_url}/s/alpha?before={gap}")[2].decode()
    assert wrap_ids(html) == [i for i in ids if i < gap][-20:]
    empty = get(f"{server.base_url}/s/alpha?before=1")[2].decode()
    assert wrap_ids(empty) == [] and "No posts found" in empty and more_before(empty) is None


def test_a_channel_without_posts_says_no_posts_found(server):
    html = get(server.base_url + "/s/quiet")[2].decode()
    assert '<div class="tme_no_messages_found">No posts found</div>' in html
    assert "tgme_channel_info_header_title" in html


@pytest.mark.parametrize("name", ["someone", "helper_bot", "chatroom", "closed", "nobody_here", "Closed"])
def test_names_without_a_public_preview_redirect_to_their_page(server, name):
    status, headers = get_no_redirect(f"{server.base_url}/s/{name}")
    assert status == 302 and headers["Location"] == f"/{name}"


# --------------------------------------------------------------------------------------------
# entity pages and files


@pytest.mark.parametrize("name, extra, action, preview", [
    ("alpha", "12 345 subscribers", "View in Telegram", True),
    ("closed", "7 subscribers", "View in Telegram", False),
    ("chatroom", "1 200 members, 7 online", "View in Telegram", False),
    ("someone", "@someone", "Send Message", False),
    ("helper_bot", "@helper_bot", "Start Bot", False),
])
def test_entity_pages(server, name, extra, action, preview):
    status, _, body = get(f"{server.base_url}/{name}")
    html = body.decode()
    assert status == 200 and 'class="tgme_page"' in html and "tgme_page_title" in html
    assert f'<div class="tgme_page_extra">{extra}</div>' in html
    assert f">{action}</a>" in html
    assert (f'<a href="/s/{name}" class="tgme_page_context_link">Preview channel</a>' in html) is preview


def test_unknown_name_gets_the_generic_page(server):
    status, _, body = get(server.base_url + "/nobody_here")
    html = body.decode()
    assert status == 200 and "Telegram: Contact @nobody_here" in html
    assert "tgme_page_extra" not in html and "tgme_page_action" not in html


def test_files_are_served_with_their_content_type(server):
    status, headers, body = get(server.base_url + "/file/a.jpg")
    assert (status, headers["Content-Type"], body) == (200, "image/jpeg", JPEG)
    assert get(server.base_url + "/file/missing.jpg")[0] == 404


# --------------------------------------------------------------------------------------------
# faults


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_status_faults_apply_once(server, status):
    server.add_faults("/s/alpha", {"status": status, "retry_after": 1})
    code, headers, _ = get(server.base_url + "/s/alpha")
    assert code == status and headers["Retry-After"] == "1"
    assert get(server.base_url + "/s/alpha")[0] == 200


def test_empty_fault_serves_no_posts_found_with_200_once(server):
    server.add_faults("/s/alpha", {"empty": True})
    status, _, body = get(server.base_url + "/s/alpha")
    assert status == 200 and "No posts found" in body.decode() and wrap_ids(body.decode()) == []
    assert len(wrap_ids(get(server.base_url + "/s/alpha")[2].decode())) == 20


def test_truncate_fault_sends_part_of_the_body_once(server):
    server.add_faults("/file/a.jpg", {"truncate": 0.5})
    with pytest.raises(http.client.IncompleteRead) as err:
        with urllib.request.urlopen(server.base_url + "/file/a.jpg", timeout=10) as r:
            r.read()
    assert err.value.partial == JPEG[: len(JPEG) // 2]
    assert get(server.base_url + "/file/a.jpg")[2] == JPEG


def test_delay_fault_slows_one_answer(server):
    server.add_faults("/alpha", {"delay": 0.4})
    t0 = time.perf_counter()
    assert get(server.base_url + "/alpha")[0] == 200
    assert time.perf_counter() - t0 >= 0.4
    t0 = time.perf_counter()
    get(server.base_url + "/alpha")
    assert time.perf_counter() - t0 < 0.4


def test_faults_queue_in_order_and_match_the_longest_prefix(server):
    server.add_faults("/s/alpha", {"status": 502}, {"status": 503})
    server.add_faults("/s/alpha?before=", {"status": 429})
    assert get(server.base_url + "/s/alpha?before=30")[0] == 429
    assert get(server.base_url + "/s/alpha?before=30")[0] == 502
    assert get(server.base_url + "/s/alpha")[0] == 503
    assert get(server.base_url + "/s/alpha")[0] == 200
    assert server.pending_faults() == {}


def test_faults_over_the_admin_endpoint(server):
    status, pending = post_json(server.base_url + "/__admin/faults",
                                {"path": "/s/alpha", "faults": [{"status": 429, "retry_after": 2}, {"empty": True}]})
    assert status == 200 and pending == {"/s/alpha": [{"status": 429, "retry_after": 2}, {"empty": True}]}
    code, headers, _ = get(server.base_url + "/s/alpha")
    assert code == 429 and headers["Retry-After"] == "2"
    assert "No posts found" in get(server.base_url + "/s/alpha")[2].decode()
    assert len(wrap_ids(get(server.base_url + "/s/alpha")[2].decode())) == 20
    post_json(server.base_url + "/__admin/faults", {"path": "/s/", "fault": {"status": 500}})
    req = urllib.request.Request(server.base_url + "/__admin/faults", method="DELETE")
    assert json.loads(urllib.request.urlopen(req).read()) == {}
    assert get(server.base_url + "/s/alpha")[0] == 200


# --------------------------------------------------------------------------------------------
# admin: posts and the request log


def test_admin_add_post_shows_on_the_next_sweep(server):
    newest = server.world.get("alpha").posts[-1].id
    status, answer = post_json(server.base_url + "/__admin/posts", {
        "channel": "alpha", "id": newest + 1, "date": "2026-03-01T10:00:00+00:00",
        "text": "fresh news from @beta_chan", "media": [{"kind": "photo", "url": "/file/new.jpg"}]})
    assert status == 200 and answer == {"ok": True, "channel": "alpha", "id": newest + 1}
    html = get(server.base_url + "/s/alpha")[2].decode()
    assert wrap_ids(html)[-1] == newest + 1 and len(wrap_ids(html)) == 20
    assert 'href="https://t.me/beta_chan"' in html and f"{server.base_url}/file/new.jpg" in html
    added = server.world.get("alpha").posts[-1]
    assert added.mentions == ["beta_chan"] and added.channel_id == 1234567


def test_admin_add_post_with_files_and_errors(server):
    body = {"post": {"channel": "alpha", "id": 999, "date": None, "text": "with a file",
                     "media": [{"kind": "photo", "url": "/file/b.jpg"}]},
            "files": {"b.jpg": base64.b64encode(b"bytes of b").decode()}}
    assert post_json(server.base_url + "/__admin/posts", body)[0] == 200
    assert get(server.base_url + "/file/b.jpg")[2] == b"bytes of b"
    assert post_json(server.base_url + "/__admin/posts", {"channel": "nowhere", "id": 1, "date": None})[0] == 404
    assert post_json(server.base_url + "/__admin/posts", {"text": "no channel"})[0] == 400


def test_request_log_shows_what_each_sweep_fetched(server):
    walk(server.base_url, "alpha")
    get(server.base_url + "/file/a.jpg")
    log = server.requests()
    assert [(r["method"], r["path"], r["status"]) for r in log][:3] == [
        ("GET", "/s/alpha", 200), ("GET", "/s/alpha", 200), ("GET", "/s/alpha", 200)]
    assert [r["query"] for r in log[:3]][0] == "" and log[-1]["path"] == "/file/a.jpg"
    server.clear_requests()
    # A second "sweep" that only needs the newest page.
    server.add_post(fill_text_entities(Post(channel="alpha", id=500, date=None, text="one more")))
    get(server.base_url + "/s/alpha")
    assert server.requests("/s/") == [{"method": "GET", "path": "/s/alpha", "query": "", "status": 200}]
    over_http = json.loads(get(server.base_url + "/__admin/requests")[2])
    assert over_http == server.requests()  # admin calls are not logged


def test_faulted_requests_are_logged_with_their_status(server):
    server.add_faults("/s/alpha", {"status": 429})
    get(server.base_url + "/s/alpha?before=10")
    assert server.requests() == [{"method": "GET", "path": "/s/alpha", "query": "before=10", "status": 429}]


def test_a_request_still_served_when_the_log_is_cleared_is_not_logged(server):
    """A killed client's slow page finishes after the test cleared the log: it is not the next run's."""
    import threading

    server.add_faults("/s/alpha", {"delay": 0.5})
    slow = threading.Thread(target=get, args=(server.base_url + "/s/alpha?before=10",))
    slow.start()
    while server.pending_faults():  # the slow request is being served (its fault taken)
        time.sleep(0.01)
    server.clear_requests()
    get(server.base_url + "/s/alpha")
    slow.join()
    assert [r["query"] for r in server.requests()] == [""]


# --------------------------------------------------------------------------------------------
# JSON, subprocess mode, speed


def test_world_json_round_trip():
    for world in (small_world(), build_demo_world()):
        again = world_from_json(world_to_json(world))
        assert again == world
        assert world_to_json(again) == world_to_json(world)


def test_subprocess_mode_prints_ready_and_stops_on_sigterm(tmp_path):
    path = tmp_path / "world.json"
    path.write_text(world_to_json(small_world()), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "tgsweep.demo.tme_server", "--world", str(path), "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "no READY line"
        line = proc.stdout.readline().strip()
        assert re.fullmatch(r"READY http://127\.0\.0\.1:\d+", line), line
        base = line.split()[1]
        assert len(wrap_ids(get(base + "/s/alpha")[2].decode())) == 20
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serves_at_least_300_pages_a_second():
    """New connections (urllib) and one keep-alive connection (as Scrapy uses) alike."""
    with TmeServer(build_demo_world()) as srv:
        paths = ["/s/faceswap_hub", "/s/meme_relay?before=20"]
        t0 = time.perf_counter()
        for i in range(300):
            get(srv.base_url + paths[i % 2])
        assert time.perf_counter() - t0 < 1.0
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        t0 = time.perf_counter()
        for i in range(300):
            conn.request("GET", paths[i % 2])
            response = conn.getresponse()
            assert response.status == 200 and len(response.read()) > 10_000
        assert time.perf_counter() - t0 < 1.0
        conn.close()


def test_format_count_matches_tme():
    assert [format_count(n) for n in (7, 999, 1000, 7940, 51400, 113000, 999999, 10_712_345)] == [
        "7", "999", "1K", "7.94K", "51.4K", "113K", "1M", "10.7M"]


# --------------------------------------------------------------------------------------------
# the demo corpus


def test_demo_world_is_quick_and_deterministic():
    t0 = time.perf_counter()
    world = build_demo_world()
    assert time.perf_counter() - t0 < 2.0
    assert world_to_json(world) == world_to_json(build_demo_world())


def test_demo_world_has_what_the_pipeline_looks_for():
    world = build_demo_world()
    watch = demo_watchlist()
    channels = [world.get(n) for n in watch]
    assert all(c is not None and c.kind == "channel" for c in channels)
    assert [c.username for c in channels if not c.has_preview] == ["private_swap_club"]
    assert all(25 <= len(c.posts) <= 60 for c in channels if c.has_preview)
    assert DISCOVERY_ONLY not in watch and world.get(DISCOVERY_ONLY).has_preview
    posts = [p for c in channels for p in c.posts]
    assert any(DISCOVERY_ONLY in p.mentions for p in posts)
    assert any("private_swap_club" in p.mentions for p in posts)
    assert any("?start=ref123" in link for p in posts for link in p.links)
    assert any(b.url and "_bot?start=" in b.url for p in posts for b in p.buttons)
    assert any(p.via_bot == "photogen_pro_bot" for p in posts)
    assert any("was banned" in p.text and "swapface_magic2_bot" in p.mentions for p in posts)
    forwards = [p.forwarded_from for p in posts if p.forwarded_from]
    assert any(f.channel == "faceswap_hub" for f in forwards)
    assert any(f.channel is None and f.name for f in forwards)
    relay = {f.channel for p in world.get("meme_relay").posts if (f := p.forwarded_from)}
    assert "ai_tools_digest" in relay  # meme_relay -> ai_tools_digest -> faceswap_hub
    assert any(len(p.media) > 1 for p in posts)
    shared = {m.url for p in posts for m in p.media if m.url in {f"/file/{n}" for n in SHARED_PICTURE}}
    assert len(shared) == 3 and len({world.files[n] for n in SHARED_PICTURE}) == 3
    broken = {m.url for p in posts for m in p.media}
    assert {f"/file/{n}" for n in BROKEN_FILES.values()} <= broken
    kinds = {m.kind for p in posts for m in p.media}
    assert {"photo", "video", "gif", "round_video", "sticker", "voice", "document"} <= kinds
    assert any(m.too_big for p in posts for m in p.media)
    assert world.get("swapface_magic_bot") is None  # banned: t.me shows the generic page
    for bot in ("swapface_magic2_bot", "photogen_pro_bot", "morphme_ai_bot", "bg_remover_bot"):
        assert world.get(bot).kind == "bot" and world.get(bot).description


def test_demo_broken_media_break_as_intended():
    from PIL import Image
    import io

    world = build_demo_world()
    bomb = world.files[BROKEN_FILES["bomb"]]
    assert len(bomb) < 400_000 and bomb[16:24] == (40000).to_bytes(4, "big") * 2
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))
    with pytest.raises(OSError):
        Image.open(io.BytesIO(world.files[BROKEN_FILES["truncated"]])).load()
    with pytest.raises(Image.UnidentifiedImageError):
        Image.open(io.BytesIO(world.files[BROKEN_FILES["not_image"]]))
    for name in SHARED_PICTURE:
        Image.open(io.BytesIO(world.files[name])).load()


# --------------------------------------------------------------------------------------------
# round trip through the project's real parser


def test_parse_of_rendered_pages_gives_back_the_posts():
    tme_parse = pytest.importorskip("crawler.web.tme_parse")
    world = build_demo_world()
    with TmeServer(world) as srv:
        for entity in world.entities.values():
            if not entity.has_preview:
                continue
            parsed: list[Post] = []
            for html in walk(srv.base_url, entity.username):
                page = tme_parse.parse_channel_page(html, entity.username)
                assert page.channel.username == entity.username
                assert page.channel.counters == entity.counters
                parsed = page.posts + parsed
            expected = [absolute_urls(p, srv.base_url) for p in entity.posts]
            assert [p.id for p in parsed] == [p.id for p in expected]
            for want, got in zip(expected, parsed):
                assert got.text == want.text
                assert got.links == want.links
                assert got.mentions == want.mentions and got.hashtags == want.hashtags
                assert got.forwarded_from == want.forwarded_from
                assert [(m.kind, m.url, m.post_id) for m in got.media] == \
                       [(m.kind, m.url, m.post_id) for m in want.media]
                assert got.buttons == want.buttons
                assert got.via_bot == want.via_bot
                assert (got.views, got.date, got.author, got.edited) == \
                       (want.views, want.date, want.author, want.edited)
                assert (got.service, got.poll, got.reply_to, got.link_preview, got.reactions) == \
                       (want.service, want.poll, want.reply_to, want.link_preview, want.reactions)
                assert got.channel_id == entity.id


def test_parse_of_entity_pages_tells_the_kind():
    tme_parse = pytest.importorskip("crawler.web.tme_parse")
    with TmeServer(small_world()) as srv:
        for name, kind in [("alpha", "channel"), ("closed", "channel"), ("chatroom", "group"),
                           ("someone", "user"), ("helper_bot", "bot"), ("nobody_here", "unknown")]:
            page = tme_parse.parse_entity_page(get(f"{srv.base_url}/{name}")[2].decode(), name)
            assert page.kind == kind, name
        assert tme_parse.parse_entity_page(get(srv.base_url + "/alpha")[2].decode(), "alpha").has_preview


def test_rendered_fields_a_hand_made_post():
    """One post with every field set, rendered and read back by the real parser."""
    tme_parse = pytest.importorskip("crawler.web.tme_parse")
    world = small_world()
    post = Post(channel="alpha", id=900, date="2026-03-02T08:30:00+00:00",
                text="Try https://t.me/some_bot?start=x1 and read more\n#news @beta_chan",
                views=1500, edited=True, author="Editor", via_bot="some_bot",
                forwarded_from=Forward(channel="beta_chan", post=12, name="Beta",
                                       url="https://t.me/beta_chan/12"),
                buttons=[Button("Open", "https://t.me/some_bot?start=btn")],
                media=[MediaItem(kind="video", url="/file/v.mp4", thumb_url="/file/v.jpg", duration=75)],
                extra={"text_links": [["read more", "https://example.com/more"]]}, channel_id=1234567)
    world.get("alpha").posts.append(fill_text_entities(post))
    with TmeServer(world) as srv:
        page = tme_parse.parse_channel_page(get(srv.base_url + "/s/alpha")[2].decode(), "alpha")
        got = page.posts[-1]
        want = absolute_urls(post, srv.base_url)
        assert got.links == want.links == ["https://t.me/some_bot?start=x1", "https://example.com/more",
                                            "https://t.me/beta_chan"]
        assert got.mentions == want.mentions == ["some_bot", "beta_chan"]
        assert got.hashtags == ["news"] and got.text == post.text
        assert (got.views, got.edited, got.author, got.via_bot) == (1500, True, "Editor", "some_bot")
        assert got.forwarded_from == post.forwarded_from and got.buttons == post.buttons
        assert [(m.kind, m.url, m.thumb_url, m.duration) for m in got.media] == \
               [("video", f"{srv.base_url}/file/v.mp4", f"{srv.base_url}/file/v.jpg", 75)]
