"""Parse Telegram's public web previews into records.

Two pure functions: ``parse_channel_page`` for ``https://t.me/s/<channel>`` pages (or fragments
holding only ``.tgme_widget_message_wrap`` blocks) and ``parse_entity_page`` for
``https://t.me/<name>`` pages. HTML in, records out: no network, no database, no logging.

Speed matters because sweeps parse many pages (the benchmark asks for 10x snscrape): one
lexbor parse per page, one CSS pass per post whose matches are dispatched by class name, one
lexbor text() per text block, and regexes only over short strings such as a single href.

Choices the records leave open (the tests pin them down):

- ``Post.text`` is plain text: ``<br>`` becomes a newline, emoji images their alt text (or the
  emoji character t.me puts inside them), no-break spaces plain spaces; whitespace runs that
  hold a newline in the HTML source are indentation and become one space.
- Service messages ("Channel created", pins, title changes) put their text in
  ``Post.service`` and leave ``Post.text`` empty, so text detectors do not count a quoted pin.
- ``Post.links``: the hrefs of links in the post text, in order, deduplicated, relative ones
  made absolute on https://t.me. Hashtag search links (``?q=%23tag``) go to ``hashtags``
  instead; cashtag search links (``?q=%24USD``) are dropped.
- ``Post.mentions``: usernames named by ``t.me/<name>``, ``t.me/<name>/<post>``,
  ``<name>.t.me`` and ``tg://resolve?domain=<name>`` links in the text, plus plain ``@name``
  in the text; not ``t.me/s/...``, ``joinchat``, ``+invite``, ``c/<id>`` or service paths.
- ``Post.channel_id``: data-view "c" holds the bare channel id negated (@telegram shows
  -1005640892 and @durov -1006503122: their ids are 1005640892 and 1006503122, the
  Bot API forms being -1001005640892 and -1001006503122). We store the bare positive id,
  which is what Telethon calls ``PeerChannel.channel_id``; should a page ever show the Bot
  API form (-100 followed by 10+ digits) the -100 prefix is dropped.
- ``Post.unsupported``: the page asks the reader to open Telegram for (part of) the post
  ("Please open Telegram to view this post"). Two labels do not count: "This media is not
  supported in your browser" (the hidden fallback inside every video/sticker) and "Media is
  too big" (that one is ``MediaItem.too_big``). Nor does the class ``text_not_supported_wrap``,
  which every post carries.
- A link preview's image (or video thumbnail) is also a ``MediaItem(kind="link_preview_photo")``
  so it can be fingerprinted; a service "photo updated" post carries the new photo as a photo.
- ``MediaItem.post_id`` is set only for album items (their ``...?single`` link).
- Forwards from a user link (``t.me/<user>`` without a post) give ``Forward.channel = <user>``.
"""
from __future__ import annotations

import base64
import html
import math
import re
from urllib.parse import unquote

from selectolax.lexbor import LexborHTMLParser, LexborNode

from store.records import (
    Button, ChannelInfo, ChannelPage, EntityPage, Forward, LinkPreview, MediaItem, Poll, Post,
    Reaction, Reply,
)

__all__ = ["parse_channel_page", "parse_entity_page"]

_STYLE_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")
_MENTION = re.compile(r"(?<![\w@./])@([A-Za-z][A-Za-z0-9_]{3,31})(?![\w@])")
_EXTRA_PARTS = re.compile(r",\s+")  # "1 234 members, 56 online"
_EXTRA_COUNTER = re.compile(r"(\d[\d\s.,]*[KMBkmb]?)\s+([^\d,]+)")
_PERCENT = re.compile(r"\d+")
_TME = r"(?:https?:)?//(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/"
_TME_SEARCH = re.compile(r"(?:https?:)?//(?:www\.)?t\.me/s[/?]", re.I)
_TME_POST = re.compile(_TME + r"(?:s/)?([^/?#]+)/(\d+)(?:[/?#]|$)", re.I)
_TME_NAME = re.compile(
    _TME + r"([A-Za-z][A-Za-z0-9_]{3,31})(?:[/?#]|$)"                 # t.me/<name>[/...]
    r"|(?:https?:)?//([A-Za-z][A-Za-z0-9_]{3,31})\.t\.me(?:[/?#:]|$)"  # <name>.t.me
    r"|tg://resolve\?(?:[^#]*&)?domain=([A-Za-z][A-Za-z0-9_]{3,31})(?:[&#]|$)",
    re.I,
)
_VIEW_CHANNEL = re.compile(rb'"c"\s*:\s*"?(-?\d+)')
_BREAK = "\x01"  # stands for <br> while lexbor gathers the text

