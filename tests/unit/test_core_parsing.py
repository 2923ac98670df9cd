"""File names and file contents -> MigrationFile (SPEC 1): pure, table-driven, no database."""

from __future__ import annotations

import pytest

from sqlkeel.core.checksum import checksum, file_digest
from sqlkeel.core.model import ChecksumsUnknown, Kind, MigrationFile, Section
from sqlkeel.core.parsing import (
    outline_migration,
    parse_filename,
    parse_migration,
    span_checksum,
    split_span,
)
from sqlkeel.core.splitter import MYSQL, POSTGRES, SQLITE, Statement
from sqlkeel.core.versions import Version
from sqlkeel.errors import SourceError

# (path, kind, version or None, description)
GOOD_NAMES = [
    pytest.param("V1__add_users.sql", Kind.VERSIONED, "1", "add_users", id="versioned"),
    pytest.param("V2.1__fix.sql", Kind.VERSIONED, "2.1", "fix", id="dotted_version"),
    pytest.param(
        "V20261125.143022__add_orders.sql",
        Kind.VERSIONED,
        "20261125.143022",
        "add_orders",
        id="timestamp_version",
    ),
    pytest.param(
        "V007__leading_zeros.sql",
        Kind.VERSIONED,
        "7",
        "leading_zeros",
        id="leading_zeros_in_version",
    ),
    pytest.param(
        "V3__Mixed_Case_2.sql",
        Kind.VERSIONED,
        "3",
        "Mixed_Case_2",
        id="description_letters_digits_underscores",
    ),
    pytest.param("V4__x.SQL", Kind.VERSIONED, "4", "x", id="extension_is_case_insensitive"),
    pytest.param("R__views.sql", Kind.REPEATABLE, None, "views", id="repeatable_on_change"),
    pytest.param("ROC__views.sql", Kind.REPEATABLE, None, "views", id="roc_is_repeatable"),
    pytest.param("RA__grants.sql", Kind.ALWAYS, None, "grants", id="repeatable_always"),
    pytest.param(
        "sub/dir/V5__nested.sql", Kind.VERSIONED, "5", "nested", id="sub_folders_only_group_files"
    ),
]

BAD_NAMES = [
    pytest.param("V1_x.sql", id="single_underscore"),
    pytest.param("v1__x.sql", id="lower_case_v"),
    pytest.param("V1.a__x.sql", id="letter_in_version"),
    pytest.param("V__x.sql", id="no_version"),
    pytest.param("V1__bad-name.sql", id="dash_in_description"),
    pytest.param("V1__.sql", id="empty_description"),
    pytest.param("V1..2__x.sql", id="empty_version_component"),
    pytest.param("V-1__x.sql", id="negative_version"),
    pytest.param("r__x.sql", id="lower_case_r"),
    pytest.param("Ra__x.sql", id="mixed_case_ra"),
    pytest.param("X1__x.sql", id="unknown_prefix"),
    pytest.param("R1__x.sql", id="repeatable_with_version"),
    pytest.param("V1__with space.sql", id="space_in_description"),
    pytest.param("migration.sql", id="no_pattern_at_all"),
    pytest.param("sub/v2__x.sql", id="bad_name_in_sub_folder"),
]


@pytest.mark.parametrize(("path", "kind", "version", "description"), GOOD_NAMES)
def test_a_well_formed_file_name_gives_its_kind_version_and_description(
    path: str, kind: Kind, version: str | None, description: str
) -> None:
    name = parse_filename(path)
    assert name.kind is kind
    assert name.version == (Version.parse(version) if version is not None else None)
    assert name.description == description


@pytest.mark.parametrize("path", BAD_NAMES)
def test_a_malformed_file_name_is_an_error_naming_the_file_and_the_expected_pattern(
    path: str,
) -> None:
    with pytest.raises(SourceError) as info:
        parse_filename(path)
    error = info.value
    assert error.code == "bad-filename"
    assert error.path == path
    assert path.rsplit("/", 1)[-1] in str(error)
    assert "V<version>__<description>.sql" in error.fix
    assert "R__<description>.sql" in error.fix


