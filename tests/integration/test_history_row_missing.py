"""A history row deleted by hand while keel_log records the migration applied: keel must
say so and give the row back, never advise renaming the file above the head (which would
run the migration a second time)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from conftest import ok

if TYPE_CHECKING:
    from conftest import Database, Outcome, Project, Run


T1 = "CREATE TABLE t1 (v integer);\n-- rollback\nDROP TABLE t1;\n"
S2 = "INSERT INTO t1 (v) VALUES (42);\n-- rollback\nDELETE FROM t1 WHERE v = 42;\n"
T3 = "CREATE TABLE t3 (v integer);\n-- rollback\nDROP TABLE t3;\n"


def three_applied_then_row_2_deleted(keel: Run, project: Project, db: Database) -> None:
    project.write("V1__t1.sql", T1)
    project.write("V2__s2.sql", S2)
    project.write("V3__t3.sql", T3)
    ok(keel("upgrade"))
    db.query("DELETE FROM keel_history WHERE version = '2'")


def refused(outcome: Outcome) -> str:
    assert outcome.exit_code == 1, (outcome.stdout, outcome.stderr)
    assert "Traceback" not in outcome.stdout + outcome.stderr
    return outcome.stderr


def test_a_deleted_history_row_that_keel_log_records_applied_is_not_advised_to_be_renamed(
    keel: Run, project: Project, db: Database
) -> None:
    three_applied_then_row_2_deleted(keel, project, db)
    for command in ("validate", "upgrade", "status"):
        err = refused(keel(command)) if command != "status" else keel(command).stdout
        assert "rename it above the head" not in err, err
        assert "V4__s2.sql" not in err, err
        assert "V2__s2.sql" in err and "keel_log records it applied" in err, err
    assert [r[0] for r in db.query("SELECT v FROM t1")] == [42]


def test_the_insert_given_for_a_deleted_history_row_restores_it(
    keel: Run, project: Project, db: Database
) -> None:
    three_applied_then_row_2_deleted(keel, project, db)
    err = refused(keel("validate"))
    found = re.search(r"INSERT INTO keel_history \(.*?\) VALUES \(.*?\);", err)
    assert found, err
    db.query(found.group(0).rstrip(";"))
    ok(keel("validate"))
    ok(keel("upgrade"))
    assert [r[0] for r in db.query("SELECT v FROM t1")] == [42]
    # The restored row is the migration's own: it rolls back as any other.
    ok(keel("rollback", "--to", "1"))
    assert db.query("SELECT v FROM t1") == []


def test_a_file_rolled_back_and_then_put_below_the_head_is_still_advised_to_be_renamed(
    keel: Run, project: Project, db: Database
) -> None:
    """keel_log's last word on version 2 is its rollback: it is not applied, so the usual
    advice (rename it above the head) stands."""
    project.write("V1__t1.sql", T1)
    project.write("V2__s2.sql", S2)
    ok(keel("upgrade"))
    ok(keel("rollback"))
    project.write("V3__t3.sql", T3)
    (project.migrations / "V2__s2.sql").unlink()
    ok(keel("upgrade"))
    project.write("V2__s2.sql", S2)
    err = refused(keel("validate"))
    assert "rename it above the head, e.g. V4__s2.sql" in err, err
    assert "keel_log records it applied" not in err, err


def test_a_deleted_row_of_a_baselined_migration_is_restored_not_renamed(
    keel: Run, project: Project, db: Database
) -> None:
    """keel_log's baseline row covers every version up to it: a row it recorded and that
    was deleted by hand is restored, and the migration is never run."""
    project.write("V1__t1.sql", T1)
    project.write("V2__s2.sql", S2)
    project.write("V3__t3.sql", T3)
    ok(keel("baseline", "3"))
    db.query("DELETE FROM keel_history WHERE version = '2'")
    err = refused(keel("upgrade"))
    assert "'keel baseline 3'" in err and "rename it above the head, e.g." not in err, err
    found = re.search(r"INSERT INTO keel_history \(.*?\) VALUES \(.*?\);", err)
    assert found, err
    db.query(found.group(0).rstrip(";"))
    ok(keel("upgrade"))
    assert sorted(db.tables()) == ["keel_history", "keel_log"]  # nothing ran