# First path segments of t.me links that are not usernames.
_TME_NOT_USERS = frozenset({
    "s", "c", "joinchat", "addstickers", "addemoji", "addlist", "addtheme", "setlanguage",
    "share", "proxy", "socks", "login", "invoice", "confirmphone", "boost", "giftcode",
    "contact", "iv", "bg", "nft", "premium_offer", "stars_topup",
})
_MULTIPLIERS = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}

# Classes whose elements make up a post. One CSS pass per post finds them all, in document
# order, and each is handled by its role. The parts of a video, round video or voice player
# (source, thumbnail, duration, "too big" label) come right after their player in that
# order, so they are attached to the player seen last.
_POST_PARTS = {
    "tgme_widget_message_text": "text",
    "tgme_widget_message_views": "views",
    "tgme_widget_message_meta": "meta",
    "tgme_widget_message_from_author": "author",
    "tgme_widget_message_forwarded_from": "forward",
    "tgme_widget_message_reply": "reply",
    "tgme_widget_message_via_bot": "via_bot",
    "tgme_widget_message_photo_wrap": "photo",
    "tgme_widget_message_video_player": "video",
    "tgme_widget_message_roundvideo_player": "round_video",
    "tgme_widget_message_voice_player": "voice",
    "tgme_widget_message_video": "player_source",
    "tgme_widget_message_roundvideo": "player_source",
    "tgme_widget_message_voice": "player_source",
    "tgme_widget_message_video_thumb": "player_thumb",
    "tgme_widget_message_roundvideo_thumb": "player_thumb",
    "message_video_duration": "player_duration",
    "tgme_widget_message_roundvideo_duration": "player_duration",
    "tgme_widget_message_voice_duration": "player_duration",
    "tgme_widget_message_document_wrap": "document",
    "tgme_widget_message_sticker": "sticker",
    "tgme_widget_message_tgsticker": "sticker",
    "tgme_widget_message_videosticker": "sticker",
    "tgme_widget_message_location_wrap": "location",
    "tgme_widget_message_service_photo": "service_photo",
    "tgme_widget_message_link_preview": "link_preview",
    "tgme_widget_message_poll": "poll",
    "tgme_widget_message_voters": "voters",
    "tgme_widget_message_poll_votes": "voters",  # the embed page's form ("746 votes")
    "tgme_widget_message_inline_button": "button",
    "tgme_reaction": "reaction",
    "message_media_not_supported_label": "label",
}
_PLAYERS = frozenset({"video", "round_video", "voice"})  # roles that are MediaItem kinds too
# A substring match on the class attribute costs lexbor a fraction of a list of thirty class
# selectors; the extra elements it lets through have no role and are skipped.
_POST_PARTS_SELECTOR = (
    '[class*="tgme_widget_message_"], .tgme_reaction, .message_media_not_supported_label, '
    ".message_video_duration, time[datetime]"
)

_DOCUMENT_PARTS = frozenset({
    "tgme_widget_message_document_title", "tgme_widget_message_document_icon",
    "tgme_widget_message_document_thumb",
})
_PREVIEW_PARTS = frozenset({
    "link_preview_site_name", "link_preview_title", "link_preview_description",
    "link_preview_image", "link_preview_right_image", "link_preview_video_thumb",
})
_REPLY_PARTS = frozenset({
    "tgme_widget_message_author_name", "tgme_widget_message_metatext", "js-message_reply_text",
})
_POLL_PARTS = frozenset({"tgme_widget_message_poll_question", "tgme_widget_message_poll_type"})


# ---------------------------------------------------------------------------------------------
# public functions


_BEFORE_PARAM = re.compile(r"[?&]before=(\d+)")
_TAG = re.compile(rb"<(/?)([A-Za-z][^\s/>]*)[^>]*?(/?)>")
_VOID = frozenset(b"area base br col embed hr img input link meta param source track wbr".split())


def nesting_depth(html: str | bytes, limit: int) -> int:
    """How deep elements nest, counted in one linear pass, stopping once past `limit`.

    The HTML parser takes quadratic time on deep nesting (100,000 nested elements: minutes), so a
    page is measured before it is parsed. Real t.me pages nest about 20 deep.
    """
    data = html.encode("utf-8", "replace") if isinstance(html, str) else bytes(html)
    depth = deepest = 0
    for match in _TAG.finditer(data):
        closing, name, self_closing = match.groups()
        if name.lower() in _VOID or self_closing:
            continue
        if closing:
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
    return deepest

