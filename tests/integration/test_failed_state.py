"""The failed state outside a transaction (issue 10, points 2.10 and 2.14): nothing is
recorded failed when the dialect proves that nothing ran (the first statement failed and
changed nothing), everything else is, and a failed rollback is told apart from a failed
upgrade, with a repair for each outcome the user chose by hand."""

from __future__ import annotations

import json
import time

import pytest

from conftest import (
    NON_TRANSACTIONAL_DDL,
    TRANSACTIONAL_DDL,
    Database,
    Project,
    Run,
    failed,
    families,
    history_rows,
    log,
    ok,
    user_tables,
)


# -- 2.14: the first statement failed, so nothing ran --------------------------------------
# Only where the dialect proves it: with transactional DDL (SQLite, PostgreSQL) one plain
# statement runs atomically.
@TRANSACTIONAL_DDL
def test_a_transaction_off_file_whose_first_statement_fails_is_retried_without_repair(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    project.write(
        "V2__off.sql",
        "-- keel: transaction=off\nINSERT INTO nowhere VALUES (1);\nCREATE TABLE later (id INT);\n",
    )
    err = failed(keel("upgrade"))
    assert "V2__off.sql:2: upgrade failed at statement 1" in err
    assert "repair" not in err, err
    assert "not recorded as failed" in err, err
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [("1", "applied")]
    assert log(keel)[-1] == ("upgrade", "2", "failed")
    assert user_tables(db) == {"t"}
    # The user fixes the file; the next run simply applies it.
    project.write(
        "V2__off.sql",
        "-- keel: transaction=off\nINSERT INTO t VALUES (1);\nCREATE TABLE later (id INT);\n",
    )
    ok(keel("upgrade"))
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
        ("1", "applied"),
        ("2", "applied"),
    ]


