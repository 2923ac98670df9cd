"""Checksums (SPEC 2): layout-only edits keep them, any other edit changes them."""

from __future__ import annotations

import hashlib

import pytest

from sqlkeel.core.checksum import canonical_text, checksum
from sqlkeel.core.splitter import MYSQL, POSTGRES, SQLITE, SplitOptions
from sqlkeel.errors import SplitError

BASE = """-- create the users table
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL DEFAULT 'nobody@example.com',
    note text DEFAULT 'two  spaces;
second line'
);

/* seed */
INSERT INTO users (id, email) VALUES (1, 'a@b.c');
"""

KEEPING_EDITS = [
    ("crlf_line_endings", POSTGRES, BASE, BASE.replace("\n", "\r\n")),
    ("lone_cr_line_endings", POSTGRES, BASE, BASE.replace("\n", "\r")),
    ("byte_order_mark", POSTGRES, BASE, "\ufeff" + BASE),
    ("bom_and_crlf", SQLITE, BASE, "\ufeff" + BASE.replace("\n", "\r\n")),
    ("line_comment_removed", POSTGRES, BASE, BASE.replace("-- create the users table\n", "")),
    ("line_comment_changed", POSTGRES, BASE, BASE.replace("users table", "people table")),
    ("block_comment_removed", POSTGRES, BASE, BASE.replace("/* seed */", "")),
    ("block_comment_changed", POSTGRES, BASE, BASE.replace("/* seed */", "/* seed\n data; */")),
    ("trailing_comment_added", SQLITE, BASE, BASE.replace("PRIMARY KEY,", "PRIMARY KEY, -- key")),
    ("nested_comment_added", POSTGRES, BASE, BASE + "/* a /* b */ c */\n"),
    ("hash_comment_added", MYSQL, BASE, "# header\n" + BASE),
    ("indentation_changed", POSTGRES, BASE, BASE.replace("\n    ", "\n\t\t")),
    ("indentation_removed", POSTGRES, BASE, BASE.replace("\n    ", "\n")),
    ("blank_lines_added", POSTGRES, BASE, BASE.replace("\n\n", "\n\n\n\n")),
    ("trailing_spaces_added", POSTGRES, BASE, BASE.replace(",\n", ",   \n")),
    ("statement_joined_on_one_line", POSTGRES, "SELECT 1\nFROM t;", "SELECT 1 FROM t;"),
    ("space_around_semicolon", POSTGRES, "SELECT 1;SELECT 2", "SELECT 1 ;\n\n SELECT 2 ;"),
    ("trailing_semicolon_dropped", POSTGRES, "SELECT 1;", "SELECT 1"),
    ("empty_statements_added", POSTGRES, "SELECT 1;SELECT 2", ";;SELECT 1;;\n;SELECT 2;;"),
    ("comment_between_statements", SQLITE, "SELECT 1;SELECT 2", "SELECT 1; -- x\n SELECT 2;"),
    ("space_in_dollar_tag_position", POSTGRES, "DO $$ x $$", "DO   $$ x $$\n"),
]


@pytest.mark.parametrize(
    ("options", "before", "after"),
    [case[1:] for case in KEEPING_EDITS],
    ids=[case[0] for case in KEEPING_EDITS],
)
def test_layout_only_edit_keeps_checksum(options: SplitOptions, before: str, after: str) -> None:
    assert checksum(after, options) == checksum(before, options)


