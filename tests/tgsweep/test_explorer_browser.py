"""The explorer in a real browser: headless Chromium (Debian's) driven by Playwright, against `tgsweep serve`.

The analyst's path: open the graph, click a bot, confirm it with a note; the store then holds
the override, exactly as `tgsweep bots label` would have written it. Screenshots go to
test-artifacts/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import importlib.util
import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Sweeps
from tests.tgsweep.test_explorer import demo_copy

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BOT = "morphme_ai_bot"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                                 "(apt-get install chromium; .ci/run does it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(config: Path, token: str | None = None):
    """`tgsweep serve` as a real server (uvicorn in a child process) on `config`'s store; yields its URL.
    With a token it is bound beyond loopback (0.0.0.0), as a unit's deployment would be."""
    port = _free_port()
    log = (config.parent / "serve.log").open("w")
    host = ["--host", "0.0.0.0"] if token else []
    process = subprocess.Popen([sys.executable, "-m", "tgsweep.cli", "--config", str(config), "serve", *host, "--port",
                                str(port), "--analyst", "browser-test"], stdout=log, stderr=subprocess.STDOUT,
                               cwd=config.parent, env=Sweeps.env() | ({"TGSWEEP_TOKEN": token} if token else {}))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/login" if token else f"{base}/api/info", timeout=2) as answer:
                assert token or json.loads(answer.read())["analyst"] == "browser-test"
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("tgsweep serve did not start: " + (config.parent / "serve.log").read_text())
            time.sleep(0.2)
    try:
        yield base
    finally:  # also when the test fails inside its `for base in _serve(...)`
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo's store, served."""
    config = demo_copy(tmp_path_factory)
    for base in _serve(config):
        yield base, config


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _labels_do_not_overlap_and_the_most_escalated_is_named(page) -> None:
    page.wait_for_function("() => explorer.labels && explorer.labels.length > 0", timeout=15_000)
    boxes = [box for _, box, _spot in page.evaluate("() => explorer.labels")]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    top = page.evaluate("""() => {  // the most escalated node in view, and whether its name is drawn
        const cy = explorer.cy, inView = (p) => p.x >= 0 && p.y >= 0 && p.x <= cy.width() && p.y <= cy.height();
        const nodes = explorer.overview ? explorer.edgeLayer.nodes.map((n, i) => ({ i, e: n.escalation,
            p: { x: n.x * cy.zoom() + cy.pan().x, y: n.y * cy.zoom() + cy.pan().y } }))
          : cy.nodes().map((n, i) => ({ i, e: n.data('escalation') || 0, p: n.renderedPosition() }));
        const best = nodes.filter((n) => inView(n.p)).sort((a, b) => b.e - a.e)[0];
        return explorer.labels.some(([i]) => i === best.i); }""")
    assert top


