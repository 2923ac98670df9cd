"""The shared statement classifier (core.classify): table-driven, no database."""

from __future__ import annotations

import pytest

from sqlkeel.core.classify import StatementClass, classify, classify_all, first_keyword
from sqlkeel.core.splitter import MYSQL, POSTGRES, SQLITE, SplitOptions
from sqlkeel.errors import SplitError

DML, OTHER = StatementClass.DML, StatementClass.OTHER

# (sql, split options, first keyword)
KEYWORDS = [
    pytest.param("INSERT INTO t VALUES (1)", SQLITE, "INSERT", id="plain"),
    pytest.param("  \n\tupdate t set a = 1", POSTGRES, "UPDATE", id="lower_case_after_layout"),
    pytest.param("-- a note\n/* more */ DELETE FROM t", POSTGRES, "DELETE", id="after_comments"),
    pytest.param("# a note\nDELETE FROM t", MYSQL, "DELETE", id="after_a_hash_comment"),
    pytest.param("/* a /* nested */ one */ SELECT 1", POSTGRES, "SELECT", id="nested_comment"),
    pytest.param("((SELECT 1))", SQLITE, "SELECT", id="inside_parentheses"),
    pytest.param("( /* why */ SELECT 1)", POSTGRES, "SELECT", id="comment_after_parenthesis"),
    pytest.param("\ufeffCREATE TABLE t (a int)", SQLITE, "CREATE", id="after_a_byte_order_mark"),
    pytest.param("/*!40101 SET NAMES utf8 */", MYSQL, "", id="executable_comment_is_content"),
    pytest.param("'text'", SQLITE, "", id="a_literal_first"),
    pytest.param("`t`", MYSQL, "", id="a_quoted_name_first"),
    pytest.param("$$ body $$", POSTGRES, "", id="a_dollar_body_first"),
    pytest.param("-- only a comment", SQLITE, "", id="no_statement"),
    pytest.param("INSERT$x", MYSQL, "INSERT$X", id="dollar_continues_a_mysql_word"),
]


@pytest.mark.parametrize(("sql", "options", "keyword"), KEYWORDS)
def test_first_keyword_skips_layout_comments_and_parentheses(
    sql: str, options: SplitOptions, keyword: str
) -> None:
    assert first_keyword(sql, options) == keyword


def test_first_keyword_of_what_does_not_lex_raises() -> None:
    with pytest.raises(SplitError):
        first_keyword("SELECT 'unterminated", SQLITE)


# (sql, split options, class): the same classes whatever the dialect, given its syntax.
CLASSES = [
    pytest.param("INSERT INTO t VALUES (1)", POSTGRES, DML, id="insert"),
    pytest.param(
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", POSTGRES, DML, id="merge"
    ),
    pytest.param("VALUES (1), (2)", SQLITE, DML, id="values"),
    pytest.param("WITH x AS (DELETE FROM t RETURNING *) SELECT 1", POSTGRES, DML, id="with"),
    pytest.param("-- why\nUPDATE t SET a = 1", SQLITE, DML, id="after_a_comment"),
    pytest.param("SET @v = 1", MYSQL, DML, id="user_variable"),
    pytest.param("SET\n  @v := 1", MYSQL, DML, id="user_variable_on_the_next_line"),
    pytest.param("SET @@v = 1", MYSQL, OTHER, id="system_variable"),
    pytest.param("SET search_path = app", POSTGRES, OTHER, id="setting"),
    pytest.param("CREATE TABLE t (a int)", POSTGRES, OTHER, id="ddl"),
    pytest.param("CALL p()", MYSQL, OTHER, id="call"),
    pytest.param("ANALYZE t", POSTGRES, OTHER, id="unknown_keyword"),
    pytest.param("", SQLITE, OTHER, id="nothing"),
    pytest.param("'a'", SQLITE, OTHER, id="literal_first"),
    pytest.param("INSERT INTO t VALUES ('a;b')", MYSQL, DML, id="semicolon_in_a_literal"),
    pytest.param("INSERT INTO t VALUES (1);\nDELETE FROM t", MYSQL, DML, id="chunk_of_dml"),
    pytest.param("INSERT INTO t VALUES (1);\nCALL p()", MYSQL, OTHER, id="chunk_with_a_call"),
    pytest.param(
        "CREATE PROCEDURE p() BEGIN INSERT INTO t VALUES (1); END",
        MYSQL,
        OTHER,
        id="routine_body_is_one_ddl_statement",
    ),
    pytest.param("SELECT 'a; DROP TABLE t", MYSQL, OTHER, id="unterminated_literal"),
    pytest.param("/* open", POSTGRES, OTHER, id="unterminated_comment"),
]


@pytest.mark.parametrize(("sql", "options", "expected"), CLASSES)
def test_classify_calls_dml_only_what_a_transaction_can_undo(
    sql: str, options: SplitOptions, expected: StatementClass
) -> None:
    assert classify(sql, options) is expected


def test_classify_all_keeps_the_order() -> None:
    statements = ["SELECT 1", "DROP TABLE t", "DELETE FROM t"]
    assert classify_all(statements, SQLITE) == (DML, OTHER, DML)