def parse(text: str, path: str = "V1__t.sql", *, postgres: bool = False) -> MigrationFile:
    return parse_migration(path, text, POSTGRES if postgres else SQLITE)


def statements_of(section: Section | None) -> tuple[Statement, ...]:
    assert section is not None
    return section.statements


def sqls(section: Section | None) -> list[str]:
    return [s.sql for s in statements_of(section)]


# (text, upgrade statements, rollback statements or None)
SECTIONS = [
    pytest.param(
        "-- upgrade\nCREATE TABLE a (id int);\n-- rollback\nDROP TABLE a;\n",
        ["CREATE TABLE a (id int)"],
        ["DROP TABLE a"],
        id="both_markers",
    ),
    pytest.param(
        "CREATE TABLE a (id int);\n-- rollback\nDROP TABLE a;\n",
        ["CREATE TABLE a (id int)"],
        ["DROP TABLE a"],
        id="upgrade_marker_is_optional",
    ),
    pytest.param(
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
        ["CREATE TABLE a (id int)", "CREATE TABLE b (id int)"],
        None,
        id="no_markers_everything_is_upgrade_and_no_rollback",
    ),
    pytest.param(
        "--UPGRADE\nCREATE TABLE a (id int);\n--ROLLBACK\nDROP TABLE a;\n",
        ["CREATE TABLE a (id int)"],
        ["DROP TABLE a"],
        id="markers_upper_case_without_space",
    ),
    pytest.param(
        "  --   Upgrade  \nCREATE TABLE a (id int);\n\t-- RollBack\t\nDROP TABLE a;\n",
        ["CREATE TABLE a (id int)"],
        ["DROP TABLE a"],
        id="markers_mixed_case_and_extra_space",
    ),
    pytest.param(
        "-- upgrade\r\nCREATE TABLE a (id int);\r\n-- rollback\r\nDROP TABLE a;\r\n",
        ["CREATE TABLE a (id int)"],
        ["DROP TABLE a"],
        id="markers_with_crlf_line_endings",
    ),
    pytest.param(
        "CREATE TABLE a (id int);\n-- rollback\n",
        ["CREATE TABLE a (id int)"],
        [],
        id="empty_rollback_section_means_nothing_to_undo",
    ),
    pytest.param(
        "CREATE TABLE a (id int); -- rollback\nDROP TABLE a;\n",
        ["CREATE TABLE a (id int)", "DROP TABLE a"],
        None,
        id="marker_after_sql_on_the_same_line_is_only_a_comment",
    ),
    pytest.param(
        "INSERT INTO t VALUES ('\n-- rollback\n');\n",
        ["INSERT INTO t VALUES ('\n-- rollback\n')"],
        None,
        id="marker_inside_a_string_literal_is_text",
    ),
    pytest.param(
        "-- rollback is what we do not want here\nCREATE TABLE a (id int);\n",
        ["CREATE TABLE a (id int)"],
        None,
        id="comment_starting_with_a_marker_word_is_no_marker",
    ),
    pytest.param(
        "SELECT 1; -- one; two\nSELECT 2;\n",
        ["SELECT 1", "SELECT 2"],
        None,
        id="semicolon_in_a_trailing_comment_does_not_split",
    ),
    pytest.param(
        "SELECT 1 -- first; column\n, 2;\n-- rollback\n-- don't; really\nSELECT 3;\n",
        ["SELECT 1 -- first; column\n, 2"],
        ["SELECT 3"],
        id="semicolon_and_quote_in_comments_inside_statements",
    ),
    pytest.param(
        "-- add the users table\n\n-- upgrade\nCREATE TABLE a (id int);\n",
        ["CREATE TABLE a (id int)"],
        None,
        id="comments_before_the_upgrade_marker",
    ),
]