def test_click_a_bot_in_the_graph_and_confirm_it(server, browser):
    base, config = server
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{base}/#/graph")  # opens on the escalated subjects and their neighbours
    page.wait_for_function("() => window.explorer && window.explorer.ready", timeout=30_000)
    focused = page.evaluate("() => explorer.cy.nodes().length")
    assert "focus=escalated" in page.url  # the view is in the URL
    page.goto(f"{base}/#/graph?focus=all")  # everything, from a URL alone
    page.reload()
    page.wait_for_function("() => window.explorer && window.explorer.ready", timeout=30_000)
    assert page.input_value("#f-focus") == "all" and page.evaluate("() => explorer.cy.nodes().length") > focused
    before = page.evaluate("() => explorer.cy.zoom()")
    page.click("#g-zoom-in")
    assert page.evaluate("() => explorer.cy.zoom()") > before
    page.click("#g-fit")
    assert "promotes" in page.inner_text("#edge-legend") and "mirror of" in page.inner_text("#edge-legend")
    _labels_do_not_overlap_and_the_most_escalated_is_named(page)
    shown = page.evaluate("() => explorer.cy.nodes().map(n => n.id())")
    assert f"bot:{BOT}" in shown and "channel:faceswap_hub" in shown
    page.screenshot(path=str(ARTIFACTS / "explorer_graph.png"))

    # bring the bot to the middle, as an analyst zooming in would, and click it
    page.evaluate("id => { const n = explorer.cy.getElementById(id); explorer.cy.zoom(2); explorer.cy.center(n); }",
                  f"bot:{BOT}")
    spot = page.evaluate("id => explorer.nodeScreenPosition(id)", f"bot:{BOT}")
    assert spot["visible"]
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_selector(f'#details-body[data-node="bot:{BOT}"]', timeout=15_000)
    assert "verdict" in page.inner_text("#details")

    page.fill("#path-to", "channel:faceswap_hub")  # how does this bot connect to that channel?
    page.click("#path-go")
    page.wait_for_function("() => (document.querySelector('#path-message') || {textContent: ''}).textContent"
                           ".includes('step(s)')", timeout=15_000)
    on_path = page.evaluate("() => explorer.cy.$('.on-path').nodes().map(n => n.id())")
    assert f"bot:{BOT}" in on_path and "channel:faceswap_hub" in on_path
    page.evaluate("() => explorer.cy.edges('[kind = \"promotes\"]')[0].emit('mouseover')")
    assert "promotes" in page.inner_text("#edge-tip")
    page.evaluate("() => explorer.cy.edges('[kind = \"promotes\"]')[0].emit('tap')")
    page.wait_for_selector("#edge-details a[href^='https://t.me/']", timeout=15_000)  # the posts behind the edge
    page.mouse.click(spot["x"], spot["y"])  # back to the bot
    page.wait_for_selector(f'#details-body[data-node="bot:{BOT}"]', timeout=15_000)
    page.fill("#decision-note", "confirmed in the browser: offers to swap faces on any photo")
    page.click("#btn-confirm")
    page.wait_for_function("() => document.querySelector('#details').innerText.includes("
                           "'analyst: deepfake_generator by browser-test')", timeout=15_000)
    message = page.inner_text("#decision-message")  # still there after the panel re-rendered
    assert "labelled deepfake_generator by browser-test" in message and f"bot:{BOT}" in message
    assert "Re-scored now" in message  # in the same request, said on the page
    page.screenshot(path=str(ARTIFACTS / "explorer_bot_confirmed.png"))

    db = sqlite3.connect(config.parent / "tgsweep.db", timeout=30)
    row = db.execute("SELECT label, note, decided_by FROM bot_overrides WHERE username=? ORDER BY id DESC",
                     (BOT,)).fetchone()
    assert row == ("deepfake_generator", "confirmed in the browser: offers to swap faces on any photo", "browser-test")
    assert db.execute("SELECT label FROM bots WHERE username=?", (BOT,)).fetchone()[0] == "deepfake_generator"

    # the channel page: an activity plot, media as blurred previews only
    page.goto(f"{base}/#/channel/faceswap_hub")
    page.wait_for_selector("#page-channel svg.activity rect", timeout=15_000)
    sources = page.eval_on_selector_all(".preview img", "imgs => imgs.map(i => i.getAttribute('src'))")
    assert sources and all(s.endswith("/image") for s in sources)  # never ?unblur=1 unless clicked
    page.screenshot(path=str(ARTIFACTS / "explorer_channel.png"), full_page=True)

    page.goto(f"{base}/#/alerts")
    page.wait_for_selector("#page-alerts table", timeout=15_000)
    assert "delivered" in page.inner_text("#page-alerts")
    page.screenshot(path=str(ARTIFACTS / "explorer_alerts.png"), full_page=True)

    assert not errors, errors
    elsewhere = [url for url in requests if not url.startswith((base, "data:"))]
    assert not elsewhere  # nothing from a CDN or anywhere else
    assert (ARTIFACTS / "explorer_bot_confirmed.png").stat().st_size > 10_000


