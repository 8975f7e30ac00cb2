"""A swept synthetic world, end to end, as the acceptance run does it: every deepfake bot, the banned
one included, comes out `deepfake_generator`; every channel that promotes one outranks every bystander.

The world is served by the loopback t.me server and swept with `tgsweep sweep` (collection, then
enrich, detect, automation, graph and deliver). The bots speak five languages; one is banned (t.me
shows its generic page) and known only from the channels' words and a mirror notice.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from store.records import Post
from tgsweep.demo.tme_server import Entity, World, fill_text_entities

START = datetime(2026, 6, 1, tzinfo=timezone.utc)

DEEPFAKE_BOTS = {  # username -> (title, description): what t.me shows on the bot's page
    "jiin_hapseong_ai_bot": ("지인합성 AI", "지인 사진 한 장이면 19금 합성 영상 완성. 첫 1회 무료, 이후 스타 결제."),
    "razdevator_pro_bot": ("Раздеватор", "Раздену любую девушку по фото за 10 секунд. 3 фото бесплатно, дальше за звёзды."),
    "quitaropa_ia_bot": ("Quita Ropa IA", "Sube la foto de cualquier chica y la IA le quita la ropa. La primera es gratis."),
    "facevid_adult_bot": ("FaceVid", "Put any face into an adult video. Send one clear face photo, pay with Stars."),
    "nudify_new_bot": ("Nudify", "Undress any photo in seconds. 2 free tries, then credits."),
}
BANNED = "nudify_old_bot"  # no page of its own any more
BENIGN_BOTS = {
    "weather_now_bot": ("Weather Now", "Weather forecasts for any city, every morning."),
    "bg_eraser_bot": ("BG Eraser", "Remove the background from any photo in one tap."),
    "deepfake_check_bot": ("Deepfake Check", "Detects deepfakes and helps victims report them to the platforms."),
}
PROMOTERS = {  # channel -> its posts (each names the bots it promotes)
    "ai_deals_kr": ["🔥 새 봇 오픈! @jiin_hapseong_ai_bot 사진만 보내면 끝", "지인합성 필요하면 @jiin_hapseong_ai_bot"],
    "tools_ru": ["Лучший бот: @razdevator_pro_bot, первые фото бесплатно", "Снова работает @razdevator_pro_bot"],
    "promo_es": ["Prueba @quitaropa_ia_bot, funciona con cualquier foto", "@quitaropa_ia_bot volvió"],
    "adult_ai_hub": ["Face into any clip: @facevid_adult_bot", "Undress bot of the week: @nudify_new_bot",
                     "Also useful: @weather_now_bot for your trips"],
    "mirror_news": [f"@{BANNED} was banned. New bot: @nudify_new_bot, credits kept, still undresses any photo"],
}
BYSTANDERS = {
    "city_weather": ["Rain tomorrow, ask @weather_now_bot for your district", "Sunny weekend ahead"],
    "photo_tips": ["Clean product shots: @bg_eraser_bot removes the background", "Golden hour tips"],
    "safety_news": ["Victims of fake pictures can report them with @deepfake_check_bot",
                    "Police warn about AI tools that fake pictures of real people"],
    "cooking_daily": ["Spicy noodles in 10 minutes", "Three soups for the winter"],
    "tech_digest": ["New phones announced today", "How to keep your accounts secure"],
    "sports_feed": ["The league resumes on Saturday", "Transfer news"],
}


def _world() -> World:
    world = World(page_size=20)
    channel_id = 5000
    for name, texts in {**PROMOTERS, **BYSTANDERS}.items():
        channel_id += 1
        entity = Entity(username=name, id=channel_id, title=name.replace("_", " ").title(),
                        description=f"Channel {name}", counters={"subscribers": 1000 + channel_id})
        for n, text in enumerate(texts, 1):
            entity.posts.append(fill_text_entities(Post(channel=name, id=n, channel_id=channel_id, text=text,
                                                        date=(START + timedelta(hours=n)).isoformat(), views=500)))
        world.add(entity)
    for n, (name, (title, description)) in enumerate({**DEEPFAKE_BOTS, **BENIGN_BOTS}.items()):
        world.add(Entity(username=name, id=7000 + n, title=title, kind="bot", description=description, preview=False))
    return world


def test_every_deepfake_bot_is_found_and_its_promoters_outrank_every_bystander(sweeps, tmp_path):
    with sweeps.Server(_world()) as server:
        config = sweeps.write_config(tmp_path, server.base_url, [*PROMOTERS, *BYSTANDERS])
        done = sweeps.sweep(config, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
    labels = dict(sweeps.rows(config, "SELECT username, label FROM bots"))
    for bot in [*DEEPFAKE_BOTS, BANNED]:
        assert labels.get(bot) == "deepfake_generator", (bot, labels.get(bot))
    for bot in BENIGN_BOTS:
        assert labels.get(bot) != "deepfake_generator", bot
    reasons = json.loads(sweeps.value(config, "SELECT reasons FROM bots WHERE username=?", (BANNED,)))
    assert reasons, "the banned bot's label comes with its reasons"
    scores = dict(sweeps.rows(config, "SELECT subject, score FROM escalations WHERE kind='channel'"))
    promoters = {c: scores.get(f"channel:{c}", 0.0) for c in PROMOTERS}
    bystanders = {c: scores.get(f"channel:{c}", 0.0) for c in BYSTANDERS}
    assert min(promoters.values()) > max(bystanders.values()), (promoters, bystanders)