@pytest.mark.parametrize(("text", "upgrade", "rollback"), SECTIONS)
def test_markers_divide_a_file_into_upgrade_and_rollback_sections(
    text: str, upgrade: list[str], rollback: list[str] | None
) -> None:
    migration = parse(text)
    assert sqls(migration.upgrade) == upgrade
    if rollback is None:
        assert migration.rollback is None
    else:
        assert sqls(migration.rollback) == rollback


# (path, text, line of the error, words the message must contain)
BAD_CONTENTS = [
    pytest.param(
        "V1__t.sql",
        "-- upgrade\nSELECT 1;\n-- upgrade\nSELECT 2;\n",
        3,
        ["more than one", "upgrade"],
        id="duplicate_upgrade_marker",
    ),
    pytest.param(
        "V1__t.sql",
        "SELECT 1;\n-- rollback\nSELECT 2;\n-- ROLLBACK\nSELECT 3;\n",
        4,
        ["more than one", "rollback"],
        id="duplicate_rollback_marker_any_case",
    ),
    pytest.param(
        "V1__t.sql",
        "-- rollback\nDROP TABLE a;\n-- upgrade\nCREATE TABLE a (id int);\n",
        1,
        ["rollback", "before", "upgrade"],
        id="rollback_before_upgrade",
    ),
    pytest.param(
        "V1__t.sql",
        "SELECT 1;\n-- upgrade\nSELECT 2;\n",
        1,
        ["before", "upgrade"],
        id="sql_before_the_upgrade_marker",
    ),
    pytest.param(
        "V1__t.sql",
        "-- keel: frobnicate=yes\nSELECT 1;\n",
        1,
        ["unknown", "frobnicate"],
        id="unknown_directive",
    ),
    pytest.param(
        "V1__t.sql",
        "-- a comment\n-- keel: transaction=maybe\nSELECT 1;\n",
        2,
        ["unknown", "transaction=maybe"],
        id="bad_transaction_value",
    ),
    pytest.param(
        "V1__t.sql",
        "-- keel:\nSELECT 1;\n",
        1,
        ["empty"],
        id="empty_directive",
    ),
    pytest.param(
        "V1__t.sql",
        "SELECT 1;\n-- keel: transaction=off\nSELECT 2;\n",
        2,
        ["after the first statement"],
        id="directive_after_the_first_statement",
    ),
    pytest.param(
        "R__views.sql",
        "CREATE VIEW v AS SELECT 1;\n-- rollback\nDROP VIEW v;\n",
        2,
        ["repeatable", "rollback"],
        id="repeatable_with_a_rollback_section",
    ),
    pytest.param(
        "RA__grants.sql",
        "SELECT 1;\n-- rollback\n",
        2,
        ["repeatable", "rollback"],
        id="repeatable_always_with_a_rollback_section",
    ),
    pytest.param(
        "V1__t.sql",
        "SELECT 1;\n\nSELECT 'abc;\n",
        3,
        ["unterminated"],
        id="unterminated_quote_reports_its_line",
    ),
    pytest.param(
        "V1__t.sql",
        "SELECT 1;\n/* never\nclosed\n",
        2,
        ["unterminated"],
        id="unterminated_block_comment_reports_its_line",
    ),
    pytest.param(
        "V1__t.sql",
        "SELECT 1;\n-- rollback\nSELECT 'x;\n",
        3,
        ["unterminated"],
        id="unterminated_quote_in_the_rollback_section",
    ),
]


@pytest.mark.parametrize(("path", "text", "line", "words"), BAD_CONTENTS)
def test_a_file_that_does_not_parse_is_an_error_with_file_line_and_fix(
    path: str, text: str, line: int, words: list[str]
) -> None:
    with pytest.raises(SourceError) as info:
        parse(text, path)
    error = info.value
    assert error.path == path
    assert error.line == line
    assert error.fix
    assert str(error).startswith(f"{path}:{line}: ")
    for word in words:
        assert word.lower() in error.message.lower()


