"""PostgreSQL sends each transactional migration whole (BEGIN, statements, keel's rows,
COMMIT) in one round trip, and prepares the next one meanwhile. A failure must still name
the statement and line, undo the migration, log it, and never start the next one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from conftest import Run, failed, history_rows, log, ok, user_tables

if TYPE_CHECKING:
    from conftest import Database, Project

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)





FIRST = "CREATE TABLE first (id integer);\n-- rollback\nDROP TABLE first;\n"
THIRD = "CREATE TABLE third (id integer);\n-- rollback\nDROP TABLE third;\n"

# Five statements on lines 2, 3-4, 6, 7 and 9-11: (statement, its first line, the same
# statement referring to a missing table, the line the server points at in it).
FIVE = [
    (
        "CREATE TABLE five (id integer PRIMARY KEY, name text)",
        2,
        "CREATE TABLE nowhere.five (id integer)",
        2,
    ),
    (
        "INSERT INTO five VALUES\n  (1, 'one')",
        3,
        "INSERT INTO five VALUES\n  ((SELECT 1 FROM nowhere), 'one')",
        4,
    ),
    ("CREATE INDEX five_name ON five (name)", 6, "CREATE INDEX five_name ON nowhere (name)", 6),
    ("INSERT INTO five VALUES (2, 'two, sent whole')", 7, "INSERT INTO nowhere VALUES (2)", 7),
    (
        "UPDATE five\n   SET name = 'x'\n WHERE id = 2",
        9,
        "UPDATE five\n   SET name = 'x'\n WHERE id = (SELECT 2 FROM nowhere)",
        11,
    ),
]


def five_statements(broken: int | None, *, fault: str = "missing") -> str:
    """The five statements as a file; statement ``broken`` (1-5) refers to a missing table
    (``fault="missing"``) or has a syntax error on its last line (``fault="syntax"``)."""
    body = "-- five statements\n"
    for number, (sql, line, missing, _) in enumerate(FIVE, start=1):
        while body.count("\n") + 1 < line:
            body += "\n"
        if number == broken:
            if fault == "missing":
                sql = missing
            else:
                sql = sql[: sql.rindex("\n") + 1] + "SELEC oops" if "\n" in sql else "SELEC oops"
        body += sql + ";\n"
    return body


def failing_line(broken: int, fault: str) -> int:
    sql, line, _, missing_line = FIVE[broken - 1]
    return missing_line if fault == "missing" else line + sql.count("\n")


@pytest.mark.parametrize("fault", ["missing", "syntax"])
@pytest.mark.parametrize("broken", [1, 3, 5], ids=["first", "middle", "last"])
def test_a_failing_statement_of_a_migration_sent_whole_is_named_and_leaves_no_trace(
    keel: Run,
    project: Project,
    db: Database,
    broken: int,
    fault: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlkeel.dialects.postgres import PostgresDialect

    sent: list[int] = []  # how many statements each migration sent whole held
    transaction = PostgresDialect.transaction

    def spy(self, conn, statements, commands, *fence):  # type: ignore[no-untyped-def]
        sent.append(len(statements))
        return transaction(self, conn, statements, commands, *fence)

    monkeypatch.setattr(PostgresDialect, "transaction", spy)
    project.write("V1__first.sql", FIRST)  # sent, and in flight while V2 is prepared
    project.write("V2__five.sql", five_statements(broken, fault=fault))
    project.write("V3__third.sql", THIRD)
    out = keel("upgrade")
    assert sent[:2] == [1, 5]  # V2 really went whole (V3 may be built, never sent)
    err = failed(out)
    line = failing_line(broken, fault)
    assert err.startswith(
        f"keel: error: V2__five.sql:{line}: upgrade failed at statement {broken} "
    ), err
    assert ("nowhere" if fault == "missing" else "syntax error") in err.split("`):", 1)[1]
    assert "left no trace" in err
    assert "applied 1 " in out.stdout and "third" not in out.stdout
    assert user_tables(db) == {"first"}  # V2 undone, V3 never sent
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [("1", "applied")]
    assert log(keel) == [("upgrade", "1", "success"), ("upgrade", "2", "failed")]
    detail = json.loads(ok(keel("history", "--log", "--json")).stdout)["log"][-1]["detail"]
    assert f"V2__five.sql:{line}: upgrade failed at statement {broken}" in detail
    # Fixed, the run goes on from V2.
    project.write("V2__five.sql", five_statements(None))
    ok(keel("upgrade"))
    assert db.query("SELECT id, name FROM five ORDER BY id") == [(1, "one"), (2, "x")]


@pytest.mark.parametrize("broken", [1, 2], ids=["first", "last"])
def test_a_failing_rollback_sent_whole_is_named_and_undone(
    keel: Run, project: Project, db: Database, broken: int
) -> None:
    drops = ["DROP TABLE second", "DROP TABLE second_b"]
    drops[broken - 1] = "DROP TABLE nope"
    project.write("V1__first.sql", FIRST)
    project.write(
        "V2__second.sql",
        "CREATE TABLE second (id integer);\nCREATE TABLE second_b (id integer);\n"
        f"-- rollback\n{drops[0]};\n\n{drops[1]};\n",
    )
    project.write("V3__third.sql", THIRD)
    ok(keel("upgrade"))
    out = keel("rollback", "--to", "0")
    err = failed(out)
    line = 4 if broken == 1 else 6
    assert err.startswith(
        f"keel: error: V2__second.sql:{line}: rollback failed at statement {broken} "
    ), err
    assert "rolled back 3 " in out.stdout  # V3 went first, and stays rolled back
    assert user_tables(db) == {"first", "second", "second_b"}
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]
    assert log(keel)[-2:] == [("rollback", "3", "success"), ("rollback", "2", "failed")]


def test_the_history_and_log_rows_of_migrations_sent_whole(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__slow.sql", "SELECT pg_sleep(0.2);\n-- rollback\nSELECT pg_sleep(0.2);\n")
    project.write("R__view.sql", "CREATE OR REPLACE VIEW first_ids AS SELECT id FROM first;\n")
    out = ok(keel("upgrade"))
    rows = history_rows(keel)
    assert [(r["version"], r["description"], r["kind"], r["state"]) for r in rows] == [
        ("1", "first", "versioned", "applied"),
        ("2", "slow", "versioned", "applied"),
        (None, "view", "repeatable", "applied"),
    ]
    assert all(r["failed_statement"] is None and r["error"] is None for r in rows)
    # The run time is measured by the server, from BEGIN to keel's rows: the history row,
    # the log row and the printed line agree, and the slow migration's sleep is in it.
    ms = [r["execution_ms"] for r in rows]
    assert all(isinstance(m, int) and m >= 0 for m in ms)
    assert 200 <= ms[1] < 5000
    logged = db.query("SELECT version, duration_ms, outcome FROM keel_log ORDER BY id")
    assert logged == [("1", ms[0], "success"), ("2", ms[1], "success"), ("R", ms[2], "success")]
    assert f"({ms[1]} ms)" in out.stdout or f"({ms[1] / 1000:.1f} s)" in out.stdout
    applied_at = [r[0] for r in db.query("SELECT applied_at FROM keel_history ORDER BY id")]
    assert applied_at == sorted(applied_at)
    # The setting that carries the run time within a transaction is empty after it.
    ok(keel("rollback"))
    rolled = db.query("SELECT action, version, duration_ms FROM keel_log ORDER BY id DESC")[0]
    assert rolled[:2] == ("rollback", "2") and isinstance(rolled[2], int) and rolled[2] >= 200
    assert [r["version"] for r in history_rows(keel)] == ["1", None]


def test_each_migration_costs_one_query_to_the_server(
    keel: Run, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything keel sends besides the migrations themselves is the same for 2 and for
    6 migrations: each migration (BEGIN, statements, rows, COMMIT) is one query."""
    from sqlkeel.dialects.postgres import PostgresDialect, _Transaction

    calls: list[str] = []
    for name in ("execute", "run", "query", "rows", "run_and_commit", "commit"):
        original = getattr(PostgresDialect, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PostgresDialect, name, counted)
    send = _Transaction.send

    def counted_send(self):  # type: ignore[no-untyped-def]
        calls.append("send")
        send(self)

    monkeypatch.setattr(_Transaction, "send", counted_send)

    def run_with(count: int) -> list[str]:
        for n in range(1, count + 1):
            project.write(
                f"V{n}__t{n}.sql",
                f"CREATE TABLE t{n} (id integer);\nINSERT INTO t{n} VALUES (1);\n"
                f"-- rollback\nDROP TABLE t{n};\n",
            )
        calls.clear()
        ok(keel("upgrade"))
        upgrade = list(calls)
        calls.clear()
        ok(keel("rollback", "--to", "0"))
        return [*upgrade, "|", *calls]

    run_with(1)  # creates keel's tables
    three = run_with(3)
    six = run_with(6)
    assert three.count("send") == 6 and six.count("send") == 12
    assert [c for c in six if c != "send"] == [c for c in three if c != "send"]