def test_a_big_graph_opens_as_an_overview_and_answers_clicks(tmp_path, browser):
    """Over 3,000 nodes the page draws one canvas picture; a click still finds its node and its details."""
    spec = importlib.util.spec_from_file_location("bench_explorer", ROOT / "benchmarks" / "bench_explorer.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    config = bench.make_store(tmp_path, nodes=3500, edges=6000)
    for base in _serve(config):
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/#/graph?focus=all")  # the whole world, not the escalated neighbourhood
        page.wait_for_function("() => window.explorer && window.explorer.ready", timeout=60_000)
        assert page.evaluate("() => explorer.overview") is True
        assert page.evaluate("() => explorer.edgeLayer.nodes.length") == len(
            json.loads(urllib.request.urlopen(f"{base}/api/graph?compact=1", timeout=30).read())["nodes"])
        target = "bot:tool000100_bot"
        page.evaluate("id => { const p = explorer.edgeLayer.xy, i = explorer.edgeLayer.index.get(id);"
                      " explorer.cy.zoom(3); explorer.cy.pan({x: explorer.cy.width() / 2 - p[2 * i] * 3,"
                      " y: explorer.cy.height() / 2 - p[2 * i + 1] * 3}); }", target)
        page.evaluate("() => explorer.edgeLayer.draw()")
        _labels_do_not_overlap_and_the_most_escalated_is_named(page)  # the names drawn on the canvas too
        spot = page.evaluate("id => explorer.nodeScreenPosition(id)", target)
        page.mouse.click(spot["x"], spot["y"])
        page.wait_for_selector(f'#details-body[data-node="{target}"]', timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "explorer_overview.png"))
        assert not errors, errors


def test_bot_and_cluster_pages_link_posts_and_count_files(server, browser):
    base, config = server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/#/bot/{BOT}")
    page.wait_for_selector("#page-bot table", timeout=15_000)
    links = page.eval_on_selector_all("#page-bot a[href^='https://t.me/']", "as => as.map(a => a.href)")
    posts = [u for u in links if u.rstrip("/").split("/")[-1].isdigit()]
    assert posts, links  # the promoting posts are links to t.me, not text
    assert "Posts that reference it" in page.inner_text("#page-bot .posts")

    db = sqlite3.connect(config.parent / "tgsweep.db", timeout=30)
    # the channel's posts: their text, a t.me link each, a page at a time
    newest = db.execute("SELECT id, text FROM posts WHERE channel='faceswap_hub' AND text != '' ORDER BY id DESC").fetchone()
    page.goto(f"{base}/#/channel/faceswap_hub")
    page.wait_for_selector("#page-channel .posts table", timeout=15_000)
    assert newest[1][:40] in page.inner_text("#page-channel .posts")
    assert page.eval_on_selector_all(f"#page-channel .posts a[href='https://t.me/faceswap_hub/{newest[0]}']",
                                     "as => as.length") == 1
    if page.query_selector("#page-channel .posts button.older"):
        page.click("#page-channel .posts button.older")
        page.wait_for_selector("#page-channel .posts[data-offset='50']", timeout=15_000)
    with page.expect_download() as got:  # the subject's evidence bundle, from its page
        page.click("#page-channel #evidence-link")
    from graph.evidence.bundle import verify_bundle
    assert verify_bundle(Path(got.value.path()).read_bytes()) == []

    page.goto(f"{base}/#/bots")  # any table, as CSV
    page.wait_for_selector("#page-bots table", timeout=15_000)
    with page.expect_download() as got:
        page.click("#page-bots .export-csv")
    lines = Path(got.value.path()).read_text().splitlines()
    shown = page.eval_on_selector_all("#page-bots tbody tr", "rows => rows.length")
    assert lines[0].startswith("bot,verdict,score") and len(lines) == shown + 1
    cluster = db.execute("SELECT id, files FROM media_clusters ORDER BY appearances DESC LIMIT 1").fetchone()
    page.goto(f"{base}/#/cluster/{cluster[0]}")
    page.wait_for_selector("#page-cluster table", timeout=15_000)
    text = page.inner_text("#page-cluster")
    assert "[object Object]" not in text and f"{cluster[1]} file(s)" in text
    assert page.eval_on_selector_all("#page-cluster a[href^='#/channel/']", "as => as.length") > 0

    # reveal one picture (recorded with who and when), re-blur it, and leave a case note with tags
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#page-cluster button.unblur")
    page.wait_for_function("() => document.querySelector('#page-cluster .preview img').src.includes('unblur=1')")
    page.click("#page-cluster button.unblur")  # now "Re-blur"
    assert not page.eval_on_selector("#page-cluster .preview img", "img => img.src").endswith("unblur=1")
    page.fill("#case-note", "the same picture as in the victim's request")
    page.fill("#case-tags", "victim-request, urgent")
    page.click("#btn-note")
    page.wait_for_function("() => (document.querySelector('#page-cluster .case-log') || {innerText: ''}).innerText"
                           ".includes('victim-request')",
                           timeout=15_000)
    trail = page.inner_text("#page-cluster .case-log")
    assert "reveal" in trail and "note" in trail and "browser-test" in trail
    page.screenshot(path=str(ARTIFACTS / "explorer_cluster_case_log.png"), full_page=True)

    # evidence pointing both ways: the bot page says so instead of "mirror of" and "replaced by" the same bot
    with db:
        db.execute("INSERT INTO bot_mirrors VALUES ('swapface_magic_bot', 'swapface_magic2_bot', 'notice', "
                   "'a post announcing the old name as the new one', '2026-12-03T00:00:00+00:00')")
    page.goto(f"{base}/#/bot/swapface_magic_bot")
    page.wait_for_selector("#page-bot table", timeout=15_000)
    assert "mirror of each other: which replaced which is unclear" in page.inner_text("#page-bot")
    page.close()