def test_unterminated_dollar_quote_on_postgres_reports_its_line() -> None:
    with pytest.raises(SourceError) as info:
        parse("SELECT 1;\nDO $$\nBEGIN\n", postgres=True)
    assert info.value.line == 2


# (text, transactional, upgrade statements)
DIRECTIVES = [
    pytest.param("SELECT 1;\n", True, ["SELECT 1"], id="no_directive_runs_in_a_transaction"),
    pytest.param(
        "-- keel: transaction=off\nCREATE INDEX CONCURRENTLY i ON t (x);\n",
        False,
        ["CREATE INDEX CONCURRENTLY i ON t (x)"],
        id="transaction_off",
    ),
    pytest.param(
        "--KEEL: TRANSACTION=OFF\nSELECT 1;\n",
        False,
        ["SELECT 1"],
        id="directive_is_case_insensitive",
    ),
    pytest.param(
        "-- keel: transaction=on\nSELECT 1;\n",
        True,
        ["SELECT 1"],
        id="transaction_on",
    ),
    pytest.param(
        "-- what this does\n\n-- keel: transaction=off\n-- upgrade\nSELECT 1;\n",
        False,
        ["SELECT 1"],
        id="directive_after_comments_and_before_the_marker",
    ),
    pytest.param(
        "-- keel: delimiter=GO\nSELECT 1; SELECT 2\nGO\nSELECT 3\n",
        True,
        ["SELECT 1; SELECT 2", "SELECT 3"],
        id="delimiter_splits_on_its_token_not_semicolons",
    ),
    pytest.param(
        "-- keel: transaction=off delimiter=//\nSELECT 1//\nSELECT 2//\n",
        False,
        ["SELECT 1", "SELECT 2"],
        id="two_directives_on_one_line",
    ),
]


@pytest.mark.parametrize(("text", "transactional", "upgrade"), DIRECTIVES)
def test_directives_before_the_first_statement_set_transaction_and_delimiter(
    text: str, transactional: bool, upgrade: list[str]
) -> None:
    migration = parse(text)
    assert migration.transactional is transactional
    assert sqls(migration.upgrade) == upgrade


def test_the_delimiter_directive_also_splits_the_rollback_section() -> None:
    migration = parse(
        "-- keel: delimiter=GO\nSELECT 1;\nGO\n-- rollback\nSELECT 2;\nGO\nSELECT 3;\n"
    )
    assert sqls(migration.rollback) == ["SELECT 2;", "SELECT 3;"]


def test_each_statement_remembers_its_first_line_in_the_file() -> None:
    text = (
        "-- header comment\n"  # 1
        "-- upgrade\n"  # 2
        "CREATE TABLE a (\n"  # 3
        "  id int\n"  # 4
        ");\n"  # 5
        "\n"  # 6
        "INSERT INTO a VALUES (1);\n"  # 7
        "-- rollback\n"  # 8
        "\n"  # 9
        "DROP TABLE a;\n"  # 10
    )
    migration = parse(text)
    assert [s.line for s in migration.upgrade.statements] == [3, 7]
    assert [s.index for s in migration.upgrade.statements] == [1, 2]
    assert [s.line for s in statements_of(migration.rollback)] == [10]


def test_statements_keep_multi_line_string_literals_byte_for_byte() -> None:
    text = "INSERT INTO t VALUES ('line one\n  line two;\r\n\tthree');\n"
    migration = parse(text)
    assert sqls(migration.upgrade) == ["INSERT INTO t VALUES ('line one\n  line two;\r\n\tthree')"]


def test_the_parsed_file_carries_path_kind_version_and_description() -> None:
    migration = parse("SELECT 1;\n", "sub/V2.1__add_users.sql")
    assert migration.path == "sub/V2.1__add_users.sql"
    assert migration.kind is Kind.VERSIONED
    assert migration.version == Version.parse("2.1")
    assert migration.description == "add_users"