@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_mysql_ddl_migration_whose_first_statement_fails_is_not_recorded_failed(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    # A syntax error: MariaDB parsed nothing of the statement, so it ran nothing.
    project.write("V2__ddl.sql", "ALTER TABLE t ADD COLUMN;\nCREATE TABLE u (id INT);\n")
    err = failed(keel("upgrade"))
    assert "not recorded as failed" in err, err
    assert "repair" not in err, err
    assert [r["version"] for r in history_rows(keel)] == ["1"]
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert status["problems"] == []


# The chunk's first statement commits at once; the batch needs a driver that runs several.
@families(lambda h: not h.capabilities.transactional_ddl and h.runs_command_batches)
def test_a_chunk_of_several_statements_failing_part_way_is_still_recorded_failed(
    keel: Run, project: Project, db: Database
) -> None:
    # The first chunk holds two statements: its first one ran (and committed) before the
    # second failed, so "statement 1 failed" does not mean that nothing ran.
    project.write(
        "V1__chunk.sql",
        "-- keel: delimiter=GO\nCREATE TABLE a (id INT); CREATE TABLE a (id INT)\nGO\n",
    )
    failed(keel("upgrade"))
    [row] = history_rows(keel)
    assert row["state"] == "failed"
    assert "a" in user_tables(db)


@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_mysql_rollback_whose_first_statement_fails_leaves_the_migration_applied(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n-- rollback\nDROP TABL t;\n")
    ok(keel("upgrade"))
    err = failed(keel("rollback"))
    assert "repair" not in err, err
    assert "stays applied" in err, err
    [row] = history_rows(keel)
    assert (row["version"], row["state"]) == ("1", "applied")
    ok(keel("validate"))
    assert log(keel)[-1] == ("rollback", "1", "failed")


# A failure of the first statement does not always mean that nothing ran: then keel records
# the migration failed, as for any later statement.
@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_mysql_first_statement_failing_with_other_than_a_syntax_error_is_recorded_failed(
    keel: Run, project: Project, db: Database
) -> None:
    # DROP TABLE of several tables drops the ones that exist, then raises 1051.
    project.write(
        "V1__a.sql", "CREATE TABLE a (id INT);\n-- rollback\nDROP TABLE a, bb;\nSELECT 1;\n"
    )
    ok(keel("upgrade"))
    err = failed(keel("rollback"))
    assert "nothing" not in err and "stays applied" not in err, err
    assert "repair --failed" in err, err
    [row] = history_rows(keel)
    assert (row["state"], row["failed_direction"]) == ("failed", "rollback")
    assert "a" not in user_tables(db)


@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_mysql_statement_whose_connection_timed_out_is_recorded_failed_not_retried(
    keel_cli: Run, project: Project, db: Database, db_url: str
) -> None:
    # The client gives up after 2 s; the server goes on and finishes the INSERT.
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    project.write("V2__ins.sql", "INSERT INTO t SELECT SLEEP(4);\nCREATE TABLE u (id INT);\n")
    outcome = keel_cli(
        "upgrade",
        "--url",
        f"{db_url}?read_timeout=2",
        "--dir",
        str(project.migrations),
        cwd=project.root,
    )
    assert outcome.exit_code == 2, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert "nothing" not in outcome.stderr, outcome.stderr
    assert "repair --failed" in outcome.stderr, outcome.stderr
    deadline = time.monotonic() + 15
    while not db.query("SELECT COUNT(*) FROM t")[0][0] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert db.query("SELECT COUNT(*) FROM t") == [(1,)]  # it did run
    rows = db.query("SELECT version, state FROM keel_history ORDER BY id")
    assert rows == [("1", "applied"), ("2", "failed")]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    "body",
    [
        "CALL batches();",
        "DO $$ BEGIN INSERT INTO t VALUES (1); COMMIT; INSERT INTO t VALUES (2); COMMIT; "
        "PERFORM 1 / 0; END $$;",
    ],
    ids=["call", "do"],
)
def test_a_postgres_procedure_that_commits_before_failing_is_recorded_failed(
    keel: Run, project: Project, db: Database, body: str
) -> None:
    # Outside a transaction block a procedure or DO block may COMMIT, and what it committed
    # stays: https://www.postgresql.org/docs/current/sql-call.html
    project.write(
        "V1__t.sql",
        "CREATE TABLE t (id INT);\n"
        "CREATE PROCEDURE batches() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (1); "
        "COMMIT; INSERT INTO t VALUES (2); COMMIT; PERFORM 1 / 0; END $$;\n",
    )
    project.write("V2__off.sql", f"-- keel: transaction=off\n{body}\nSELECT 1;\n")
    err = failed(keel("upgrade"))
    assert "nothing" not in err, err
    assert "repair --failed" in err, err
    assert db.query("SELECT COUNT(*) FROM t") == [(2,)]
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
        ("1", "applied"),
        ("2", "failed"),
    ]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_failed_postgres_concurrent_index_build_is_recorded_failed(
    keel: Run, project: Project, db: Database
) -> None:
    # It leaves an INVALID index behind:
    # https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
    project.write("V1__d.sql", "CREATE TABLE d (x INT);\nINSERT INTO d VALUES (1), (1);\n")
    project.write(
        "V2__idx.sql", "-- keel: transaction=off\nCREATE UNIQUE INDEX CONCURRENTLY d_x ON d (x);\n"
    )
    err = failed(keel("upgrade"))
    assert "nothing" not in err, err
    assert db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'd_x'::regclass") == [
        (False,)
    ]
    assert [r["state"] for r in history_rows(keel)] == ["applied", "failed"]