def test_the_queue_lands_first_with_reasons_filters_in_the_url_and_decisions(server, browser):
    base, config = server
    db = sqlite3.connect(config.parent / "tgsweep.db", timeout=30)
    top = db.execute("SELECT subject, score, reasons FROM escalations ORDER BY score DESC, subject LIMIT 1").fetchone()
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/")
    page.wait_for_selector("#page-queue table", timeout=15_000)
    assert "first visit" in page.inner_text("#changes")
    page.evaluate("() => { localStorage.setItem('tgsweep.lastVisit', '2001-01-01T00:00:00.000Z');"
                  " sessionStorage.removeItem('tgsweep.previousVisit'); }")  # as if last here long ago
    page.reload()
    page.wait_for_selector("#page-queue table", timeout=15_000)
    changes = page.inner_text("#changes")
    escalated = db.execute("SELECT count(*) FROM escalations WHERE escalated_at IS NOT NULL").fetchone()[0]
    assert "Since your last visit (2001-01-01" in changes and f"{escalated} newly escalated" in changes
    assert "file(s) matched" in changes
    first_row = page.inner_text("#page-queue tbody tr")
    assert f"{top[1]:.2f}" in first_row and json.loads(top[2])[0][:30] in first_row  # the top, with its reasons
    page.screenshot(path=str(ARTIFACTS / "explorer_queue.png"), full_page=True)

    page.select_option("#queue-kind", "bot")
    page.click(".queue-filters button[type=submit]")
    page.wait_for_function("() => location.hash.includes('kind=bot')")
    page.wait_for_selector("#page-queue table", timeout=15_000)
    kinds = page.eval_on_selector_all("#page-queue tbody tr td:nth-child(2) .muted", "ss => ss.map(s => s.textContent)")
    assert kinds and set(kinds) == {"bot"}
    bookmarked = page.url
    page.goto("about:blank")
    page.goto(bookmarked)  # the filtered view again, from its URL alone
    page.wait_for_selector("#page-queue table", timeout=15_000)
    assert page.input_value("#queue-kind") == "bot"

    subject = page.eval_on_selector("#page-queue tbody tr td:nth-child(2) a", "a => a.getAttribute('href')")
    page.once("dialog", lambda dialog: dialog.accept("looked at its promoters; nothing new"))
    page.click("#page-queue tbody tr button.reviewed")
    page.wait_for_function("() => (document.querySelector('#queue-message') || {textContent: ''}).textContent"
                           ".includes('marked reviewed')", timeout=15_000)
    assert "marked reviewed" in page.inner_text("#queue-message")
    name = subject.split("/")[-1]
    (who, action) = db.execute("SELECT who, action FROM audit_log WHERE subject=? ORDER BY id DESC",
                               (f"bot:{name}",)).fetchone()
    assert (who, action) == ("browser-test", "reviewed")
    page.close()