# (original, edited, same checksum?)
CHECKSUMS = [
    pytest.param("SELECT 1;\n", "SELECT 1;\n", True, id="identical"),
    pytest.param("SELECT 1;\n", "SELECT 1;\r\n", True, id="crlf_line_endings"),
    pytest.param("SELECT 1;\n", "\ufeffSELECT 1;\n", True, id="utf8_bom"),
    pytest.param(
        "SELECT 1;\n",
        "-- explain\nSELECT   1 ;\n\n",
        True,
        id="comments_and_whitespace_outside_literals",
    ),
    pytest.param(
        "SELECT 1;\n-- rollback\nSELECT 2;\n",
        "SELECT 1;\n-- rollback\nSELECT 3;\n",
        True,
        id="rollback_section_edit_is_not_enforced",
    ),
    pytest.param("SELECT 1;\n", "SELECT 2;\n", False, id="changed_number"),
    pytest.param("SELECT 'a b';\n", "SELECT 'a  b';\n", False, id="whitespace_inside_a_literal"),
    pytest.param("SELECT 1;\n", "SELECT 1;\nSELECT 2;\n", False, id="added_statement"),
    pytest.param("SELECT a;\n", "SELECT A;\n", False, id="changed_case"),
]


@pytest.mark.parametrize(("original", "edited", "same"), CHECKSUMS)
def test_the_upgrade_checksum_ignores_formatting_but_not_content(
    original: str, edited: str, same: bool
) -> None:
    a = parse(original).checksum
    b = parse(edited).checksum
    assert (a == b) is same


def test_outlining_leaves_the_checksums_and_the_digest_to_a_source() -> None:
    # status and validate never read them for pending files (issue 3: status of 1000).
    content = b"-- upgrade\nCREATE TABLE t (id int);\n\n-- rollback\nDROP TABLE t;\n"
    text = content.decode()
    outlined = outline_migration("V1__t.sql", text, SQLITE, fingerprint=hash(content), profile=0)
    assert not outlined.has_checksums and not outlined.is_whole
    with pytest.raises(ChecksumsUnknown):
        _ = outlined.checksum
    assert outlined.has_rollback and outlined.can_roll_back
    migration = parse_migration("V1__t.sql", text, SQLITE, content=content)
    assert migration == outlined  # the same file: values compare without their checksums
    assert migration.rollback is not None
    assert not migration.upgrade.is_empty and migration.can_roll_back
    up, down = checksum("CREATE TABLE t (id int);", SQLITE), checksum("DROP TABLE t;", SQLITE)
    assert (migration.checksum, migration.rollback_checksum) == (up, down)
    assert (migration.upgrade.checksum, migration.rollback.checksum) == (up, down)
    assert migration.digest == file_digest(content, up, down)


def test_the_rollback_section_has_its_own_checksum() -> None:
    a = parse("SELECT 1;\n-- rollback\nSELECT 2;\n")
    b = parse("SELECT 1;\n-- rollback\nSELECT 3;\n")
    assert a.rollback_checksum is not None
    assert a.rollback_checksum != b.rollback_checksum
    assert parse("SELECT 1;\n").rollback_checksum is None


@pytest.mark.parametrize(
    "statement",
    [
        "COMMIT",
        "commit work",
        "BEGIN",
        "BEGIN TRANSACTION",
        "BEGIN IMMEDIATE",
        "END",
        "START TRANSACTION",
        "ROLLBACK",
        "ABORT",
    ],
    ids=lambda s: s.lower().replace(" ", "_"),
)
def test_transaction_statements_in_a_transactional_file_are_refused_with_their_line(
    statement: str,
) -> None:
    text = f"CREATE TABLE a (id int);\n{statement};\nCREATE TABLE b (id int);\n"
    with pytest.raises(SourceError) as info:
        parse_migration("V1__x.sql", text, POSTGRES)
    assert info.value.line == 2
    assert "transaction=off" in info.value.fix


