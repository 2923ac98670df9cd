"""The lock invariant: no two runs ever apply the same migration, whatever dies and when.

The lock lives on the session that runs the migrations, each migration checks it before its
rows commit, and keel_history's unique version key refuses a second writer.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import SERVERS, Database, holding_lock, keel_process
from sqlkeel import Keel

pytestmark = pytest.mark.slow


def _sleep(db: Database, seconds: float) -> str:
    return db.harness.slow_statement(seconds)


def _wait_for(check: Callable[[], object], what: str, timeout: float = 15) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(what)


def _running(db: Database, seconds: float) -> list[object]:
    """The server sessions of this test's database running the slow statement of
    ``seconds`` (``_sleep``): their ids."""
    return db.harness.running_sessions(db.url, _sleep(db, seconds).rstrip(";"))


def _lock_session(db: Database) -> object | None:
    """The server session holding keel's migration lock on this database, or None."""
    return db.harness.lock_session(db.url)


def _cut(db: Database, session: object) -> None:
    db.harness.end_session(db.url, session)


def _marks(db: Database) -> list[int]:
    return sorted(int(str(r[0])) for r in db.query("SELECT v FROM marks"))


def _versions(db: Database) -> list[str]:
    return sorted(str(r[0]) for r in db.query("SELECT version FROM keel_history"))


def _write_marking_history(migrations: Path, db: Database, sleep: float) -> None:
    """V1 makes ``marks``; V2 and V3 each add their number to it once per run of them."""
    migrations.mkdir(exist_ok=True)
    (migrations / "V1__marks.sql").write_text("CREATE TABLE marks (v integer);\n")
    (migrations / "V2__slow_mark.sql").write_text(
        f"INSERT INTO marks VALUES (2);\n{_sleep(db, sleep)}\n"
    )
    (migrations / "V3__mark.sql").write_text("INSERT INTO marks VALUES (3);\n")


