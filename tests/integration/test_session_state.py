"""keel's own statements after a migration changed the session (issue 10, points 2.1 and 2.15):
keel's rows never depend on what a migration leaves behind (search_path, USE, sql_mode), a
failure of keel's own write is named as keel's, and a statement that cannot run inside a
transaction points at '-- keel: transaction=off'."""

from __future__ import annotations

import pytest

from conftest import TRANSACTIONAL_DDL, Database, Project, Run, failed, history_rows, ok

# What every `pg_dump --schema-only` output starts with.
PG_DUMP_HEADER = "SELECT pg_catalog.set_config('search_path', '', false);\n"


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    "layout",
    ["sent-whole", "custom-delimiter"],
    ids=["one-round-trip", "statement-by-statement"],
)
def test_a_pg_dump_file_that_empties_search_path_is_applied_and_recorded(
    keel: Run, project: Project, db: Database, layout: str
) -> None:
    if layout == "sent-whole":
        project.write("V1__dump.sql", PG_DUMP_HEADER + "CREATE TABLE public.t (id int);\n")
    else:
        # A chunk of two commands cannot travel in the one-round-trip transaction.
        project.write(
            "V1__dump.sql",
            "-- keel: delimiter=GO\n" + PG_DUMP_HEADER + "CREATE TABLE public.t (id int);\nGO\n",
        )
    project.write("V2__next.sql", "CREATE TABLE public.u (id int);\n")
    out = ok(keel("upgrade"))
    assert "COMMIT" not in out.stderr
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]
    assert db.query("SELECT count(*) FROM public.keel_history") == [(2,)]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_search_path_moved_to_another_schema_does_not_move_keels_history(
    keel: Run, project: Project, db: Database
) -> None:
    db.query("CREATE SCHEMA other")
    project.write("V1__moved.sql", "SET search_path TO other;\nCREATE TABLE t (id int);\n")
    project.write("V2__next.sql", "CREATE TABLE u (id int);\n")
    ok(keel("upgrade"))
    assert db.query("SELECT count(*) FROM public.keel_history") == [(2,)]
    assert db.query("SELECT to_regclass('other.keel_history') IS NULL") == [(True,)]
    ok(keel("validate"))


@TRANSACTIONAL_DDL
def test_when_keels_own_history_write_fails_the_error_says_so_and_blames_no_statement(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id int);\n")
    ok(keel("upgrade"))
    # A migration that removes keel's own table: keel's history row for it cannot be written.
    project.write("V2__drop.sql", "CREATE TABLE u (id int);\nDROP TABLE keel_history;\n")
    err = failed(keel("upgrade"))
    assert "COMMIT" not in err, err
    assert "statement 3" not in err, err
    assert "V2__drop.sql" in err
    assert "keel's write of its history row" in err, err
    assert "keel_history" in err
    assert "rolled back" in err
    # The migration left no trace: its transaction was rolled back with keel's row.
    assert "u" not in db.tables()
    assert [r["version"] for r in history_rows(keel)] == ["1"]


@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_mysql_migration_that_changes_sql_mode_still_gets_its_failure_recorded(
    keel: Run, project: Project
) -> None:
    # NO_BACKSLASH_ESCAPES changes how the server reads the quotes keel's own values carry
    # (the error text below holds quotes); ANSI_QUOTES changes what "..." means.
    project.write(
        "V1__mode.sql",
        "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES';\n"
        "CREATE TABLE t (id INT);\n"
        "CREATE TABLE t (id INT);\n",
    )
    err = failed(keel("upgrade"))
    assert "could not record" not in err, err
    [row] = history_rows(keel)
    assert row["state"] == "failed"
    assert "'t'" in row["error"] or '"t"' in row["error"] or "`t`" in row["error"], row


# -- 2.15: statements that cannot run inside a transaction ---------------------------------
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    "statement",
    ["CREATE INDEX CONCURRENTLY t_id ON t (id)", "VACUUM t"],
    ids=["create-index-concurrently", "vacuum"],
)
def test_a_statement_postgres_refuses_inside_a_transaction_points_at_transaction_off(
    keel: Run, project: Project, statement: str
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id int);\n")
    project.write("V2__index.sql", f"{statement};\n")
    err = failed(keel("upgrade"))
    assert "cannot run inside a transaction block" in err, err
    assert "add '-- keel: transaction=off' as the first line of V2__index.sql" in err, err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_vacuum_inside_a_migrations_transaction_on_sqlite_points_at_transaction_off(
    keel: Run, project: Project
) -> None:
    project.write("V1__vacuum.sql", "CREATE TABLE t (id int);\nVACUUM;\n")
    err = failed(keel("upgrade"))
    assert "add '-- keel: transaction=off' as the first line of V1__vacuum.sql" in err, err


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_ordinary_failure_gets_no_transaction_off_hint(keel: Run, project: Project) -> None:
    project.write("V1__bad.sql", "CREATE TABLE t (id nosuchtype);\n")
    err = failed(keel("upgrade"))
    assert "transaction=off" not in err, err