@pytest.mark.parametrize(
    "text",
    [
        "-- keel: transaction=off\nCOMMIT;\nVACUUM;\n",
        "SAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\nROLLBACK TO s;\n",
        "CREATE TABLE ends (id int);\nUPDATE t SET x = 'COMMIT';\n",
    ],
    ids=["transaction_off_may_commit", "rollback_to_savepoint", "commit_inside_a_literal"],
)
def test_harmless_transaction_words_are_accepted(text: str) -> None:
    parse_migration("V1__x.sql", text, POSTGRES)


@pytest.mark.parametrize(
    "line",
    [
        "-- Rollback: DROP TABLE t;",
        "-- rollback --",
        "-- upgrade:",
        "-- migrate:down",
        "-- +goose Down",
        "-- +migrate Down",
        "-- down",
        "--//@UNDO",
    ],
    ids=[
        "rollback_colon",
        "rollback_dashes",
        "upgrade_colon",
        "dbmate",
        "goose",
        "sql_migrate",
        "bare_down",
        "mybatis",
    ],
)
def test_a_line_that_only_looks_like_a_marker_is_refused_with_its_line(line: str) -> None:
    """Otherwise the rollback statements below it would run as part of the upgrade."""
    text = f"CREATE TABLE t (id int);\n{line}\nDROP TABLE t;\n"
    with pytest.raises(SourceError) as info:
        parse_migration("V1__x.sql", text, SQLITE)
    assert info.value.line == 2
    assert "'-- rollback'" in info.value.fix


@pytest.mark.parametrize(
    "comment",
    ["-- upgrade the users table to the new layout", "-- Rollback is not needed", "-- up to 5"],
)
def test_prose_comments_that_start_with_a_marker_word_are_fine(comment: str) -> None:
    parse_migration("V1__x.sql", f"{comment}\nCREATE TABLE t (id int);\n", SQLITE)


@pytest.mark.parametrize(
    "text",
    ["", "\n  \n", "-- upgrade\n\n-- rollback\nDROP TABLE t;\n"],
    ids=["empty_file", "only_whitespace", "empty_upgrade_section"],
)
def test_a_file_without_upgrade_statements_is_refused(text: str) -> None:
    # A file of comments only is a deliberate no-op instead: tests/unit/test_core_noop_sections.py
    with pytest.raises(SourceError, match="no statements to run"):
        parse_migration("V1__x.sql", text, SQLITE)


def test_an_unterminated_literal_names_line_and_column() -> None:
    with pytest.raises(SourceError) as info:
        parse_migration("V1__x.sql", "SELECT 1;\nSELECT  'oops;\n", SQLITE)
    assert info.value.line == 2
    assert "(column 9)" in str(info.value)
    assert ". Fix:" in str(info.value)


def test_a_sections_span_splits_and_checksums_it_again_as_parsing_did() -> None:
    text = "-- keel test\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n\n" + (
        "-- rollback\nDROP TABLE b;\nDROP TABLE a;\n"
    )
    parsed = parse_migration("V1__ab.sql", text, SQLITE)
    for section in (parsed.upgrade, parsed.rollback):
        assert section is not None and section.span is not None
        assert section.span.first_line == section.line and section.span.options is SQLITE
        assert split_span(text, section.span) == section.statements
        assert span_checksum(text, section.span) == section.checksum
    assert parsed.rollback is not None and parsed.rollback.span is not None
    assert text[parsed.rollback.span.start :].lstrip().startswith("DROP TABLE b;")


# --- the mysql client's DELIMITER lines (MySQL profile) -----------------------------------

PROC = "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND"
CLIENT_FILE = (
    f"-- upgrade\nDELIMITER //\n{PROC} //\nDELIMITER ;\nINSERT INTO t VALUES (1);\n"
    "-- rollback\nDELETE FROM t;\nDROP PROCEDURE p;\n"
)


