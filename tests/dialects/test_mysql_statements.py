"""Which MySQL statements a transaction can undo: a migration runs in one only if all of
its statements are such (table-driven; no database). The classifier is the core's, shared
by every dialect; MySQL's part is its split options and what its transactions undo."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sqlkeel.core.classify import StatementClass, classify, classify_all
from sqlkeel.core.model import Mode
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.plan import step_mode
from sqlkeel.dialects import dialect_for
from sqlkeel.urls import parse_url

MYSQL = dialect_for(parse_url("mysql://root@127.0.0.1/test"), table="keel_history", schema=None)

CASES = [
    ("INSERT INTO t VALUES (1)", True),
    ("insert into t values (1)", True),
    ("UPDATE t SET a = 1", True),
    ("DELETE FROM t", True),
    ("REPLACE INTO t VALUES (1)", True),
    ("SELECT 1", True),
    ("(SELECT 1) UNION (SELECT 2)", True),
    ("WITH x AS (SELECT 1) SELECT * FROM x", True),
    ("DO SLEEP(0)", True),
    ("SET @x = 1", True),
    ("INSERT INTO t VALUES (1); UPDATE t SET a = 2", True),
    ("CREATE TABLE t (id int)", False),
    ("CREATE TEMPORARY TABLE t (id int)", False),
    ("ALTER TABLE t ADD COLUMN b int", False),
    ("DROP TABLE t", False),
    ("RENAME TABLE a TO b", False),
    ("TRUNCATE TABLE t", False),
    ("GRANT SELECT ON t TO app", False),
    ("LOCK TABLES t WRITE", False),
    ("BEGIN", False),
    ("COMMIT", False),
    ("START TRANSACTION", False),
    ("CALL add_row(1)", False),
    ("SET @@session.autocommit = 1", False),
    ("SET autocommit = 1", False),
    ("SET PASSWORD = 'x'", False),
    ("/*!40101 SET NAMES utf8mb4 */", False),
    ("INSERTS INTO t VALUES (1)", False),
    ("INSERT INTO t VALUES (1); DROP TABLE t", False),
    ("INSERT INTO t VALUES ('unterminated; DROP TABLE t", False),
]


def planned_mode(statements: Sequence[str]) -> Mode:
    """The mode MySQL's plan gives a migration of ``statements`` (one that allows a
    transaction: no ``transaction=off``)."""
    file = parse_migration("V1__m.sql", "SELECT 1;\n", MYSQL.split_options)
    classes = classify_all(statements, MYSQL.split_options)
    return step_mode(file, MYSQL.transaction_support, classes)


@pytest.mark.parametrize(("sql", "undoable"), CASES, ids=[sql for sql, _ in CASES])
def test_only_statements_known_not_to_commit_implicitly_run_in_a_transaction(
    sql: str, undoable: bool
) -> None:
    assert (classify(sql, MYSQL.split_options) is StatementClass.DML) is undoable
    expected = Mode.TRANSACTION if undoable else Mode.STATEMENT_BY_STATEMENT
    assert planned_mode([sql]) is expected


def test_one_ddl_statement_takes_the_whole_migration_out_of_the_transaction() -> None:
    assert planned_mode(["INSERT INTO t VALUES (1)", "UPDATE t SET a = 2"]) is Mode.TRANSACTION
    assert (
        planned_mode(["INSERT INTO t VALUES (1)", "CREATE INDEX i ON t (a)"])
        is Mode.STATEMENT_BY_STATEMENT
    )
