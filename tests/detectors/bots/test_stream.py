"""The streamed reads of the detect stage give what loading everything gave, within their bounds."""
from __future__ import annotations

from store.sqlite import Store
from detectors.bots.stream import Promotions, promo_posts, stream_refs
from detectors.bots.mirrors import find_mirrors, posts_from_rows

T = "2026-01-01T00:00:00+00:00"


async def _seed(store: Store) -> None:
    posts, refs = [], []
    for i in range(1, 41):
        date = f"2026-01-{1 + i // 2:02d}T{i % 24:02d}:00:00+00:00"
        bots = [f"b{i % 5}_bot"] + ([f"b{(i + 1) % 5}_bot"] if i % 4 == 0 else [])
        text = "" if i % 7 == 0 else f"post {i}: try " + " ".join("@" + b for b in bots)
        if i == 40:
            text, bots = "@b0_bot was banned. New mirror: @b9_bot", ["b0_bot", "b9_bot"]
        posts.append((f"ch{i % 3}", i, date, text, T, T))
        refs += [(f"ch{i % 3}", i, b, "deep_link", f"code{i % 2}1" if b != "b9_bot" else "code01") for b in bots]
        refs.append((f"ch{i % 3}", i, bots[0], "mention", ""))  # the same bot named twice in one post
    async with store.transaction() as db:
        await db.executemany("INSERT INTO posts(channel, id, date, text, source, record, first_seen, last_seen) "
                             "VALUES (?,?,?,?,'web','{}',?,?)", posts)
        await db.executemany("INSERT INTO bot_refs VALUES (?,?,?,?,?)", refs)


async def test_promotions_are_the_newest_texts_per_bot_across_chunks(tmp_path):
    store = await Store.open(tmp_path / "t.db")
    try:
        await _seed(store)
        names = [f"b{i}_bot" for i in range(6)] + ["b9_bot"]
        promotions = Promotions(store, names, max_promotions=3, chunk=2)
        got = {n: await promotions.of(n) for n in names}
        rows = await store.fetchall(
            "SELECT DISTINCT r.bot, p.channel, p.id, p.date, p.text FROM bot_refs r JOIN posts p "
            "ON p.channel = r.channel AND p.id = r.post_id WHERE p.text != '' ORDER BY p.date DESC, p.channel, p.id")
        for name in names:
            expected = [r["text"] for r in rows if r["bot"] == name][:3]
            assert got[name] == expected, name
        assert got["b5_bot"] == [] and len(got["b1_bot"]) == 3
        assert await Promotions(store, names, max_promotions=0).of("b1_bot") == []
    finally:
        await store.close()


async def test_streamed_mirrors_equal_mirrors_over_everything(tmp_path):
    store = await Store.open(tmp_path / "t.db")
    try:
        await _seed(store)
        rows = await store.fetchall(
            """SELECT p.channel, p.id, p.date, p.text, r.bot, r.how, r.param,
                      p.forwarded_channel IS NOT NULL OR p.forwarded_name IS NOT NULL FROM bot_refs r
               JOIN posts p ON p.channel = r.channel AND p.id = r.post_id ORDER BY p.date DESC""")
        profiles = {"b9_bot": "Backup of the old bot @b0_bot, which was banned"}
        expected = set(find_mirrors(posts_from_rows([tuple(r) for r in rows]), profiles))
        streamed, _ = await stream_refs(store, profiles)
        assert set(streamed) == expected and len(streamed) == len(expected)
        kinds = {m.kind for m in streamed}
        assert {"notice", "referral"} <= kinds, streamed
        posts = [p async for p in promo_posts(store)]
        assert len(posts) == 40 and sum(len(p.refs) for p in posts) == len(rows)
    finally:
        await store.close()


def test_a_mention_in_words_that_sell_the_bot_is_a_promotion_and_a_report_is_not():
    from detectors.bots.classifier import default_model
    from detectors.bots.stream import advertised

    model = default_model()
    assert advertised("Лучший бот: @razdevator_pro_bot, первые 3 фото бесплатно", ["razdevator_pro_bot"], model)
    assert advertised("지인합성 필요하면 @jiin_ai_bot 사진만 보내면 끝", ["jiin_ai_bot"], model)
    assert not advertised("Investigation: bots like @razdevator_pro_bot undress photos of real women, police say",
                          ["razdevator_pro_bot"], model)
    two = "Undress any photo: @nudify_new_bot\nAlso useful: @weather_now_bot for your trips"
    # the weather bot's own line sells nothing
    assert advertised(two, ["nudify_new_bot", "weather_now_bot"], model) == ["nudify_new_bot"]
