"""The deepfake-bot classifier: normalisation, reasons, and the bar on the evaluation set.

The evaluation set (tests/fixtures/bot_profiles.jsonl) is written from public-reporting
patterns in 11 languages, with hard negatives of every kind. Misclassified profiles are
printed (run with -s) and named in the failure message.
"""
from __future__ import annotations

from collections import Counter

import pytest

from detectors.bots.classifier import default_model, LANGUAGES, Thresholds, build_model, load_lexicon, score_bot
from detectors.bots.calibrate import design, evaluate, fit_weights, is_held_out, load_eval_set
from detectors.normalize import normalize, skeleton

PROFILES = load_eval_set()


@pytest.mark.parametrize("disguised, plain", [
    ("u n d r e s s", "undress"),
    ("n.u.d.i.f.y", "nudify"),
    ("r-e-m-o-v-e", "remove"),
    ("ｕｎｄｒｅｓｓ", "undress"),  # fullwidth
    ("𝐮𝐧𝐝𝐫𝐞𝐬𝐬", "undress"),  # mathematical bold
    ("𝓾𝓷𝓭𝓻𝓮𝓼𝓼", "undress"),  # mathematical script
    ("ⓤⓝⓓⓡⓔⓢⓢ", "undress"),  # circled
    ("🆄🅽🅳🆁🅴🆂🆂", "undress"),  # negative squared
    ("ᴜɴᴅʀᴇss", "undress"),  # small capitals
    ("und\u200bre\u200dss", "undress"),  # zero-width
    ("undr3ss", "undress"),
    ("$ee thr0ugh", "see through"),
    ("n@ked", "naked"),
    ("undrеss", "undress"),  # Cyrillic е
    ("хrау", "xray"),  # all look-alikes in Latin text
    ("cởi đồ", "coi do"),
    ("脱 衣", "脱衣"),
])
def test_normalize_undoes_disguises(disguised, plain):
    assert normalize(disguised) == plain


def test_normalize_leaves_real_text_alone():
    assert normalize("Снять одежду с фото") == "снять одежду с фото"  # real Russian: no homoglyph mapping
    assert normalize("3 free tries, 10 credits") == "3 free tries, 10 credits"  # numbers stay numbers
    assert normalize("@swapface_magic2_bot") == "@swapfacemagic2bot"
    assert skeleton("c1othes") == skeleton("clothes")  # 1 reads as l or i


def test_every_language_has_a_lexicon_with_core_and_negative_groups():
    lexicon = load_lexicon()
    assert set(lexicon) == set(LANGUAGES)
    for lang, groups in lexicon.items():
        if lang in ("any", "latn"):  # signs common to every language, romanised forms: not a language
            continue
        for group in ("undress", "send_photo_flow", "credits_paywall", "mirror_notice", "victim_support_reporting",
                      "background_removal", "news"):
            assert groups.get(group), f"{lang}.toml lacks {group}"


def test_reasons_name_field_and_language():
    v = score_bot({"username": "x_bot", "name": "", "description": "사진을 보내면 옷을 지워드립니다. 무료 3회 후 크레딧.",
                   "commands": []}, promotions=["Invite friends and get free credits"])
    assert v.label == "deepfake_generator"
    assert "description: offers to remove clothes from a person in a photo (ko)" in v.reasons
    assert "promotions: pays credits for inviting others (en)" in v.reasons
    benign = score_bot({"username": "cut_bot", "name": "Cutout", "description": "Remove background from any photo.",
                        "commands": [{"command": "/start", "description": "begin"}]})
    assert benign.label == "benign"
    assert "negative: background-removal tool (en, description)" in benign.reasons


def test_no_signal_is_unknown_not_benign():
    v = score_bot({"username": "weather_bot", "name": "Weather", "description": "Forecasts.", "commands": []})
    assert v.label == "unknown" and v.reasons == ["no signal in the profile or its promotions"]


def test_thresholds_are_settings():
    p = {"username": "a_bot", "name": "", "description": "undress any photo", "commands": []}
    assert score_bot(p).label == "deepfake_generator"  # an offer to undress is decisive on its own
    assert score_bot(p, thresholds=Thresholds(generator=0.95)).label != "deepfake_generator"


@pytest.mark.parametrize("profile", [
    {"username": "r_bot", "description": "Paздeвaтop: cнимeт oдeжду c любoгo фoтo"},  # Latin look-alikes in Cyrillic
    {"username": "h_bot", "description": "", "commands": [{"command": "/xray", "description": "remove clothing (18+)"}]},
    {"username": "k_bot", "description": "ㅈㅇㅎㅅ 지인합성 전문, 사진만 보내세요"},
    {"username": "n_bot", "description": "NSFW mode, no limits. Make nudes of anyone from a single selfie."},
])
def test_disguised_and_indirect_offers_are_found(profile):
    assert score_bot(profile).label == "deepfake_generator", score_bot(profile).reasons


