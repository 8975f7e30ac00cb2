"""The egress policy (crawler/egress.py) and a sweep under a hostile t.me server.

The hostile server is the loopback t.me (tgsweep.demo.tme_server) serving pages whose media URLs
name local files, another loopback service (directly and through a redirect), the cloud
metadata address and other schemes, and a page whose posts claim another channel. A second
loopback server holds a secret and counts every request it gets: it must get none.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.egress import EgressPolicy, check_addresses, check_url
from store.records import MediaItem, Post
from tgsweep.demo.corpus import encode, picture
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

HOSTS = ("t.me", "*.telesco.pe", "*.telegram-cdn.org")
T_ME = EgressPolicy.for_base("https://t.me", HOSTS)
LOCAL = EgressPolicy.for_base("http://127.0.0.1:8080", HOSTS)
SECRET = b"SECRET-ENVIRONMENT-api_hash=0123456789abcdef"


@pytest.mark.parametrize("url, rule", [
    ("https://cdn4.telesco.pe/file/x.jpg", None),
    ("https://t.me/s/news", None),
    ("http://cdn4.telesco.pe/file/x.jpg", "scheme 'http'"),
    ("file:///proc/self/environ", "scheme 'file'"),
    ("ftp://cdn4.telesco.pe/x", "scheme 'ftp'"),
    ("s3://bucket/key", "scheme 's3'"),
    ("https://telesco.pe.evil.example/x.jpg", "host 'telesco.pe.evil.example'"),
    ("https://evil-telesco.pe/x.jpg", "host 'evil-telesco.pe'"),
    ("https://169.254.169.254/latest/meta-data/", "host '169.254.169.254'"),
    ("https://t.me:99999/x", "malformed port"),
])
def test_urls_meet_the_scheme_and_host_rules(url, rule):
    reason = check_url(T_ME, url)
    assert (reason is None) if rule is None else (rule in reason and reason.startswith("egress refused"))


def test_base_urls_own_origin_is_allowed_but_not_another_port_of_its_host():
    assert check_url(LOCAL, "http://127.0.0.1:8080/file/a.jpg") is None
    assert check_addresses(LOCAL, "http://127.0.0.1:8080/file/a.jpg", ["127.0.0.1"]) is None
    assert "scheme 'http'" in check_url(LOCAL, "http://127.0.0.1:9090/secret")
    # the host matches base_url's, so only the resolved address can refuse it: it does
    assert check_url(LOCAL, "https://127.0.0.1:9090/secret") is None
    assert "127.0.0.1" in check_addresses(LOCAL, "https://127.0.0.1:9090/secret", ["127.0.0.1"])


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.7", "169.254.169.254", "::1",
                                     "fe80::1", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1", "100.64.0.1"])
def test_private_loopback_and_link_local_addresses_are_refused(address):
    reason = check_addresses(T_ME, "https://cdn4.telesco.pe/x.jpg", [address])
    assert reason and "private, loopback, link-local" in reason


def test_public_addresses_pass():
    assert check_addresses(T_ME, "https://cdn4.telesco.pe/x.jpg", ["149.154.167.99", "2001:67c:4e8:f004::9"]) is None


# --------------------------------------------------------------------------------------------
# a sweep under a hostile server


class _SecretHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(SECRET)))
        self.end_headers()
        self.wfile.write(SECRET)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def secret_service():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SecretHandler)
    httpd.hits = []  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def _post(channel: str, n: int, media: list[MediaItem], text: str = "") -> Post:
    date = (datetime(2026, 5, 1, tzinfo=timezone.utc) + timedelta(hours=n)).isoformat()
    return fill_text_entities(Post(channel=channel, id=n, date=date, text=text or f"post {n}", media=media,
                                   channel_id=4242))


@pytest.fixture(scope="module")
def hostile(sweeps, secret_service, tmp_path_factory):
    secret = f"http://127.0.0.1:{secret_service.server_address[1]}"
    world = World(page_size=20)
    world.files["ok.jpg"] = encode(picture(701, (64, 48)))
    world.files["redir.jpg"] = encode(picture(702, (64, 48)))
    chan = Entity(username="hostile_chan", id=4242, title="Hostile")
    urls = ["file:///proc/self/environ", f"{secret}/direct", f"https://127.0.0.1:{secret_service.server_address[1]}/tls",
            "https://169.254.169.254/latest/meta-data/", "ftp://127.0.0.1/x", "s3://bucket/key",
            "/file/redir.jpg", "/file/ok.jpg"]
    for n, url in enumerate(urls, start=1):
        chan.posts.append(_post("hostile_chan", n, [MediaItem(kind="photo", url=url, width=64, height=48)]))
    world.add(chan)
    victim = Entity(username="victim_chan", id=4343, title="Victim")
    victim.posts.append(_post("victim_chan", 3, [], "the original text"))
    world.add(victim)
    with sweeps.Server(world) as server:
        config = sweeps.write_config(tmp_path_factory.mktemp("hostile"), server.base_url, ["victim_chan"])
        first = sweeps.sweep(config)
        # a later page of hostile_chan forges a post of victim_chan
        forged = _post("hostile_chan", 9, [], "forged text")
        chan.posts.append(forged)
        original_page = server.channel_page

        def forging_page(name, before, empty=False):
            page = original_page(name, before, empty)
            return page.replace('data-post="hostile_chan/9"', 'data-post="victim_chan/3"') if name == "hostile_chan" \
                else page
        server.channel_page = forging_page
        server.add_faults("/file/redir.jpg", {"status": 302, "location": f"{secret}/redirected"})
        config.write_text(config.read_text().replace('channels = ["victim_chan"]',
                                                     'channels = ["victim_chan", "hostile_chan"]'))
        second = sweeps.sweep(config)
        yield config, first, second, secret_service.hits


def test_no_page_named_url_reaches_a_local_file_or_another_service(hostile, sweeps):
    config, _, second, hits = hostile
    assert second.returncode in (0, 1), second.stderr
    assert hits == []
    media_dir = sweeps.media_dir(config)
    kept = [p.read_bytes() for p in media_dir.rglob("*") if p.is_file()] if media_dir.exists() else []
    assert not any(SECRET in data or b"PATH=" in data for data in kept)
    rows = dict(sweeps.rows(config, "SELECT post_id, status || ': ' || coalesce(error, '') FROM media_items "
                                    "WHERE channel='hostile_chan'"))
    assert rows[8].startswith("stored")
    for post_id in range(1, 8):
        assert rows[post_id].startswith("error") and "egress refused" in rows[post_id], rows[post_id]
    assert "scheme 'file'" in rows[1] and "169.254.169.254" in rows[4] and "scheme 'ftp'" in rows[5]
    assert "127.0.0.1" in rows[3]  # https to another loopback port: refused after resolution
    assert "/redirected" not in str(hits) and "scheme 'http'" in rows[7]  # the redirect's target was refused


def test_a_page_cannot_write_posts_of_another_channel(hostile, sweeps):
    config, first, second, _ = hostile
    assert sweeps.rows(config, "SELECT text FROM posts WHERE channel='victim_chan' AND id=3") == \
        [("the original text",)]
    assert sweeps.value(config, "SELECT count(*) FROM posts WHERE channel='hostile_chan' AND id=9") == 0
    errors = [r[0] for r in sweeps.rows(config, "SELECT message FROM sweep_errors WHERE kind='parse'")]
    assert any("claiming victim_chan" in e for e in errors)
    verify = sweeps.cli(config, "verify")
    assert verify.returncode == 0, verify.stdout


def test_deeply_nested_page_is_refused_before_parsing_and_recorded(sweeps, tmp_path):
    world = World(page_size=20)
    chan = Entity(username="deep_chan", id=4545, title="Deep")
    chan.posts.append(_post("deep_chan", 1, [], "x"))
    world.add(chan)
    with sweeps.Server(world) as server:
        original = server.channel_page
        server.channel_page = lambda name, before, empty=False: original(name, before, empty).replace(
            '<div class="tgme_widget_message_wrap', "<div>" * 100_000 + '<div class="tgme_widget_message_wrap', 1)
        config = sweeps.write_config(tmp_path, server.base_url, ["deep_chan"])
        done = sweeps.sweep(config, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "max_nesting_depth" in sweeps.value(config, "SELECT message FROM sweep_errors WHERE kind='parse'")
    assert sweeps.value(config, "SELECT count(*) FROM posts") == 0