CHANGING_EDITS = [
    ("one_character_in_string", POSTGRES, BASE, BASE.replace("a@b.c", "a@b.d")),
    ("space_inside_string", POSTGRES, BASE, BASE.replace("two  spaces", "two spaces")),
    ("newline_inside_string", POSTGRES, BASE, BASE.replace(";\nsecond", "; second")),
    ("comment_text_inside_string", SQLITE, "SELECT '-- a'", "SELECT '-- b'"),
    ("word_changed", POSTGRES, BASE, BASE.replace("bigint", "integer")),
    ("word_case_changed", POSTGRES, BASE, BASE.replace("INSERT", "insert")),
    ("word_split_by_space", POSTGRES, "SELECT ab FROM t", "SELECT a b FROM t"),
    ("words_split_by_comment", POSTGRES, "SELECT ab FROM t", "SELECT a/**/b FROM t"),
    ("number_changed", POSTGRES, BASE, BASE.replace("(1,", "(2,")),
    ("quoted_identifier_changed", POSTGRES, 'SELECT "a b"', 'SELECT "a  b"'),
    ("backtick_identifier_changed", MYSQL, "SELECT `a b`", "SELECT `a  b`"),
    ("dollar_body_space_changed", POSTGRES, "DO $$ x $$", "DO $$ x  $$"),
    ("dollar_body_comment_changed", POSTGRES, "DO $$ -- a\n x $$", "DO $$ -- b\n x $$"),
    ("statement_added", POSTGRES, "SELECT 1", "SELECT 1; SELECT 2"),
    ("semicolon_moved", POSTGRES, "SELECT 1; SELECT 2", "SELECT 1 SELECT; 2"),
    ("mysql_version_comment_changed", MYSQL, "/*!40101 SET x=1 */;", "/*!40101 SET x=2 */;"),
    ("mysql_optimizer_hint_changed", MYSQL, "SELECT /*+ BKA(t) */ 1", "SELECT /*+ NO_BKA(t) */ 1"),
    ("mysql_escape_changed", MYSQL, r"SELECT 'a\'b'", r"SELECT 'a''b'"),
]


@pytest.mark.parametrize(
    ("options", "before", "after"),
    [case[1:] for case in CHANGING_EDITS],
    ids=[case[0] for case in CHANGING_EDITS],
)
def test_content_edit_changes_checksum(options: SplitOptions, before: str, after: str) -> None:
    assert checksum(after, options) != checksum(before, options)


CANONICAL_CASES = [
    ("empty", POSTGRES, "", ""),
    ("comments_only", POSTGRES, "-- a\n/* b */\n", ""),
    ("collapses_whitespace", POSTGRES, "SELECT\n\t 1 ,  2\r\n", "SELECT 1,2"),
    ("keeps_one_space_between_words", POSTGRES, "CREATE\n  TABLE a", "CREATE TABLE a"),
    ("drops_space_around_punctuation", POSTGRES, "f (x) - g( y )", "f(x)-g(y)"),
    ("keeps_space_between_word_and_literal", POSTGRES, "x 'a' \"b\" $$c$$", "x 'a' \"b\" $$c$$"),
    ("comment_is_a_separator", POSTGRES, "SELECT/* x */1", "SELECT 1"),
    ("drops_space_at_semicolons", POSTGRES, " a ; b ; ", "a;b"),
    ("drops_empty_statements", POSTGRES, ";; a ;; ; b ;;", "a;b"),
    ("keeps_literal_with_lf", POSTGRES, "SELECT 'x\r\n  y'", "SELECT 'x\n  y'"),
    ("keeps_dollar_body", POSTGRES, "SELECT $f$ a  -- b\n $f$;", "SELECT $f$ a  -- b\n $f$"),
    ("keeps_mysql_version_comment", MYSQL, "/*!40101  SET x */ ;", "/*!40101  SET x */"),
    ("drops_mysql_plain_comment", MYSQL, "SELECT /* x */ 1 # y", "SELECT 1"),
    ("drops_version_comment_elsewhere", SQLITE, "SELECT /*!1 x */ 1", "SELECT 1"),
]


@pytest.mark.parametrize(
    ("options", "text", "expected"),
    [case[1:] for case in CANONICAL_CASES],
    ids=[case[0] for case in CANONICAL_CASES],
)
def test_canonical_text_has_expected_form(options: SplitOptions, text: str, expected: str) -> None:
    assert canonical_text(text, options) == expected


def test_checksum_is_sha256_hex_of_canonical_text() -> None:
    text = "SELECT  1;\n"
    expected = hashlib.sha256(canonical_text(text, SQLITE).encode("utf-8")).hexdigest()
    assert checksum(text, SQLITE) == expected
    assert len(expected) == 64


def test_checksum_of_empty_text_is_checksum_of_empty_string() -> None:
    assert checksum("", POSTGRES) == hashlib.sha256(b"").hexdigest()
    assert checksum("  -- nothing\n", POSTGRES) == checksum("", POSTGRES)


def test_checksum_raises_split_error_on_unterminated_literal() -> None:
    with pytest.raises(SplitError):
        checksum("SELECT 'open", POSTGRES)
