"""`tgsweep export stix`: a STIX 2.1 bundle of the demo's escalated subjects that stix2-validator passes,
that re-exports identically, and that `tgsweep watch import stix` reads back."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
import stix2
from stix2validator import ValidationOptions, validate_string

from tests.conftest import Sweeps
from tests.tgsweep.test_explorer import demo_copy


def _cli(config, *args):
    return subprocess.run([sys.executable, "-m", "tgsweep.cli", "--config", str(config), *args], capture_output=True,
                          text=True, timeout=120, env=Sweeps.env())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    config = demo_copy(tmp_path_factory)
    target = config.parent / "bundle.json"
    done = _cli(config, "export", "stix", "-o", str(target))
    assert done.returncode == 0, done.stderr
    return config, target


def test_the_bundle_passes_stix2_validator_and_names_what_the_store_escalated(exported):
    config, target = exported
    text = target.read_text()
    result = validate_string(text, ValidationOptions(version="2.1"))
    assert result.is_valid, result.as_dict() if hasattr(result, "as_dict") else vars(result)
    assert os.stat(target).st_mode & 0o077 == 0
    bundle = json.loads(text)
    by_type: dict[str, list] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    db = sqlite3.connect(config.parent / "tgsweep.db")
    threshold = 0.6
    escalated = {r[0] for r in db.execute("SELECT subject FROM escalations WHERE score >= ?", (threshold,))}
    accounts = {a["account_login"]: a for a in by_type["user-account"]}
    assert {s.split(":", 1)[1] for s in escalated if not s.startswith("media:")} == set(accounts)
    assert all(a["is_service_account"] == a["account_login"].endswith("_bot") for a in accounts.values())
    banked = {r[0] for r in db.execute("""SELECT b.sha256 FROM bank_matches b JOIN media m ON m.sha256 = b.sha256
                                          WHERE 'media:' || m.cluster IN (SELECT subject FROM escalations
                                          WHERE score >= ?)""", (threshold,))}
    files = {f["hashes"]["SHA-256"] for f in by_type.get("file", [])}
    assert banked and banked <= files
    indicators = {i["id"]: i for i in by_type["indicator"]}
    hub = next(i for i in indicators.values() if "@faceswap_hub" in i["name"])
    reasons = json.loads(db.execute("SELECT reasons FROM escalations WHERE subject='channel:faceswap_hub'").fetchone()[0])
    assert reasons[0] in hub["description"] and hub["confidence"] > 60
    assert all(o.get("object_marking_refs") == [stix2.TLP_AMBER.id] for o in by_type["indicator"] + by_type["relationship"])
    assert by_type["identity"][0]["name"] == "tgsweep"
    promotes = [r for r in by_type["relationship"] if r["relationship_type"] == "promotes"]
    assert any(r["source_ref"] == accounts["faceswap_hub"]["id"] for r in promotes)


def test_a_re_export_is_the_same_bundle_and_parses_back_to_the_same_objects(exported):
    config, target = exported
    again = config.parent / "again.json"
    assert _cli(config, "export", "stix", "-o", str(again)).returncode == 0
    assert again.read_text() == target.read_text()  # same ids, same times: nothing changed in the store
    parsed = stix2.parse(target.read_text(), allow_custom=True)
    assert json.loads(parsed.serialize(sort_keys=True)) == json.loads(target.read_text())


def test_watch_import_stix_adds_the_accounts_and_the_hashes_with_provenance(exported, tmp_path_factory):
    _, bundle_file = exported
    fresh = tmp_path_factory.mktemp("importer") / "config.toml"
    fresh.write_text('[storage]\ndatabase = "t.db"\n', encoding="utf-8")
    done = _cli(fresh, "watch", "import", "stix", str(bundle_file), "--bank", "partner_stix")
    assert done.returncode == 0, done.stderr
    bundle = json.loads(bundle_file.read_text())
    logins = {o["account_login"] for o in bundle["objects"] if o["type"] == "user-account"}
    db = sqlite3.connect(fresh.parent / "t.db")
    watched = {r[0]: r[1] for r in db.execute("SELECT username, discovered_from FROM channels WHERE watched=1")}
    assert set(watched) == logins and all("STIX bundle" in (p or "") and "tgsweep" in p for p in watched.values())
    hashes = {r[0] for r in db.execute("SELECT hash FROM bank_hashes WHERE bank='partner_stix' AND hash_type='sha256'")}
    assert hashes == {o["hashes"]["SHA-256"] for o in bundle["objects"] if o["type"] == "file"}
    again = _cli(fresh, "watch", "import", "stix", str(bundle_file), "--bank", "partner_stix")
    assert again.returncode == 0 and db.execute("SELECT count(*) FROM channels WHERE watched=1").fetchone()[0] == len(logins)
    bad = fresh.parent / "bad.json"
    bad.write_text('{"type": "not-a-bundle"}')
    refused = _cli(fresh, "watch", "import", "stix", str(bad))
    assert refused.returncode == 2 and "not a STIX bundle" in refused.stderr


def test_the_misp_event_loads_in_pymisp_re_exports_the_same_and_imports_back(exported, tmp_path_factory):
    from pymisp import MISPEvent

    config, _ = exported
    target = config.parent / "event.json"
    done = _cli(config, "export", "misp", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert os.stat(target).st_mode & 0o077 == 0
    event = MISPEvent()
    event.load(target.read_text())  # pymisp's own reader
    names = {o.name for o in event.objects}
    assert {"telegram-bot", "telegram-account", "file"} <= names
    assert "tlp:amber" in {t.name for t in event.tags}
    bots = {a.value for o in event.objects if o.name == "telegram-bot" for a in o.attributes if a.object_relation == "username"}
    db = sqlite3.connect(config.parent / "tgsweep.db")
    assert bots == {r[0][4:] for r in db.execute("SELECT subject FROM escalations WHERE kind='bot' AND score >= 0.6")}
    hub = next(o for o in event.objects if o.name == "telegram-account"
               and any(a.value == "faceswap_hub" for a in o.attributes))
    assert any(r.relationship_type == "promotes" for r in hub.references)
    again = config.parent / "again-event.json"
    assert _cli(config, "export", "misp", "-o", str(again)).returncode == 0
    first, second = json.loads(target.read_text()), json.loads(again.read_text())
    assert [o["uuid"] for o in first["Event"]["Object"]] == [o["uuid"] for o in second["Event"]["Object"]]

    fresh = tmp_path_factory.mktemp("misp-importer") / "config.toml"
    fresh.write_text('[storage]\ndatabase = "t.db"\n', encoding="utf-8")
    done = _cli(fresh, "watch", "import", "misp", str(target), "--bank", "partner_misp")
    assert done.returncode == 0, done.stderr
    new = sqlite3.connect(fresh.parent / "t.db")
    watched = {r[0] for r in new.execute("SELECT username FROM channels WHERE watched=1")}
    accounts = {a.value for o in event.objects if o.name in ("telegram-bot", "telegram-account")
                for a in o.attributes if a.object_relation == "username"}
    assert watched == accounts
    sha = {a.value for o in event.objects if o.name == "file" for a in o.attributes if a.object_relation == "sha256"}
    assert sha == {r[0] for r in new.execute("SELECT hash FROM bank_hashes WHERE bank='partner_misp' AND hash_type='sha256'")}