def test_one_session_goes_on_after_a_migration_failed_at_its_commit(
    project: Project, db: Database, db_url: str
) -> None:
    """keel's commands are prepared in the session's first transaction; when that one fails
    at COMMIT (after its PREPAREs ran, which a rollback does not undo), the same session
    still records the next run."""
    from sqlkeel import Keel
    from sqlkeel.errors import MigrationFailed

    project.write(
        "V1__deferred.sql",
        "CREATE TABLE parent (id integer PRIMARY KEY);\n"
        "CREATE TABLE child (pid integer REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\n"
        "INSERT INTO child VALUES (1);\n",
    )
    with Keel(url=db_url, migrations_dir=str(project.migrations)) as keel:
        with pytest.raises(MigrationFailed) as info:
            keel.upgrade()
        assert info.value.statement_index == 4  # the COMMIT
        assert user_tables(db) == set()
        project.write("V1__deferred.sql", "CREATE TABLE parent (id integer PRIMARY KEY);\n")
        project.write("V2__third.sql", THIRD)
        assert [r.version for r in keel.upgrade().applied] == ["1", "2"]
    assert user_tables(db) == {"parent", "third"}
    assert [r[0] for r in db.query("SELECT outcome FROM keel_log ORDER BY id")] == [
        "failed",
        "success",
        "success",
    ]