def parse_channel_page(html: str | bytes, channel: str | None = None) -> ChannelPage:
    """Read everything a t.me/s/<channel> page (or a fragment of message blocks) shows.

    ``channel`` names the page's channel when the page itself does not (fragments); posts
    always take their channel from their own ``data-post``. Never raises: missing parts are
    None/empty, a post that cannot be read at all is skipped, and input that is not HTML
    gives an empty page.
    """
    empty = ChannelPage(channel=None, posts=[], before=None)
    doc = _parse(html)
    if doc is None:
        return empty
    fallback = (channel or "").lstrip("@").lower() or None
    try:
        info = _channel_info(doc, fallback)
    except Exception:  # a broken header must not cost us the posts
        info = None
    if fallback is None and info is not None:
        fallback = info.username or None

    posts: list[Post] = []
    problems: list[str] = []
    for node in doc.css("div.tgme_widget_message"):
        try:
            post = _parse_post(node, fallback)
        except Exception:  # last resort: keep what identifies the post
            post = _bare_post(node, fallback)
        if post is not None:
            posts.append(post)
            problems += [f"post {post.id}: {what} could not be read (left empty)"
                         for what in post.extra.pop("unreadable", [])]
        else:
            problems.append(f"a post whose id cannot be read ({(node.attrs.get('data-post') or '')[:60]!r}) "
                            "was not stored")
    if posts and _cut_short(html):
        # the last wrap may be hollow: it is left for the next sweep, which reads it whole
        problems.append(f"page ends mid-post: post {posts[-1].id} was not stored; the next sweep reads it again")
        posts.pop()

    before = None
    no_posts = False
    for node in doc.css("a.tme_messages_more[data-before], .tme_no_messages_found"):
        if node.tag == "a":
            before = before or _to_int(node.attrs.get("data-before"))
        else:
            no_posts = True
    if before is None and posts:
        # older layouts: only the link's href, or the <link rel="prev"> in the head, says it
        for node in doc.css('a.tme_messages_more[href*="before="], link[rel="prev"][href*="before="]'):
            match = _BEFORE_PARAM.search(node.attrs.get("href") or "")
            before = before or (_to_int(match.group(1)) if match else None)
    return ChannelPage(channel=info, posts=posts, before=before, no_posts=no_posts, problems=problems)


def _cut_short(html: str | bytes) -> bool:
    """A whole page (it has <html>) whose end never came: no closing </html>."""
    head = html[:2000] if isinstance(html, (bytes, bytearray)) else html[:2000].encode("utf-8", "replace")
    tail = html[-2000:] if isinstance(html, (bytes, bytearray)) else html[-2000:].encode("utf-8", "replace")
    return b"<html" in head.lower() and b"</html>" not in tail.lower()


def parse_entity_page(html: str | bytes, username: str) -> EntityPage:
    """Read a t.me/<name> page and tell what kind of entity it is.

    Kinds: ``group`` (members/online counters), ``channel`` (subscribers counter or a
    "Preview channel" link), ``bot`` (a bot button such as "Start Bot", a monthly-users
    counter, or an "@name" extra with a name ending in "bot"), ``user`` (an "@name" extra),
    else ``unknown`` (which is also what a page for a name nobody holds gives).
    """
    name = (username or "").strip().lstrip("@").lower()
    page = EntityPage(username=name, kind="unknown")
    doc = _parse(html)
    if doc is None:
        return page
    try:
        _fill_entity(doc, page)
    except Exception:
        pass
    return page


# ---------------------------------------------------------------------------------------------
# pages


def _parse(html: str | bytes | None) -> LexborHTMLParser | None:
    """Parse input that looks like HTML (bytes are UTF-8, as t.me sends); None otherwise."""
    if isinstance(html, (bytes, bytearray)):
        if b"<" not in html:
            return None
        html = bytes(html)
    elif not isinstance(html, str) or "<" not in html:
        return None
    try:
        return LexborHTMLParser(html)
    except Exception:
        return None


