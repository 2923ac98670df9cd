"""Fault suite, scenario 6 and issue 10 point 2.8: SIGINT (Ctrl-C) and SIGTERM.

Mid-migration and while waiting for the lock, keel must end within 1 s with 130 / 143,
leave nothing half-recorded, and leave no statement running on the server: PostgreSQL's
driver cancels it; on MySQL/MariaDB keel kills it (KILL QUERY) before it lets go of the
lock; SQLite's statement is aborted by its progress handler.
"""

from __future__ import annotations

import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from faults.conftest import ALL_DIALECTS, Target, counted_migration, finish, keel

pytestmark = pytest.mark.slow

SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
LONG = 30.0  # seconds a migration sleeps: far longer than any test waits


def write_slow(migrations: Path, target: Target) -> None:
    # Transactional on every family (no DDL where DDL commits at once, as on MySQL), so an
    # interrupted run leaves nothing.
    harness = target.harness
    sql = counted_migration(harness, 1, seconds=LONG, ddl=harness.capabilities.transactional_ddl)
    (migrations / "V1__slow.sql").write_text(sql, encoding="utf-8")


def sleeping_statements(target: Target) -> int:
    """How many statements of a migration run on ``target``'s server now (none on a file
    database: its statements run in the keel process)."""
    slow = target.harness.slow_statement(LONG).rstrip(";")
    return len(target.harness.running_sessions(target.url, slow))


def wait_until_migrating(target: Target, proc: subprocess.Popen[str]) -> None:
    """Until the migration's slow statement runs (on a server); with a file lock, until
    the lock file names a holder, then the time it takes to begin the migration."""
    lock_file = target.harness.lock_file(target.url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if not target.harness.is_server:
            assert lock_file is not None, f"{target.id}'s harness names no lock file"
            if lock_file.exists() and lock_file.read_text():
                time.sleep(0.5)
                return
        elif sleeping_statements(target):
            return
        time.sleep(0.05)
    raise AssertionError("the migration did not start")


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 30) -> str:
    """Read ``proc``'s stderr until a line holding ``text``; that line."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = proc.stderr.readline()
        if text in line:
            return line
        assert line, f"keel ended before saying {text!r}: {proc.communicate()}"
    raise AssertionError(f"keel did not say {text!r} within {timeout} s")


def nothing_recorded(target: Target) -> None:
    assert target.versions() == []
    assert target.counter() == []
    assert "t_1" not in target.tables()
    assert target.query("SELECT count(*) FROM fault_tables")[0][0] == 0


def no_statement_left_running(target: Target) -> None:
    """Within 2 s of keel's exit nothing of its migration runs on the server any more."""
    deadline = time.monotonic() + 2
    while sleeping_statements(target) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleeping_statements(target) == 0, "the interrupted statement still runs"


def stopped_within_a_second(proc: subprocess.Popen[str], signum: int) -> str:
    """Send ``signum``; keel exits 130/143 within 1 s, says so, no traceback; its stderr."""
    proc.send_signal(signum)
    result = finish(proc, timeout=30)
    assert result.code == EXIT[signum], (result.code, result.stderr)
    assert result.seconds < 1.0, result.seconds
    assert "keel: interrupted" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


@ALL_DIALECTS
@SIGNALS
def test_a_signal_mid_migration_stops_it_within_a_second_and_records_nothing(
    dialect: str, signum: int, target: Target, migrations: Path
) -> None:
    """SIGINT or SIGTERM while a migration's statement runs: keel exits 130 or 143 within
    1 s, the migration left no history row, no counter row and no table, and its statement
    no longer runs on the server (on MariaDB it ran on for 30 s before the fix, 2.8)."""
    write_slow(migrations, target)
    proc = keel(target, migrations, "upgrade")
    wait_until_migrating(target, proc)
    stopped_within_a_second(proc, signum)
    no_statement_left_running(target)
    nothing_recorded(target)


@ALL_DIALECTS
@SIGNALS
def test_a_signal_while_waiting_for_the_lock_ends_the_waiter_within_a_second(
    dialect: str, signum: int, target: Target, migrations: Path
) -> None:
    """SIGINT or SIGTERM to a keel waiting for the lock another keel holds: it exits 130 or
    143 within 1 s having changed nothing; the holder, interrupted too, leaves nothing."""
    write_slow(migrations, target)
    holder = keel(target, migrations, "upgrade")
    wait_until_migrating(target, holder)
    waiter = keel(target, migrations, "upgrade", "--lock-timeout", "60")
    wait_for_line(waiter, "waiting for the migration lock")
    time.sleep(0.2)  # back in its wait
    stopped_within_a_second(waiter, signum)
    stopped_within_a_second(holder, signum)
    no_statement_left_running(target)
    nothing_recorded(target)
