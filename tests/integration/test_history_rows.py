"""History changed by hand (issue 10, points 2.4 and 2.16a): a row keel does not recognise is
explained (table, row, column, value, fix) instead of "unexpected KeyError" and a stray
"Exception ignored" traceback; a version recorded twice is a validation problem naming both
rows and the exact SQL that removes one."""

from __future__ import annotations

import json

import pytest

from conftest import Database, Project, Run, history_rows, ok
from sqlkeel.history import HISTORY_COLUMNS

COMMANDS = ["status", "upgrade", "history", "validate"]


def _one_clear_error(out: object, code: int = 1) -> str:
    stdout, stderr, exit_code = out.stdout, out.stderr, out.exit_code  # type: ignore[attr-defined]
    assert exit_code == code, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert "Exception ignored" not in stderr
    assert "unexpected" not in stderr
    assert stderr.startswith("keel: error: ") and stderr.count("keel: error:") == 1, stderr
    return str(stderr)


@pytest.mark.parametrize(
    ("column", "value"),
    [("state", "weird"), ("kind", "sideways"), ("version", "1.x")],
    ids=["unknown-state", "unknown-kind", "unparsable-version"],
)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_history_row_keel_does_not_recognise_is_explained_with_its_row_and_fix(
    keel: Run, project: Project, db: Database, command: str, column: str, value: str
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n-- rollback\nDROP TABLE t;\n")
    ok(keel("upgrade"))
    [(row_id,)] = db.query("SELECT id FROM keel_history")
    db.query(f"UPDATE keel_history SET {column} = '{value}' WHERE id = {row_id}")
    err = _one_clear_error(keel(command))
    assert "keel_history" in err
    assert f"id {row_id}" in err
    assert "V1__t.sql" in err
    assert f"{column} '{value}'" in err, err
    assert f"UPDATE keel_history SET {column} = " in err, err


# SQLite alone stores text in a timestamp column, as a hand edit may leave it.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_history_row_with_an_unreadable_timestamp_is_explained_too(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    ok(keel("upgrade"))
    db.query("UPDATE keel_history SET applied_at = 'yesterday'")
    err = _one_clear_error(keel("status"))
    assert "applied_at 'yesterday'" in err, err


# -- 2.16a: one version recorded twice ---------------------------------------------------
def _history_without_unique_keys(db: Database) -> None:
    """Rebuild keel_history as an older layout had it (the id primary key, no unique key on
    the version), keeping its rows: only such a table can hold a duplicate."""
    from sqlkeel.dialects import dialect_for
    from sqlkeel.urls import parse_url

    dialect = dialect_for(parse_url(db.url), table="keel_history", schema=None)
    columns = ", ".join(c for c, _t, _n in HISTORY_COLUMNS)
    db.query("CREATE TABLE keel_old AS SELECT * FROM keel_history")
    db.query("DROP TABLE keel_history")
    db.query(dialect.history_sql.create_table("keel_history", HISTORY_COLUMNS))
    db.query(f"INSERT INTO keel_history ({columns}) SELECT {columns} FROM keel_old ORDER BY id")
    db.query("DROP TABLE keel_old")


def test_a_version_recorded_twice_is_a_validation_problem_naming_both_rows(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n-- rollback\nDROP TABLE t;\n")
    project.write("V2__u.sql", "CREATE TABLE u (id INT);\n-- rollback\nDROP TABLE u;\n")
    ok(keel("upgrade"))
    _history_without_unique_keys(db)
    columns = ", ".join(c for c, _t, _n in HISTORY_COLUMNS)
    db.query(
        f"INSERT INTO keel_history ({columns}) SELECT {columns} FROM keel_history "
        "WHERE version = '1'"
    )
    ids = [int(str(r[0])) for r in db.query("SELECT id FROM keel_history WHERE version = '1'")]
    ids.sort()
    assert len(ids) == 2, ids
    assert [r["version"] for r in history_rows(keel)] == ["1", "2", "1"]

    out = keel("validate", "--json")
    assert out.exit_code == 1, out
    problems = json.loads(out.stdout)["problems"]
    [problem] = [p for p in problems if p["code"] == "duplicate-history-row"]
    text = problem["message"] + " " + problem["fix"]
    assert f"id {ids[0]}" in text and f"id {ids[1]}" in text, text
    assert f"DELETE FROM keel_history WHERE id = {ids[1]};" in text, text

    # upgrade no longer says "nothing to do", status shows the problem, rollback refuses.
    upgrade = keel("upgrade")
    assert upgrade.exit_code == 1, upgrade
    assert "keel_history holds 2 rows for migration 1" in upgrade.stderr
    assert "Nothing to do" not in upgrade.stdout
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert "duplicate-history-row" in [p["code"] for p in status["problems"]]
    assert keel("rollback").exit_code == 1
    assert "u" in db.tables()

    db.query(f"DELETE FROM keel_history WHERE id = {ids[1]}")
    ok(keel("validate"))


# SQLite alone stores text in a timestamp column, as a hand edit may leave it.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_log_row_keel_cannot_read_is_explained_with_its_row_and_fix(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    ok(keel("upgrade"))
    db.query("UPDATE keel_log SET logged_at = 'last week'")
    err = _one_clear_error(keel("history", "--log"))
    assert "keel_log row id 1" in err and "logged_at 'last week'" in err, err
    assert "UPDATE keel_log SET logged_at = " in err, err