def _channel_info(doc: LexborHTMLParser, fallback: str | None) -> ChannelInfo | None:
    """The channel header, or the og: metadata when the header is cut away; None if neither."""
    box = doc.css_first(".tgme_channel_info")
    scope = box if box is not None else doc
    username_node = scope.css_first(".tgme_channel_info_header_username")
    counter_nodes = scope.css(".tgme_channel_info_counter")
    if box is None and username_node is None and not counter_nodes:
        return None

    username = _clean(username_node.text()).lstrip("@").lower() if username_node else ""
    if not username:
        main = doc.css_first("main.tgme_main[data-url]")
        username = (main.attrs.get("data-url") or "").strip("/").lower() if main else ""
    info = ChannelInfo(username=username or fallback or "")

    title = scope.css_first(".tgme_channel_info_header_title span")
    if title is None:
        title = scope.css_first(".tgme_channel_info_header_title")
    info.title = _clean(title.text()) if title else None
    info.verified = scope.css_first(".tgme_channel_info_header .verified-icon") is not None
    photo = scope.css_first(".tgme_channel_info_header img")
    info.photo_url = _media_url(photo.attrs.get("src")) if photo else None
    description = scope.css_first(".tgme_channel_info_description")
    if description is not None:
        info.description = _Text(description).text or None
    if box is None:  # a cut-down page: fall back on the og: metadata
        info.title = info.title or _meta(doc, "og:title")
        info.description = info.description or _meta(doc, "og:description")
        info.photo_url = info.photo_url or _media_url(_meta(doc, "og:image"))

    for counter in counter_nodes:
        value = counter.css_first(".counter_value")
        kind = counter.css_first(".counter_type")
        number = _count(value.text()) if value else None
        if number is not None and kind is not None:
            info.counters[_counter_key(kind.text())] = number
    return info


def _fill_entity(doc: LexborHTMLParser, page: EntityPage) -> None:
    root = doc.css_first(".tgme_page")
    if root is None:
        root = doc
    title = root.css_first(".tgme_page_title span")
    if title is None:
        title = root.css_first(".tgme_page_title")
    page.title = _clean(title.text()) or None if title else _meta(doc, "og:title")
    if page.title and page.title.lower().startswith("telegram: contact @"):
        page.title = None  # the generic page t.me shows for a name nobody holds
    description = root.css_first(".tgme_page_description")
    if description is not None:
        page.description = _Text(description).text or None
    photo = root.css_first("img.tgme_page_photo_image")
    page.photo_url = _media_url(photo.attrs.get("src")) if photo else None

    extras = [_clean(node.text()) for node in root.css(".tgme_page_extra")]
    extras = [extra for extra in extras if extra]
    page.extra = ", ".join(extras) or None
    for extra in extras:
        for part in _EXTRA_PARTS.split(extra):
            match = _EXTRA_COUNTER.match(part.strip())
            number = _count(match.group(1)) if match else None
            if number is not None:
                page.counters[_counter_key(match.group(2))] = number

    context = root.css_first("a.tgme_page_context_link")
    page.has_preview = context is not None and (
        "/s/" in (context.attrs.get("href") or "") or "preview" in context.text().lower())
    button = root.css_first(".tgme_page_action a")
    if button is None:
        button = root.css_first("a.tgme_action_button_new")
    action = _clean(button.text()).lower() if button else ""
    handle = next((extra for extra in extras if extra.startswith("@")), None)

    if "members" in page.counters or "online" in page.counters:
        page.kind = "group"
    elif "subscribers" in page.counters or page.has_preview:
        page.kind = "channel"
    elif "bot" in action or "monthly_users" in page.counters:
        page.kind = "bot"
    elif handle is not None:
        bot_name = handle.lower().endswith("bot") or page.username.endswith("bot")
        page.kind = "bot" if bot_name else "user"


# ---------------------------------------------------------------------------------------------
# posts


def _bare_post(node: LexborNode, fallback: str | None) -> Post | None:
    """The post's identity alone, for a post whose parts could not be read."""
    try:
        channel, post_id = _post_identity(node, fallback)
    except Exception:
        return None
    if post_id is None:
        return None
    return Post(channel=channel, id=post_id, date=None)


def _post_identity(node: LexborNode, fallback: str | None) -> tuple[str, int | None]:
    """Channel and id from data-post ("channel/123"), else from the date link."""
    channel, _, number = (node.attrs.get("data-post") or "").partition("/")
    post_id = _to_int(number)
    if post_id is None:
        date_link = node.css_first("a.tgme_widget_message_date")
        target = _tme_post(date_link.attrs.get("href")) if date_link else None
        if target:
            channel, post_id = target
    return (channel.lower() or fallback or ""), post_id