def mysql(text: str, path: str = "V1__t.sql") -> MigrationFile:
    return parse_migration(path, text, MYSQL, content=text.encode())


# (text, upgrade statements with lines, rollback statements with lines or None)
CLIENT_SECTIONS = [
    pytest.param(
        CLIENT_FILE,
        [(PROC, 3), ("INSERT INTO t VALUES (1)", 9)],
        [("DELETE FROM t", 11), ("DROP PROCEDURE p", 12)],
        id="lines_in_the_upgrade_section",
    ),
    pytest.param(
        # The '-- rollback' marker ends the upgrade's '//' region: its section starts with ';'.
        f"DELIMITER //\n{PROC} //\n-- rollback\nDROP PROCEDURE p; DROP TABLE t;\n",
        [(PROC, 2)],
        [("DROP PROCEDURE p", 8), ("DROP TABLE t", 8)],
        id="a_region_stops_at_the_rollback_marker",
    ),
    pytest.param(
        f"DROP PROCEDURE p;\n-- rollback\nDELIMITER $$\n{PROC}$$\ndelimiter ;\nSELECT 3;\n",
        [("DROP PROCEDURE p", 1)],
        [(PROC, 4), ("SELECT 3", 10)],
        id="lines_in_the_rollback_section",
    ),
    pytest.param(
        "-- keel: transaction=off\nDELIMITER //\n-- a comment\nSELECT 1; SELECT 2 //\n",
        [("SELECT 1; SELECT 2", 4)],
        None,
        id="a_directive_and_comments_around_them",
    ),
    pytest.param(
        "DELIMITER //\n-- keel: transaction=off\nSELECT 1; SELECT 2 //\n",
        [("SELECT 1; SELECT 2", 3)],
        None,
        id="a_directive_after_a_delimiter_line_is_still_before_any_statement",
    ),
]


@pytest.mark.parametrize(("text", "upgrade", "rollback"), CLIENT_SECTIONS)
def test_delimiter_lines_split_each_section_and_are_never_statements(
    text: str, upgrade: list[tuple[str, int]], rollback: list[tuple[str, int]] | None
) -> None:
    migration = mysql(text)
    assert [(s.sql, s.line) for s in statements_of(migration.upgrade)] == upgrade
    if rollback is None:
        assert migration.rollback is None
    else:
        assert [(s.sql, s.line) for s in statements_of(migration.rollback)] == rollback
    for section in (migration.upgrade, migration.rollback):
        if section is not None:  # the lazy paths (a file read again) split it the same way
            assert section.span is not None
            assert split_span(text, section.span) == section.statements
            assert span_checksum(text, section.span) == section.checksum


def test_the_same_file_on_sqlite_keeps_its_delimiter_lines_as_sql() -> None:
    migration = parse_migration("V1__t.sql", CLIENT_FILE, SQLITE)
    assert sqls(migration.upgrade)[0].startswith("DELIMITER //\nCREATE PROCEDURE p()")


CLIENT_BAD_CONTENTS = [
    pytest.param("SELECT 1;\n\nDELIMITER\nSELECT 2;\n", 3, ["DELIMITER", "without"], id="no_token"),
    pytest.param(
        "SELECT 1;\n-- rollback\n  delimiter   \n", 3, ["without"], id="no_token_in_the_rollback"
    ),
    pytest.param("DELIMITER '\nSELECT 1;\n", 1, ["quote"], id="a_token_keel_cannot_split_on"),
    pytest.param(
        "-- keel: delimiter=//\nDELIMITER $$\nSELECT 2 $$\n",
        2,
        ["directive", "DELIMITER lines"],
        id="directive_and_delimiter_lines",
    ),
    pytest.param(
        "DELIMITER //\n-- upgrade\nSELECT 1 //\n",
        1,
        ["before", "upgrade"],
        id="a_delimiter_line_above_the_upgrade_marker",
    ),
    pytest.param(
        "DELIMITER //\n//\nDELIMITER ;\n-- rollback\nSELECT 1;\n",
        1,
        ["no statements"],
        id="only_delimiter_lines_in_the_upgrade",
    ),
    pytest.param(
        "DELIMITER //\nSTART TRANSACTION //\nSELECT 1 //\n",
        2,
        ["transaction"],
        id="a_transaction_statement_between_delimiter_lines",
    ),
]


