from store.tme_links import TmeLink, parse_tme_link


def test_usernames_posts_and_start_parameters():
    assert parse_tme_link("https://t.me/NewsChan") == TmeLink("newschan")
    assert parse_tme_link("https://t.me/newschan/123") == TmeLink("newschan", 123)
    assert parse_tme_link("https://t.me/s/newschan?before=40") == TmeLink("newschan")
    assert parse_tme_link("https://t.me/swap_face_bot?start=ref_9f3") == TmeLink("swap_face_bot", None, "start", "ref_9f3")
    assert parse_tme_link("http://telegram.me/somebot?startgroup=x") == TmeLink("somebot", None, "startgroup", "x")
    assert parse_tme_link("https://t.me/appbot/app?startapp=abc").start_param == "abc"
    assert parse_tme_link("tg://resolve?domain=mirror_bot&start=r1") == TmeLink("mirror_bot", None, "start", "r1")
    assert parse_tme_link("https://name_here.t.me/") == TmeLink("name_here")


def test_non_username_links_are_not_channels():
    for url in ["https://t.me/joinchat/AAAA", "https://t.me/+AbCdEf", "https://t.me/c/12345/6",
                "https://t.me/addstickers/pack", "https://example.com/t.me/news", "https://t.me/", "not a url",
                "https://t.me/abc", "https://t.me/share/url?url=x"]:
        assert parse_tme_link(url) is None, url