def test_sent_whole_each_statement_has_its_own_statement_timeout(
    keel_cli: Run, project: Project, db: Database, db_url: str
) -> None:
    """Sent whole, each statement still has its own statement_timeout, as one by one (the
    server restarts it for each command of a query): three statements of 0.3 s pass a
    0.5 s timeout."""
    project.write(
        "V1__slow.sql", "SELECT pg_sleep(0.3);\nSELECT pg_sleep(0.3);\nSELECT pg_sleep(0.3);\n"
    )
    url = f"{db_url}?options=-c%20statement_timeout%3D500"
    ok(keel_cli("upgrade", "--url", url, "--dir", str(project.migrations), cwd=project.root))
    assert db.query("SELECT version FROM keel_history") == [("1",)]


def test_without_psycopgs_building_blocks_migrations_run_statement_by_statement(
    keel: Run, project: Project, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sending whole uses psycopg's undocumented generators: should a release lack them,
    keel falls back to the statement-by-statement path instead of failing."""
    import sys

    from sqlkeel.dialects import postgres

    monkeypatch.setitem(sys.modules, "psycopg.generators", None)  # import raises
    postgres._driver_sends_whole.cache_clear()
    monkeypatch.setattr(postgres._Transaction, "send", None)  # must not be reached
    try:
        project.write("V1__first.sql", FIRST)
        project.write("V2__broken.sql", five_statements(3))
        assert "nowhere" in failed(keel("upgrade"))
        assert user_tables(db) == {"first"}
        project.write("V2__broken.sql", five_statements(None) + "-- rollback\nDROP TABLE five;\n")
        ok(keel("upgrade"))
        assert user_tables(db) == {"first", "five"}
        ok(keel("rollback", "--to", "0"))
        assert user_tables(db) == set()
    finally:
        monkeypatch.undo()
        postgres._driver_sends_whole.cache_clear()


def test_a_migration_sent_whole_is_stamped_when_it_starts(keel: Run, project: Project) -> None:
    """The next migration is read while the previous one runs, but its applied_at is when
    it started: after the previous one committed."""
    project.write("V1__slow.sql", "SELECT pg_sleep(1);\n-- rollback\nSELECT 1;\n")
    project.write("V2__quick.sql", FIRST)
    ok(keel("upgrade"))
    rows = json.loads(ok(keel("history", "--json")).stdout)["migrations"]
    from datetime import datetime

    first, second = (datetime.fromisoformat(r["applied_at"]) for r in rows)
    assert (second - first).total_seconds() >= 0.9


def test_a_migration_that_deallocates_prepared_statements_does_not_break_the_next(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__first.sql", FIRST)
    project.write("V2__dealloc.sql", "DEALLOCATE ALL;\n-- rollback\nDEALLOCATE ALL;\n")
    project.write("V3__third.sql", THIRD)
    ok(keel("upgrade"))
    assert user_tables(db) == {"first", "third"}
