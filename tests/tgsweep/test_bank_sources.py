"""Hash lists kept elsewhere: synced from a folder and from a real HTTP server with a token and ETags (CLI)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from detectors.media.banks import parse_signal_lines

PDQ_A, PDQ_B = "a" * 64, "b" * 64
TOKEN = "list-token-s3cret"


class ListServer:
    """One list at /list.txt behind a bearer token, with an ETag; /moved redirects."""

    def __init__(self) -> None:
        self.body = b""
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(dict(self.headers))
                etag = f'"v{hash(server.body) & 0xFFFF}"'
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/list.txt")
                    self.end_headers()
                elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.send_response(401)
                    self.end_headers()
                elif self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(server.body)))
                    self.end_headers()
                    self.wfile.write(server.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def lists():
    server = ListServer()
    yield server
    server.httpd.shutdown()


def configure(config, source: str) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "\n" + source, encoding="utf-8")


def test_threatexchange_lines_are_read_with_their_labels_and_bad_lines_reported():
    parsed = parse_signal_lines(f"# exported\npdq {PDQ_A} case 7\nvideo_md5 {'C' * 32}\nurl http://x\npdq zz\n\npdq {PDQ_A}\n")
    assert [(h.hash_type, h.hash, h.label, h.line) for h in parsed.hashes] == [
        ("pdq", PDQ_A, "case 7", 2), ("md5", "c" * 32, "", 3)]
    assert [line for line, _ in parsed.problems] == [4, 5] and parsed.duplicates == 1


def test_a_url_list_is_synced_with_its_token_then_costs_a_304_then_follows_its_changes(sweeps, tmp_path, lists,
                                                                                        monkeypatch):
    config = sweeps.write_config(tmp_path, "http://127.0.0.1:9", [])
    monkeypatch.setenv("PARTNER_TOKEN", TOKEN)
    configure(config, f'[[media.bank_sources]]\nname = "partner"\nurl = "{lists.url}/list.txt?key=hidden"\n'
                      'token = "${PARTNER_TOKEN}"\nformat = "threatexchange"\n')
    lists.body = f"pdq {PDQ_A} victim 1\npdq {PDQ_B} victim 2\n".encode()
    done = sweeps.cli(config, "media", "sync")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 new, 0 withdrawn" in done.stdout and TOKEN not in done.stdout + done.stderr
    assert lists.requests[-1]["Authorization"] == f"Bearer {TOKEN}"
    (source, etag), = sweeps.rows(config, "SELECT source, etag FROM hash_banks WHERE name='partner'")
    assert source == f"{lists.url}/list.txt" and etag  # provenance without the query

    done = sweeps.cli(config, "media", "sync")
    assert done.returncode == 0 and "unchanged" in done.stdout, done.stdout + done.stderr
    assert lists.requests[-1]["If-None-Match"] == etag

    lists.body = f"pdq {PDQ_B} victim 2\n".encode()  # victim 1's hash withdrawn
    done = sweeps.cli(config, "media", "sync")
    assert done.returncode == 0 and "0 new, 1 withdrawn" in done.stdout, done.stdout + done.stderr
    assert sweeps.rows(config, "SELECT hash, label FROM bank_hashes") == [(PDQ_B, "victim 2")]
    banks = sweeps.cli(config, "media", "banks")
    assert f"{lists.url}/list.txt" in banks.stdout and "hidden" not in banks.stdout


def test_a_wrong_token_or_a_redirect_leaves_the_bank_as_it_was(sweeps, tmp_path, lists):
    config = sweeps.write_config(tmp_path, "http://127.0.0.1:9", [])
    configure(config, f'[[media.bank_sources]]\nname = "partner"\nurl = "{lists.url}/list.txt"\ntoken = "wrong"\n'
                      f'[[media.bank_sources]]\nname = "moved"\nurl = "{lists.url}/moved"\n')
    lists.body = b"hash_type,hash\npdq," + PDQ_A.encode() + b"\n"
    done = sweeps.cli(config, "media", "sync")
    assert done.returncode == 1
    assert "bank partner not synced" in done.stderr and "HTTP 401 (check the token)" in done.stderr
    assert "bank moved not synced" in done.stderr and "HTTP 302" in done.stderr
    assert "wrong" not in done.stdout + done.stderr  # the token is never printed
    assert sweeps.rows(config, "SELECT count(*) FROM bank_hashes") == [(0,)]


def test_a_folder_is_one_list_made_of_its_files(sweeps, tmp_path):
    config = sweeps.write_config(tmp_path, "http://127.0.0.1:9", [])
    folder = tmp_path / "case-lists"
    folder.mkdir()
    (folder / "a.csv").write_text(f"hash_type,hash,label\npdq,{PDQ_A},one\n", encoding="utf-8")
    (folder / "b.csv").write_text(f"hash_type,hash,label\npdq,{PDQ_B},two\npdq,{PDQ_A},again\n", encoding="utf-8")
    (folder / "notes.md").write_text("not a list", encoding="utf-8")
    configure(config, '[[media.bank_sources]]\nname = "case"\npath = "case-lists"\n')
    done = sweeps.cli(config, "media", "sync")
    assert done.returncode == 0 and "2 new" in done.stdout, done.stdout + done.stderr
    assert sorted(sweeps.rows(config, "SELECT hash FROM bank_hashes")) == [(PDQ_A,), (PDQ_B,)]
    (folder / "b.csv").unlink()
    done = sweeps.cli(config, "media", "sync")
    assert "1 withdrawn" in done.stdout and sweeps.rows(config, "SELECT hash FROM bank_hashes") == [(PDQ_A,)]


def test_an_emptied_list_is_refused_unless_asked_for(sweeps, tmp_path):
    config = sweeps.write_config(tmp_path, "http://127.0.0.1:9", [])
    listed = tmp_path / "list.txt"
    listed.write_text(f"pdq {PDQ_A}\n", encoding="utf-8")
    configure(config, '[[media.bank_sources]]\nname = "case"\npath = "list.txt"\nformat = "threatexchange"\n')
    assert sweeps.cli(config, "media", "sync").returncode == 0
    listed.write_text("", encoding="utf-8")  # a truncated download, an emptied export
    done = sweeps.cli(config, "media", "sync")
    assert done.returncode == 1 and "the list is empty" in done.stderr
    assert sweeps.rows(config, "SELECT hash FROM bank_hashes") == [(PDQ_A,)]
    done = sweeps.cli(config, "media", "sync", "--allow-empty")
    assert done.returncode == 0 and sweeps.rows(config, "SELECT count(*) FROM bank_hashes") == [(0,)]


def test_a_token_that_cannot_go_in_a_header_is_refused_at_load_and_never_echoed(sweeps, tmp_path, monkeypatch):
    config = sweeps.write_config(tmp_path, "http://127.0.0.1:9", [])
    monkeypatch.setenv("LIST_TOKEN", "two words")
    configure(config, '[[media.bank_sources]]\nname = "x"\nurl = "https://lists.example.org/a.csv"\n'
                      'token = "${LIST_TOKEN}"\n')
    done = sweeps.cli(config, "media", "sync")
    assert done.returncode == 2 and "printable ASCII" in done.stderr and "two words" not in done.stderr


def test_a_list_url_must_be_https_unless_it_is_this_machine(sweeps, tmp_path):
    config = sweeps.write_config(tmp_path, "http://127.0.0.1:9", [])
    configure(config, '[[media.bank_sources]]\nname = "x"\nurl = "http://lists.example.org/a.csv"\n')
    done = sweeps.cli(config, "media", "sync")
    assert done.returncode == 2 and "https://" in done.stderr
