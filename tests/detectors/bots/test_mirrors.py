"""Mirror notices: which bot is the new one comes from old/new words, not from which is named first."""
from __future__ import annotations

import pytest

from detectors.bots.mirrors import PromoPost, find_mirrors, notice_mirrors

NEW, OLD = "kappa_studio_bot", "sigma_studio_bot"


def _notice(text: str, bots: tuple[str, ...] = (NEW, OLD)) -> set[tuple[str, str]]:
    """(new, old) links a post with `text` gives; refs in the order the text names them."""
    order = sorted(bots, key=lambda b: text.lower().find(b))
    post = PromoPost("hub", 7, "2026-02-01T00:00:00+00:00", text, tuple((b, "mention", "") for b in order))
    return {(m.bot, m.predecessor) for m in notice_mirrors([post])}


# (language, new bot named first, old bot named first); {new} and {old} are the two bots
NOTICES = [
    ("en", "New bot @{new} replaces our old bot @{old}", "@{old} was banned, use @{new}"),
    ("ko", "새 봇 @{new} 으로 옮겼습니다. 기존 봇 @{old} 는 더 이상 안 됩니다", "@{old} 차단되었습니다. 새 봇: @{new}"),
    ("ru", "Новый бот @{new} вместо старого @{old}", "@{old} заблокировали, переехали на @{new}"),
    ("uk", "Новий бот @{new} замість старого @{old}", "@{old} заблокували, переходьте на новий бот @{new}"),
    ("zh", "新机器人 @{new} 取代旧机器人 @{old}", "@{old} 已被封禁，请使用备用机器人 @{new}"),
    ("ja", "新しいボット @{new} に移転しました（旧ボット @{old}）", "@{old} は凍結されました。新ボット: @{new}"),
    ("es", "Nuevo bot @{new} en lugar del antiguo bot @{old}", "@{old} fue baneado, usa el nuevo bot @{new}"),
    ("pt", "Novo bot @{new} no lugar do bot antigo @{old}", "@{old} foi banido, use o novo bot @{new}"),
    ("tr", "Yeni bot @{new}, eski bot @{old} yerine", "Eski bot @{old} kapatıldı, yeni bot @{new}"),
    ("ar", "البوت الجديد @{new} بدلا من البوت القديم @{old}", "تم حظر البوت @{old}، استخدموا البوت الجديد @{new}"),
    ("fa", "ربات جدید @{new} به جای ربات قبلی @{old}", "ربات قبلی @{old} مسدود شد، ربات جدید: @{new}"),
    ("fr", "Nouveau bot @{new}, il remplace l'ancien bot @{old}", "@{old} a été banni, utilisez le nouveau bot @{new}"),
    ("de", "Neuer Bot @{new} statt dem alten Bot @{old}", "@{old} wurde gesperrt, nutzt jetzt den neuen @{new}"),
    ("id", "Bot baru @{new} menggantikan bot lama @{old}", "@{old} diblokir, pindah ke bot baru @{new}"),
    ("vi", "Bot mới @{new} thay cho bot cũ @{old}", "@{old} bị khóa, chuyển sang bot mới @{new}"),
]


@pytest.mark.parametrize("lang,new_first,old_first", NOTICES, ids=[n[0] for n in NOTICES])
def test_a_notice_is_read_the_right_way_in_either_word_order(lang, new_first, old_first):
    for template in (new_first, old_first):
        text = template.format(new=NEW, old=OLD)
        assert _notice(text) == {(NEW, OLD)}, text


def test_new_bot_named_first_with_the_old_in_brackets_is_not_read_backwards():
    """The defect: "new bot @X (old @Y)" made @X the old bot, and sent a false high-severity mirror alert."""
    assert _notice(f"new bot @{NEW} (old @{OLD})") == {(NEW, OLD)}
    assert _notice(f"🔥 New bot: @{NEW}\nOld bot @{OLD} is down") == {(NEW, OLD)}


def test_the_old_named_notices_still_read_as_before():
    assert _notice(f"@{OLD} was banned. New mirror: @{NEW}") == {(NEW, OLD)}
    assert _notice(f"Our bot @{OLD} was banned. New mirror: @{NEW} — same credits") == {(NEW, OLD)}
    assert _notice(f"@{OLD} is down, use @{NEW}") == {(NEW, OLD)}


@pytest.mark.parametrize("text", [
    f"New bot! @{NEW} and @{OLD} both work",  # mirror words, but nothing says which replaces which
    f"@{NEW} and @{OLD} were banned, new bot soon",  # both old
    f"New bot @{NEW} and new bot @{OLD}",  # both new
    f"Old bot @{NEW} is the new bot, @{OLD}",  # contradicting words on one bot, none on the other
    f"@{NEW} @{OLD} new mirror",  # a word after both: nearer to neither in a way that tells
])
def test_no_link_when_the_direction_cannot_be_told(text):
    assert _notice(text) == set()


def test_markers_inside_usernames_links_and_other_words_do_not_count():
    # "new" and "old" inside the usernames, "news" is no "new", "t.me/new..." no marker
    assert _notice("@new_old_bot news: @old_new_bot", ("new_old_bot", "old_new_bot")) == set()
    assert _notice("更新了 @kappa_studio_bot 依旧 @sigma_studio_bot 新机器人") == set()
    text = f"Old bot https://t.me/{OLD}?start=r1 was banned. New bot: https://t.me/{NEW}?start=r1"
    assert _notice(text) == {(NEW, OLD)}


def test_a_profile_that_names_its_successor_is_no_mirror_of_it():
    """The old bot's profile pointing at its new bot does not make the old bot a mirror of the new one."""
    found = {(m.bot, m.predecessor) for m in find_mirrors(
        [], {"sigma_studio_bot": f"This bot is closing. New bot: @{NEW}",
             "third_bot": "Backup bot. The old bot @gamma_bot was banned."})}
    assert found == {("third_bot", "gamma_bot")}
