"""What keel does with files that change while it waits for the migration lock: the plan
is made from the folder as it is once the lock is held (where nothing is planned before),
and a file that stopped parsing meanwhile is refused, never taken for a missing one."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import keel_process
from sqlkeel import Keel
from sqlkeel.dialects import dialect_for
from sqlkeel.testing import holding_lock
from sqlkeel.urls import parse_url


def _waiting(url: str, migrations: Path, *args: str):  # type: ignore[no-untyped-def]
    """``keel ARGS`` started while this test holds the lock; returns once it waits."""
    proc = keel_process(url, migrations, *args, "--lock-timeout", "30")
    deadline = time.monotonic() + 20
    assert proc.stderr is not None
    line = proc.stderr.readline()
    while "waiting for the migration lock" not in line:
        assert time.monotonic() < deadline and line, (line, proc.communicate())
        line = proc.stderr.readline()
    return proc


def test_a_file_added_while_waiting_for_the_lock_is_applied(
    sqlite_url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__a.sql").write_text("CREATE TABLE a (id int);\n")
    dialect = dialect_for(parse_url(sqlite_url), table="keel_history", schema=None)
    with Keel(sqlite_url, migrations, cwd=tmp_path) as keel:
        keel.upgrade()
    (migrations / "V2__b.sql").write_text("CREATE TABLE b (id int);\n")
    with holding_lock(dialect):
        proc = _waiting(sqlite_url, migrations, "upgrade")
        (migrations / "V3__c.sql").write_text("CREATE TABLE c (id int);\n")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    with Keel(sqlite_url, migrations, cwd=tmp_path) as keel:
        assert [row.label for row in keel.history().rows] == ["1", "2", "3"]


def test_a_file_broken_while_repair_waits_is_refused_not_forgotten(
    sqlite_url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__a.sql").write_text("CREATE TABLE a (id int);\n")
    (migrations / "V2__b.sql").write_text("CREATE TABLE b (id int);\n")
    dialect = dialect_for(parse_url(sqlite_url), table="keel_history", schema=None)
    with Keel(sqlite_url, migrations, cwd=tmp_path) as keel:
        keel.upgrade()
    with holding_lock(dialect):
        proc = _waiting(sqlite_url, migrations, "repair", "--missing")
        (migrations / "V2__b.sql").write_text("CREATE TABLE b (name text DEFAULT 'oops);\n")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, (out, err)
    assert "V2__b.sql" in err and "forget" not in out
    with Keel(sqlite_url, migrations, cwd=tmp_path) as keel:
        assert [row.label for row in keel.history().rows] == ["1", "2"]
