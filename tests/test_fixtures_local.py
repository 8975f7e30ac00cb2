"""The tests read only what the repository holds: a fresh clone, with nothing beside it, runs them.

The real t.me pages, Telethon dumps and Kodak photographs the tests use are in tests/fixtures/
(tme_preview/, telethon/, images/), each folder with a SOURCES.txt saying where every file comes
from. No test or test helper may build a path to the project's shared folder outside the
repository (`.ci/run` also runs the suite in a clone that has none beside it).
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"

# spelled in parts so that this file does not match itself
SHARED = "sha" + "red"
FORBIDDEN = [
    re.compile(r"\.\./" + SHARED + r"\b"),  # the sibling folder, relative
    re.compile(r"/" + SHARED + r"/fixtures"),  # its fixtures, by an absolute path
    re.compile(r"""(["'])""" + SHARED + r"""\1"""),  # a path part of that name alone
    re.compile(r"""\.parent\s*/\s*["']""" + SHARED),  # the folder above the repository, then that name
]


def python_files_of_the_tests() -> list[Path]:
    """Every .py file under tests/ except the data folder tests/fixtures/ (which holds no tests)."""
    found = []
    for folder, subfolders, files in os.walk(TESTS):
        if Path(folder) == TESTS:
            subfolders[:] = [d for d in subfolders if d != "fixtures"]
        subfolders[:] = [d for d in subfolders if d != "__pycache__"]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return sorted(found)


def test_no_test_reads_the_shared_folder_outside_the_repository():
    files = python_files_of_the_tests()
    assert len(files) > 50 and Path(__file__).resolve() in files
    offenders = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in FORBIDDEN):
                offenders.append(f"{path.relative_to(TESTS.parent)}:{n}: {line.strip()}")
    assert not offenders, "tests must read tests/fixtures, not the shared folder:\n" + "\n".join(offenders)


@pytest.mark.parametrize("sample", [
    'FIXTURES = Path("/work/' + SHARED + '/fixtures/telethon")',
    'IMAGES = Path(__file__).resolve().parents[2].parent / "' + SHARED + '" / "fixtures" / "images"',
    "ROOT.parent / '" + SHARED + "' / 'fixtures'",
    'reason="the photographs are in ../' + SHARED + '/fixtures/images"',
])
def test_the_check_catches_the_old_paths(sample):
    assert any(p.search(sample) for p in FORBIDDEN)


@pytest.mark.parametrize("sample", [
    "# the " + SHARED + " picture: one media cluster posted by three channels",
    SHARED + " = [n for n in g if n]",
    "SHARED_PICTURE = ['" + SHARED + "_sample_q92.jpg']",
])
def test_the_check_leaves_other_uses_of_the_word_alone(sample):
    assert not any(p.search(sample) for p in FORBIDDEN)


@pytest.mark.parametrize("folder, count", [("tme_preview", 62), ("telethon", 7), ("images", 24)])
def test_every_fixture_file_has_its_provenance(folder, count):
    root = FIXTURES / folder
    sources = (root / "SOURCES.txt").read_text(encoding="utf-8")
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != "SOURCES.txt")
    assert len(files) == count, files
    # a file is named on its own line, or by its folder's pattern (tchan/*.html: 32 snippets of one source file)
    missing = [f for f in files if f not in sources and f"{f.rsplit('/', 1)[0]}/*{Path(f).suffix}" not in sources]
    assert not missing, f"{folder}/SOURCES.txt does not name {missing}"


def test_kodak_photographs_are_the_listed_bytes():
    sources = (FIXTURES / "images" / "SOURCES.txt").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\s+(kodim\d\d\.png)\s+([0-9a-f]{16})\s+\d+ bytes$", sources, re.M))
    assert len(listed) == 24
    for name, prefix in listed.items():
        assert hashlib.sha256((FIXTURES / "images" / name).read_bytes()).hexdigest()[:16] == prefix, name
