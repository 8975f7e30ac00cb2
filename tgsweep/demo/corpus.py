"""The synthetic corpus that ``tgsweep demo`` sweeps from a loopback t.me server.

It models, in harmless words and with procedural pictures (gradients and shapes, seeded, made
here with Pillow), the patterns the tool looks for: a channel that advertises "face swap /
photo generator" bots with deep links and buttons, a ban-and-mirror notice, forward chains
between channels, one hidden-name forward, albums, one picture re-encoded across three
channels, a news channel that reports on the abuse (a hard negative), a benign photo-editor
channel and its bots, a channel reachable only by discovery, one without a public preview,
and three broken media files (truncated JPEG, text named .jpg, a decompression-bomb PNG).
Nothing is fetched; the same world comes out on every run.
"""
from __future__ import annotations

import copy
import io
import random
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from PIL import Image, ImageDraw, ImageOps

from store.records import Button, Forward, LinkPreview, MediaItem, Poll, Post, Reaction, Reply
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

WATCHLIST = ["faceswap_hub", "ai_tools_digest", "neural_pics", "deepfake_watch_news",
             "photo_editor_tips", "meme_relay", "private_swap_club"]
DISCOVERY_ONLY = "swap_mirror_list"  # mentioned by watched channels, not watched itself
GENERATOR_BOTS = ["swapface_magic_bot", "swapface_magic2_bot", "swapface_magic3_bot",
                  "photogen_pro_bot", "morphme_ai_bot"]  # swapface_magic_bot is "banned": no page
BENIGN_BOTS = ["bg_remover_bot", "collage_maker_bot", "news_tips_bot"]
BROKEN_FILES = {"truncated": "broken_truncated.jpg", "not_image": "not_an_image.jpg",
                "bomb": "huge_poster.png"}
SHARED_PICTURE = ["shared_sample_q92.jpg", "shared_sample_q55.jpg", "shared_sample_small.jpg"]

_START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def demo_watchlist() -> list[str]:
    """The channels the demo's config watches (the discovery-only channel is not among them)."""
    return list(WATCHLIST)


# --------------------------------------------------------------------------------------------
# Bytes: pictures and stand-ins for other media
# --------------------------------------------------------------------------------------------


def picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A benign procedural picture: a two-colour gradient with a few seeded shapes."""
    rng = random.Random(seed)
    w, h = size
    gradient = Image.linear_gradient("L").rotate(rng.choice([0, 45, 90, 135]), expand=False).resize(size)
    c1 = tuple(rng.randrange(256) for _ in range(3))
    c2 = tuple(rng.randrange(256) for _ in range(3))
    img = ImageOps.colorize(gradient, c1, c2)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 7)):
        color = tuple(rng.randrange(256) for _ in range(3))
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = min(w, x0 + rng.randint(w // 8, w // 2)), min(h, y0 + rng.randint(h // 8, h // 2))
        shape = rng.choice(["ellipse", "rectangle", "polygon"])
        if shape == "ellipse":
            draw.ellipse([x0, y0, x1, y1], fill=color)
        elif shape == "rectangle":
            draw.rectangle([x0, y0, x1, y1], fill=color)
        else:
            draw.polygon([(x0, y0), (x1, y0 + rng.randrange(h // 3 + 1)), (x0 + rng.randrange(w // 3 + 1), y1)],
                         fill=color)
    return img


def encode(img: Image.Image, fmt: str = "JPEG", quality: int = 85) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        img.save(out, fmt)
    return out.getvalue()


def decompression_bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A valid 1-bit grayscale PNG of zeros whose header declares width x height pixels.

    ~200 KB on disk, 1.6 gigapixels decoded. Built from one compressed block of rows repeated
    (each ends with a full flush, so copies concatenate into a valid deflate stream), so it
    takes milliseconds instead of compressing 200 MB.
    """
    row_bytes = 1 + (width + 7) // 8  # filter byte + packed bits
    rows_per_block = 1000
    assert height % rows_per_block == 0
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(b"\x00" * row_bytes * rows_per_block) + comp.flush(zlib.Z_FULL_FLUSH)
    total = row_bytes * height
    adler = ((total % 65521) << 16) | 1  # adler32 of `total` zero bytes
    idat = b"\x78\xda" + block * (height // rows_per_block) + b"\x03\x00" + struct.pack(">I", adler)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _fake_bytes(seed: int, head: bytes, size: int = 2048) -> bytes:
    rng = random.Random(seed)
    return head + bytes(rng.randrange(256) for _ in range(size))


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


@dataclass
class _Media:
    """Registers media bytes in the world and hands out MediaItems that point at them."""

    files: dict[str, bytes]
    seed: int = 1000

    def photo(self, name: str, size: tuple[int, int] = (320, 240), quality: int = 85) -> MediaItem:
        self.seed += 1
        self.files[name] = encode(picture(self.seed, size), "JPEG", quality)
        return MediaItem(kind="photo", url=f"/file/{name}", width=size[0], height=size[1])

    def video(self, name: str, duration: int, kind: str = "video", too_big: bool = False) -> MediaItem:
        self.seed += 1
        self.files[f"{name}_thumb.jpg"] = encode(picture(self.seed, (160, 120)), "JPEG", 70)
        url = None
        if not too_big:
            self.files[f"{name}.mp4"] = _fake_bytes(self.seed, b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00")
            url = f"/file/{name}.mp4"
        return MediaItem(kind=kind, url=url, thumb_url=f"/file/{name}_thumb.jpg", too_big=too_big,
                         duration=None if kind == "gif" else duration, width=640, height=360)

    def sticker(self, name: str) -> MediaItem:
        self.seed += 1
        self.files[f"{name}.webp"] = encode(picture(self.seed, (128, 128)), "WEBP")
        return MediaItem(kind="sticker", url=f"/file/{name}.webp", width=128, height=128)

    def voice(self, name: str, duration: int) -> MediaItem:
        self.seed += 1
        self.files[f"{name}.ogg"] = _fake_bytes(self.seed, b"OggS\x00\x02")
        return MediaItem(kind="voice", url=f"/file/{name}.ogg", duration=duration)


@dataclass
class _Feed:
    """One channel's posts: increasing ids (albums take one id per item), increasing dates."""

    entity: Entity
    rng: random.Random
    next_id: int = 1
    when: datetime = _START
    by_key: dict[str, Post] = field(default_factory=dict)
    step: timedelta | None = None  # a clockwork channel posts exactly this often, on the minute

    def skip(self, n: int = 1) -> None:
        """Deleted posts leave gaps in the ids."""
        self.next_id += n

    def post(self, text: str = "", key: str | None = None, media: list[MediaItem] | None = None,
             text_links: list[list[str]] | None = None, views: bool = True, **fields: object) -> Post:
        media = [copy.copy(m) for m in media or []]
        post = Post(channel=self.entity.username, id=self.next_id, date=self.when.isoformat(), text=text,
                    media=media, channel_id=self.entity.id, **fields)  # type: ignore[arg-type]
        if len(media) > 1:
            for i, item in enumerate(media):
                item.post_id = post.id + i
        self.next_id += len(media) if len(media) > 1 else 1
        if self.step is not None:
            self.when += self.step
        else:  # people post at any second; the seconds do not draw from rng, so the rest stays as it was
            self.when += timedelta(hours=self.rng.randint(3, 19), minutes=self.rng.randint(0, 59),
                                   seconds=(post.id * 37 + self.entity.id) % 60 - self.when.second)
        if views and not post.service:
            post.views = _three_digits(self.rng.randint(300, 40000))
        lp = post.link_preview
        if lp is not None and lp.image_url and not any(m.kind == "link_preview_photo" for m in media):
            media.append(MediaItem(kind="link_preview_photo", url=lp.image_url))  # as the parser reports it
        if text_links:
            post.extra["text_links"] = text_links
        fill_text_entities(post)
        self.entity.posts.append(post)
        if key:
            self.by_key[key] = post
        return post

    def forward(self, src: Post, src_entity: Entity, text: str | None = None, **fields: object) -> Post:
        """Forward ``src`` here; a forward of a forward shows the original source, as Telegram does."""
        src_when = datetime.fromisoformat(src.date or "")
        if self.when <= src_when:  # a forward comes after its original
            self.when = src_when + timedelta(hours=self.rng.randint(1, 6))
        fwd = src.forwarded_from or Forward(channel=src_entity.username, post=src.id, name=src_entity.title,
                                            url=f"https://t.me/{src_entity.username}/{src.id}")
        return self.post(src.text if text is None else text, media=src.media,
                         text_links=src.extra.get("text_links"), forwarded_from=copy.copy(fwd),
                         buttons=copy.deepcopy(src.buttons), link_preview=copy.deepcopy(src.link_preview),
                         **fields)

    def react(self, post: Post, *pairs: tuple[str, int]) -> None:
        post.reactions = [Reaction(e, c) for e, c in pairs]


def _three_digits(n: int) -> int:
    """Round to three significant digits, so "12.3K" on the page reads back as the same number."""
    return n if n < 1000 else int(float(f"{n:.3g}"))


def _channel(username: str, cid: int, title: str, description: str, subscribers: int) -> Entity:
    return Entity(username=username, id=cid, title=title, kind="channel", description=description,
                  counters={"subscribers": subscribers}, photo=f"/file/avatar_{username}.jpg")


def _count_media(entity: Entity) -> None:
    photos = sum(1 for p in entity.posts for m in p.media if m.kind == "photo")
    videos = sum(1 for p in entity.posts for m in p.media if m.kind in ("video", "round_video", "gif"))
    files = sum(1 for p in entity.posts for m in p.media if m.kind in ("document", "audio"))
    links = sum(1 for p in entity.posts if p.link_preview is not None or any(
        not link.startswith("https://t.me/") for link in p.links))
    entity.counters.update({k: v for k, v in
                            (("photos", photos), ("videos", videos), ("files", files), ("links", links)) if v})


def _btn(text: str, url: str) -> Button:
    return Button(text=text, url=url)


# --------------------------------------------------------------------------------------------
# The channels
# --------------------------------------------------------------------------------------------

_FILLER_AI = [
    "Tool of the day: an open-source image upscaler https://github.com/example/upscaler #tools",
    "Weekly roundup of AI apps for photographers is out. #roundup",
    "Which AI tool saved you the most time this month? Tell us in the chat @ai_tools_chat",
    "New release notes for a popular photo app: better noise reduction and faster export. #tools",
    "Reminder: always read the privacy policy before uploading pictures to any online service.",
    "A free course on prompt writing for image tools https://example.com/course #learning",
]
_FILLER_ART = [
    "Today's drop: soft gradients and floating shapes. #neuralart",
    "Palette study in warm colours. #neuralart #palette",
    "Geometry series, part {n}. #geometry",
    "Evening colours, generated from a single seed. #neuralart",
]
_FILLER_TIPS = [
    "Tip: shoot in soft daylight near a window for even skin tones. #tips",
    "Tip: keep the horizon straight; most editors have a one-tap level tool. #tips",
    "Tip: export for web at 80% quality; nobody sees the difference. #tips",
    "Tip: a plain wall makes background removal cleaner. #tips",
    "Tip: shoot a few frames more than you think you need. #tips",
]
_FILLER_MEMES = [
    "When the progress bar says 99% for ten minutes 😅",
    "Me explaining to my parents what a neural network is",
    "Monday mood: loading...",
    "That feeling when the autosave actually worked",
    "Plot twist: the cat was the photographer all along",
]


def _faceswap_hub(f: _Feed, m: _Media) -> None:
    """Advertises generator bots: deep links, buttons, via-bot results, a ban-and-mirror notice."""
    rng = f.rng
    f.post(service="Channel created", key="created")
    f.post("Welcome to AI Photo Magic! The fastest AI photo tools, every day. #aiphoto #faceswap",
           author="Admin")
    f.post("Meet @swapface_magic_bot: send a photo, get a face swap in seconds. "
           "Try it free: https://t.me/swapface_magic_bot?start=ref123", key="promo_swap",
           media=[m.photo("hub_promo_swap.jpg")],
           buttons=[_btn("Try it free", "https://t.me/swapface_magic_bot?start=ref123")])
    f.post("Results made with the bot. Your turn 👉 @swapface_magic_bot",
           media=[m.photo(f"hub_album1_{i}.jpg") for i in range(4)], key="album1")
    f.post("New: @photogen_pro_bot makes new photos from a single portrait. 3 free credits: "
           "https://t.me/photogen_pro_bot?start=promo_hub #aiphoto", key="promo_gen",
           buttons=[_btn("Get 3 free credits", "https://t.me/photogen_pro_bot?start=promo_hub")])
    f.skip(2)
    f.post("Swap ready ✨", via_bot="photogen_pro_bot", media=[m.photo("hub_via1.jpg")], key="via1")
    f.post("Tap here to start and get a bonus credit",
           text_links=[["Tap here to start", "https://t.me/photogen_pro_bot?start=ref_hub"]], key="textlink")
    f.post(poll=Poll(question="Which bot do you use most?", kind="anonymous poll",
                     options=[("SwapFace Magic", 48), ("PhotoGen Pro", 37), ("MorphMe AI", 15)], votes=1200),
           key="poll")
    f.post("Today's showcase picture #showcase", key="shared",
           media=[MediaItem(kind="photo", url=f"/file/{SHARED_PICTURE[0]}", width=480, height=360)])
    f.post("@morphme_ai_bot turns any picture into a new look in one tap. Private, no watermark. "
           "https://t.me/morphme_ai_bot?start=hub", key="promo_morph",
           buttons=[_btn("Open MorphMe", "https://t.me/morphme_ai_bot?start=hub"),
                    _btn("Prices", "https://example.com/morphme-prices")])
    f.react(f.by_key["promo_morph"], ("🔥", 412), ("👍", 230), ("paid", 12))
    for n in range(14):
        bot = ["swapface_magic_bot", "photogen_pro_bot", "morphme_ai_bot"][n % 3]
        choice = n % 4
        if choice == 0:
            f.post(f"{rng.randint(2, 5)} free tries today only with @{bot}! Start here: "
                   f"https://t.me/{bot}?start=hub{n}", buttons=[_btn("Start", f"https://t.me/{bot}?start=hub{n}")])
        elif choice == 1:
            f.post("Made in five seconds", via_bot=bot, media=[m.photo(f"hub_via_{n}.jpg")])
        elif choice == 2:
            f.post(f"Credits are 50% off this weekend in @{bot}. 10 credits = 1.99$ #sale", edited=True)
        else:
            f.post(f"Before / after samples from @{bot}", media=[m.photo(f"hub_album_{n}_{i}.jpg") for i in range(3)])
        if n in (4, 11):
            f.skip()
    f.post("Yes, it works on phones too. Just send the photo to the bot.", key="reply",
           reply_to=Reply(channel="faceswap_hub", post=f.by_key["promo_swap"].id, author="AI Photo Magic",
                          text="Meet @swapface_magic_bot: send a photo, get a face swap in seconds."))
    f.post("All working mirrors are always listed in @swap_mirror_list. VIP club: https://t.me/private_swap_club",
           key="mirrors_link")
    f.post("⚠️ Our bot @swapface_magic_bot was banned. New mirror: @swapface_magic2_bot — same credits, "
           "same speed. Save it!", key="banned", author="Admin",
           buttons=[_btn("Open new mirror", "https://t.me/swapface_magic2_bot?start=ref123")])
    f.react(f.by_key["banned"], ("😢", 88), ("👍", 301))
    for n in range(16):
        choice = n % 5
        if choice == 0:
            f.post("The new mirror is live: @swapface_magic2_bot. Send a photo, get a face swap in seconds. "
                   f"https://t.me/swapface_magic2_bot?start=ref{200 + n}",
                   buttons=[_btn("Try the mirror", f"https://t.me/swapface_magic2_bot?start=ref{200 + n}")])
        elif choice == 1:
            f.post("Result of the day", via_bot="swapface_magic2_bot", media=[m.photo(f"hub_late_via_{n}.jpg")])
        elif choice == 2:
            f.post(f"Fresh samples #{n} from @photogen_pro_bot",
                   media=[m.photo(f"hub_late_album_{n}_{i}.jpg") for i in range(2)])
        elif choice == 3:
            f.post("Invite friends and get free credits: https://t.me/photogen_pro_bot?start=invite_hub #bonus")
        else:
            f.post("Questions? Write to @hub_admin_contact", author="Admin")
        if n in (3, 8, 13):
            f.skip()
    f.post("Still banned elsewhere? Backup mirror: @swapface_magic3_bot", key="backup",
           buttons=[_btn("Backup mirror", "https://t.me/swapface_magic3_bot?start=ref123")])


def _ai_tools_digest(f: _Feed, m: _Media, hub: _Feed, art: _Feed, tips: _Feed, news: _Feed) -> None:
    """An aggregator: forwards from the hub (first link of a chain), benign news, one broken picture."""
    rng = f.rng
    f.post(service="Channel created")
    f.post("AI Tools Digest: the week's AI tools in one place. Friends: @neural_pics @photo_editor_tips",
           key="intro")
    for n in range(30):
        choice = n % 6
        if choice == 0:
            src = hub.by_key[["promo_swap", "promo_gen", "promo_morph", "album1", "banned"][n // 6 % 5]]
            f.forward(src, hub.entity)
        elif choice == 1:
            text = rng.choice(_FILLER_AI)
            f.post(text)
        elif choice == 2:
            url = f"https://example.com/ai-weekly-{n}"
            f.post(f"This week in AI tools: {url}", link_preview=LinkPreview(
                url=url, site_name="Example Weekly", title=f"AI tools weekly #{n}",
                description="A calm look at new apps and updates.", image_url=m.photo(f"digest_lp_{n}.jpg").url),
                key=f"lp{n}")
        elif choice == 3:
            f.forward(art.by_key[["art0", "art1", "art2", "art5", "art6"][n // 6 % 5]], art.entity)
        elif choice == 4:
            src = tips.by_key["promo_bg"] if n < 15 else news.by_key["report"]
            f.forward(src, tips.entity if n < 15 else news.entity)
        else:
            f.post(f"Our pick: an open-source photo tool #pick{n // 6}", media=[m.photo(f"digest_pick_{n}.jpg")],
                   key=f"pick{n}")
        if n in (7, 19):
            f.skip()
    f.post("Screenshot of the new dashboard", key="not_image",
           media=[MediaItem(kind="photo", url=f"/file/{BROKEN_FILES['not_image']}", width=800, height=600)])
    f.post("Video note from the editor", media=[m.video("digest_round", 31, kind="round_video")], key="round")
    f.post("Which tool should we review next?", poll=Poll(
        question="Which tool should we review next?", kind="anonymous poll",
        options=[("Upscaler", 41), ("Background remover", 39), ("Colour grading", 20)], votes=233))
    f.post("Roundup: three new AI photo bots everyone is talking about — "
           "@photogen_pro_bot, @morphme_ai_bot and @swapface_magic2_bot", key="roundup")


def _neural_pics(f: _Feed, m: _Media, files: dict[str, bytes]) -> None:
    """Pictures: albums, a re-encoded copy of the shared picture, a sticker, a gif, the bomb."""
    rng = f.rng
    f.post(service="Channel created")
    for n in range(26):
        choice = n % 5
        if choice in (0, 2):
            f.post(rng.choice(_FILLER_ART).format(n=n), media=[m.photo(f"art_{n}.jpg")], key=f"art{n}")
        elif choice == 1:
            f.post(f"Set {n}: four variations", media=[m.photo(f"art_set_{n}_{i}.jpg") for i in range(4)],
                   key=f"art{n}")
        elif choice == 3:
            f.post(rng.choice(_FILLER_ART).format(n=n), key=f"art{n}")
        else:
            f.post("", media=[m.sticker(f"art_sticker_{n}")], sticker=True)
        if n in (5, 17):
            f.skip(3)
    f.post("Same picture everyone is sharing this week #showcase", key="shared",
           media=[MediaItem(kind="photo", url=f"/file/{SHARED_PICTURE[1]}", width=480, height=360)])
    f.post("Huge poster, open in full size #poster", key="bomb",
           media=[MediaItem(kind="photo", url=f"/file/{BROKEN_FILES['bomb']}", width=40000, height=40000)])
    f.post("Loop of the day", media=[m.video("art_loop", 0, kind="gif")])
    f.post("All bot mirrors are listed at @swap_mirror_list. Art remix bot: "
           "https://t.me/morphme_ai_bot?start=art", buttons=[_btn("Remix", "https://t.me/morphme_ai_bot?start=art")],
           key="to_mirrors")
    f.post("Second showcase picture #showcase",
           media=[MediaItem(kind="photo", url="/file/shared_b.png", width=400, height=300)], key="shared_b")
    files["shared_b.png"] = encode(picture(4242, (400, 300)), "PNG")


def _news(f: _Feed, m: _Media) -> None:
    """A hard negative: reports on deepfake abuse, names the topic (even a bot), promotes nothing."""
    rng = f.rng
    f.post(service="Channel created")
    f.post("Report: face swap bots on messaging apps are used to make fake pictures of real people without "
           "their consent. What victims can do: https://example.org/news/fake-images-guide", key="report",
           author="M. Rivera", link_preview=LinkPreview(
               url="https://example.org/news/fake-images-guide", site_name="Example News",
               title="Fake images of real people: a guide for victims",
               description="Where to report, how to keep evidence, who can help.",
               image_url=m.photo("news_lp_guide.jpg").url))
    f.react(f.by_key["report"], ("👍", 940), ("🙏", 211))
    stories = [
        "Explainer: how to spot a manipulated photo. Check lighting, edges and reflections. #explainer",
        "Police cyber units say reports about non-consensual fake images doubled this year. #deepfake #safety",
        "Researchers tracked a network of channels advertising 'photo generator' bots such as @morphme_ai_bot; "
        "several were removed after reports. #investigation",
        "Schools are adding lessons about fake images to their media literacy courses. #education",
        "Interview: a helpline worker on supporting people targeted by fake pictures. #interview",
        "Platforms say they removed dozens of face swap bots this month. Critics say new mirrors appear within "
        "days. #deepfake",
        "Lawmakers discuss new rules against sharing fake intimate images without consent. #policy",
        "How to report a fake picture on the major platforms: https://example.org/news/how-to-report #guide",
    ]
    for n in range(24):
        choice = n % 6
        if choice in (0, 1, 2):
            text = stories[n % len(stories)]
            f.post(text, author=rng.choice(["M. Rivera", "J. Okafor", "L. Novak"]),
                   edited=n % 5 == 0)
        elif choice == 3:
            f.post("Interview clip", media=[m.video(f"news_clip_{n}", 95 + n, too_big=n % 2 == 0)])
        elif choice == 4:
            f.post("Our full guide for people affected, as a PDF", media=[MediaItem(
                kind="document", title=f"guide_for_victims_v{n}.pdf")])
        else:
            f.post("Photo: a community workshop on online safety #workshop",
                   media=[m.photo(f"news_photo_{n}.jpg")])
        if n == 10:
            f.skip()
    f.post("Would you know how to report a fake picture of yourself?", poll=Poll(
        question="Would you know how to report a fake picture of yourself?", kind="anonymous poll",
        options=[("Yes", 31), ("No", 52), ("Not sure", 17)], votes=2210))
    f.post("Tips for our newsroom: @news_tips_bot. If you are affected, contact your local helpline.",
           key="tips_bot")


def _photo_editor(f: _Feed, m: _Media) -> None:
    """Benign bots promoted the same way generator bots are: the classifier must tell them apart."""
    rng = f.rng
    f.post(service="Channel created")
    f.post("Remove any background in one tap with @bg_remover_bot — free for 5 pictures a day.",
           key="promo_bg", media=[m.photo("tips_promo_bg.jpg")],
           buttons=[_btn("Remove background", "https://t.me/bg_remover_bot?start=tips")])
    for n in range(24):
        choice = n % 6
        if choice in (0, 1):
            f.post(rng.choice(_FILLER_TIPS), media=[m.photo(f"tips_{n}.jpg")] if n % 3 else None)
        elif choice == 2:
            f.post("Background removed ✅", via_bot="bg_remover_bot", media=[m.photo(f"tips_via_{n}.jpg")])
        elif choice == 3:
            f.post("Make a collage from up to 9 photos with @collage_maker_bot https://t.me/collage_maker_bot",
                   buttons=[_btn("Open Collage Maker", "https://t.me/collage_maker_bot?start=tips")])
        elif choice == 4:
            f.post("Video tutorial: colour correction in 3 steps",
                   media=[m.video(f"tips_tutorial_{n}", 180 + n)], author="Anna")
        else:
            f.post("Cheat sheet for studio lighting",
                   media=[MediaItem(kind="document", title="lighting_cheatsheet.pdf")])
        if n == 12:
            f.skip(2)
    f.post("Yes, it keeps hair edges too.", reply_to=Reply(
        channel="photo_editor_tips", post=f.by_key["promo_bg"].id, author="Photo Editor Tips",
        text="Remove any background in one tap with @bg_remover_bot"))


def _meme_relay(f: _Feed, m: _Media, digest: _Feed, hub: _Feed) -> None:
    """The end of a forward chain, one hidden-name forward, every other media kind, a truncated JPEG."""
    rng = f.rng
    f.post(service="Channel created")
    f.post(rng.choice(_FILLER_MEMES), media=[m.photo("meme_0.jpg")])
    f.forward(digest.by_key["roundup"], digest.entity, key="chain")
    f.forward(hub.by_key["banned"], hub.entity)
    f.post("Cheap credits for a popular photo bot, write for details", key="hidden",
           forwarded_from=Forward(name="Anonymous Reseller"))
    f.post("Everyone is reposting this one", key="shared",
           media=[MediaItem(kind="photo", url=f"/file/{SHARED_PICTURE[2]}", width=336, height=252)])
    f.post("Old picture from the archive", key="truncated",
           media=[MediaItem(kind="photo", url=f"/file/{BROKEN_FILES['truncated']}", width=320, height=240)])
    for n in range(20):
        choice = n % 7
        if choice == 0:
            f.post(rng.choice(_FILLER_MEMES), media=[m.photo(f"meme_{n + 1}.jpg")])
        elif choice == 1:
            f.post("", media=[m.sticker(f"meme_sticker_{n}")], sticker=True)
        elif choice == 2:
            f.post("Voice message from the admin", media=[m.voice(f"meme_voice_{n}", 12 + n)])
        elif choice == 3:
            f.post("This loop never gets old", media=[m.video(f"meme_gif_{n}", 0, kind="gif")])
        elif choice == 4:
            f.post("Too long to watch here", media=[m.video(f"meme_long_{n}", 3725, too_big=True)])
        elif choice == 5:
            f.post("The meme collection as a file", media=[MediaItem(kind="document", title=f"memes_{n}.zip")])
        else:
            f.post("New post format, open the app to see it", unsupported=True)
        if n == 9:
            f.skip()
    f.forward(digest.by_key["intro"], digest.entity)


def _mirror_list(f: _Feed, m: _Media, files: dict[str, bytes]) -> None:
    """Not watched: found only through mentions and links in watched channels."""
    f.post(service="Channel created")
    bots = ["swapface_magic2_bot", "photogen_pro_bot", "morphme_ai_bot"]
    for n in range(24):
        bot = bots[n % 3]
        if n % 4 == 0:
            f.post(f"Working mirrors today: @{bots[0]}, @{bots[1]}, @{bots[2]}",
                   buttons=[_btn(b, f"https://t.me/{b}?start=list{n}") for b in bots])
        elif n % 4 == 1:
            f.post(f"@{bot} is up. Send a photo, get a result in seconds: https://t.me/{bot}?start=list{n}")
        elif n % 4 == 2:
            f.post("Sample", media=[m.photo(f"mirror_{n}.jpg")])
        else:
            f.post("Main channel: https://t.me/faceswap_hub")
    f.post("@swapface_magic2_bot is down, use @swapface_magic3_bot", key="mirror2",
           buttons=[_btn("New mirror", "https://t.me/swapface_magic3_bot?start=list")])
    f.post("Second showcase picture", key="shared_b",
           media=[MediaItem(kind="photo", url="/file/shared_b_q70.jpg", width=400, height=300)])
    files["shared_b_q70.jpg"] = encode(picture(4242, (400, 300)), "JPEG", 70)


def _profile(username: str, cid: int, title: str, kind: str, description: str) -> Entity:
    return Entity(username=username, id=cid, title=title, kind=kind, description=description, preview=False,
                  photo=f"/file/avatar_{username}.jpg")


def build_demo_world() -> World:
    """The deterministic demo world: 8 channels, 7 bots, a user and a group, and their media."""
    world = World()
    files = world.files
    media = _Media(files)

    specs = [
        ("faceswap_hub", 1801000001, "AI Photo Magic", "The fastest AI photo tools. Ads: @hub_admin_contact",
         15300),
        ("ai_tools_digest", 1801000002, "AI Tools Digest", "The week's AI tools in one place. Chat: @ai_tools_chat",
         8200),
        ("neural_pics", 1801000003, "Neural Art Drops", "Procedural art, every day.", 4100),
        ("deepfake_watch_news", 1801000004, "Digital Safety Newsroom",
         "Independent reporting on online safety, fake images and platform accountability.", 52000),
        ("photo_editor_tips", 1801000005, "Photo Editor Tips", "Editing tips and handy tools for photographers.",
         21000),
        ("meme_relay", 1801000006, "Meme Relay", "Memes and reposts from around the net.", 6600),
        (DISCOVERY_ONLY, 1801000007, "Mirror List", "Working bot mirrors, updated daily.", 2900),
    ]
    feeds: dict[str, _Feed] = {}
    for i, (name, cid, title, desc, subs) in enumerate(specs):
        entity = world.add(_channel(name, cid, title, desc, subs))
        feeds[name] = _Feed(entity, random.Random(cid), when=_START + timedelta(hours=7 * i))

    # The shared picture: one source, three re-encodings.
    shared = picture(777, (480, 360))
    files[SHARED_PICTURE[0]] = encode(shared, "JPEG", 92)
    files[SHARED_PICTURE[1]] = encode(shared, "JPEG", 55)
    files[SHARED_PICTURE[2]] = encode(shared.resize((336, 252), Image.LANCZOS), "JPEG", 80)
    # Broken media.
    good = encode(picture(31337, (320, 240)), "JPEG", 85)
    files[BROKEN_FILES["truncated"]] = good[: len(good) * 6 // 10]
    files[BROKEN_FILES["not_image"]] = b"This is not a picture, just text saved with a .jpg name.\n" * 8
    files[BROKEN_FILES["bomb"]] = decompression_bomb_png()

    _faceswap_hub(feeds["faceswap_hub"], media)
    _neural_pics(feeds["neural_pics"], media, files)
    _photo_editor(feeds["photo_editor_tips"], media)
    _news(feeds["deepfake_watch_news"], media)
    _ai_tools_digest(feeds["ai_tools_digest"], media, feeds["faceswap_hub"], feeds["neural_pics"],
                     feeds["photo_editor_tips"], feeds["deepfake_watch_news"])
    _meme_relay(feeds["meme_relay"], media, feeds["ai_tools_digest"], feeds["faceswap_hub"])
    feeds[DISCOVERY_ONLY].step = timedelta(minutes=30)  # a scripted mirror list: clockwork for automation scores
    _mirror_list(feeds[DISCOVERY_ONLY], media, files)

    club = _channel("private_swap_club", 1801000008, "Private Swap Club",
                    "Closed club. Access via @hub_admin_contact.", 812)
    club.preview = False
    world.add(club)

    profiles = [
        ("swapface_magic2_bot", 7001000002, "SwapFace Magic 2", "bot",
         "Send a photo and get a face swap in seconds. 3 free tries, then buy credits. Mirror of the old bot."),
        ("swapface_magic3_bot", 7001000003, "SwapFace Magic (backup)", "bot",
         "Backup mirror. Send a photo and get a face swap in seconds. Credits from the old bot still work."),
        ("photogen_pro_bot", 7001000004, "PhotoGen Pro", "bot",
         "Upload one portrait and get new photos of that person in any style. 3 free credits, HD for Stars."),
        ("morphme_ai_bot", 7001000005, "MorphMe AI", "bot",
         "Turn any picture of a person into a new image in one tap. Private, no watermark. Buy credits for HD."),
        ("bg_remover_bot", 7001000006, "Background Remover", "bot",
         "Removes the background from product photos and selfies. Send a picture, get a transparent PNG back. "
         "Free for 5 pictures a day."),
        ("collage_maker_bot", 7001000007, "Collage Maker", "bot",
         "Builds a collage from up to 9 pictures. Pick a layout, send photos, done."),
        ("news_tips_bot", 7001000008, "Newsroom Tips", "bot",
         "Send tips and documents to the Digital Safety Newsroom. We read every message."),
        ("hub_admin_contact", 5001000001, "Hub Admin", "user", "Ads and partnerships."),
        ("ai_tools_chat", 1801000009, "AI Tools Chat", "group", "Chat of @ai_tools_digest. Be kind."),
    ]
    for name, cid, title, kind, desc in profiles:
        entity = world.add(_profile(name, cid, title, kind, desc))
        if kind == "group":
            entity.members, entity.online = 2310, 41

    for i, entity in enumerate(world.entities.values()):
        files[f"avatar_{entity.username}.jpg"] = encode(picture(90000 + i, (160, 160)), "JPEG", 80)
        if entity.kind == "channel":
            _count_media(entity)
    return world


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    w = build_demo_world()
    took = time.perf_counter() - t0
    for e in w.entities.values():
        print(f"{e.kind:8} {e.username:22} posts={len(e.posts):3} preview={e.has_preview}")
    print(f"{len(w.files)} files, {sum(map(len, w.files.values())) // 1024} KiB, built in {took:.2f}s")
