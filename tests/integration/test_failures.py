"""SPEC 5 against real databases: a failing migration leaves no trace, earlier ones stay,
later ones never start; errors name file and line; user SQL reaches the server untouched."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from conftest import TRANSACTIONAL_DDL, Run, failed, history_rows, log, ok, user_tables

if TYPE_CHECKING:
    from conftest import Database, Project

FIRST = "CREATE TABLE first (id integer);\n-- rollback\nDROP TABLE first;\n"
SECOND_FAILS = """
    -- upgrade
    CREATE TABLE x (id integer);
    INSERT INTO missing VALUES (1);
    -- rollback
    DROP TABLE x;
    """
THIRD = "CREATE TABLE third (id integer);\n-- rollback\nDROP TABLE third;\n"


# ---------------------------------------------------------------------------------------


@TRANSACTIONAL_DDL
def test_a_failing_statement_undoes_its_migration_and_stops_the_run(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__second.sql", SECOND_FAILS)
    project.write("V3__third.sql", THIRD)
    out = keel("upgrade")
    err = failed(out)
    assert err.startswith("keel: error: V2__second.sql:3: upgrade failed at statement 2 ")
    assert "(`INSERT INTO missing VALUES (1)`)" in err
    assert "missing" in err.split("`):", 1)[1]  # the database's own message follows
    assert "left no trace" in err
    assert "applied 1 " in out.stdout
    assert "V3" not in out.stdout and "third" not in out.stdout
    assert user_tables(db) == {"first"}  # x rolled back, third never attempted
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [("1", "applied")]
    assert log(keel) == [("upgrade", "1", "success"), ("upgrade", "2", "failed")]


@TRANSACTIONAL_DDL
def test_after_fixing_the_file_the_run_continues_where_it_stopped(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__second.sql", SECOND_FAILS)
    project.write("V3__third.sql", THIRD)
    failed(keel("upgrade"))
    project.write("V2__second.sql", SECOND_FAILS.replace("INSERT INTO missing", "INSERT INTO x"))
    ok(keel("upgrade"))
    assert user_tables(db) == {"first", "x", "third"}
    assert [r["version"] for r in history_rows(keel)] == ["1", "2", "3"]


def test_a_failure_in_the_first_statement_leaves_no_history_at_all(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__bad.sql", "-- comes first\n\nINSERT INTO nowhere VALUES (1);\n")
    err = failed(keel("upgrade"))
    assert "V1__bad.sql:3: upgrade failed at statement 1" in err
    assert user_tables(db) == set()
    assert history_rows(keel) == []


@TRANSACTIONAL_DDL
def test_a_failing_rollback_leaves_the_migration_applied(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write(
        "V2__bad_rollback.sql",
        "CREATE TABLE second (id integer);\n-- rollback\nDROP TABLE second;\nDROP TABLE nope;\n",
    )
    ok(keel("upgrade"))
    err = failed(keel("rollback"))
    assert "V2__bad_rollback.sql:4: rollback failed at statement 2" in err
    assert user_tables(db) == {"first", "second"}
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]
    assert log(keel)[-1] == ("rollback", "2", "failed")


def test_rollback_of_a_migration_without_a_rollback_section_is_refused(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__oneway.sql", "CREATE TABLE oneway (id integer);\n")
    ok(keel("upgrade"))
    out = keel("rollback", "--count", "2")
    assert out.exit_code == 1
    assert "V2__oneway.sql" in out.stderr and "-- rollback" in out.stderr
    assert "nothing was changed" in out.stderr
    assert user_tables(db) == {"first", "oneway"}


# ---------------------------------------------------------------------------------------
# --single-transaction


@TRANSACTIONAL_DDL
def test_single_transaction_failure_rolls_back_the_whole_run(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    ok(keel("upgrade"))
    project.write("V2__ok.sql", "CREATE TABLE ok_table (id integer);\n")
    project.write("V3__second.sql", SECOND_FAILS)
    project.write("V4__third.sql", THIRD)
    out = keel("upgrade", "--single-transaction")
    err = failed(out)
    assert "V3__second.sql:3: upgrade failed at statement 2" in err
    assert "whole run was rolled back" in err
    assert user_tables(db) == {"first"}
    assert [r["version"] for r in history_rows(keel)] == ["1"]
    assert log(keel)[-1] == ("upgrade", "3", "failed")
    assert ("upgrade", "2", "success") not in log(keel)


@TRANSACTIONAL_DDL
def test_single_transaction_success_applies_every_pending_migration(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__third.sql", THIRD)
    project.write("R__view.sql", "CREATE VIEW first_ids AS SELECT id FROM first;\n")
    out = ok(keel("upgrade", "--single-transaction"))
    assert "Applied 3 migrations" in out.stdout
    assert user_tables(db) == {"first", "third"}
    assert [r["version"] for r in history_rows(keel)] == ["1", "2", None]


@TRANSACTIONAL_DDL
def test_single_transaction_dry_run_says_all_in_one_transaction(
    keel: Run, project: Project
) -> None:
    project.write("V1__first.sql", FIRST)
    out = ok(keel("upgrade", "--single-transaction", "--dry-run"))
    assert "-- plan: upgrade 1 migration, all in one transaction" in out.stdout


# ---------------------------------------------------------------------------------------
# transaction=off: the failed-state protocol

HALF = """
    -- keel: transaction=off
    CREATE TABLE half (id integer);

    INSERT INTO nowhere
      VALUES (1);
    -- rollback
    DROP TABLE half;
    """


def test_a_failure_outside_a_transaction_is_recorded_as_failed_with_statement_and_line(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__half.sql", HALF)
    project.write("V3__third.sql", THIRD)
    err = failed(keel("upgrade"))
    assert "V2__half.sql:4: upgrade failed at statement 2 (`INSERT INTO nowhere`)" in err
    assert "statement 1 (line 2) had run and stayed applied" in err
    assert "repair --failed" in err
    assert user_tables(db) == {"first", "half"}  # statement 1 ran; V3 never started
    rows = history_rows(keel)
    assert [(r["version"], r["state"]) for r in rows] == [("1", "applied"), ("2", "failed")]
    assert rows[1]["failed_statement"] == 2
    assert rows[1]["failed_line"] == 4
    assert "nowhere" in rows[1]["error"]
    assert log(keel) == [("upgrade", "1", "success"), ("upgrade", "2", "failed")]
    text = ok(keel("history")).stdout
    assert "failed" in text.splitlines()[2]
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert [(m["version"], m["state"]) for m in status["migrations"]] == [
        ("1", "applied"),
        ("2", "failed"),
        ("3", "pending"),
    ]
    assert status["head"] == "1"
    assert ok(keel("current")).stdout == "1\n"


# ---------------------------------------------------------------------------------------
# error positions


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_syntax_error_deep_in_a_statement_reports_that_line_on_postgres(
    keel: Run, project: Project
) -> None:
    project.write(
        "V1__syntax.sql",
        """
        -- keel: transaction=on
        -- a comment
        CREATE TABLE y (id integer);

        SELECT 1,
          2,
          3 FROMM y;
        """,
    )
    err = failed(keel("upgrade"))
    assert err.startswith("keel: error: V1__syntax.sql:7: upgrade failed at statement 2 ")
    assert "(`SELECT 1,`)" in err
    assert "syntax error" in err


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_error_inside_a_multi_line_string_statement_counts_the_string_lines(
    keel: Run, project: Project
) -> None:
    project.write(
        "V1__string.sql",
        "CREATE TABLE s (v text);\nINSERT INTO s VALUES ('a\nb\nc'),\n  (nosuchfunc());\n",
    )
    err = failed(keel("upgrade"))
    assert "V1__string.sql:5: upgrade failed at statement 2" in err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_on_sqlite_an_error_reports_the_statements_first_line(keel: Run, project: Project) -> None:
    project.write(
        "V1__syntax.sql", "CREATE TABLE y (id integer);\n\nSELECT 1,\n  2,\n  3 FROMM y;\n"
    )
    err = failed(keel("upgrade"))
    assert "V1__syntax.sql:3: upgrade failed at statement 2 (`SELECT 1,`)" in err


# ---------------------------------------------------------------------------------------
# user SQL reaches the database untouched

LITERALS = [
    "100%",
    "%s",
    "%(name)s",
    "%%",
    ":name",
    ":1",
    "?",
    "a ? b ?",
    "C:\\new\\table",
    "\\",
    "$1",
    "{x}",
]


def test_percent_colon_question_mark_and_backslashes_reach_the_database_untouched(
    keel: Run, project: Project, db: Database
) -> None:
    # MySQL reads a backslash in a literal as an escape, and || as OR: there the file says
    # the same values the way a MySQL user writes them.
    backslash_escapes = db.harness.capabilities.split_options.backslash_escapes
    escape = (lambda v: v.replace("\\", "\\\\")) if backslash_escapes else (lambda v: v)
    rows = ",\n".join(f"  ({n}, '{escape(v)}')" for n, v in enumerate(LITERALS))
    joined = db.harness.concatenation("'it''s '", "'%'", "'?'")
    project.write(
        "V1__literals.sql",
        "-- a comment with % and ? and :name\n"
        "CREATE TABLE lit (n integer, v text);\n"
        f"INSERT INTO lit (n, v) VALUES\n{rows};\n"
        f"INSERT INTO lit (n, v) VALUES (100, {joined});\n"
        "-- rollback\n"
        "DELETE FROM lit WHERE v LIKE '%?%' OR v = ':name';\n"
        "DROP TABLE lit;\n",
    )
    ok(keel("upgrade"))
    got = dict(db.query("SELECT n, v FROM lit ORDER BY n"))
    assert got == {**dict(enumerate(LITERALS)), 100: "it's %?"}
    ok(keel("rollback"))
    assert "lit" not in db.tables()


def test_multi_line_literals_reach_the_database_byte_for_byte(
    keel: Run, project: Project, db: Database
) -> None:
    text = (
        "CREATE TABLE doc (v text);\r\nINSERT INTO doc VALUES ('line 1\r\n\tline 2;\n  -- 3');\r\n"
    )
    (project.migrations / "V1__doc.sql").write_bytes(text.encode())
    ok(keel("upgrade"))
    assert db.query("SELECT v FROM doc") == [("line 1\r\n\tline 2;\n  -- 3",)]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_transaction_off_runs_statements_postgres_refuses_inside_a_transaction(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id integer);\nCREATE TYPE mood AS ENUM ('sad');\n")
    project.write(
        "V2__concurrently.sql",
        "-- keel: transaction=off\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n"
        "ALTER TYPE mood ADD VALUE 'happy';\n-- rollback\nDROP INDEX CONCURRENTLY t_id;\n",
    )
    ok(keel("upgrade"))
    assert db.query("SELECT indexname FROM pg_indexes WHERE tablename = 't'") == [("t_id",)]
    assert db.query("SELECT enum_range(NULL::mood)::text") == [("{sad,happy}",)]
    ok(keel("rollback"))
    assert db.query("SELECT indexname FROM pg_indexes WHERE tablename = 't'") == []
    project.write("V2__concurrently.sql", "CREATE INDEX CONCURRENTLY t_id ON t (id);\n")
    err = failed(keel("upgrade"))
    assert "V2__concurrently.sql:1: upgrade failed at statement 1" in err
    assert "cannot run inside a transaction block" in err
    assert [r["version"] for r in history_rows(keel)] == ["1"]


# Its foreign key is checked only at COMMIT, and fails there.
DEFERRED_FK_VIOLATED = """\
CREATE TABLE parent (id integer PRIMARY KEY);
CREATE TABLE child (pid integer REFERENCES parent DEFERRABLE INITIALLY DEFERRED);
INSERT INTO child VALUES (1);
"""


# SQLite enforces no foreign keys unless the session turns them on; MySQL has no
# deferred constraints.
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_constraint_checked_at_commit_fails_its_migration_cleanly(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__deferred.sql", DEFERRED_FK_VIOLATED)
    err = failed(keel("upgrade"))
    assert err.startswith(
        "keel: error: V2__deferred.sql:3: upgrade failed at statement 4 (`COMMIT`)"
    )
    assert "foreign key" in err and "left no trace" in err
    assert user_tables(db) == {"first"}
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [("1", "applied")]
    assert log(keel) == [("upgrade", "1", "success"), ("upgrade", "2", "failed")]
    ok(keel("status"))  # the connection and the database are fine afterwards


# SQLite enforces no foreign keys unless the session turns them on; MySQL has no
# deferred constraints.
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_constraint_checked_at_the_single_commit_undoes_the_whole_run(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__deferred.sql", DEFERRED_FK_VIOLATED)
    err = failed(keel("upgrade", "--single-transaction"))
    assert err.startswith(
        "keel: error: V2__deferred.sql:3: upgrade failed at statement 4 (`COMMIT`)"
    )
    assert "whole run was rolled back" in err
    assert user_tables(db) == set()
    assert log(keel) == [("upgrade", "2", "failed")]
