"""Frozen checksums (SPEC 2): the checksum is stored in users' databases, so the hex of
every splitter case (``cases/NN_name.sql`` -> ``NN_name.checksum``) must never change.

The goldens were written once and are never rewritten by a flag: a changed checksum makes
every applied migration look edited. If one must change, that is a format change needing
a history migration, not a golden update.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_splitter import CASE_FILES, read_case

from sqlkeel.core.checksum import checksum
from sqlkeel.core.parsing import parse_migration
from sqlkeel.errors import SourceError

_HEX = re.compile(r"[0-9a-f]{64}")


def golden(path: Path) -> str:
    return path.with_suffix(".checksum").read_text(encoding="ascii").strip()


def test_every_case_has_a_frozen_checksum() -> None:
    for path in CASE_FILES:
        checksum_file = path.with_suffix(".checksum")
        assert checksum_file.exists(), f"missing {checksum_file.name}"
        assert _HEX.fullmatch(golden(path)), checksum_file.name


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_checksum_of_case_matches_frozen_hex(path: Path) -> None:
    text, options, _ = read_case(path)
    assert checksum(text, options) == golden(path)


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_migration_file_checksum_of_case_matches_frozen_hex(path: Path) -> None:
    """What keel records for the case as a migration file (the case's text is the upgrade
    section: no case has a section marker) is the same frozen hex."""
    text, options, _ = read_case(path)
    try:
        parsed = parse_migration("V1__case.sql", text, options)
    except SourceError:  # e.g. a transaction statement, refused as a migration
        pytest.skip("not a valid migration file")
    assert parsed.checksum == golden(path)