def _parse_post(node: LexborNode, fallback: str | None) -> Post | None:
    channel, post_id = _post_identity(node, fallback)
    if post_id is None:
        return None
    post = Post(channel=channel, id=post_id, date=None)
    classes = (node.attrs.get("class") or "").split()
    post.channel_id = _channel_id(node.attrs.get("data-view"))
    is_service = "service_message" in classes
    post.sticker = "sticker_media" in classes

    text_node = None
    reply_node = None
    player = None  # the MediaItem of the video/round video/voice player we are inside
    too_big_labels = 0
    for part in node.css(_POST_PARTS_SELECTOR):
        part_classes = part.attrs.get("class") or ""
        role = None
        for name in part_classes.split():
            role = _POST_PARTS.get(name)
            if role is not None:
                break
        if role is None:
            if post.date is None and part.tag == "time":
                post.date = part.attrs.get("datetime") or None
            continue

        if role.startswith("player_"):
            if player is None:
                continue
            if role == "player_source":
                player.url = _media_url(part.attrs.get("src"))
                if player.kind == "video" and "loop" in part.attrs:
                    player.kind = "gif"  # gifs are looping muted videos
            elif role == "player_thumb":
                player.thumb_url = _style_url(part)
            else:
                player.duration = _duration(part.text())
            continue
        if role == "label":
            label = _clean(part.text()).lower()
            if "too big" in label:
                too_big_labels += 1
                if player is not None:
                    player.too_big = True
            elif "browser" not in label and not _fallback(part, node):
                post.unsupported = True
            continue
        player = None
        if role in _PLAYERS:
            player = MediaItem(kind=role, post_id=_single_id(part))
            post.media.append(player)
        elif role == "text":
            # the quoted text of a reply is not the post's (older pages lack js-message_reply_text)
            if text_node is None and "js-message_reply_text" not in part_classes \
                    and not (reply_node is not None and _inside(part, reply_node, node)):
                text_node = part
        elif role == "views":
            post.views = _count(part.text())
            if post.views is None and part.text().strip():
                post.extra.setdefault("unreadable", []).append(f"views {part.text().strip()[:40]!r}")
        elif role == "meta":
            post.edited = "edited" in part.text(deep=False)
        elif role == "author":
            post.author = _clean(part.text()) or None
        elif role == "forward":
            post.forwarded_from = _forward(part)
        elif role == "reply":
            reply_node = part
            post.reply_to = _reply(part)
        elif role == "via_bot":
            if reply_node is None or not _inside(part, reply_node, node):
                post.via_bot = post.via_bot or _via_bot(part)
        elif role == "photo":
            post.media.append(MediaItem(
                kind="photo", url=_style_url(part), post_id=_single_id(part)))
        elif role == "document":
            post.media.append(_document(part))
        elif role == "sticker":
            post.sticker = True
            post.media.append(MediaItem(kind="sticker", url=_sticker_url(part)))
        elif role == "location":
            post.media.append(MediaItem(
                kind="location", url=part.attrs.get("href") or None,
                thumb_url=_style_url(part.css_first(".tgme_widget_message_location"))))
        elif role == "service_photo":
            image = part.css_first("img")
            if image is not None:
                post.media.append(MediaItem(kind="photo", url=_media_url(image.attrs.get("src"))))
        elif role == "link_preview":
            post.link_preview = _link_preview(part)
            if post.link_preview.image_url:
                post.media.append(MediaItem(
                    kind="link_preview_photo", url=post.link_preview.image_url))
        elif role == "poll":
            post.poll = _poll(part)
        elif role == "voters":
            if post.poll is None:
                post.poll = Poll(question="")
            votes = _LEADING_COUNT.match(part.text())  # "746" on t.me/s, "746 votes" on an embed page
            post.poll.votes = _count(votes.group(1)) if votes else None
        elif role == "button":
            label = _clean(part.text())
            if label or part.attrs.get("href"):
                post.buttons.append(Button(text=label, url=part.attrs.get("href") or None))
        elif role == "reaction":
            reaction = _reaction(part)
            if reaction is not None:
                post.reactions.append(reaction)

    # "Media is too big" outside a player (a document, say).
    too_big_items = sum(1 for item in post.media if item.too_big)
    for _ in range(too_big_labels - too_big_items):
        post.media.append(MediaItem(kind="unsupported", too_big=True))

    if text_node is not None:
        text = _Text(text_node)
        if is_service:
            post.service = text.text
        else:
            post.text = text.text
            post.links = text.links
            post.hashtags = text.hashtags
            post.mentions = text.mentions
    elif is_service:
        post.service = ""
    return post


