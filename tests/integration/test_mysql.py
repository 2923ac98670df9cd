"""MySQL/MariaDB against the real server: routines with BEGIN … END bodies, honest handling
of DDL that commits implicitly, URLs, the lock and its holder. The scenarios shared with
the other dialects run here too, through ``db_url``; these are MySQL's own."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from conftest import (
    MYSQL_ADMIN,
    Database,
    Outcome,
    Project,
    Run,
    failed,
    history_rows,
    holding_lock,
    keel_process,
    log,
    ok,
    user_tables,
)
from sqlkeel import Keel
from sqlkeel.dialects import dialect_for
from sqlkeel.urls import parse_url

pytestmark = pytest.mark.mysql


@pytest.fixture
def db_url(mysql_url: str) -> str:
    return mysql_url


ROUTINES = """
    CREATE TABLE t (id integer);
    CREATE TABLE audit (id integer, at_insert varchar(10));
    CREATE PROCEDURE add_row(IN v integer)
    BEGIN
        INSERT INTO t VALUES (v);
        INSERT INTO audit VALUES (v, 'call');
    END;
    CREATE TRIGGER t_not_negative BEFORE INSERT ON t FOR EACH ROW
    BEGIN
        IF NEW.id < 0 THEN
            SET NEW.id = 0;
        END IF;
    END;
    CREATE FUNCTION twice(x integer) RETURNS integer DETERMINISTIC
    BEGIN
        DECLARE y integer;
        SET y = x * 2;
        RETURN y;
    END;
    -- rollback
    DROP FUNCTION twice;
    DROP TRIGGER t_not_negative;
    DROP PROCEDURE add_row;
    DROP TABLE audit;
    DROP TABLE t;
    """


def routines(db: Database) -> set[str]:
    rows = db.query(
        "SELECT routine_name FROM information_schema.routines WHERE routine_schema = DATABASE() "
        "UNION SELECT trigger_name FROM information_schema.triggers "
        "WHERE trigger_schema = DATABASE()"
    )
    return {str(r[0]) for r in rows}


def test_a_procedure_a_trigger_and_a_function_with_begin_end_bodies_apply_and_roll_back(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__routines.sql", ROUTINES)
    ok(keel("upgrade"))
    assert routines(db) == {"add_row", "t_not_negative", "twice"}
    db.query("CALL add_row(-5)")
    assert db.query("SELECT id FROM t") == [(0,)]  # the trigger's body ran whole
    assert db.query("SELECT id, at_insert FROM audit") == [(-5, "call")]
    assert db.query("SELECT twice(21)") == [(42,)]
    ok(keel("rollback"))
    assert routines(db) == set()
    assert user_tables(db) == set()


def test_a_file_with_the_mysql_clients_delimiter_lines_applies_and_rolls_back(
    keel: Run, project: Project, db: Database
) -> None:
    project.write(
        "V1__client_style.sql",
        """
        CREATE TABLE t (id integer);
        DELIMITER //
        CREATE PROCEDURE add_row(IN v integer)
        BEGIN
            INSERT INTO t VALUES (v);
        END //
        DELIMITER ;
        CALL add_row(7);
        -- rollback
        DROP PROCEDURE add_row;
        DROP TABLE t;
        """,
    )
    ok(keel("upgrade"))
    assert routines(db) == {"add_row"}
    assert db.query("SELECT id FROM t") == [(7,)]
    ok(keel("rollback"))
    assert routines(db) == set() and user_tables(db) == set()


# ---------------------------------------------------------------------------------------
# DDL commits implicitly: the failed-state protocol

HALF_DONE = """
    CREATE TABLE a (id integer);
    CREATE TABLE b (id integer);

    INSERT INTO missing VALUES (1);
    -- rollback
    DROP TABLE b;
    DROP TABLE a;
    """


def test_ddl_that_fails_part_way_is_recorded_failed_and_refused_until_repaired(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", "CREATE TABLE first (id integer);\n")
    project.write("V2__half_done.sql", HALF_DONE)
    out = keel("upgrade")
    err = failed(out)
    assert "V2__half_done.sql:4: upgrade failed at statement 3 (`INSERT INTO missing" in err
    assert "doesn't exist" in err  # the server's own message
    assert "statements 1 and 2 (lines 1 and 2) had run and stayed applied" in err
    assert "repair --failed" in err
    assert out.stderr.count("keel: note:") == 1 and "cannot be rolled back" in out.stderr
    assert user_tables(db) == {"first", "a", "b"}  # what ran stayed: DDL commits at once

    rows = history_rows(keel)
    assert [(r["version"], r["state"]) for r in rows] == [("1", "applied"), ("2", "failed")]
    assert (rows[1]["failed_statement"], rows[1]["failed_line"]) == (3, 4)
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert [(m["version"], m["state"]) for m in status["migrations"]] == [
        ("1", "applied"),
        ("2", "failed"),
    ]
    assert "failed" in ok(keel("status")).stdout

    refused = failed(keel("upgrade"))
    assert "migration 2 is recorded as failed at statement 3 (line 4)" in refused
    assert "statements 1 and 2 before it had run and were not rolled back" in refused
    assert "keel repair --failed" in refused

    db.query("DROP TABLE a")
    db.query("DROP TABLE b")
    project.write("V2__half_done.sql", HALF_DONE.replace("INTO missing", "INTO a"))
    repaired = ok(keel("repair", "--failed"))
    assert "V2__half_done.sql" in repaired.stdout
    ok(keel("upgrade"))
    assert db.query("SELECT id FROM a") == [(1,)]
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
        ("1", "applied"),
        ("2", "applied"),
    ]
    assert log(keel) == [
        ("upgrade", "1", "success"),
        ("upgrade", "2", "failed"),
        ("repair", "2", "success"),
        ("upgrade", "2", "success"),
    ]


def test_a_migration_of_dml_only_runs_in_a_transaction_and_leaves_no_trace(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__table.sql", "CREATE TABLE t (id integer);\n")
    project.write(
        "V2__rows.sql",
        "INSERT INTO t VALUES (1);\nUPDATE t SET id = 2;\nINSERT INTO missing VALUES (3);\n",
    )
    err = failed(keel("upgrade"))
    assert "V2__rows.sql:3: upgrade failed at statement 3" in err
    assert "left no trace" in err
    assert db.query("SELECT id FROM t") == []
    assert [r["version"] for r in history_rows(keel)] == ["1"]
    project.write("V2__rows.sql", "INSERT INTO t VALUES (1);\nUPDATE t SET id = 2;\n")
    ok(keel("upgrade"))
    assert db.query("SELECT id FROM t") == [(2,)]


def test_a_failing_rollback_of_ddl_is_recorded_failed(
    keel: Run, project: Project, db: Database
) -> None:
    project.write(
        "V1__two.sql",
        "CREATE TABLE a (id integer);\nCREATE TABLE b (id integer);\n"
        "-- rollback\nDROP TABLE b;\nDROP TABLE nope;\nDROP TABLE a;\n",
    )
    ok(keel("upgrade"))
    err = failed(keel("rollback"))
    assert "V1__two.sql:5: rollback failed at statement 2" in err
    assert "statement 1 (line 4) had run and stayed applied" in err
    assert user_tables(db) == {"a"}
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [("1", "failed")]


def test_the_note_about_ddl_is_said_once_per_run_that_runs_something(
    keel: Run, project: Project
) -> None:
    for n in (1, 2, 3):
        project.write(f"V{n}__t{n}.sql", f"CREATE TABLE t{n} (id integer);\n")
    first = ok(keel("upgrade"))
    assert first.stderr.count("keel: note:") == 1
    assert "DDL" in first.stderr and "cannot be rolled back automatically" in first.stderr
    assert ok(keel("upgrade")).stderr == ""  # nothing to run, nothing to say
    project.write("V4__t4.sql", "CREATE TABLE t4 (id integer);\n")
    assert ok(keel("-q", "upgrade")).stderr == ""


def test_single_transaction_is_refused_with_the_reason(keel: Run, project: Project) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id integer);\n")
    for args in (
        ("upgrade", "--single-transaction"),
        ("upgrade", "--single-transaction", "--dry-run"),
    ):
        out = keel(*args)
        assert out.exit_code == 2, out
        assert "--single-transaction is not possible on mysql" in out.stderr
        assert "commits implicitly" in out.stderr
    assert history_rows(keel) == []


def test_a_syntax_error_reports_the_line_the_server_names(keel: Run, project: Project) -> None:
    project.write(
        "V1__syntax.sql", "CREATE TABLE y (id integer);\n\nSELECT 1,\n  2,\n  3 FROMM y oops;\n"
    )
    err = failed(keel("upgrade"))
    assert "V1__syntax.sql:5: upgrade failed at statement 2 (`SELECT 1,`)" in err
    assert "error 1064" in err


# ---------------------------------------------------------------------------------------
# the lock


@pytest.mark.slow
def test_a_killed_upgrade_frees_the_lock_and_leaves_its_migration_refused_until_repair(
    mysql_url: str, project: Project, keel: Run, db: Database
) -> None:
    project.write("V1__first.sql", "CREATE TABLE first (id integer);\n")
    project.write("V2__slow.sql", "CREATE TABLE slow (id integer);\nSELECT SLEEP(60);\n")
    proc = keel_process(mysql_url, project.migrations, "upgrade")
    deadline = time.monotonic() + 30
    while "slow" not in user_tables(db):  # V2's first statement ran: now in SLEEP
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "V2 never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)

    deadline = time.monotonic() + 10
    while (holder := json.loads(ok(keel("lock-status", "--json")).stdout))["held"]:
        assert time.monotonic() < deadline, f"the lock outlived its holder: {holder}"
        time.sleep(0.05)
    rows = history_rows(keel)
    assert [(r["version"], r["state"]) for r in rows] == [("1", "applied"), ("2", "failed")]
    assert "keel stopped while it ran this migration" in rows[1]["error"]
    refused = failed(keel("upgrade", "--lock-timeout", "5"))
    assert "migration 2 is recorded as failed: keel stopped while it ran" in refused

    db.query("DROP TABLE slow")
    project.write("V2__slow.sql", "CREATE TABLE slow (id integer);\n")
    ok(keel("repair", "--failed"))
    ok(keel("upgrade"))
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
        ("1", "applied"),
        ("2", "applied"),
    ]


def test_lock_status_names_the_holding_connection_user_and_host_without_inventing_a_since(
    mysql_url: str, keel: Run
) -> None:
    # The lock lives on the connection that runs the migrations, and MySQL keeps no time at
    # which a lock was taken: the time of that connection's current state is a statement's.
    dialect = dialect_for(parse_url(mysql_url), table="keel_history", schema=None)
    assert json.loads(ok(keel("lock-status", "--json")).stdout)["held"] is False
    with holding_lock(dialect):
        text = ok(keel("lock-status")).stdout
        doc = json.loads(ok(keel("lock-status", "--json")).stdout)
        blocked = keel("upgrade", "--no-wait")
    assert doc["held"] is True
    assert "MySQL connection" in doc["holder"] and "user root" in doc["holder"]
    assert "from 127.0.0.1:" in doc["holder"]
    assert doc["since"] is None
    assert "MySQL connection" in text and "since" not in text
    assert blocked.exit_code == 3 and "MySQL connection" in blocked.stderr
    assert json.loads(ok(keel("lock-status", "--json")).stdout)["held"] is False
    unlock = ok(keel("unlock"))
    assert "session" in unlock.stdout + unlock.stderr


# ---------------------------------------------------------------------------------------
# URLs


def run_with_url(keel_cli: Run, project: Project, url: str, *args: str) -> Outcome:
    return keel_cli(*args, "--url", url, "--dir", str(project.migrations), cwd=project.root)


def test_mariadb_urls_with_charset_and_unix_socket_reach_the_same_database(
    keel_cli: Run, project: Project, mysql_url: str, db: Database
) -> None:
    name = mysql_url.rsplit("/", 1)[1]
    project.write("V1__t.sql", "CREATE TABLE t (v varchar(10));\nINSERT INTO t VALUES ('é');\n")
    ok(
        run_with_url(
            keel_cli, project, f"mariadb://root@127.0.0.1/{name}?charset=utf8mb4", "upgrade"
        )
    )
    assert db.query("SELECT v FROM t") == [("é",)]
    socket = "/run/mysqld/mysqld.sock"
    assert os.path.exists(socket), "MariaDB's socket is where Debian puts it"
    out = ok(
        run_with_url(
            keel_cli, project, f"mysql://root@localhost/{name}?unix_socket={socket}", "current"
        )
    )
    assert out.stdout == "1\n"


def test_a_wrong_password_is_a_clear_error_that_never_shows_it(
    keel_cli: Run, project: Project, mysql_url: str
) -> None:
    name = mysql_url.rsplit("/", 1)[1]
    url = f"mysql://root:s3cret-pw@{MYSQL_ADMIN['host']}:{MYSQL_ADMIN['port']}/{name}"
    out = run_with_url(keel_cli, project, url, "status")
    assert out.exit_code != 0 and "Traceback" not in out.stderr
    assert "s3cret-pw" not in out.stdout + out.stderr
    assert "root:***@" in out.stderr and "Access denied" in out.stderr
    assert "Fix:" in out.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://root@127.0.0.1:3306/", "names no database"),
        ("mysql://root@127.0.0.1:3306/test?sslmode=require", "unknown parameter(s) sslmode"),
        ("mysql://root@127.0.0.1:3306/test?connect_timeout=soon", "whole number of seconds"),
        ("mysql://root@127.0.0.1:3306/test?charset=klingon", "charset"),
    ],
    ids=["no-database", "unknown-parameter", "bad-timeout", "bad-charset"],
)
def test_a_bad_mysql_url_is_a_usage_error_naming_the_fix(
    keel_cli: Run, project: Project, url: str, says: str
) -> None:
    out = run_with_url(keel_cli, project, url, "status")
    assert out.exit_code == 2, out
    assert says in out.stderr and "Fix:" in out.stderr
    assert "Traceback" not in out.stderr


def test_schema_names_the_database_that_holds_keels_tables(
    keel_cli: Run, project: Project, mysql_url: str, db: Database
) -> None:
    meta = mysql_url.rsplit("/", 1)[1] + "_meta"
    project.write("V1__t.sql", "CREATE TABLE t (id integer);\n")
    try:
        ok(
            keel_cli(
                "upgrade",
                "--url",
                mysql_url,
                "--dir",
                str(project.migrations),
                cwd=project.root,
                env={"KEEL_SCHEMA": meta},
            )
        )
        assert user_tables(db) == {"t"}  # the migration ran in the URL's database
        held = db.query(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{meta}'"
        )
        assert {str(r[0]) for r in held} == {"keel_history", "keel_log"}
        with Keel(url=mysql_url, migrations_dir=project.migrations, schema=meta) as keel:
            assert [str(r.version) for r in keel.history().rows] == ["1"]
    finally:
        db.query(f"DROP DATABASE IF EXISTS `{meta}`")


def test_the_dry_run_marks_the_migrations_that_will_run_statement_by_statement(
    keel: Run, project: Project
) -> None:
    project.write("V1__table.sql", "CREATE TABLE t (id integer);\n")
    project.write("V2__rows.sql", "INSERT INTO t VALUES (1);\n")
    out = ok(keel("upgrade", "--dry-run")).stdout
    assert "-- [1/2] 1 table (V1__table.sql) [statement by statement:" in out
    assert "-- [2/2] 2 rows (V2__rows.sql)\n" in out
