"""Fault suite, scenario 7: keel's history tampered with by hand.

Each tampering must be explained in one paragraph naming what is wrong (the row, the file,
the table) with a fix, never a traceback, and keel must not run anything on top of it: no
migration runs a second time. Run as real processes on the shared servers (nothing here
stops a server), one fresh database per test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Database, keel_process
from faults.conftest import Finished, counted_migration, finish

pytestmark = pytest.mark.slow


def keel(url: str, migrations: Path, *args: str) -> Finished:
    return finish(keel_process(url, migrations, *args), timeout=60)


@pytest.fixture
def applied(db_url: str, tmp_path: Path) -> tuple[Database, Path]:
    """Three migrations applied (counted in fault_counter), on a fresh database."""
    db = Database(db_url)
    db.query("CREATE TABLE fault_counter (version integer NOT NULL)")
    db.query("CREATE TABLE fault_tables (version integer NOT NULL)")
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for n in (1, 2, 3):
        sql = counted_migration(db.harness, n)
        (migrations / f"V{n}__step_{n}.sql").write_text(sql, encoding="utf-8")
    first = keel(db_url, migrations, "upgrade")
    assert first.code == 0, first.stderr
    return db, migrations


def explained(result: Finished, *names: str) -> None:
    """Refused (exit 1 or 2) in one report, naming each of ``names``, with a fix."""
    assert result.code in (1, 2), (result.code, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr
    assert result.stderr.count("keel: error:") == 1, result.stderr
    assert "unexpected" not in result.stderr, result.stderr  # "unexpected KeyError ... bug"
    for name in names:
        assert name in result.stderr, (name, result.stderr)
    assert "Fix" in result.stderr or "fix" in result.stderr, result.stderr


def ran_once(db: Database) -> None:
    """Nothing ran again: one counter row per migration."""
    assert sorted(int(r[0]) for r in db.query("SELECT version FROM fault_counter")) == [1, 2, 3]


TAMPERINGS: dict[str, tuple[str, Callable[[Database], None], tuple[str, ...]]] = {
    # name: (what it does, how, what the explanation must name)
    "row-deleted": (
        "the history row of version 2 deleted",
        lambda db: db.query("DELETE FROM keel_history WHERE version = '2'"),
        ("V2__step_2.sql", "keel_log records it applied", "INSERT INTO keel_history"),
    ),
    "checksum-altered": (
        "version 2's checksum changed",
        lambda db: db.query(
            "UPDATE keel_history SET checksum = '" + "0" * 64 + "' WHERE version = '2'"
        ),
        ("V2__step_2.sql", "repair --checksums"),
    ),
    "unknown-version": (
        "a row for version 9, which has no file",
        lambda db: db.query(
            "INSERT INTO keel_history (version, description, script, kind, checksum, "
            "rollback_checksum, applied_at, applied_by, execution_ms, state) "
            "SELECT '9', 'ghost', 'V9__ghost.sql', kind, checksum, rollback_checksum, "
            "applied_at, applied_by, execution_ms, state FROM keel_history WHERE version = '3'"
        ),
        ("9",),
    ),
    "unknown-state": (
        "version 2's state set to a word keel does not know",
        lambda db: db.query("UPDATE keel_history SET state = 'weird' WHERE version = '2'"),
        ("weird", "2"),
    ),
    "history-dropped": (
        "keel_history dropped while keel_log stays",
        lambda db: db.query("DROP TABLE keel_history"),
        ("keel_history", "keel_log"),
    ),
}


# Advice that must not be given: renaming a file whose row was deleted (keel_log records
# it applied) above the head would run it a second time.
MISLEADING: dict[str, tuple[str, ...]] = {
    "row-deleted": ("rename it above the head", "V4__step_2.sql"),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_history_tampered_with_by_hand_is_explained_without_a_traceback(
    tampering: str, applied: tuple[Database, Path], db_url: str
) -> None:
    """A history row deleted, a checksum altered, a row for an unknown version, a row in
    an unknown state, or keel_history dropped while keel_log stays: `validate` and
    `upgrade` each refuse in one paragraph that names the row, file or table and the fix,
    with no traceback, and no migration runs a second time."""
    db, migrations = applied
    _what, tamper, names = TAMPERINGS[tampering]
    tamper(db)
    for command in ("validate", "upgrade"):
        result = keel(db_url, migrations, command)
        explained(result, *names)
        for advice in MISLEADING.get(tampering, ()):
            assert advice not in result.stderr, (advice, result.stderr)
    ran_once(db)