@pytest.mark.parametrize("width, height", [(390, 844), (1440, 900)])
def test_phone_and_desktop_layouts_do_not_overflow(server, browser, width, height):
    base, _ = server
    page = browser.new_page(viewport={"width": width, "height": height})
    for view, ready in (("#/queue", "#page-queue table"), ("#/channel/faceswap_hub", "#page-channel .posts table"),
                        ("#/alerts", "#page-alerts table"), ("#/bots", "#page-bots table"),
                        ("#/channels?sort=posts", "#page-channels table")):
        page.goto(f"{base}/{view}")
        page.wait_for_selector(ready, timeout=15_000)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= width, f"{view} is {wide} px wide in a {width} px window"
        page.screenshot(path=str(ARTIFACTS / f"explorer_{width}_{view[2:].replace('/', '_')}.png"), full_page=True)
    page.goto(f"{base}/#/graph")
    page.wait_for_function("() => window.explorer && window.explorer.ready", timeout=30_000)
    graph = page.eval_on_selector("#cy-wrap", "e => e.getBoundingClientRect().width")
    assert graph >= 0.6 * width - 400 and graph >= 300  # not a sliver beside the details
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    page.close()


def test_search_from_the_keyboard(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/#/bots")
    page.wait_for_selector("#page-bots table", timeout=15_000)
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "search"
    page.keyboard.type("morphme")
    page.keyboard.press("Enter")
    page.wait_for_selector("#page-search table", timeout=15_000)
    page.click(f"#page-search a[href='#/bot/{BOT}']")
    page.wait_for_selector("#page-bot", timeout=15_000)
    assert f"@{BOT}" in page.inner_text("#page-bot h3")
    page.screenshot(path=str(ARTIFACTS / "explorer_search_to_bot.png"))

    # known content: which channels posted a banked picture, blurred, one click from the header
    page.click("#nav-known")
    page.wait_for_selector("#page-known table", timeout=15_000)
    known = page.inner_text("#page-known")
    assert "demo_case" in known and "@faceswap_hub" in known
    sources = page.eval_on_selector_all("#page-known .preview img", "imgs => imgs.map(i => i.getAttribute('src'))")
    assert sources and all(s.endswith("/image") for s in sources)
    page.screenshot(path=str(ARTIFACTS / "explorer_known_content.png"), full_page=True)
    page.close()


def test_the_login_form_works_in_a_browser_when_bound_beyond_loopback(tmp_path_factory, browser):
    """Bound beyond loopback the explorer needs its token; the login form must work in a real browser
    (it once sent `Origin: null` under `Referrer-Policy: no-referrer` and was refused for any token)."""
    config = demo_copy(tmp_path_factory)
    token = "browser-login-token-7f3a"
    for base in _serve(config, token):
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{base}/")
        assert page.url.endswith("/login")  # sent to the form
        page.fill("input[name=token]", "not-the-token")
        page.click("button[type=submit], input[type=submit]")
        assert "wrong token" in page.inner_text("body")
        page.goto(f"{base}/login")
        page.fill("input[name=token]", token)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_selector("#page-queue table", timeout=30_000)  # the landing view: the queue
        assert token not in page.url
        page.close()


def test_a_click_on_a_column_sorts_on_the_server_and_again_turns_it_round(server, browser):
    base, config = server
    db = sqlite3.connect(config.parent / "tgsweep.db", timeout=30)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/#/channels")
    page.wait_for_selector("#page-channels table", timeout=15_000)
    page.click("#page-channels th button[data-sort=posts]")
    page.wait_for_function("() => location.hash.includes('sort=posts')")
    page.wait_for_selector("#page-channels th[aria-sort=descending] button[data-sort=posts]", timeout=15_000)
    busiest = db.execute("SELECT channel FROM posts GROUP BY channel ORDER BY count(*) DESC, channel LIMIT 1").fetchone()[0]
    assert page.inner_text("#page-channels tbody tr td:first-child") == f"@{busiest}"
    page.click("#page-channels th button[data-sort=posts]")  # again: fewest first
    page.wait_for_selector("#page-channels th[aria-sort=ascending] button[data-sort=posts]", timeout=15_000)
    assert "order=asc" in page.url and page.inner_text("#page-channels tbody tr td:first-child") != f"@{busiest}"

    page.goto(f"{base}/#/channel/{busiest}")  # the posts of a channel, by views
    page.wait_for_selector("#page-channel .posts table", timeout=15_000)
    page.click("#page-channel .posts th button[data-sort=views]")
    page.wait_for_selector("#page-channel .posts th[aria-sort=descending] button[data-sort=views]", timeout=15_000)
    most = db.execute("SELECT max(views) FROM posts WHERE channel=?", (busiest,)).fetchone()[0]
    first = page.inner_text("#page-channel .posts tbody tr td:nth-child(4)")
    assert first.replace(",", "").replace("\u202f", "").replace(" ", "") == str(most) or first == f"{most:,}"
    page.close()


VIEWS = (("#/queue", "#page-queue table"), ("#/graph", None), ("#/bots", "#page-bots table"),
         ("#/channels", "#page-channels table"),
         (f"#/bot/{BOT}", "#page-bot"), ("#/channel/faceswap_hub", "#page-channel .posts table"),
         ("#/alerts", "#page-alerts table"), ("#/known", "#page-known table"), ("#/search/morph", "#page-search table"))


def _axe_serious(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands (axe-playwright-python ships axe-core)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [1440, 390])
def test_every_view_passes_an_axe_scan_with_no_serious_violation(server, browser, width):
    base, _ = server
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems = {}
    for view, ready in VIEWS:
        page.goto(f"{base}/{view}")
        if ready:
            page.wait_for_selector(ready, timeout=15_000)
        else:
            page.wait_for_function("() => window.explorer && window.explorer.ready", timeout=30_000)
        found = _axe_serious(page)
        if found:
            problems[view] = found
    page.close()
    assert not problems, json.dumps(problems, indent=1)


def test_the_login_page_passes_an_axe_scan(tmp_path_factory, browser):
    config = demo_copy(tmp_path_factory)
    for base in _serve(config, "axe-login-token-91c2"):
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{base}/login")
        assert _axe_serious(page) == []
        page.close()


def test_the_four_questions_on_a_bigger_store_behind_a_token(tmp_path, browser):
    """What first, who promotes it, which channels spread known content, and why, on a synthetic store of
    4,000 nodes, 12,000 edges, 20,000 scored subjects and 5,000 alerts, served beyond loopback with a token."""
    import csv

    spec = importlib.util.spec_from_file_location("bench_explorer", ROOT / "benchmarks" / "bench_explorer.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    config = bench.make_store(tmp_path, nodes=4000, edges=12000)
    bench.add_workbench_rows(tmp_path / "bench.db", subjects=20_000, alerts=5_000)
    db = sqlite3.connect(tmp_path / "bench.db", timeout=30)
    bot = db.execute("SELECT bot FROM bot_refs GROUP BY bot ORDER BY count(DISTINCT channel) DESC, bot LIMIT 1").fetchone()[0]
    promoters = {r[0] for r in db.execute("SELECT DISTINCT channel FROM bot_refs WHERE bot=?", (bot,))}
    sha, cluster = db.execute("""SELECT m.sha256, m.cluster FROM media m JOIN media_items i ON i.sha256 = m.sha256
                                 GROUP BY m.sha256 ORDER BY count(DISTINCT i.channel) DESC LIMIT 1""").fetchone()
    posted = {r[0] for r in db.execute("SELECT DISTINCT channel FROM media_items WHERE sha256=?", (sha,))}
    with db:
        db.execute("UPDATE bots SET label='deepfake_generator' WHERE username=?", (bot,))
        db.execute("INSERT INTO bank_matches VALUES (?, 'case_2026_017', 'pdq', ?, 'victim report 17', 0, 'near-certain', "
                   "'whole', '2026-01-02T00:00:00+00:00')", (sha, "0" * 64))
    top_subject, top_score, top_reasons = db.execute(
        "SELECT subject, score, reasons FROM escalations ORDER BY score DESC, subject LIMIT 1").fetchone()
    assert len(posted) > 1 and len(promoters) > 1

    token = "four-questions-token-5d1e"
    for base in _serve(config, token):
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{base}/login")
        page.fill("input[name=token]", token)
        page.click("button[type=submit], input[type=submit]")
        # what first, and why: the top of the queue with its reasons
        page.wait_for_selector("#page-queue table", timeout=30_000)
        first = page.inner_text("#page-queue tbody tr")
        assert top_subject.split(":", 1)[1] in first and f"{top_score:.2f}" in first
        assert json.loads(top_reasons)[0] in first
        with page.expect_download() as got:  # the queue as the analyst sees it, in a file that reads back
            page.click("#page-queue .export-csv")
        rows = list(csv.DictReader(Path(got.value.path()).read_text(encoding="utf-8").splitlines()))
        assert len(rows) == page.locator("#page-queue tbody tr").count() and top_subject.split(":", 1)[1] in rows[0]["subject"]
        page.screenshot(path=str(ARTIFACTS / "explorer_big_queue.png"), full_page=True)

        # who promotes the confirmed bot
        page.goto(f"{base}/#/bot/{bot}")
        page.wait_for_selector("#page-bot table", timeout=30_000)
        listed = set(page.eval_on_selector_all(
            "#page-bot h3:has-text('Who promotes it') + .table tbody tr td:first-child a",
            "links => links.map(a => a.textContent.slice(1))"))
        assert listed == promoters
        assert "deepfake_generator" in page.inner_text("#page-bot")

        # which channels spread the banked picture
        page.click("#nav-known")
        page.wait_for_selector("#page-known table", timeout=30_000)
        row = page.locator("#page-known tbody tr", has_text="case_2026_017")
        shown = set(row.locator("td:nth-child(7) a").all_inner_texts())
        assert {c.lstrip("@") for c in shown} == posted and cluster in row.inner_text()

        # a search from the keyboard finds a channel among thousands
        name = sorted(posted)[0]
        page.keyboard.press("/")
        page.keyboard.type(name)
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#page-search a[href='#/channel/{name}']", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "explorer_big_search.png"))
        page.close()
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"{base}/login")
        phone.fill("input[name=token]", token)
        phone.click("button[type=submit], input[type=submit]")
        phone.wait_for_selector("#page-queue table", timeout=30_000)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        phone.screenshot(path=str(ARTIFACTS / "explorer_big_queue_390.png"), full_page=True)
        phone.close()
