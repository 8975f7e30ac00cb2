"""What a user types: one channel-name parser, typos refused with a suggestion, --config anywhere,
a closed pipe ending quietly, and a command list with a line per command."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import Sweeps

S = Sweeps()


def _config(tmp_path):
    return S.write_config(tmp_path, "http://127.0.0.1:9", ["meme_relay", "faceswap_hub"])


def test_tgsweep_alone_lists_every_command_with_a_line_each():
    done = subprocess.run([sys.executable, "-m", "tgsweep.cli"], capture_output=True, text=True, env=S.env())
    assert done.returncode == 2
    for command in ("demo", "sweep", "watch", "export", "verify", "bots", "media", "evidence", "serve"):
        assert f"    {command} " in done.stdout
    sub = subprocess.run([sys.executable, "-m", "tgsweep.cli", "watch", "--help"], capture_output=True, text=True,
                         env=S.env())
    assert "the watchlist: add, remove, list" in sub.stdout


def test_config_is_accepted_after_the_command(tmp_path):
    config = _config(tmp_path)
    done = subprocess.run([sys.executable, "-m", "tgsweep.cli", "watch", "list", "--config", str(config)],
                          capture_output=True, text=True, env=S.env(), cwd=tmp_path.parent)
    assert done.returncode == 0, done.stderr
    assert "meme_relay" in done.stdout


def test_every_way_of_writing_a_channel_is_one_name(tmp_path):
    config = _config(tmp_path)
    for given in ("news_daily", "@news_daily", "t.me/news_daily", "https://t.me/news_daily", "https://t.me/s/news_daily"):
        assert S.cli(config, "watch", "add", given).returncode == 0
    listed = S.cli(config, "watch", "list", "--json").stdout
    assert listed.count('"news_daily"') == 1
    bad = S.cli(config, "watch", "add", "https://example.com/news_daily")
    assert bad.returncode == 2 and "not a Telegram username" in bad.stderr


def test_a_typo_in_watch_remove_is_refused_and_the_channel_stays_watched(tmp_path):
    config = _config(tmp_path)
    done = S.cli(config, "watch", "remove", "meme_rellay")
    assert done.returncode == 2 and "did you mean meme_relay?" in done.stderr
    assert '"meme_relay"' in S.cli(config, "watch", "list", "--json").stdout
    assert '"removed_at": null' in S.cli(config, "watch", "list", "--json").stdout


def test_a_typo_in_sweep_channel_is_refused_before_anything_is_fetched(tmp_path):
    config = _config(tmp_path)
    done = S.sweep(config, "--channel", "faceswap_hb")
    assert done.returncode == 2 and "did you mean faceswap_hub?" in done.stderr
    assert not S.db_path(config).exists() or S.value(config, "SELECT count(*) FROM sweeps") == 0
    url = S.sweep(config, "--channel", "https://example.com/x")
    assert url.returncode == 2 and "not a Telegram username" in url.stderr


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    config = _config(tmp_path)
    for n in range(3):
        S.cli(config, "watch", "add", f"channel_{n:03d}")
    process = subprocess.Popen(S.command(config, "watch", "list", "--json"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=S.env(), cwd=tmp_path)
    process.stdout.readline()
    process.stdout.close()
    _, stderr = process.communicate(timeout=30)
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr


def test_a_channel_nobody_holds_is_an_error_not_a_quiet_success(sweeps, tmp_path):
    from tgsweep.demo.tme_server import World

    with sweeps.Server(World(page_size=20)) as server:
        config = sweeps.write_config(tmp_path, server.base_url, ["no_such_channel_x"])
        done = sweeps.sweep(config)
    assert done.returncode == 1
    assert "t.me knows no channel named no_such_channel_x" in done.stdout