def _channel_id(data_view: str | None) -> int | None:
    """The numeric channel id from data-view (base64url JSON, key "c"), positive and bare."""
    if not data_view:
        return None
    try:
        decoded = base64.urlsafe_b64decode(data_view + "=" * (-len(data_view) % 4))
    except ValueError:
        return None
    match = _VIEW_CHANNEL.search(decoded)
    if match is None:
        return None
    value = abs(int(match.group(1)))
    if value >= 1_000_000_000_000:  # Bot API form "-100<id>"
        value -= 1_000_000_000_000
    return value or None


def _forward(node: LexborNode) -> Forward:
    forward = Forward()
    name_node = node.css_first(".tgme_widget_message_forwarded_from_name")
    if name_node is not None:
        forward.name = _clean(name_node.text()) or None
        href = name_node.attrs.get("href")
    else:  # no name element: whatever follows "Forwarded from"
        forward.name = _clean(node.text()).removeprefix("Forwarded from").strip() or None
        link = node.css_first("a[href]")
        href = link.attrs.get("href") if link else None
    if href:
        forward.url = href
        target = _tme_post(href)
        if target:
            forward.channel, forward.post = target[0].lower(), target[1]
        else:
            forward.channel = _tme_username(href)
    return forward


def _reply(node: LexborNode) -> Reply:
    reply = Reply()
    target = _tme_post(node.attrs.get("href"))
    if target:
        reply.channel, reply.post = target[0].lower(), target[1]
    parts = _find_parts(node, _REPLY_PARTS)
    author = parts.get("tgme_widget_message_author_name")
    reply.author = _clean(author.text()) or None if author else None
    body = parts.get("js-message_reply_text") or parts.get("tgme_widget_message_metatext")
    reply.text = _Text(body).text or None if body else None
    return reply


def _via_bot(node: LexborNode) -> str | None:
    name = _tme_username(node.attrs.get("href") or "")
    if name is None:
        name = _clean(node.text()).lstrip("@").lower() or None
    return name


def _document(node: LexborNode) -> MediaItem:
    parts = _find_parts(node, _DOCUMENT_PARTS)
    title = parts.get("tgme_widget_message_document_title")
    icon = parts.get("tgme_widget_message_document_icon")
    is_audio = icon is not None and "audio" in (icon.attrs.get("class") or "").split()
    return MediaItem(
        kind="audio" if is_audio else "document",
        title=_clean(title.text()) or None if title is not None else None,
        thumb_url=_style_url(parts.get("tgme_widget_message_document_thumb")),
    )


def _sticker_url(node: LexborNode) -> str | None:
    """The sticker's own image: data-webp, a tgs/webp <source>, a <video> or the style."""
    url = _media_url(node.attrs.get("data-webp"))
    if url:
        return url
    if node.tag == "video":
        return _media_url(node.attrs.get("src"))
    fallback = None
    for child in node.traverse():
        if child.tag == "source":
            src = _media_url((child.attrs.get("srcset") or "").split(" ")[0])
            if src and child.attrs.get("type") == "application/x-tgsticker":
                return src
            fallback = fallback or src
        elif child.tag in ("video", "img"):
            fallback = fallback or _media_url(child.attrs.get("src"))
    return fallback or _style_url(node)


def _link_preview(node: LexborNode) -> LinkPreview:
    parts = _find_parts(node, _PREVIEW_PARTS)
    site = parts.get("link_preview_site_name")
    title = parts.get("link_preview_title")
    description = parts.get("link_preview_description")
    image = (_style_url(parts.get("link_preview_image"))
             or _style_url(parts.get("link_preview_right_image"))
             or _style_url(parts.get("link_preview_video_thumb")))
    return LinkPreview(
        url=_absolute(node.attrs.get("href")) or None,
        site_name=_clean(site.text()) or None if site is not None else None,
        title=_clean(title.text()) or None if title is not None else None,
        description=_Text(description).text or None if description is not None else None,
        image_url=image,
    )


def _poll(node: LexborNode) -> Poll:
    parts = _find_parts(node, _POLL_PARTS)
    question = parts.get("tgme_widget_message_poll_question")
    kind = parts.get("tgme_widget_message_poll_type")
    poll = Poll(
        question=_Text(question).text if question is not None else "",
        kind=_clean(kind.text()).lower() or None if kind is not None else None,
    )
    for option in node.css(".tgme_widget_message_poll_option"):
        text = option.css_first(".tgme_widget_message_poll_option_text")
        percent = option.css_first(".tgme_widget_message_poll_option_percent")
        digits = _PERCENT.search(percent.text()) if percent is not None else None
        poll.options.append((
            _Text(text).text if text is not None else "",
            int(digits.group()) if digits else None,
        ))
    return poll


