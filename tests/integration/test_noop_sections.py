"""SPEC 12 against real databases: a section of comments only is applied or rolled back as a
no-op, recorded as usual and marked in status, history and --dry-run."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from conftest import Run, history_rows, ok
from sqlkeel.core.model import EMPTY_CHECKSUM

if TYPE_CHECKING:
    from conftest import Database, Project

FILES = {
    "V1__t.sql": "CREATE TABLE t (id integer);\n-- rollback\nDROP TABLE t;\n",
    # An upgrade that exists only as a comment (the change is made on another database).
    "V2__reporting_only.sql": (
        "-- upgrade\n-- This change applies to the reporting database only.\n/* nothing */\n"
        "-- rollback\n-- nothing to undo\n"
    ),
    "V3__seed.sql": (
        "INSERT INTO t (id) VALUES (1);\n-- rollback\n-- This file intentionally left blank\n"
    ),
}


def write(project: Project) -> None:
    for name, text in FILES.items():
        project.write(name, text)


def noop_column(db: Database) -> list[object]:
    return [r[0] for r in db.query("SELECT noop FROM keel_history ORDER BY id")]


def log_rows(keel: Run) -> list[tuple[str, str, str]]:
    rows = json.loads(ok(keel("history", "--log", "--json")).stdout)["log"]
    return [(r["action"], r["version"], r["detail"]) for r in rows]


UP_NOOP = "no-op: its upgrade section holds only comments"
DOWN_NOOP = "no-op: its rollback section holds only comments"


def test_comment_only_sections_are_applied_and_rolled_back_as_no_ops_and_recorded(
    keel: Run, project: Project, db: Database
) -> None:
    write(project)
    upgraded = ok(keel("upgrade")).stdout
    assert "applied 2          reporting only  (" in upgraded and ", no-op)" in upgraded
    rows = history_rows(keel)
    assert [(r["version"], r["state"], r["noop"]) for r in rows] == [
        ("1", "applied", False),
        ("2", "applied", True),
        ("3", "applied", False),
    ]
    assert rows[1]["checksum"] == EMPTY_CHECKSUM
    assert noop_column(db) == [0, 1, 0]
    assert db.query("SELECT id FROM t") == [(1,)]
    assert log_rows(keel) == [
        ("upgrade", "1", ""),
        ("upgrade", "2", UP_NOOP),
        ("upgrade", "3", ""),
    ]
    # The rollback of V3 does nothing: its row goes, the data it inserted stays.
    ok(keel("rollback"))
    assert db.query("SELECT id FROM t") == [(1,)]
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]
    ok(keel("rollback", "--to", "0"))
    assert "t" not in db.tables() and history_rows(keel) == []
    assert log_rows(keel)[3:] == [
        ("rollback", "3", DOWN_NOOP),
        ("rollback", "2", DOWN_NOOP),
        ("rollback", "1", ""),
    ]
    ok(keel("upgrade"))  # and up again, from files that ran before
    assert [r["noop"] for r in history_rows(keel)] == [False, True, False]
    assert db.query("SELECT id FROM t") == [(1,)]
    ok(keel("validate"))


def test_status_marks_no_op_sections_in_text_and_json(
    keel: Run, project: Project, db: Database
) -> None:
    write(project)
    ok(keel("upgrade", "--count", "2"))
    data = json.loads(ok(keel("status", "--json")).stdout)
    assert [
        (m["version"], m["state"], m["noop"], m["rollback_noop"], m["has_rollback"])
        for m in data["migrations"]
    ] == [
        ("1", "applied", False, False, True),
        ("2", "applied", True, True, True),
        ("3", "pending", False, True, True),
    ]
    lines = ok(keel("status")).stdout.splitlines()
    assert "applied (no-op, rollback no-op)" in lines[2]
    assert "pending (rollback no-op)" in lines[3]
    assert "no-op" not in lines[1]
    history = ok(keel("history")).stdout.splitlines()
    assert "applied (no-op)" in history[2] and "no-op" not in history[1]


def test_dry_runs_mark_no_op_steps(keel: Run, project: Project, db: Database) -> None:
    write(project)
    out = ok(keel("upgrade", "--dry-run")).stdout
    assert "-- [2/3] 2 reporting only (V2__reporting_only.sql) [no-op]\n" in out
    assert "-- its upgrade section holds only comments: nothing runs\n" in out
    assert "\nCREATE TABLE t (id integer);\n" in out  # steps with statements print them
    ok(keel("upgrade"))
    out = ok(keel("rollback", "--dry-run", "--count", "3")).stdout
    assert "-- [1/3] 3 seed (V3__seed.sql) [no-op]\n" in out
    assert "-- [3/3] 1 t (V1__t.sql)" in out and "\nDROP TABLE t;\n" in out
    assert "-- its rollback section holds only comments: nothing runs" in out
    assert [r["version"] for r in history_rows(keel)] == ["1", "2", "3"]


def test_a_no_op_outside_a_transaction_is_applied_and_recorded(
    keel: Run, project: Project, db: Database
) -> None:
    # golang-migrate users' CONCURRENTLY files: the index was built by hand in production.
    project.write("V1__t.sql", FILES["V1__t.sql"])
    project.write(
        "V2__index.sql",
        "-- keel: transaction=off\n-- built by hand with CREATE INDEX CONCURRENTLY\n"
        "-- rollback\nDROP INDEX t_id;\n",
    )
    ok(keel("upgrade"))
    assert [(r["version"], r["state"], r["noop"]) for r in history_rows(keel)] == [
        ("1", "applied", False),
        ("2", "applied", True),
    ]
    assert log_rows(keel)[1] == ("upgrade", "2", UP_NOOP)


@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_mysql_section_of_delimiter_lines_and_comments_is_a_no_op(
    keel: Run, project: Project, db: Database
) -> None:
    project.write(
        "V1__p.sql",
        "-- upgrade\nDELIMITER //\n# the procedure moved to the reporting schema\n"
        "DELIMITER ;\n-- rollback\nDELIMITER //\nDELIMITER ;\n",
    )
    ok(keel("upgrade"))
    assert [r["noop"] for r in history_rows(keel)] == [True]
    outcome = keel("rollback")
    # The rollback holds DELIMITER lines only: unfinished, as a blank section.
    assert outcome.exit_code == 1
    assert "empty '-- rollback' section" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_a_history_table_from_before_the_noop_column_is_extended_in_place(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__t.sql", FILES["V1__t.sql"])
    ok(keel("upgrade"))
    # As an older keel left it: nor was there a unique key on the version (some databases
    # drop no column of an indexed table).
    db.query(db.harness.drop_index_statement("keel_history_version_key", "keel_history"))
    db.query("ALTER TABLE keel_history DROP COLUMN noop")
    assert [r["noop"] for r in history_rows(keel)] == [False]  # read without the column
    ok(keel("status"))
    ok(keel("validate"))
    project.write("V2__reporting_only.sql", FILES["V2__reporting_only.sql"])
    ok(keel("upgrade"))  # writes: the column is added, the older row keeps NULL
    assert noop_column(db) == [None, 1]
    assert [r["noop"] for r in history_rows(keel)] == [False, True]
    ok(keel("rollback", "--to", "0"))
    assert "t" not in db.tables()


def test_repair_of_a_file_edited_down_to_comments_records_it_as_a_no_op(
    keel: Run, project: Project, db: Database
) -> None:
    # The history row describes the file repair accepted: its checksum and its no-op mark.
    project.write("V1__t.sql", FILES["V1__t.sql"])
    project.write("V2__backfill.sql", "UPDATE t SET id = id;\n-- rollback\n-- nothing\n")
    ok(keel("upgrade"))
    project.write(
        "V2__backfill.sql", "-- moved to the reporting database\n-- rollback\n-- nothing\n"
    )
    assert keel("validate").exit_code == 1
    ok(keel("repair", "--checksums"))
    ok(keel("validate"))
    rows = history_rows(keel)
    assert [(r["version"], r["noop"]) for r in rows] == [("1", False), ("2", True)]
    assert rows[1]["checksum"] == EMPTY_CHECKSUM
    assert noop_column(db) == [0, 1]