# A repeatable's earlier run stays recorded when its new version's first statement fails.
@pytest.mark.parametrize(
    ("db_url", "first", "broken"),
    [
        pytest.param(
            "sqlite",
            "-- keel: transaction=off\nINSERT INTO t VALUES (1);\n",
            "-- keel: transaction=off\nINSERT INTO nosuch VALUES (1);\n",
            id="sqlite",
        ),
        pytest.param(
            "mysql",
            "CREATE OR REPLACE VIEW v AS SELECT id FROM t;\n",
            "CREATE OR REPLACE VIEW v AS SELEC id FROM t;\n",
            id="mysql",
            marks=pytest.mark.mysql,
        ),
    ],
    indirect=["db_url"],
)
def test_a_repeatable_keeps_its_earlier_row_when_its_first_statement_fails(
    keel: Run, project: Project, db: Database, first: str, broken: str
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    project.write("R__fill.sql", first)
    ok(keel("upgrade"))
    [_, before] = history_rows(keel)
    project.write("R__fill.sql", broken)
    err = failed(keel("upgrade"))
    assert "repair" not in err, err
    [_, after] = history_rows(keel)
    assert after == before
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert status["problems"] == []
    project.write("R__fill.sql", first)
    ok(keel("upgrade"))
    [_, row] = history_rows(keel)
    assert (row["kind"], row["state"]) == (before["kind"], "applied")


# -- 2.10: a failed rollback ------------------------------------------------------------
HALF_ROLLBACK = """\
CREATE TABLE u (id INT);
-- rollback
DROP TABLE u;
DROP TABLE nowhere;
"""


def _fail_a_rollback_half_way(keel: Run, project: Project) -> str:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n-- rollback\nDROP TABLE t;\n")
    project.write("V2__u.sql", HALF_ROLLBACK)
    ok(keel("upgrade"))
    return failed(keel("rollback"))


@NON_TRANSACTIONAL_DDL  # the rollback's first DROP stays done
def test_a_failed_rollback_is_described_as_a_failed_rollback(
    keel: Run, project: Project, db: Database
) -> None:
    err = _fail_a_rollback_half_way(keel, project)
    assert "V2__u.sql:4: rollback failed at statement 2" in err
    assert "repair --failed --rolled-back" in err, err
    [_, row] = history_rows(keel)
    assert (row["version"], row["state"], row["failed_direction"]) == ("2", "failed", "rollback")

    status = json.loads(ok(keel("status", "--json")).stdout)
    assert [(m["version"], m["state"]) for m in status["migrations"]] == [
        ("1", "applied"),
        ("2", "rollback-failed"),
    ]
    [problem] = status["problems"]
    assert problem["code"] == "rollback-failed"
    assert "rollback" in problem["message"] and "upgrade" not in problem["message"]
    text = ok(keel("status")).stdout
    assert "rollback failed" in text
    assert "rollback failed" in ok(keel("history")).stdout

    dry = ok(keel("repair", "--failed", "--dry-run")).stdout
    assert "restore migration 2 (V2__u.sql) as applied" in dry, dry
    assert "run again on the next upgrade" not in dry
    assert "--rolled-back" in dry
    validate = keel("validate")
    assert validate.exit_code == 1
    assert "rollback of migration 2" in validate.stderr


@NON_TRANSACTIONAL_DDL  # the rollback's first DROP stays done
def test_repair_failed_restores_a_failed_rollback_as_applied_after_it_was_undone_by_hand(
    keel: Run, project: Project, db: Database
) -> None:
    _fail_a_rollback_half_way(keel, project)
    db.query("CREATE TABLE u (id INT)")  # the user puts back what the rollback dropped
    out = ok(keel("repair", "--failed"))
    assert "restore migration 2 (V2__u.sql) as applied" in out.stdout
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
        ("1", "applied"),
        ("2", "applied"),
    ]
    ok(keel("validate"))
    assert json.loads(ok(keel("status", "--json")).stdout)["head"] == "2"
    assert log(keel)[-1] == ("repair", "2", "success")
    # Its rollback, once fixed, runs as usual.
    project.write("V2__u.sql", HALF_ROLLBACK.replace("DROP TABLE nowhere;\n", ""))
    ok(keel("repair", "--checksums"))
    ok(keel("rollback"))
    assert user_tables(db) == {"t"}


@NON_TRANSACTIONAL_DDL  # the rollback's first DROP stays done
def test_repair_failed_rolled_back_records_a_failed_rollback_finished_by_hand(
    keel: Run, project: Project, db: Database
) -> None:
    _fail_a_rollback_half_way(keel, project)
    out = ok(keel("repair", "--failed", "--rolled-back"))
    assert "record migration 2 (V2__u.sql) as rolled back" in out.stdout, out.stdout
    assert [r["version"] for r in history_rows(keel)] == ["1"]
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert [(m["version"], m["state"]) for m in status["migrations"]] == [
        ("1", "applied"),
        ("2", "pending"),
    ]
    ok(keel("upgrade"))
    assert user_tables(db) == {"t", "u"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # any database: the cheapest
def test_rolled_back_without_failed_is_a_usage_error(keel: Run, project: Project) -> None:
    out = keel("repair", "--rolled-back")
    assert out.exit_code == 2, out
    assert "--failed" in out.stderr


@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_mysql_repeatable_whose_first_statement_fails_unproven_stays_recorded_failed(
    keel: Run, project: Project, db: Database
) -> None:
    # A missing table (1146) proves nothing on MySQL: the row says failed, it is not gone.
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    project.write("R__v.sql", "CREATE OR REPLACE VIEW v AS SELECT id FROM t;\n")
    ok(keel("upgrade"))
    project.write("R__v.sql", "CREATE OR REPLACE VIEW v AS SELECT id FROM nosuch;\n")
    err = failed(keel("upgrade"))
    assert "repair --failed" in err, err
    [_, row] = history_rows(keel)
    assert (row["kind"], row["state"]) == ("repeatable", "failed")
