"""Hash banks: CSV import with bad rows, matching with distances and tiers, the store round trip."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from detectors.media.banks import (
    BankMatcher,
    MatchSettings,
    import_bank,
    list_banks,
    load_matcher,
    parse_hash_csv,
    remove_bank,
    sync_bank,
    tier,
)
from detectors.media.fingerprints import fingerprint
from store.sqlite import Store

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"  # tests/fixtures/images
PDQ = "0c301cb1b3646a686987ff696b8c2c719974a764f769e04efe69f38f483a08b1"


def flip(value: str, bits: int) -> str:
    """`value` with its lowest `bits` bits inverted: a hash at that Hamming distance."""
    return f"{int(value, 16) ^ ((1 << bits) - 1):0{len(value)}x}"


def test_bad_rows_are_reported_by_line_and_the_rest_loads():
    text = ("hash_type,hash,label\n"
            f"pdq,{PDQ},case 1\n"
            "md5,02ABFA3BF18AE21ED932BFCDB15A1FA9,\n"
            "sha1,abcdef,wrong type\n"
            "pdq,xyz,not hex\n"
            "pdq,abcd,too short\n"
            "\n"
            f"phash,c4c62e705bb94b17\n"
            f"pdq,{PDQ},duplicate\n"
            "md5,\n")
    parsed = parse_hash_csv(text)
    assert [(h.hash_type, h.line) for h in parsed.hashes] == [("pdq", 2), ("md5", 3), ("phash", 8)]
    assert parsed.hashes[1].hash == "02abfa3bf18ae21ed932bfcdb15a1fa9"  # hex is normalised to lower case
    assert [line for line, _ in parsed.problems] == [4, 5, 6, 10]
    assert "sha1" in parsed.problems[0][1] and "hexadecimal" in parsed.problems[1][1]
    assert "64" in parsed.problems[2][1] and parsed.duplicates == 1


def test_a_file_without_the_header_loads_nothing():
    parsed = parse_hash_csv(f"pdq,{PDQ}\n")
    assert not parsed.hashes and parsed.problems[0][0] == 1 and "header" in parsed.problems[0][1]


def test_tiers_follow_the_settings():
    s = MatchSettings()
    assert [tier("pdq", d, s) for d in (0, 10, 11, 24, 25, 31)] == [
        "near-certain", "near-certain", "match", "match", "weak lead", "weak lead"]
    assert tier("md5", 0, s) == tier("sha256", 0, s) == "near-certain"
    assert [tier("phash", d, s) for d in (4, 8, 10)] == ["near-certain", "match", "weak lead"]


def test_matching_exact_and_by_distance():
    fp = fingerprint((IMAGES / "kodim01.png").read_bytes())
    other = fingerprint((IMAGES / "kodim02.png").read_bytes())
    matcher = BankMatcher([
        ("victim", "md5", fp.md5, "exact copy"),
        ("case", "pdq", flip(fp.pdq, 20), "near"),
        ("case", "pdq", flip(fp.pdq, 40), "too far"),
        ("case", "phash", flip(fp.phash, 3), "phash"),
        ("other", "pdq", other.pdq, "another photo"),
    ])
    found = {(m.bank, m.label): m for m in matcher.match(fp)}
    assert set(found) == {("victim", "exact copy"), ("case", "near"), ("case", "phash")}
    assert found[("case", "near")].distance == 20 and found[("case", "near")].tier == "match"
    assert found[("case", "phash")].distance == 3 and found[("victim", "exact copy")].tier == "near-certain"
    assert [m.label for m in matcher.match(other)] == ["another photo"]


def test_a_mirrored_copy_matches_through_the_lookup_variants():
    img = Image.open(IMAGES / "kodim09.png").convert("RGB")
    matcher = BankMatcher([("case", "pdq", fingerprint((IMAGES / "kodim09.png").read_bytes()).pdq, "k9")])
    out = io.BytesIO()
    img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(out, "JPEG", quality=80)
    (match,) = matcher.match(fingerprint(out.getvalue()))
    assert match.distance <= 31 and match.via != "whole"


def test_low_quality_pdq_never_matches():
    flat = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 90, 90)).save(flat, "PNG")
    fp = fingerprint(flat.getvalue())
    assert fp.pdq_quality < 50
    assert BankMatcher([("b", "pdq", fp.pdq, "flat")]).match(fp) == []


async def test_import_list_match_and_remove(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        parsed = parse_hash_csv(f"hash_type,hash,label\npdq,{PDQ},one\nmd5,{'a' * 32},two\nbad,row\n")
        assert await import_bank(store, "cases", parsed, "cases.csv") == 2
        assert await import_bank(store, "cases", parsed, "cases.csv") == 0  # importing again adds nothing new
        (bank,) = await list_banks(store)
        assert bank["name"] == "cases" and bank["hashes"] == 2 and bank["by_type"] == {"md5": 1, "pdq": 1}
        matcher = await load_matcher(store, MatchSettings())
        assert [m.label for m in matcher.match({"md5": "a" * 32})] == ["two"]
        assert await remove_bank(store, "cases") and not await list_banks(store)
        assert not await remove_bank(store, "cases")
    finally:
        await store.close()


async def test_removing_a_bank_withdraws_its_alerts_not_yet_delivered(tmp_path):
    """A withdrawn list's matches are no longer claims about a picture: what was not sent is never sent."""
    from store.sqlite.alerts import enqueue_alert

    store = await Store.open(tmp_path / "db.sqlite")
    try:
        await import_bank(store, "cases", parse_hash_csv(f"hash_type,hash,label\npdq,{PDQ},one\n"), "cases.csv")
        async with store.transaction() as tx:
            for key, bank in (("cases:aa", "cases"), ("cases:bb", "cases"), ("other:cc", "other")):
                await enqueue_alert(tx, "bank_match", f"media:{key}", "high", ["r"], {"bank": bank}, key)
        await store.prepare_deliveries(["jsonl:a", "jsonl:b"], "2026-01-01T00:00:00+00:00")
        ids = [r[0] for r in await store.fetchall("SELECT id FROM alerts ORDER BY id")]
        async with store.transaction() as tx:  # one alert fully delivered, one delivered to one sink only
            await tx.execute("UPDATE alerts SET state='delivered' WHERE subject='media:cases:aa'")
            await tx.execute("UPDATE alert_deliveries SET state='delivered' WHERE alert_id=(SELECT id FROM alerts "
                             "WHERE subject='media:cases:aa')")
            await tx.execute("UPDATE alert_deliveries SET state='delivered' WHERE sink='jsonl:a' AND alert_id="
                             "(SELECT id FROM alerts WHERE subject='media:cases:bb')")
        assert len(ids) == 3
        assert await remove_bank(store, "cases")
        state = {r[0]: r[1] for r in await store.fetchall("SELECT subject, state FROM alerts")}
        assert state == {"media:cases:aa": "delivered", "media:cases:bb": "withdrawn", "media:other:cc": "pending"}
        sinks = {(r[0], r[1]): r[2] for r in await store.fetchall(
            "SELECT a.subject, d.sink, d.state FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id")}
        assert sinks[("media:cases:bb", "jsonl:a")] == "delivered" and sinks[("media:cases:bb", "jsonl:b")] == "withdrawn"
        assert await store.due_deliveries("jsonl:b", "2999-01-01T00:00:00+00:00") == \
            [r[0] for r in await store.fetchall("SELECT id FROM alerts WHERE subject='media:other:cc'")]
        assert await store.retry_deliveries("2999-01-01T00:00:00+00:00") == 1  # the other bank's alert only
    finally:
        await store.close()


