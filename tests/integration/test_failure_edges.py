"""Edges around a failing or long migration: every spelling of USE on MySQL, DELIMITER
lines opening a rollback section, a failure inside a migration's own transaction, a
server's idle timeout on the lock's session. Each came from a review."""

from __future__ import annotations

import uuid

import pytest

from conftest import (
    TRANSACTIONAL_DDL,
    Database,
    Project,
    Run,
    failed,
    history_rows,
    mysql_admin,
    ok,
)


# -- MySQL: every spelling of USE -----------------------------------------------
@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
@pytest.mark.parametrize(
    "use",
    ["USE`{other}`", "use/* the import db */`{other}`"],
    ids=["no-blank-before-backtick", "comment-after-use"],
)
def test_every_way_of_writing_use_still_leaves_the_next_migration_in_the_urls_database(
    keel: Run, project: Project, db: Database, use: str
) -> None:
    other = f"keel_rv2_{uuid.uuid4().hex[:10]}"
    mysql_admin(f"CREATE DATABASE `{other}`")
    try:
        project.write(
            "V1__other.sql", use.format(other=other) + ";\nCREATE TABLE imported (id INT);\n"
        )
        project.write("V2__t.sql", "CREATE TABLE t (id INT);\n")
        ok(keel("upgrade"))
        # Both forms are valid MySQL (the server switches database): V2 must still run in
        # the URL's database, as it does for 'USE `other`'.
        assert db.query("SHOW TABLES LIKE 't'") == [("t",)]
    finally:
        mysql_admin(f"DROP DATABASE IF EXISTS `{other}`")


# -- DELIMITER lines in a rollback section the whole-file scan does not see ------------------
# The upgrade's last statement has no ';' (allowed): the whole-file scan reads the rollback's
# first line as inside that statement and finds no DELIMITER line at all, so parse_migration
# never scans the rollback on its own; the later split and checksum of that section do.
ROLLBACK_ONLY_BAD_DELIMITER = """\
-- upgrade
CREATE TABLE t (id INT)
-- rollback
DELIMITER
DROP TABLE t;
"""


@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_tokenless_delimiter_line_opening_the_rollback_is_caught_by_offline_validation(
    keel: Run, project: Project
) -> None:
    project.write("V1__t.sql", ROLLBACK_ONLY_BAD_DELIMITER)
    out = keel("validate", "--offline")
    assert out.exit_code != 0, out
    assert "V1__t.sql:4" in out.stderr, out.stderr


@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_tokenless_delimiter_line_opening_the_rollback_names_its_file_on_upgrade(
    keel: Run, project: Project
) -> None:
    project.write("V1__t.sql", ROLLBACK_ONLY_BAD_DELIMITER)
    err = failed(keel("upgrade"))
    assert "V1__t.sql:4" in err, err


def test_a_rollback_sections_checksum_at_parse_time_is_the_one_read_again_later() -> None:
    from sqlkeel.core.parsing import parse_migration, span_checksum
    from sqlkeel.core.splitter import MYSQL

    # 'start' (a transaction word) sends the section down the canonical_parts path, which
    # does not know DELIMITER lines; span_checksum (detached files, sums()) does.
    text = (
        "-- upgrade\nCREATE TABLE start_dates (id INT)\n"
        "-- rollback\nDELIMITER //\nDROP TABLE start_dates//\n"
    )
    parsed = parse_migration("V1__x.sql", text, MYSQL)
    assert parsed.rollback is not None and parsed.rollback.span is not None
    assert parsed.rollback.checksum == span_checksum(text, parsed.rollback.span)


# -- a transaction=off migration that leaves its own transaction open when it fails --------
@TRANSACTIONAL_DDL  # the migration's own transaction holds DDL
def test_a_failure_inside_a_migrations_own_transaction_is_still_recorded_where_it_stopped(
    keel: Run, project: Project
) -> None:
    project.write(
        "V1__own_tx.sql",
        """\
        -- keel: transaction=off
        CREATE TABLE t (id INT);
        BEGIN;
        INSERT INTO t VALUES (1);
        INSERT INTO nope VALUES (1);
        COMMIT;
        """,
    )
    err = failed(keel("upgrade"))
    assert "could not record" not in err, err
    [row] = history_rows(keel)
    assert row["state"] == "failed"
    assert row["failed_statement"] == 4, row


# -- PostgreSQL: the lock session idles while migrations run ---------------------------------
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_server_idle_session_timeout_does_not_end_the_postgres_lock_mid_run(
    keel: Run, project: Project, db: Database
) -> None:
    # What MySQL's lock connection got wait_timeout for: managed PostgreSQL servers may set
    # idle_session_timeout (PostgreSQL 14+), which ends the idle lock session.
    name = db.url.rsplit("/", 1)[1]
    db.query(f"ALTER DATABASE \"{name}\" SET idle_session_timeout = '1s'")
    project.write("V1__slow.sql", "CREATE TABLE t (id INT);\nSELECT pg_sleep(2.5);\n")
    out = keel("upgrade")
    assert "the migration lock was no longer held" not in out.stderr, out.stderr
    ok(out)
