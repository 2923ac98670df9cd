"""Reading and decoding migration files (discovery.py's pure parts and its file reads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlkeel.core.splitter import SQLITE
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