async def test_sync_adds_updates_and_withdraws_and_a_withdrawn_hash_sends_no_alert(tmp_path):
    """A newer version of a list made elsewhere: what it no longer holds stops matching, and the alert
    about a file that matched only that hash is never sent; another file's alert stays due."""
    from store.sqlite.alerts import enqueue_alert

    md5_a, md5_b = "a" * 32, "b" * 32
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        first = parse_hash_csv(f"hash_type,hash,label\nmd5,{md5_a},one\nmd5,{md5_b},two\n")
        assert await sync_bank(store, "cases", first, "v1.csv", "1" * 64) == {"added": 2, "withdrawn": 0,
                                                                            "alerts_withdrawn": 0}
        async with store.transaction() as tx:  # two collected files matched, one per hash, alerts queued
            for sha, md5 in (("f" * 64, md5_a), ("e" * 64, md5_b)):
                await tx.execute("INSERT INTO bank_matches VALUES (?,?,?,?,?,?,?,?,?)",
                                 (sha, "cases", "md5", md5, "x", 0, "near-certain", "whole", "t"))
                await enqueue_alert(tx, "bank_match", f"media:{sha[:16]}", "high", ["r"],
                                    {"bank": "cases", "sha256": sha}, f"cases:{sha}")
        second = parse_hash_csv(f"hash_type,hash,label\nmd5,{md5_b},two renamed\nmd5,{'c' * 32},three\n")
        done = await sync_bank(store, "cases", second, "v2.csv", "2" * 64)
        assert done == {"added": 1, "withdrawn": 1, "alerts_withdrawn": 1}
        matcher = await load_matcher(store, MatchSettings())
        assert matcher.match({"md5": md5_a}) == []  # withdrawn: no longer matches
        assert [m.label for m in matcher.match({"md5": md5_b})] == ["two renamed"]  # kept, label updated
        state = {r[0]: r[1] for r in await store.fetchall("SELECT subject, state FROM alerts")}
        assert state == {f"media:{'f' * 16}": "withdrawn", f"media:{'e' * 16}": "pending"}
        (bank,) = await list_banks(store)
        assert bank["hashes"] == 2 and bank["version"] == "2" * 64 and bank["synced_at"] and bank["source"] == "v2.csv"
        assert await sync_bank(store, "cases", second, "v2.csv", "2" * 64) == {"added": 0, "withdrawn": 0,
                                                                             "alerts_withdrawn": 0}
    finally:
        await store.close()
