"""Reading and decoding migration files (discovery.py's pure parts and its file reads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlkeel.core.model import Direction
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.splitter import MYSQL, POSTGRES, SQLITE
from sqlkeel.discovery import FileReadError, decode, discover, read_bytes


@pytest.mark.parametrize(
    ("data", "text"),
    [
        pytest.param(b"SELECT 1;", "SELECT 1;", id="ascii"),
        pytest.param("SELECT 'café';".encode(), "SELECT 'café';", id="utf8"),
        pytest.param(b"\xef\xbb\xbfSELECT 1;", "SELECT 1;", id="bom_dropped"),
        pytest.param(b"\xef\xbb\xbf\xef\xbb\xbfSELECT 1;", "\ufeffSELECT 1;", id="one_bom_only"),
        pytest.param(b"SELECT '\xef\xbb\xbf';", "SELECT '\ufeff';", id="inner_bom_kept"),
        pytest.param(b"", "", id="empty"),
    ],
)
def test_decode_gives_what_utf8_sig_gives(data: bytes, text: str) -> None:
    assert decode("V1__x.sql", data) == text == data.decode("utf-8-sig")


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "after_a_bom"])
def test_a_file_that_is_not_utf8_is_refused_naming_line_byte_and_offset(bom: bytes) -> None:
    data = bom + b"-- a\n\nSELECT 'na\xe9ve';"
    with pytest.raises(FileReadError) as caught:
        decode("V1__x.sql", data)
    offset = data.index(b"\xe9")
    assert str(caught.value).startswith(
        f"V1__x.sql:3: the file is not valid UTF-8 (byte 0xe9 at offset {offset}). Fix:"
    )


def test_discovery_reads_files_in_subdirectories_relative_to_the_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "V1__a.sql").write_text("SELECT 1;")
    (tmp_path / "sub" / "V2__b.sql").write_text("SELECT 2;")
    found = discover(tmp_path, (SQLITE,))
    assert [f.path for f in found.files] == ["V1__a.sql", "sub/V2__b.sql"]
    assert found.problems == ()
    assert read_bytes(tmp_path, "sub/V2__b.sql") == b"SELECT 2;"


MYSQL_CLIENT_FILE = (
    "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 'it\\'s';\n  SELECT 2;\nEND //\n"
    "DELIMITER ;\nINSERT INTO t VALUES (1);\n"
    "-- rollback\nDELIMITER $$\nDROP PROCEDURE p $$\nDELIMITER ;\nDELETE FROM t;\n"
)


def test_a_file_with_delimiter_lines_read_again_later_splits_and_sums_as_parsed(
    tmp_path: Path,
) -> None:
    # Discovery keeps no text: the sections are split, and their checksums computed, from
    # the file read again when first needed; both must be what parsing the text gives.
    (tmp_path / "V1__p.sql").write_text(MYSQL_CLIENT_FILE)
    found = discover(tmp_path, (MYSQL,))
    assert found.problems == ()
    (file,) = found.files
    parsed = parse_migration("V1__p.sql", MYSQL_CLIENT_FILE, MYSQL)
    assert not file.is_whole and file.place(Direction.ROLLBACK) is not None  # read again
    source = found.source
    assert parsed.rollback is not None
    assert source.statements(file, Direction.UPGRADE) == parsed.upgrade.statements
    rollback = source.statements(file, Direction.ROLLBACK)
    assert rollback == parsed.rollback.statements
    assert [s.sql for s in rollback] == ["DROP PROCEDURE p", "DELETE FROM t"]
    assert source.checksums(file)[:2] == (parsed.upgrade.checksum, parsed.rollback.checksum)
    assert file.can_roll_back


def test_offline_validation_with_every_profile_accepts_a_file_with_delimiter_lines(
    tmp_path: Path,
) -> None:
    # validate --offline tries every profile: the MySQL one reads this file (its
    # backslash-escaped quote is an unterminated string to the others).
    (tmp_path / "V1__p.sql").write_text(MYSQL_CLIENT_FILE)
    found = discover(tmp_path, (SQLITE, POSTGRES, MYSQL))
    assert found.problems == ()
    assert [s.sql for s in found.source.statements(found.files[0], Direction.ROLLBACK)] == [
        "DROP PROCEDURE p",
        "DELETE FROM t",
    ]


@pytest.mark.parametrize(
    ("codec", "name"),
    [
        pytest.param("utf-16-le", "UTF-16", id="utf16_little_endian"),
        pytest.param("utf-16-be", "UTF-16", id="utf16_big_endian"),
        pytest.param("utf-32-le", "UTF-32", id="utf32_little_endian"),
        pytest.param("utf-32-be", "UTF-32", id="utf32_big_endian"),
    ],
)
def test_a_file_saved_as_utf16_or_utf32_is_named_so_not_taken_for_latin1(
    codec: str, name: str
) -> None:
    data = "\ufeffCREATE TABLE café (id integer);\n".encode(codec)  # with its byte order mark
    with pytest.raises(FileReadError) as caught:
        decode("V1__x.sql", data)
    message = str(caught.value)
    assert message.startswith(f"V1__x.sql: the file is saved as {name}")
    assert f"Fix: save it as UTF-8 (e.g. iconv -f {name} -t UTF-8" in message
    assert "latin1" not in message