@SERVERS
def test_the_lock_is_held_by_the_session_that_runs_the_migration(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    """So that the server frees it only once that session's work has ended."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__slow.sql").write_text(f"{_sleep(db, 2)}\n")
    proc = keel_process(db_url, migrations, "upgrade")
    try:
        (worker,) = _wait_for(lambda: _running(db, 2), "V1 never ran")
        assert _lock_session(db) == worker
    finally:
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@SERVERS
@pytest.mark.parametrize("round_", range(3))
def test_a_killed_upgrade_is_never_applied_twice_by_the_run_started_right_after(
    db_url: str, db: Database, tmp_path: Path, round_: int
) -> None:
    """kill -9 while the server still runs V2 (whose rows and COMMIT are already sent on
    PostgreSQL), then another upgrade at once: V2 runs once, however the race ends."""
    migrations = tmp_path / "migrations"
    sleep = 0.4 + 0.2 * round_
    _write_marking_history(migrations, db, sleep=sleep)
    first = keel_process(db_url, migrations, "upgrade")
    _wait_for(lambda: _running(db, sleep), "V2 never ran")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)
    second = keel_process(db_url, migrations, "upgrade", "--lock-timeout", "30")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, (out, err)
    assert _marks(db) == [2, 3]
    assert _versions(db) == ["1", "2", "3"]
    assert _lock_session(db) is None


@SERVERS
def test_cutting_the_lock_session_mid_run_never_lets_a_second_run_apply_a_migration_twice(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    """pg_terminate_backend / KILL of the session holding the lock while V2 runs, and a
    second upgrade started at once: the first run stops, the second applies V2 and V3, each
    exactly once."""
    migrations = tmp_path / "migrations"
    _write_marking_history(migrations, db, sleep=2)
    first = keel_process(db_url, migrations, "upgrade")
    _wait_for(lambda: _running(db, 2), "V2 never ran")
    _cut(db, _wait_for(lambda: _lock_session(db), "no lock held"))
    second = keel_process(db_url, migrations, "upgrade", "--lock-timeout", "30")
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert first.returncode != 0 and "Traceback" not in outputs[0][1], outputs
    assert second.returncode == 0, outputs
    assert _marks(db) == [2, 3]
    assert _versions(db) == ["1", "2", "3"]


@SERVERS
def test_a_migration_that_releases_the_lock_is_not_recorded_while_another_run_holds_it(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    """A migration's own pg_advisory_unlock_all() / RELEASE_ALL_LOCKS() drops the lock and
    another process takes it: the migration's fence fails, it is rolled back, exit 3."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    # Without transactional DDL a table would make the migration run outside a transaction.
    table = "CREATE TABLE IF NOT EXISTS marks (v integer);\n"
    (migrations / "V1__releases.sql").write_text(
        (table if db.has_transactional_ddl else "")
        + f"{db.harness.release_locks_statement()}\n{_sleep(db, 2)}\n"
    )
    proc = keel_process(db_url, migrations, "upgrade")
    _wait_for(lambda: _running(db, 2), "V1 never ran")
    _wait_for(lambda: _lock_session(db) is None, "V1 never released the lock", timeout=5)
    with Keel(url=db_url, migrations_dir=migrations) as other, holding_lock(other.dialect):
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, (out, err)
    assert "no longer held" in err and "V1__releases.sql" in err and "Traceback" not in err
    assert _versions(db) == []
    assert "marks" not in db.tables()


@pytest.fixture
def applied_twice(db_url: str, db: Database, tmp_path: Path) -> Path:
    """V1 applied, then keel_history as an older keel left it: without the unique key."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__one.sql").write_text("CREATE TABLE one (id integer);\n")
    done = keel_process(db_url, migrations, "upgrade")
    assert done.communicate(timeout=60) and done.returncode == 0
    db.query(db.harness.drop_index_statement("keel_history_version_key", "keel_history"))
    (migrations / "V2__two.sql").write_text("CREATE TABLE two (id integer);\n")
    return migrations


def _keel(db_url: str, migrations: Path, *args: str) -> tuple[int, str]:
    proc = keel_process(db_url, migrations, *args)
    _out, err = proc.communicate(timeout=60)
    return proc.returncode, err


def _copy_row_sql() -> str:
    columns = (
        "version, description, script, kind, checksum, rollback_checksum, applied_at, "
        "applied_by, execution_ms, state"
    )
    return f"INSERT INTO keel_history ({columns}) SELECT {columns} FROM keel_history"


def test_an_older_history_table_gets_the_unique_version_key_in_place(
    db_url: str, db: Database, applied_twice: Path
) -> None:
    code, err = _keel(db_url, applied_twice, "upgrade")
    assert code == 0, err
    with pytest.raises(Exception, match=r"(?i)duplicate|unique"):
        db.query(_copy_row_sql() + " WHERE version = '1'")
    assert _versions(db) == ["1", "2"]


def _duplicates(err: str) -> list[str]:
    """The problems of a report that name a migration recorded more than once."""
    return [
        line
        for line in err.splitlines()
        if line.startswith("  - ") and "rows for migration" in line
    ]


def test_a_version_held_twice_is_one_problem_whether_validation_or_the_unique_key_finds_it(
    db_url: str, db: Database, applied_twice: Path
) -> None:
    """`keel repair` adds the unique key without validating the history first: the rows it
    finds twice are the same problem, with the same honest fix, as `keel validate` gives."""
    db.query(_copy_row_sql())
    ids = sorted(int(str(r[0])) for r in db.query("SELECT id FROM keel_history"))
    (applied_twice / "V1__one.sql").write_text("CREATE TABLE one (id integer, x integer);\n")
    code, by_key = _keel(db_url, applied_twice, "repair", "--checksums")
    assert code == 1, by_key
    code, by_validation = _keel(db_url, applied_twice, "validate")
    assert code == 1, by_validation
    assert _duplicates(by_key) == _duplicates(by_validation), (by_key, by_validation)
    [problem] = _duplicates(by_key)
    assert f"DELETE FROM keel_history WHERE id = {ids[1]}" in problem, problem
    assert f"keeps the first row, id {ids[0]}" in problem, problem
    assert "describes the database" not in problem, problem
    assert sorted(int(str(r[0])) for r in db.query("SELECT id FROM keel_history")) == ids


def test_an_older_history_table_holding_a_version_twice_is_refused_naming_the_rows(
    db_url: str, db: Database, applied_twice: Path
) -> None:
    db.query(_copy_row_sql())  # version 1 twice, as two racing runs of an older keel left it
    ids = sorted(int(str(r[0])) for r in db.query("SELECT id FROM keel_history"))
    code, err = _keel(db_url, applied_twice, "upgrade")
    assert code == 1, err
    assert "Traceback" not in err and "unexpected" not in err
    assert "rows for migration 1" in err and all(f"id {i}" in err for i in ids), err
    assert "DELETE FROM" in err
    assert "two" not in db.tables()
