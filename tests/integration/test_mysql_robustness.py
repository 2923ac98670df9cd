"""MySQL/MariaDB when things go wrong around a migration: a USE inside one, statements too
long to quote, Ctrl-C, a lost connection or lock, an interrupted run, DELIMITER misuse.
Each came from a review of the first version of the dialect."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import pytest

from conftest import (
    MYSQL_ADMIN,
    Database,
    Project,
    Run,
    failed,
    history_rows,
    keel_process,
    mysql_admin,
    mysql_database_url,
    ok,
)

pytestmark = pytest.mark.mysql


@pytest.fixture
def db_url(mysql_url: str) -> str:
    return mysql_url


def _wait_for(predicate: object, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


LONG_VALUES = ",".join(f"({i}, 'xxxxxxxxxx')" for i in range(5000))  # one line, ~90 KB


def test_a_failing_dml_statement_longer_than_a_text_column_is_reported_as_its_failure(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));\n")
    project.write("V2__rows.sql", f"INSERT INTO t VALUES {LONG_VALUES}, (1, 'dup');\n")
    err = failed(keel("upgrade"))
    assert "Duplicate entry" in err


def test_a_failing_ddl_migration_with_a_long_statement_records_the_real_error(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));\n")
    project.write(
        "V2__ddl.sql", f"CREATE TABLE u (id INT);\nINSERT INTO t VALUES {LONG_VALUES}, (1, 'd');\n"
    )
    err = failed(keel("upgrade"))
    assert "Duplicate entry" in err
    rows = history_rows(keel)
    assert rows[1]["failed_statement"] == 2 and "Duplicate entry" in rows[1]["error"]


def test_a_use_statement_in_a_migration_does_not_move_keels_history_elsewhere(
    keel: Run, project: Project, db: Database
) -> None:
    other = f"keel_t_{uuid.uuid4().hex[:12]}"
    mysql_admin(f"CREATE DATABASE `{other}`")
    try:
        project.write("V1__other.sql", f"USE `{other}`;\nCREATE TABLE imported (id INT);\n")
        project.write("V2__t.sql", "CREATE TABLE t (id INT);\n")
        ok(keel("upgrade"))
        assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
            ("1", "applied"),
            ("2", "applied"),
        ]
        # "migrations run in the URL's database" (README): V2 too
        assert db.query("SHOW TABLES LIKE 't'") == [("t",)]
    finally:
        mysql_admin(f"DROP DATABASE IF EXISTS `{other}`")


def test_a_use_statement_never_writes_into_another_apps_history(
    keel_cli: Run, keel: Run, project: Project, db: Database, tmp_path: Path
) -> None:
    other = f"keel_t_{uuid.uuid4().hex[:12]}"
    mysql_admin(f"CREATE DATABASE `{other}`")
    try:
        theirs = tmp_path / "theirs"
        theirs.mkdir()
        (theirs / "V1__o.sql").write_text("CREATE TABLE o (id INT);\n")
        ok(keel_cli("upgrade", "--url", mysql_database_url(other), "--dir", str(theirs)))
        project.write("V1__a.sql", "CREATE TABLE a (id INT);\n")
        project.write("V2__import.sql", f"USE `{other}`;\nCREATE TABLE imported (id INT);\n")
        keel("upgrade")
        scripts = mysql_admin(f"SELECT script FROM `{other}`.keel_history ORDER BY id")
        assert scripts == [("V1__o.sql",)]
    finally:
        mysql_admin(f"DROP DATABASE IF EXISTS `{other}`")


@pytest.mark.slow
def test_ctrl_c_during_a_dml_only_migration_is_an_interruption_not_a_driver_error(
    mysql_url: str, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    project.write("V2__rows.sql", "INSERT INTO t VALUES (1);\nDO SLEEP(10);\n")
    proc = keel_process(mysql_url, project.migrations, "upgrade")
    _wait_for(
        lambda: db.query(
            "SELECT 1 FROM information_schema.processlist "
            "WHERE info LIKE 'DO SLEEP(10)%' AND db = DATABASE()"  # this test's, not another's
        ),
        "V2 never started",
    )
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert "unexpected" not in err, err
    assert proc.returncode == 130, err


@pytest.mark.slow
def test_killing_the_lock_holding_connection_stops_the_run_and_no_second_run_reapplies_it(
    mysql_url: str, project: Project, db: Database
) -> None:
    """The lock lives on the connection that runs the migrations: killing it (as the
    server's wait_timeout or an operator would) ends the run, and the migration stays
    claimed, so the next run refuses it instead of running its DDL a second time."""
    name = mysql_url.rsplit("/", 1)[1]
    project.write("V1__slow.sql", "CREATE TABLE t (id INT);\nDO SLEEP(3);\n")
    proc = keel_process(mysql_url, project.migrations, "upgrade")
    lock = f"{name}.keel_history"
    running = (
        f"SELECT id FROM information_schema.processlist WHERE info LIKE 'DO SLEEP(3)%' "
        f"AND id = IS_USED_LOCK('{lock}')"
    )
    _wait_for(lambda: db.query(running), "V1 never reached its SLEEP on the lock's connection")
    db.query(f"KILL {db.query(running)[0][0]}")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err  # a connection lost mid-run
    assert "unexpected" not in err and "Traceback" not in err, err
    assert "V1__slow.sql" in err and "(0, '')" not in err
    again = keel_process(mysql_url, project.migrations, "upgrade")
    _out, err = again.communicate(timeout=30)
    assert again.returncode == 1 and "repair --failed" in err, err
    assert db.query(f"SELECT state FROM `{name}`.keel_history") == [("failed",)]


@pytest.mark.slow
def test_a_migration_connection_killed_mid_statement_is_a_clear_error(
    mysql_url: str, project: Project, db: Database
) -> None:
    project.write("V1__slow.sql", "CREATE TABLE t (id INT);\nDO SLEEP(10);\n")
    proc = keel_process(mysql_url, project.migrations, "upgrade")
    query = (
        "SELECT id FROM information_schema.processlist "
        "WHERE info LIKE 'DO SLEEP(10)%' AND db = DATABASE()"  # this test's, not another's
    )
    _wait_for(lambda: db.query(query), "V1 never reached its SLEEP")
    db.query(f"KILL {db.query(query)[0][0]}")
    _out, err = proc.communicate(timeout=30)
    assert "unexpected" not in err, err
    assert "V1__slow.sql" in err


def test_a_migration_interrupted_by_a_kill_is_described_once_in_status(
    keel: Run, project: Project, db: Database
) -> None:
    from sqlkeel.execute import INTERRUPTED

    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    ok(keel("upgrade"))
    # What a keel killed mid-migration leaves (see test_mysql.py's kill test).
    quoted = INTERRUPTED.replace("'", "''")
    db.query(f"UPDATE keel_history SET state = 'failed', error = '{quoted}'")
    text = keel("status").stdout
    assert text.count("statements of it may have run") == 1, text


ROLLBACK_WITH_BAD_DELIMITER_LINE = """\
-- upgrade
DELIMITER //
CREATE PROCEDURE p() BEGIN SELECT 1; END//
-- rollback
DELETE FROM t;
DELIMITER
"""


def test_a_malformed_delimiter_line_in_the_rollback_section_is_caught_by_offline_validation(
    keel: Run, project: Project
) -> None:
    # The upgrade section ends with '//' still in force; the rollback starts with ';'
    # (README), so its last line is a DELIMITER line without a token. parse_migration scans
    # the whole file, where the '//' carries on into the rollback and hides that line; the
    # per-section splitting and checksum (run later) see it.
    project.write("V1__p.sql", ROLLBACK_WITH_BAD_DELIMITER_LINE)
    out = keel("validate", "--offline")
    assert out.exit_code != 0, out
    assert "V1__p.sql:6" in out.stderr


def test_a_malformed_delimiter_line_in_the_rollback_section_names_its_file_on_upgrade(
    keel: Run, project: Project
) -> None:
    project.write("V1__p.sql", ROLLBACK_WITH_BAD_DELIMITER_LINE)
    err = failed(keel("upgrade"))
    assert "V1__p.sql:6" in err, err


def test_a_user_who_may_not_create_keels_tables_gets_a_clear_error(
    keel_cli: Run, project: Project, mysql_url: str
) -> None:
    name = mysql_url.rsplit("/", 1)[1]
    user = f"keel_ro_{uuid.uuid4().hex[:8]}"
    mysql_admin(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'ro-secret'")
    try:
        mysql_admin(f"GRANT SELECT ON `{name}`.* TO '{user}'@'%'")
        project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
        url = f"mysql://{user}:ro-secret@{MYSQL_ADMIN['host']}:{MYSQL_ADMIN['port']}/{name}"
        out = keel_cli("upgrade", "--url", url, "--dir", str(project.migrations))
        assert out.exit_code == 1, out
        assert "unexpected" not in out.stderr and "Traceback" not in out.stderr
        assert "the database failed keel's own SQL" in out.stderr
        assert "command denied" in out.stderr and "Fix:" in out.stderr
        assert "ro-secret" not in out.stderr
    finally:
        mysql_admin(f"DROP USER IF EXISTS '{user}'@'%'")