def _reaction(node: LexborNode) -> Reaction | None:
    """One reaction: its count is the span's own text, the emoji is in a child."""
    count = _count(node.text(deep=False))
    if count is None:
        return None
    if "tgme_reaction_paid" in (node.attrs.get("class") or "").split():
        return Reaction(emoji="paid", count=count)
    emoji = None
    for child in node.traverse():
        if child.tag == "tg-emoji" and child.attrs.get("emoji-id"):
            emoji = "custom:" + child.attrs.get("emoji-id")
            break
        if child.tag == "img" and child.attrs.get("alt"):
            emoji = child.attrs.get("alt")
            break
        if child.tag == "b" and child.text():
            emoji = child.text().strip()
            break
    if emoji is None:
        emoji = _clean(node.text()).removesuffix(node.text(deep=False).strip()).strip() or "?"
    return Reaction(emoji=emoji, count=count)


# ---------------------------------------------------------------------------------------------
# text


class _Text:
    """Plain text of an element, with the links, hashtags and mentions found in it.

    Rewrites the element in place (each <br> and emoji <img> becomes text) so that lexbor
    can give the whole text in one call; the parse tree is ours and read once.
    """

    __slots__ = ("text", "links", "hashtags", "mentions")

    def __init__(self, node: LexborNode) -> None:
        self.links: list[str] = []
        self.hashtags: list[str] = []
        self.mentions: list[str] = []
        for child in node.css("br, img[alt], a[href]"):
            tag = child.tag
            if tag == "a":
                self._link(child.attrs.get("href") or "")
            elif tag == "br":
                child.replace_with(_BREAK)
            else:
                child.replace_with(child.attrs.get("alt") or "")
        text = _unwrap_source_lines(node.text())
        text = text.replace(_BREAK, "\n").replace("\xa0", " ")
        if "\n" in text:
            text = "\n".join(line.strip(" ") for line in text.split("\n"))
        self.text = text.strip()
        if "@" in self.text:
            for name in _MENTION.findall(self.text):
                name = name.lower()
                if name not in self.mentions:
                    self.mentions.append(name)

    def _link(self, href: str) -> None:
        href = href.strip()
        if "&amp;" in href:  # t.me escapes some hrefs twice ("&amp;amp;"): the link is what a reader clicks
            href = html.unescape(href)
        if href[:1] in ("/", "?"):
            href = _absolute(href)
        if "?q=" in href and _TME_SEARCH.match(href):
            self._search(href)
            return
        if href in self.links or not href or href == "#" or href.startswith("javascript:"):
            return
        self.links.append(href)
        name = _tme_username(href)
        if name is not None and name not in self.mentions:
            self.mentions.append(name)

    def _search(self, href: str) -> None:
        """A t.me search link: a hashtag, a cashtag (dropped), else kept as a link."""
        query = unquote(href.split("?q=", 1)[1].split("&", 1)[0]).strip()
        if query.startswith("#"):
            _add(self.hashtags, query[1:])
        elif not query.startswith("$"):
            _add(self.links, href)


def _add(items: list[str], value: str) -> None:
    if value and value not in items:
        items.append(value)


def _clean(text: str | None) -> str:
    """Short texts (names, labels): one line, plain spaces, trimmed."""
    if not text:
        return ""
    return _unwrap_source_lines(text).replace("\xa0", " ").strip()


def _unwrap_source_lines(text: str) -> str:
    """Newlines in the HTML source are indentation, not line breaks: each whitespace run
    holding one becomes a single space. (Split and join: a regex backtracks on long indents.)
    The edges of the text are trimmed too; every caller trims them anyway."""
    if "\n" not in text:
        return text
    return " ".join(filter(None, (line.strip() for line in text.split("\n"))))


# ---------------------------------------------------------------------------------------------
# small helpers


def _find_parts(node: LexborNode, wanted: frozenset[str]) -> dict[str, LexborNode]:
    """First element (the node itself included) for each wanted class or tag, in one walk."""
    found: dict[str, LexborNode] = {}
    for child in node.traverse():
        tag = child.tag
        if tag in wanted and tag not in found:
            found[tag] = child
        classes = child.attrs.get("class")
        if classes:
            for name in classes.split():
                if name in wanted and name not in found:
                    found[name] = child
    return found