@pytest.mark.parametrize("profile", [
    {"username": "q_bot", "description": "Radiology quiz: chest X-ray and CT cases for medical students."},
    {"username": "g_bot", "description": "Group moderation: deletes NSFW images, spam and ads for 'undress' bots."},
    {"username": "s_bot", "description": "Found a bot that undresses photos? Forward it here, we file abuse reports."},
])
def test_look_alike_benign_bots_are_not_accused(profile):
    assert score_bot(profile).label != "deepfake_generator", score_bot(profile).reasons


def test_a_post_naming_two_bots_lends_each_only_its_own_lines():
    from detectors.bots.stream import passage_about

    text = "Undress any photo: @nudify_x_bot\nWeather every morning: @sunny_day_bot"
    assert passage_about(text, "sunny_day_bot", ["nudify_x_bot"]) == "Weather every morning: @sunny_day_bot"
    assert passage_about(text, "nudify_x_bot", ["sunny_day_bot"]) == "Undress any photo: @nudify_x_bot"
    assert passage_about(text, "nudify_x_bot", []) == text


def test_the_fit_learns_signed_weights_from_features():
    import numpy as np

    x = np.array([[1.0, 0.0], [1.0, -1.0], [0.0, 0.0], [0.0, -1.0]] * 5)  # column 2: a negative group
    y = np.array([1.0, 0.0, 0.0, 0.0] * 5)
    bias, weights = fit_weights(x, y, l2=0.01)
    assert weights[0] > 2 and weights[1] > 2 and bias < 0  # the offer raises, the alibi lowers
    names, matrix, labels = design(load_eval_set()[:5], default_model())
    assert matrix.shape == (5, len(names)) and "combo" in names


def test_eval_set_shape():
    langs = Counter(p["language"] for p in PROFILES)
    assert len(PROFILES) >= 150 and set(langs) <= set(LANGUAGES)
    negatives = [p for p in PROFILES if p["label"] == "benign"]
    assert len(negatives) >= len(PROFILES) / 3
    kinds = " ".join(p["provenance"] for p in negatives)
    for kind in ("photo-editing", "background-removal", "virtual try-on", "swimwear", "avatar", "victim-support",
                 "deepfake-detection", "news", "anti-spam", "art"):
        assert kind in kinds
    assert sum("obfuscated" in p["provenance"] for p in PROFILES) >= 10
    assert all(p["label"] in ("deepfake_generator", "benign") and p["provenance"] for p in PROFILES)


def _report(name, figures):
    lines = [figures.line(name)] + [f"  misclassified {u}: expected {e}, got {g} (score {s:.3f})"
                                    for u, e, g, s in figures.misclassified]
    print("\n".join(lines))
    return "\n".join(lines)


def test_precision_and_recall_on_the_whole_set():
    figures = evaluate(PROFILES)
    report = _report("all", figures)
    assert figures.precision >= 0.97, report
    assert figures.recall >= 0.90, report


def test_held_out_split():
    """Platt coefficients are fitted on the train split only; the held-out third is reported."""
    held = [p for p in PROFILES if is_held_out(p)]
    figures = evaluate(held)
    report = _report("held-out", figures)
    assert len(held) >= 40
    assert figures.precision >= 0.97, report
    assert figures.recall >= 0.85, report


def test_lexicon_groups_all_have_weights():
    build_model()  # raises on a group without a weight


def test_the_dev_set_keeps_precision_and_recall():
    """A regression guard on the set the lexicons were tuned on (memory, not generalisation:
    benchmarks/eval_bots.py reports the blind sets beside it)."""
    import json
    from pathlib import Path

    rows = [json.loads(line) for line in (Path(__file__).parents[2] / "fixtures/bot_profiles_dev.jsonl")
            .read_text(encoding="utf-8").splitlines() if line.strip()]
    flagged = [(r["label"], score_bot(r).label == "deepfake_generator") for r in rows]
    assert not [1 for label, hit in flagged if hit and label == "benign"]
    positives = [hit for label, hit in flagged if label == "deepfake_generator"]
    assert sum(positives) / len(positives) >= 0.75