@pytest.mark.parametrize(("text", "line", "words"), CLIENT_BAD_CONTENTS)
def test_a_misused_delimiter_line_is_a_parse_error_with_line_and_fix(
    text: str, line: int, words: list[str]
) -> None:
    with pytest.raises(SourceError) as info:
        mysql(text)
    error = info.value
    assert error.line == line
    assert error.fix
    assert str(error).startswith(f"V1__t.sql:{line}: ")
    for word in words:
        assert word.lower() in error.message.lower()


def test_a_delimiter_line_without_a_token_names_the_fix() -> None:
    with pytest.raises(SourceError) as info:
        mysql("SELECT 1;\nDELIMITER\n")
    assert "(column 1)" in info.value.message
    assert "DELIMITER //" in info.value.fix


# (original, edited, same checksum?)
CLIENT_CHECKSUMS = [
    pytest.param(CLIENT_FILE, CLIENT_FILE, True, id="identical"),
    pytest.param(
        CLIENT_FILE,
        CLIENT_FILE.replace("DELIMITER //", "  delimiter   //  -- for the body"),
        True,
        id="how_a_delimiter_line_is_written",
    ),
    pytest.param(
        CLIENT_FILE,
        CLIENT_FILE.replace("DELIMITER //", "DELIMITER '//'"),
        True,
        id="a_quoted_token",
    ),
    pytest.param(
        CLIENT_FILE,
        CLIENT_FILE.replace("  SELECT 1;\n", "  -- note\n  SELECT   1 ;\r\n"),
        True,
        id="comments_and_layout_between_them",
    ),
    pytest.param(
        CLIENT_FILE, CLIENT_FILE.replace("SELECT 2", "SELECT 3"), False, id="a_changed_body"
    ),
    pytest.param(
        CLIENT_FILE,
        CLIENT_FILE.replace("(1)", "(2)"),
        False,
        id="a_changed_statement_after_them",
    ),
    pytest.param(
        CLIENT_FILE,
        CLIENT_FILE.replace("DELIMITER //", "DELIMITER $$").replace("END //", "END $$"),
        False,
        id="another_delimiter",
    ),
    pytest.param(
        # Same characters, other statements: the second file splits 'SELECT 1 // SELECT 2'.
        "DELIMITER $$\nSELECT 1 // SELECT 2 $$\n",
        "DELIMITER //\nSELECT 1 // SELECT 2 $$\n",
        False,
        id="the_same_text_split_on_another_delimiter",
    ),
    pytest.param(
        "DELIMITER ;\nSELECT 1;\n", "DELIMITER;\nSELECT 1;\n", False, id="a_line_or_a_statement"
    ),
]


@pytest.mark.parametrize(("original", "edited", "same"), CLIENT_CHECKSUMS)
def test_the_checksum_with_delimiter_lines_follows_the_statements(
    original: str, edited: str, same: bool
) -> None:
    a, b = mysql(original), mysql(edited)
    assert (a.checksum == b.checksum) is same
    assert a.checksum == mysql(original).checksum  # deterministic


def test_a_rollback_section_of_delimiter_lines_only_is_empty() -> None:
    migration = mysql("SELECT 1;\n-- rollback\nDELIMITER //\nDELIMITER ;\n")
    assert migration.rollback is not None and migration.rollback.is_empty
    assert not migration.can_roll_back
    assert migration.rollback_checksum == checksum("", MYSQL)