def _fallback(label: LexborNode, post: LexborNode) -> bool:
    """A "Please open Telegram" box inside `media_not_supported_cont` is the fallback old browsers
    show instead of a `media_supported_cont` (custom emoji, new media): the post itself is there."""
    parent = label.parent
    while parent is not None and parent != post:
        if "media_not_supported_cont" in (parent.attrs.get("class") or ""):
            return True
        parent = parent.parent
    return False


def _inside(node: LexborNode, container: LexborNode, stop: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent != stop:
        if parent == container:
            return True
        parent = parent.parent
    return False


def _meta(doc: LexborHTMLParser, prop: str) -> str | None:
    node = doc.css_first(f'meta[property="{prop}"]')
    return _clean(node.attrs.get("content")) or None if node is not None else None


def _style_url(node: LexborNode | None) -> str | None:
    """The background-image url in an element's style."""
    if node is None:
        return None
    style = node.attrs.get("style")
    if not style or "url(" not in style:
        return None
    match = _STYLE_URL.search(style)
    return _media_url(match.group(1).strip()) if match else None


def _media_url(url: str | None) -> str | None:
    """A media url as given (protocol-relative ones made https), None for blanks and
    inline data: placeholders."""
    if not url:
        return None
    url = url.strip()
    if not url or url.startswith("data:"):
        return None
    if url.startswith("//"):
        return "https:" + url
    return url


def _absolute(href: str | None) -> str:
    """Links inside t.me pages are relative to https://t.me (a bare "?q=" to its /s/ page)."""
    if not href:
        return ""
    if href.startswith("//"):
        return "https:" + href
    if href.startswith("/"):
        return "https://t.me" + href
    if href.startswith("?"):
        return "https://t.me/s" + href
    return href


def _single_id(node: LexborNode) -> int | None:
    """The album item's own post id from its https://t.me/<ch>/<id>?single link."""
    href = node.attrs.get("href") or ""
    if "?single" not in href:
        return None
    target = _tme_post(href)
    return target[1] if target else None


def _tme_post(href: str | None) -> tuple[str, int] | None:
    """(channel, post id) of a https://t.me/<channel>/<post> link (also /s/<channel>/<post>)."""
    match = _TME_POST.match(_absolute(href)) if href else None
    if match is None or match.group(1).lower() in _TME_NOT_USERS:
        return None
    post_id = _to_int(match.group(2))
    return (match.group(1), post_id) if post_id is not None else None


def _tme_username(href: str) -> str | None:
    """The username a t.me (or tg://resolve) link names, lower case; None for other links."""
    match = _TME_NAME.match(href)
    if match is None:
        return None
    name = (match.group(1) or match.group(2) or match.group(3)).lower()
    return None if name in _TME_NOT_USERS else name


MAX_ID = 2**53  # message and channel ids fit here; a longer number is not one (and breaks JSON readers)
MAX_COUNT = 10**13  # views, subscribers, votes: more than any real count


def _to_int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 16 and int(value) < MAX_ID else None


_LEADING_COUNT = re.compile(r"\s*(\d[\d.,\u00a0\u202f ]*[KMBkmb]?)")


def _count(text: str | None) -> int | None:
    """Counts as t.me prints them: "1.2K" -> 1200, "3.1M" -> 3100000, "12 345" -> 12345."""
    if not text:
        return None
    value = (text.strip().replace("\xa0", "").replace("\u202f", "").replace(" ", "")
             .replace(",", ""))
    multiplier = 1
    if value and value[-1].upper() in _MULTIPLIERS:
        multiplier = _MULTIPLIERS[value[-1].upper()]
        value = value[:-1]
    try:
        number = float(value) if "." in value or "e" in value.lower() else int(value)
    except ValueError:
        return None
    if not math.isfinite(number) or not 0 <= number * multiplier < MAX_COUNT:
        return None  # "1.0e400": a field that cannot be read, not a reason to lose the post
    return int(round(number * multiplier))


def _duration(text: str | None) -> int | None:
    """"0:15" -> 15, "1:02:03" -> 3723."""
    if not text:
        return None
    total = 0
    for piece in text.strip().split(":"):
        if not piece.isdigit():
            return None
        total = total * 60 + int(piece)
    return total


def _counter_key(label: str) -> str:
    """"subscriber" / "subscribers" -> "subscribers"; "monthly users" -> "monthly_users"."""
    key = "_".join(_clean(label).lower().split())
    if key and key != "online" and not key.endswith("s"):
        key += "s"
    return key
