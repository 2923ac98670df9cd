"""Files with a custom delimiter (``-- keel: delimiter=GO``) against real databases: a
batch between two delimiters may hold several commands, and an empty batch list is an
empty section."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from conftest import Run, history_rows, ok

if TYPE_CHECKING:
    from conftest import Database, Project

TWO_TABLES = """\
-- keel: delimiter=GO
CREATE TABLE a (id integer); CREATE TABLE b (id integer);
GO
INSERT INTO a VALUES (1)
GO
-- rollback
DROP TABLE a; DROP TABLE b;
GO
"""


def test_a_batch_of_several_commands_runs_first_in_its_migration(
    keel: Run, project: Project, db: Database
) -> None:
    # On PostgreSQL the first statement of a migration may travel with BEGIN: a batch of
    # several commands must still run as written.
    if not db.harness.runs_command_batches:
        pytest.skip(f"{db.harness.id}'s driver runs one command per call: a batch is one")
    project.write("V1__two_tables.sql", TWO_TABLES)
    ok(keel("upgrade"))
    assert {"a", "b"} <= db.tables()
    assert db.query("SELECT id FROM a") == [(1,)]
    ok(keel("rollback"))
    assert not {"a", "b"} & db.tables()


def test_a_rollback_section_of_delimiters_only_is_empty_and_refused(
    keel: Run, project: Project, db: Database
) -> None:
    project.write(
        "V1__a.sql", "-- keel: delimiter=GO\nCREATE TABLE a (id integer)\nGO\n-- rollback\nGO\n"
    )
    ok(keel("upgrade"))
    outcome = keel("rollback")
    assert outcome.exit_code == 1, outcome.stdout
    assert "empty '-- rollback' section" in outcome.stderr
    assert "a" in db.tables()
    assert [r["version"] for r in history_rows(keel)] == ["1"]