OBFUSCATED = [  # (kind, a disguised offer, a harmless text disguised the same way)
    ("choseong", "ㅈㅇㅎㅅ 전문 봇, 사진만 보내세요", "ㅋㅋㅋ 웃긴 짤 모음, 사진 보내 주세요"),
    ("romanised", "razdet lyubuyu po foto, bez odezhdy, 3 besplatno", "pogoda v moskve na segodnya, bez osadkov"),
    ("homoglyphs", "Undrеss АI: rеmоvеs сlоthеs from аny phоtо", "Phоtо еditоr: сrоp, rоtаtе аnd rеsizе"),
    ("zero-width", "und\u200bress any ph\u200boto in seconds", "wea\u200bther for any ci\u200bty in seconds"),
    ("spacing", "u n d r e s s  any photo, first one free", "w e a t h e r  for any city, first day free"),
    ("dots", "n.u.d.i.f.y any photo, 3 free tries then credits", "w.e.a.t.h.e.r any city, 3 free days"),
    ("leetspeak", "und7e$$ ur cr*sh, upl0ad h3r p1c, g3t n00dz b4ck", "upl0ad ur p1c, g3t a c4rt00n av4tar b4ck"),
    ("emoji", "Send her photo 📸➡️🔞 clothes removed, pay in ⭐", "Send a photo 📸➡️🎨 cartoon avatar, pay in ⭐"),
    ("masked letters", "any photo of her → n*des in 20 s, ра*деть любую", "any photo of a dish → r*cipe in 20 s, f*ck yeah"),
]


def test_masked_words_are_spelled_out_only_when_they_fit_an_offer_term():
    from detectors.bots.classifier import default_model, unmask

    model = default_model()
    assert unmask("n*des", model) == "nudes" and unmask("na*ed pics", model) == "naked pics"
    assert unmask("р*здеть", model) == "раздеть"  # the stars take the word's own script
    for harmless in ("5*5 grid", "I *love* it", "f*ck this", "ph*to", "s*x"):
        assert unmask(harmless, model) == harmless


@pytest.mark.parametrize("kind, offer, harmless", OBFUSCATED, ids=[o[0] for o in OBFUSCATED])
def test_every_obfuscation_kind_is_seen_through_without_accusing_its_look_alike(kind, offer, harmless):
    assert score_bot({"username": "x_bot", "description": offer}).label == "deepfake_generator", kind
    assert score_bot({"username": "y_bot", "description": harmless}).label != "deepfake_generator", kind


def _tuning_rows() -> list[dict]:
    import json
    from pathlib import Path

    folder = Path(__file__).parents[2] / "fixtures"
    return [json.loads(line) for path in [folder / "bot_profiles_dev.jsonl", *sorted(folder.glob("bot_profiles_train2_*"))]
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_language_has_an_offer_found_and_no_look_alike_accused():
    """Per language of the lexicon, on the sets it was tuned on: at least one deepfake bot found,
    no benign bot accused (the blind figures live in benchmarks/eval_bots.py, never in tests)."""
    by_lang: dict[str, list[tuple[str, bool]]] = {}
    for row in _tuning_rows():
        lang = row["language"].split("-")[0].split("+")[0]
        by_lang.setdefault(lang, []).append((row["label"], score_bot(row).label == "deepfake_generator"))
    for lang in set(LANGUAGES) - {"any", "latn"}:
        rows = by_lang.get(lang, [])
        assert rows, f"no tuning profiles in {lang}"
        assert any(hit for label, hit in rows if label == "deepfake_generator"), f"{lang}: no offer found"
        assert not [1 for label, hit in rows if hit and label == "benign"], f"{lang}: a look-alike accused"


def test_a_username_that_fights_an_offer_does_not_make_it():
    assert score_bot({"username": "stop_deepnude_help_bot"}).label != "deepfake_generator"
    assert not any(r.startswith("username: offers") for r in score_bot({"username": "anti_nudify_guard_bot"}).reasons)
    assert any(r.startswith("username: offers") for r in score_bot({"username": "deepnude_pro_bot"}).reasons)


def test_quotes_and_apostrophes_do_not_hide_or_split_words():
    from detectors.normalize import skeleton

    assert skeleton("версию «без цензуры»") == "версию без цензуры"
    assert skeleton("d.é.s.h.a.b.i.l.l.e n'importe") == skeleton("deshabille nimporte")  # no stray spaced-out "n"


def test_a_cyrillic_term_made_of_latin_look_alikes_still_meets_cyrillic_text():
    from detectors.bots.classifier import build_model, find_signals

    model = build_model()
    key = "сурет"  # Kazakh "photo": every letter has a Latin twin
    assert any(k == key for k in model.terms), "the Cyrillic form of the term is kept"
    assert find_signals({"description": "сурет жіберіңіз, 18+ нұсқасын аласыз"}, model)


def test_a_one_letter_command_is_not_glued_to_the_dotted_word_after_it():
    from detectors.normalize import normalize

    assert normalize("/x y.e.c.h.i.n.t.i.r.i.s.h rejim") == "/x yechintirish rejim"
    assert normalize("u n d r e s s any photo") == "undress any photo"
