"""Splitter: golden cases (``cases/NN_name.sql`` -> ``.golden``) and table-driven edge cases.

Rewrite the goldens after a deliberate change with ``KEEL_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from sqlkeel.core.splitter import (
    MYSQL,
    POSTGRES,
    SQLITE,
    SplitOptions,
    Statement,
    Token,
    is_significant,
    split_statements,
    tokenize,
)
from sqlkeel.errors import SplitError

CASES = Path(__file__).parent / "cases"
PROFILES = {"sqlite": SQLITE, "postgres": POSTGRES, "mysql": MYSQL}
PLAIN = SplitOptions()
_PROFILE_LINE = re.compile(r"-- profile: (\w+)")
_DELIMITER_LINE = re.compile(r"^-- keel: delimiter=(\S+)", re.MULTILINE)


def render(statements: tuple[Statement, ...]) -> str:
    """Golden form: each statement preceded by its line and followed by '-- end --'.

    A carriage return is shown as U+240D so CRLF cases stay visible in an LF golden file.
    """
    return "".join(
        f"-- line: {s.line}\n{s.sql.replace(chr(13), chr(0x240D))}\n-- end --\n" for s in statements
    )


def read_case(path: Path) -> tuple[str, SplitOptions, str | None]:
    text = path.read_bytes().decode("utf-8")
    if "crlf" in path.stem:
        # Fed with CRLF whatever line endings a checkout gave the file.
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    header = _PROFILE_LINE.match(text)
    assert header, f"{path.name}: first line must be '-- profile: sqlite|postgres|mysql'"
    delimiter = _DELIMITER_LINE.search(text.replace("\r\n", "\n"))
    return text, PROFILES[header[1]], delimiter[1] if delimiter else None


CASE_FILES = sorted(CASES.glob("*.sql"))


def test_golden_cases_exist() -> None:
    assert len(CASE_FILES) >= 20
    for path in CASE_FILES:
        assert re.fullmatch(r"\d\d_\w+\.sql", path.name), path.name


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_split_matches_golden_file(path: Path) -> None:
    text, options, delimiter = read_case(path)
    actual = render(split_statements(text, options, delimiter=delimiter))
    golden = path.with_suffix(".golden")
    if os.environ.get("KEEL_UPDATE_GOLDEN") == "1":
        golden.write_text(actual, encoding="utf-8", newline="\n")
    assert golden.exists(), f"missing {golden.name}: run with KEEL_UPDATE_GOLDEN=1 and review"
    assert actual == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_golden_statements_are_exact_slices_at_their_lines(path: Path) -> None:
    text, options, delimiter = read_case(path)
    offset = 0
    for statement in split_statements(text, options, delimiter=delimiter):
        offset = text.index(statement.sql, offset)
        assert statement.line == text.count("\n", 0, offset) + 1
        offset += len(statement.sql)


# --- split_statements: table-driven edge cases -------------------------------------------

SPLIT_CASES = [
    ("empty_text", PLAIN, "", []),
    ("whitespace_only", PLAIN, " \n\t\n", []),
    ("comments_only", PLAIN, "-- a;\n/* b; */\n", []),
    ("semicolons_only", PLAIN, ";;\n;", []),
    ("final_statement_needs_no_semicolon", PLAIN, "SELECT 1;\nSELECT 2", ["SELECT 1", "SELECT 2"]),
    ("semicolon_in_single_quotes", PLAIN, "SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
    ("doubled_quote_does_not_end_string", PLAIN, "SELECT 'a'';b'", ["SELECT 'a'';b'"]),
    ("empty_string_then_semicolon", PLAIN, "SELECT '';SELECT ''''", ["SELECT ''", "SELECT ''''"]),
    (
        "backslash_is_plain_without_escapes",
        PLAIN,
        r"SELECT '\'; SELECT 1",
        [r"SELECT '\'", "SELECT 1"],
    ),
    ("backslash_escapes_quote_on_mysql", MYSQL, r"SELECT 'a\'; b'", [r"SELECT 'a\'; b'"]),
    (
        "backslash_escapes_in_double_quotes_on_mysql",
        MYSQL,
        r'SELECT "a\"; b"',
        [r'SELECT "a\"; b"'],
    ),
    (
        "escape_string_keeps_escaped_quote",
        POSTGRES,
        r"SELECT E'\';'; SELECT 2",
        [r"SELECT E'\';'", "SELECT 2"],
    ),
    ("lower_case_escape_string", POSTGRES, r"SELECT e'\';'", [r"SELECT e'\';'"]),
    (
        "word_ending_in_e_is_no_escape_prefix",
        POSTGRES,
        r"SELECT type'\'; SELECT 2",
        [r"SELECT type'\'", "SELECT 2"],
    ),
    (
        "unicode_and_national_prefixes",
        POSTGRES,
        "SELECT U&'a;', N'b;', X'0F'",
        ["SELECT U&'a;', N'b;', X'0F'"],
    ),
    (
        "semicolon_in_quoted_identifier",
        PLAIN,
        'SELECT "a;""b"; SELECT 2',
        ['SELECT "a;""b"', "SELECT 2"],
    ),
    ("semicolon_in_backticks", SQLITE, "SELECT `a;``b`; SELECT 2", ["SELECT `a;``b`", "SELECT 2"]),
    (
        "line_comment_stops_at_newline",
        PLAIN,
        "SELECT 1 -- x;\n; SELECT 2",
        ["SELECT 1", "SELECT 2"],
    ),
    (
        "hash_is_an_operator_without_hash_comments",
        POSTGRES,
        "SELECT 1 # 2; SELECT 3",
        ["SELECT 1 # 2", "SELECT 3"],
    ),
    (
        "hash_starts_a_comment_on_mysql",
        MYSQL,
        "SELECT 1 # 2; SELECT 3\n;SELECT 4",
        ["SELECT 1", "SELECT 4"],
    ),
    (
        "block_comments_do_not_nest_by_default",
        SQLITE,
        "/* a /* b */ SELECT 1; */",
        ["SELECT 1", "*/"],
    ),
    (
        "block_comments_nest_on_postgres",
        POSTGRES,
        "/* a /* b */ SELECT 1; */ SELECT 2",
        ["SELECT 2"],
    ),
    ("comment_inside_statement_is_kept", PLAIN, "SELECT /* ; */ 1", ["SELECT /* ; */ 1"]),
    (
        "leading_and_trailing_comments_are_dropped",
        PLAIN,
        "/* a */ SELECT 1 /* b */ -- c\n;",
        ["SELECT 1"],
    ),
    (
        "dollar_body_keeps_semicolon",
        POSTGRES,
        "SELECT $$;$$; SELECT 2",
        ["SELECT $$;$$", "SELECT 2"],
    ),
    (
        "tagged_dollar_body_contains_plain_one",
        POSTGRES,
        "SELECT $a$ $$;$$ $a$",
        ["SELECT $a$ $$;$$ $a$"],
    ),
    ("dollar_parameter_is_no_quote", POSTGRES, "SELECT $1; SELECT $2", ["SELECT $1", "SELECT $2"]),
    (
        "dollar_inside_identifier_is_no_quote",
        POSTGRES,
        "SELECT a$b$c; SELECT 2",
        ["SELECT a$b$c", "SELECT 2"],
    ),
    ("dollar_quotes_off_on_sqlite", SQLITE, "SELECT $$; SELECT $$", ["SELECT $$", "SELECT $$"]),
    (
        "trigger_body_stays_whole",
        SQLITE,
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT 2; END; SELECT 3",
        ["CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT 2; END", "SELECT 3"],
    ),
    (
        "case_end_inside_trigger_does_not_close_it",
        SQLITE,
        "create trigger t after insert on a begin select case when 1 then 2 end; end; select 3",
        ["create trigger t after insert on a begin select case when 1 then 2 end; end", "select 3"],
    ),
    (
        "begin_transaction_is_not_a_block",
        SQLITE,
        "BEGIN; SELECT 1; END;",
        ["BEGIN", "SELECT 1", "END"],
    ),
    (
        "begin_in_create_table_is_a_column_name",
        MYSQL,
        "CREATE TABLE t (`trigger` INT, begin INT); SELECT 1",
        ["CREATE TABLE t (`trigger` INT, begin INT)", "SELECT 1"],
    ),
    (
        "routine_word_in_string_does_not_open_routine",
        SQLITE,
        "CREATE INDEX 'trigger' ON t (x); BEGIN; END",
        ["CREATE INDEX 'trigger' ON t (x)", "BEGIN", "END"],
    ),
    (
        "begin_end_blocks_are_off_on_postgres",
        POSTGRES,
        "CREATE FUNCTION f() BEGIN SELECT 1; END",
        ["CREATE FUNCTION f() BEGIN SELECT 1", "END"],
    ),
    (
        "begin_atomic_stays_whole_on_postgres",
        POSTGRES,
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 2",
        ["CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END", "SELECT 2"],
    ),
    (
        "end_if_closes_nothing_on_mysql",
        MYSQL,
        "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; SELECT 2; END; SELECT 3",
        ["CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; SELECT 2; END", "SELECT 3"],
    ),
    (
        "end_case_closes_case_statement_on_mysql",
        MYSQL,
        "CREATE PROCEDURE p() BEGIN CASE 1 WHEN 1 THEN SELECT 1; END CASE; END; SELECT 3",
        ["CREATE PROCEDURE p() BEGIN CASE 1 WHEN 1 THEN SELECT 1; END CASE; END", "SELECT 3"],
    ),
    (
        "definer_with_current_user_call_keeps_routine_header",
        MYSQL,
        "CREATE DEFINER=CURRENT_USER() PROCEDURE p() BEGIN SELECT 1; END; SELECT 2",
        ["CREATE DEFINER=CURRENT_USER() PROCEDURE p() BEGIN SELECT 1; END", "SELECT 2"],
    ),
    (
        "stray_end_never_goes_below_zero",
        SQLITE,
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END END; SELECT 2",
        ["CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END END", "SELECT 2"],
    ),
    (
        "executable_comment_is_a_statement_on_mysql",
        MYSQL,
        "/*!40101 SET x=1 */;",
        ["/*!40101 SET x=1 */"],
    ),
    ("executable_comment_is_a_comment_elsewhere", SQLITE, "/*!40101 SET x=1 */;", []),
    ("byte_order_mark_is_not_part_of_a_statement", PLAIN, "\ufeffSELECT 1", ["SELECT 1"]),
    ("non_ascii_space_is_kept", PLAIN, "SELECT\u00a01;", ["SELECT\u00a01"]),
]


@pytest.mark.parametrize(
    ("options", "text", "expected"),
    [case[1:] for case in SPLIT_CASES],
    ids=[case[0] for case in SPLIT_CASES],
)
def test_split_statements_returns_expected_sql(
    options: SplitOptions, text: str, expected: list[str]
) -> None:
    statements = split_statements(text, options)
    assert [s.sql for s in statements] == expected
    assert [s.index for s in statements] == list(range(1, len(expected) + 1))


DELIMITER_CASES = [
    ("slashes", "//", "SELECT 1; SELECT 2 //\nSELECT 3//", ["SELECT 1; SELECT 2", "SELECT 3"]),
    ("delimiter_inside_string", "//", "SELECT '//' // SELECT 2", ["SELECT '//'", "SELECT 2"]),
    ("delimiter_inside_comment", "//", "SELECT 1 -- //\n// SELECT 2", ["SELECT 1", "SELECT 2"]),
    ("delimiter_glued_to_word", "$$", "END$$\nSELECT 1$$", ["END", "SELECT 1"]),
    (
        "word_delimiter_on_its_own_line",
        "GO",
        "SELECT 1\n  go  \nSELECT 2\nGO\n",
        ["SELECT 1", "SELECT 2"],
    ),
    ("word_delimiter_inside_a_line", "GO", "SELECT 1 GO\nSELECT go", ["SELECT 1 GO\nSELECT go"]),
    ("word_delimiter_with_crlf", "GO", "SELECT 1\r\nGO\r\nSELECT 2", ["SELECT 1", "SELECT 2"]),
    ("semicolon_is_no_separator", "//", "a; b;", ["a; b;"]),
    (
        "delimiter_right_after_a_comment",
        "//",
        "SELECT 1 /* c *///SELECT 2",
        ["SELECT 1", "SELECT 2"],
    ),
    ("empty_segments_dropped", "//", "// -- x\n//\n//a", ["a"]),
]


@pytest.mark.parametrize(
    ("delimiter", "text", "expected"),
    [case[1:] for case in DELIMITER_CASES],
    ids=[case[0] for case in DELIMITER_CASES],
)
def test_split_on_delimiter_returns_expected_sql(
    delimiter: str, text: str, expected: list[str]
) -> None:
    statements = split_statements(text, MYSQL, delimiter=delimiter)
    assert [s.sql for s in statements] == expected


@pytest.mark.parametrize("delimiter", ["", " ", "/ /"], ids=["empty", "space", "inner_space"])
def test_split_rejects_a_blank_delimiter(delimiter: str) -> None:
    with pytest.raises(ValueError, match="delimiter"):
        split_statements("SELECT 1", MYSQL, delimiter=delimiter)


LINE_CASES = [
    ("first_line", "SELECT 1", 1, [1]),
    ("after_blank_lines", "\n\n  SELECT 1;\nSELECT\n2;", 1, [3, 4]),
    ("after_comment_lines", "-- a\n/* b\n c */ SELECT 1", 1, [3]),
    ("offset_by_first_line", "\nSELECT 1;\n\nSELECT 2", 40, [41, 43]),
    ("crlf_counts_once", "SELECT 1;\r\n\r\nSELECT 2", 1, [1, 3]),
    ("after_multiline_string", "SELECT 'a\nb\nc';\nSELECT 2", 1, [1, 4]),
    ("after_dollar_body", "SELECT $$\n\n$$;SELECT 2", 1, [1, 3]),
]


@pytest.mark.parametrize(
    ("text", "first_line", "expected"),
    [case[1:] for case in LINE_CASES],
    ids=[case[0] for case in LINE_CASES],
)
def test_split_reports_the_first_line_of_each_statement(
    text: str, first_line: int, expected: list[int]
) -> None:
    statements = split_statements(text, POSTGRES, first_line=first_line)
    assert [s.line for s in statements] == expected


def test_delimiter_split_reports_lines_from_first_line() -> None:
    statements = split_statements(
        "\nSELECT 1\nGO\n\nSELECT 2", SQLITE, first_line=10, delimiter="GO"
    )
    assert [(s.sql, s.line) for s in statements] == [("SELECT 1", 11), ("SELECT 2", 14)]


# --- tokenize ----------------------------------------------------------------------------

TOKEN_CASES = [
    (
        "words_and_space",
        PLAIN,
        "SELECT a1_$",
        [("word", "SELECT"), ("space", " "), ("word", "a1_$")],
    ),
    ("string_with_doubled_quote", PLAIN, "'a''b'", [("string", "'a''b'")]),
    ("escape_string", POSTGRES, r"E'\''", [("string", r"E'\''")]),
    ("quoted_identifier", PLAIN, '"a""b"', [("ident", '"a""b"')]),
    ("double_quotes_are_strings_on_mysql", MYSQL, '"a"', [("string", '"a"')]),
    ("backtick_identifier", MYSQL, "`a`", [("ident", "`a`")]),
    ("backtick_is_other_without_flag", PLAIN, "`", [("other", "`")]),
    ("line_comment_excludes_newline", PLAIN, "-- x\r\n", [("comment", "-- x"), ("space", "\r\n")]),
    ("hash_comment", MYSQL, "# x\n", [("comment", "# x"), ("space", "\n")]),
    ("block_comment", PLAIN, "/* a */", [("comment", "/* a */")]),
    ("nested_block_comment", POSTGRES, "/* /* */ */", [("comment", "/* /* */ */")]),
    ("dollar_body", POSTGRES, "$t$ $$ $t$", [("dollar", "$t$ $$ $t$")]),
    ("parameter", POSTGRES, "$12", [("other", "$12")]),
    ("semicolon", PLAIN, ";", [("semicolon", ";")]),
    ("punctuation", PLAIN, "(*)", [("other", "("), ("other", "*"), ("other", ")")]),
    ("byte_order_mark", PLAIN, "\ufeffx", [("space", "\ufeff"), ("word", "x")]),
    ("minus_then_minus_apart", PLAIN, "- -", [("other", "-"), ("space", " "), ("other", "-")]),
]


@pytest.mark.parametrize(
    ("options", "text", "expected"),
    [case[1:] for case in TOKEN_CASES],
    ids=[case[0] for case in TOKEN_CASES],
)
def test_tokenize_returns_expected_kinds(
    options: SplitOptions, text: str, expected: list[tuple[str, str]]
) -> None:
    tokens = tokenize(text, options)
    assert [(t.kind, text[t.start : t.end]) for t in tokens] == expected


def test_tokens_cover_the_text_and_carry_lines() -> None:
    text = "-- head\nSELECT 'a\nb' /* c\n*/ FROM t;\r\nSELECT $$x\n$$"
    tokens = tokenize(text, POSTGRES, first_line=5)
    assert "".join(text[t.start : t.end] for t in tokens) == text
    for token in tokens:
        assert token.line == 5 + text.count("\n", 0, token.start)
    assert tokens[0] == Token("comment", 0, 7, 5)


@pytest.mark.parametrize(
    ("options", "text", "expected"),
    [
        (MYSQL, "/*!40101 SET x */", True),
        (MYSQL, "/*+ HINT */", True),
        (MYSQL, "/* plain */", False),
        (POSTGRES, "/*+ HINT */", False),
        (PLAIN, " ", False),
        (PLAIN, ";", True),
    ],
    ids=["mysql_version_comment", "mysql_hint", "mysql_plain", "postgres_hint", "space", "semi"],
)
def test_is_significant_marks_statement_content(
    options: SplitOptions, text: str, expected: bool
) -> None:
    (token,) = tokenize(text, options)
    assert is_significant(token, text, options) is expected


# --- errors ------------------------------------------------------------------------------

ERROR_CASES = [
    ("unterminated_string", PLAIN, "SELECT 1;\nSELECT 'abc", "string", 2, 8),
    ("unterminated_string_after_doubled_quote", PLAIN, "SELECT 'a''", "string", 1, 8),
    ("string_ended_by_backslash_on_mysql", MYSQL, "SELECT 'a\\'", "string", 1, 8),
    ("unterminated_escape_string", POSTGRES, "\n  E'\\'", "E'", 2, 3),
    ("unterminated_quoted_identifier", PLAIN, 'SELECT "a', "identifier", 1, 8),
    ("unterminated_mysql_double_quoted_string", MYSQL, 'SELECT "a\\"', "string", 1, 8),
    ("unterminated_backtick", SQLITE, "SELECT\n\n`a", "identifier", 3, 1),
    ("unterminated_block_comment", PLAIN, "SELECT 1 /* x", "block comment", 1, 10),
    ("unterminated_nested_comment", POSTGRES, "/* a /* b */\nSELECT 1;", "block comment", 1, 1),
    ("unterminated_dollar_body", POSTGRES, "SELECT 1;\r\nDO $fn$ BEGIN $$", "$fn$", 2, 4),
    ("error_after_multiline_literal", PLAIN, "SELECT 'a\nb\nc', 'd", "string", 3, 5),
]


@pytest.mark.parametrize(
    ("options", "text", "message", "line", "column"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_split_raises_split_error_with_line_and_column(
    options: SplitOptions, text: str, message: str, line: int, column: int
) -> None:
    with pytest.raises(SplitError, match=re.escape(message)) as raised:
        split_statements(text, options)
    assert (raised.value.line, raised.value.column) == (line, column)


def test_split_error_line_counts_from_first_line() -> None:
    with pytest.raises(SplitError) as raised:
        tokenize("\n\n'open", PLAIN, first_line=40)
    assert (raised.value.line, raised.value.column) == (42, 1)


# --- the mysql client's DELIMITER lines (MySQL profile only) ------------------------------

PROCEDURE = "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END"
CLIENT_DELIMITER_CASES = [
    (
        "procedure_between_delimiter_lines",
        f"DELIMITER //\n{PROCEDURE} //\nDELIMITER ;\nINSERT INTO t VALUES (1);",
        [PROCEDURE, "INSERT INTO t VALUES (1)"],
    ),
    (
        "statements_before_after_and_between",
        "SELECT 0;\nDELIMITER $$\nSELECT 1; SELECT 2$$\nSELECT 3$$\n"
        "DELIMITER ;\nSELECT 4; SELECT 5",
        ["SELECT 0", "SELECT 1; SELECT 2", "SELECT 3", "SELECT 4", "SELECT 5"],
    ),
    (
        "any_letter_case_and_leading_blanks",
        f"  delimiter //\n{PROCEDURE}//\n\tDeLiMiTeR ;\nSELECT 1",
        [PROCEDURE, "SELECT 1"],
    ),
    (
        # As for the mysql client: inside a statement the line is the statement's text
        # (which the server will reject), never a command.
        "inside_an_unfinished_statement_the_line_is_its_text",
        f"DELIMITER //\n{PROCEDURE}\nDELIMITER ;\nSELECT 1",
        [f"{PROCEDURE}\nDELIMITER ;\nSELECT 1"],
    ),
    (
        "a_column_named_delimiter_is_not_a_command",
        "CREATE TABLE t (\n  id int,\n  delimiter varchar(5)\n);\nSELECT 1",
        ["CREATE TABLE t (\n  id int,\n  delimiter varchar(5)\n)", "SELECT 1"],
    ),
    (
        "after_a_semicolon_inside_a_routine_body_the_client_reads_a_command",
        "CREATE PROCEDURE p() BEGIN SELECT 1;\nDELIMITER //\nSELECT 2 //",
        ["CREATE PROCEDURE p() BEGIN SELECT 1;", "SELECT 2"],
    ),
    (
        "back_to_semicolons_keeps_routine_bodies_whole",
        f"DELIMITER //\nSELECT 1 //\nDELIMITER ;\n{PROCEDURE};\nSELECT 2",
        ["SELECT 1", PROCEDURE, "SELECT 2"],
    ),
    (
        "quoted_delimiter_as_the_client_reads_it",
        "DELIMITER '$$'\nSELECT 1; SELECT 2 $$\nDELIMITER \"|\"\nSELECT 3 |",
        ["SELECT 1; SELECT 2", "SELECT 3"],
    ),
    (
        "double_semicolon_delimiter",
        "DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END;;"
        "\nDELIMITER ;\nSELECT 1;",
        ["CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END", "SELECT 1"],
    ),
    (
        "the_rest_of_the_line_is_ignored",
        "DELIMITER // -- slashes from here\nSELECT 1; SELECT 2 //",
        ["SELECT 1; SELECT 2"],
    ),
    (
        "inside_a_string_it_is_text",
        "SELECT '\nDELIMITER //\n'; SELECT 2",
        ["SELECT '\nDELIMITER //\n'", "SELECT 2"],
    ),
    (
        "inside_a_block_comment_it_is_comment",
        "SELECT 1; /*\nDELIMITER //\n*/ SELECT 2; SELECT 3",
        ["SELECT 1", "SELECT 2", "SELECT 3"],
    ),
    (
        "several_inside_one_literal_then_a_real_one",
        "SELECT 'a\ndelimiter //\n DELIMITER $$\n', `b\nDELIMITER |\n`;\n/* c\ndelimiter x\n"
        "delimiter y */\nDELIMITER //\nSELECT 1; SELECT 2 //",
        ["SELECT 'a\ndelimiter //\n DELIMITER $$\n', `b\nDELIMITER |\n`", "SELECT 1; SELECT 2"],
    ),
    (
        "after_a_string_that_spans_lines_it_counts",
        "SELECT 'a\nb';\nDELIMITER //\nSELECT 1; SELECT 2//",
        ["SELECT 'a\nb'", "SELECT 1; SELECT 2"],
    ),
    (
        "only_at_the_start_of_a_line",
        "SELECT 1 DELIMITER //;\nSELECT 2",
        ["SELECT 1 DELIMITER //", "SELECT 2"],
    ),
    (
        "a_longer_word_or_no_blank_is_sql",
        "delimiters //;\ndelimiter;\ndelimiter_col FROM t",
        ["delimiters //", "delimiter", "delimiter_col FROM t"],
    ),
    ("only_delimiter_lines", "DELIMITER //\n//\nDELIMITER ;\n;", []),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in CLIENT_DELIMITER_CASES],
    ids=[case[0] for case in CLIENT_DELIMITER_CASES],
)
def test_delimiter_lines_split_the_text_between_them_on_the_mysql_profile(
    text: str, expected: list[str]
) -> None:
    statements = split_statements(text, MYSQL)
    assert [s.sql for s in statements] == expected
    assert [s.index for s in statements] == list(range(1, len(expected) + 1))
    command = re.compile(r"(?im)^[ \t]*delimiter[ \t]")
    as_text = any(command.search(sql) for sql in expected)  # a case of a line inside one
    for statement in statements:  # exact slices, never a DELIMITER line read as a command
        assert statement.sql in text
        assert as_text or not command.search(statement.sql.split("'")[0])


@pytest.mark.parametrize("options", [SQLITE, POSTGRES], ids=["sqlite", "postgres"])
def test_delimiter_lines_stay_sql_on_other_profiles(options: SplitOptions) -> None:
    # The server rejects them there, naming the statement; keel does not guess.
    text = "DELIMITER //\nSELECT 1 //\nDELIMITER ;\nSELECT 2;"
    assert [s.sql for s in split_statements(text, options)] == [
        "DELIMITER //\nSELECT 1 //\nDELIMITER",
        "SELECT 2",
    ]


def test_a_delimiter_directive_governs_alone_and_leaves_delimiter_lines_to_the_caller() -> None:
    # parse_migration refuses the combination; split_statements given a delimiter only
    # splits on it.
    text = "DELIMITER //\nSELECT 1 //"
    assert [s.sql for s in split_statements(text, MYSQL, delimiter="//")] == [
        "DELIMITER",
        "SELECT 1",
    ]


def test_statement_lines_around_delimiter_lines_count_from_first_line() -> None:
    text = "\nSELECT 1;\nDELIMITER //\n\nSELECT 2;\nSELECT 3 //\n  DELIMITER ;\nSELECT\n4"
    statements = split_statements(text, MYSQL, first_line=10)
    assert [(s.sql, s.line) for s in statements] == [
        ("SELECT 1", 11),
        ("SELECT 2;\nSELECT 3", 14),
        ("SELECT\n4", 17),
    ]


DELIMITER_LINE_ERRORS = [
    ("no_token", "SELECT 1;\n  DELIMITER\nSELECT 2", 2, 3, "without a delimiter"),
    ("only_blanks_after_it", "DELIMITER   \r\nSELECT 2", 1, 1, "without a delimiter"),
    ("at_the_end_of_the_text", "SELECT 1;\ndelimiter", 2, 1, "without a delimiter"),
    ("a_quote", "DELIMITER '\nSELECT 1 '", 1, 1, "quote"),
    ("a_hash_comment", "DELIMITER #\nSELECT 1 #", 1, 1, "comment"),
    ("a_line_comment", "DELIMITER --\nSELECT 1 --", 1, 1, "comment"),
    ("a_backslash", "DELIMITER \\\\\nSELECT 1 \\\\", 1, 1, "backslash"),
    ("empty_quotes", "DELIMITER ''\nSELECT 1", 1, 1, "empty"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [case[1:] for case in DELIMITER_LINE_ERRORS],
    ids=[case[0] for case in DELIMITER_LINE_ERRORS],
)
def test_a_malformed_delimiter_line_is_a_split_error_with_line_column_and_fix(
    text: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(SplitError) as raised:
        split_statements(text, MYSQL)
    assert (raised.value.line, raised.value.column) == (line, column)
    assert words in raised.value.message
    assert "DELIMITER //" in raised.value.fix or "//" in raised.value.fix


def test_a_lone_delimiter_word_inside_a_string_is_no_error() -> None:
    assert [s.sql for s in split_statements("SELECT '\nDELIMITER\n'", MYSQL)] == [
        "SELECT '\nDELIMITER\n'"
    ]


def test_an_unterminated_string_after_a_delimiter_line_reports_its_file_line() -> None:
    with pytest.raises(SplitError) as raised:
        split_statements("DELIMITER //\nSELECT 1 //\nDELIMITER ;\nSELECT 'open", MYSQL)
    assert (raised.value.line, raised.value.column) == (4, 8)


def test_many_delimiter_words_inside_one_comment_are_looked_at_once() -> None:
    # Each candidate line is checked from where the comment hiding it ends, not from the
    # start of the file again (which took ~17 s for this text).
    text = "/*\n" + "delimiter //\n" * 20_000 + "*/\nSELECT 1;\n" + "'\ndelimiter x\n'" * 5_000
    started = time.perf_counter()
    statements = split_statements(text, MYSQL)
    assert time.perf_counter() - started < 2
    assert statements[0].sql == "SELECT 1"
