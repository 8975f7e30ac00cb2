"""Every command, option, setting, table and export field is documented: in the README or in docs/.

The README keeps the set-up, the contract and a tour; the long parts are in docs/, one topic per
file. These tests read the same sources the program does (the argument parser, the config model,
the schema, an exported message), so a new one that nobody documented fails here.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from store.records import Capture, Post
from store.sqlite import Store
from tgsweep.cli import build_parser
from tgsweep.config import Config, Sink

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _text(*names: str) -> str:
    paths = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))] if not names else [DOCS / n for n in names]
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


def _spans(text: str) -> list[str]:
    """The code spans that show a command line (`tgsweep ...`), with escaped bars made plain."""
    return [s.replace("\\|", "|") for s in re.findall(r"`(tgsweep [^`]+)`", text)]


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, its parser) for every command and subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from _commands(sub, path + (name,))


def _documented(path: tuple[str, ...], spans: list[str]) -> bool:
    """`tgsweep a b` or `tgsweep a x|b|y ...` names the command a b."""
    for span in spans:
        words = span.split()[1:]
        if len(words) >= len(path) and all(p in w.split("|") for p, w in zip(path, words)):
            return True
    return False


def test_the_readme_keeps_the_set_up_a_table_of_contents_and_short_cells():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Set-up: two commands" in readme and "Contents:" in readme
    for link in re.findall(r"\]\((docs/[\w.-]+)", readme):
        assert (ROOT / link).exists(), f"README links to a missing {link}"
    long = [line[:60] for line in readme.splitlines() if line.startswith("|") and len(line) > 500]
    assert not long, f"README table rows too long for a reader: {long}"


def test_every_command_and_option_is_documented():
    spans, text = _spans(_text()), _text()
    commands = list(_commands(build_parser()))
    assert len(commands) > 25
    for path, sub in commands:
        has_children = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
        if not has_children:
            assert _documented(path, spans), f"`tgsweep {' '.join(path)}` is in no README or docs/ command line"
        for action in sub._actions:
            names = [o for o in action.option_strings if o not in ("-h", "--help")]
            if names:  # `-o FILE` documents `--output` too
                assert any(re.search(rf"{re.escape(o)}\b", text) for o in names), \
                    f"`tgsweep {' '.join(path)} {names[-1]}` is not documented"


def test_every_setting_is_documented_in_the_configuration_page():
    page = _text("configuration.md")
    for section, field in Config.model_fields.items():
        if section == "source":
            continue
        model = Sink if section == "alerts" else field.annotation
        for key in model.model_fields:
            assert f"`{key}`" in page, f"docs/configuration.md does not document [{section}] {key}"
    from tgsweep.config import Alerts, BankSource
    for key in BankSource.model_fields:
        assert f"`{key}`" in page, f"docs/configuration.md does not document [[media.bank_sources]] {key}"
    for key in Alerts.model_fields:
        assert f"`[alerts]` `{key}`" in page or key == "sinks", f"docs/configuration.md lacks [alerts] {key}"


def test_every_export_format_is_documented():
    text = _text()
    for path, sub in _commands(build_parser()):
        for action in sub._actions:
            if "--format" in action.option_strings:
                for choice in action.choices or []:
                    assert f"`{choice}`" in text or choice in " ".join(_spans(text)), \
                        f"`tgsweep {' '.join(path)} --format {choice}` is not documented"


async def test_every_table_is_documented(tmp_path):
    page = _text("database.md")
    async with await Store.open(tmp_path / "t.db") as store:
        tables = [r[0] for r in await store.fetchall(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    assert "posts" in tables
    missing = [t for t in tables if f"| `{t}` |" not in page]
    assert not missing, f"tables not in docs/database.md: {missing}"


async def test_every_field_of_an_exported_message_is_documented(tmp_path):
    from graph.exports import export_messages
    from store.records import Cursor

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Exported messages"):]
    section = section[:section.index("\n## ", 1)]
    async with await Store.open(tmp_path / "t.db") as store:
        post = Post("news", 1, "2026-05-01T10:00:00+00:00", "hello @some_bot", mentions=["some_bot"])
        await store.ingest_page(1, "news", None, [post], Capture("channel_page", "http://x/s/news", b"<p>"),
                                Cursor(1), True)
        rows = [row async for row in export_messages(store)]
    assert rows
    missing = [key for key in rows[0] if f"`{key}`" not in section]
    assert not missing, f"exported message fields not in the README: {missing}"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_docs_links_resolve(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[\w-]+)?\)", text):
        if target.startswith("http"):
            continue
        assert (DOCS / target).resolve().exists(), f"docs/{page} links to a missing {target}"
