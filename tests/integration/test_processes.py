"""Real processes against real databases: the migration lock serialises concurrent
upgrades, and a killed keel never leaves the lock held or a half-applied migration."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SERVERS, TRANSACTIONAL_DDL, keel_process
from sqlkeel import Keel
from sqlkeel.testing import harness_of

pytestmark = pytest.mark.slow


def slow(url: str, seconds: float) -> str:
    """A statement that keeps ``url``'s database busy for about ``seconds``."""
    return harness_of(url).slow_statement(seconds)


def names_the_holder(text: str, pid: int, url: str) -> bool:
    """Whether a lock message names the holding keel: by its pid, or where the database
    keeps no client pid (MySQL without performance_schema) by what its harness says."""
    mentions = harness_of(url).holder_mentions
    return (f"pid {pid}" if mentions == "pid" else mentions) in text


def write(migrations: Path, name: str, sql: str) -> None:
    (migrations / name).write_text(sql, encoding="utf-8")


def test_six_concurrent_upgrades_apply_every_migration_exactly_once(
    db_url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "V1__slow_start.sql", f"CREATE TABLE t1 (id integer);\n{slow(db_url, 3)}\n")
    for n in range(2, 6):
        # No IF NOT EXISTS: running any file twice would fail the second process.
        write(migrations, f"V{n}__table_{n}.sql", f"CREATE TABLE t{n} (id integer);\n")

    processes = [keel_process(db_url, migrations, "upgrade") for _ in range(6)]
    outputs = [p.communicate(timeout=120) for p in processes]

    assert [p.returncode for p in processes] == [0] * 6, outputs
    assert any("waiting for the migration lock" in err for _out, err in outputs), outputs
    applied = [out.count("applied ") for out, _err in outputs]
    assert sorted(applied) == [0, 0, 0, 0, 0, 5], outputs
    with Keel(url=db_url, migrations_dir=migrations) as keel:
        rows = keel.history().rows
        log = keel.log().rows
    assert [str(r.version) for r in rows] == ["1", "2", "3", "4", "5"]
    assert sorted(r.version for r in log if r.action == "upgrade") == ["1", "2", "3", "4", "5"]


def _wait_until_holding(url: str, migrations: Path, proc: subprocess.Popen[str]) -> None:
    """Until ``proc`` holds the lock with its first migration's row written (read through
    keel, so only where the database can be read while another process migrates it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        with Keel(url=url, migrations_dir=migrations) as keel:
            if keel.lock_status().holder is not None and keel.history().rows:
                return
        time.sleep(0.1)
    raise AssertionError("the upgrade never took the lock and applied V1")


def _wait_until_second_runs(proc: subprocess.Popen[str]) -> None:
    """Until ``proc`` says it applied V1, and so holds the lock and runs V2. From its
    output: a file database that another process migrates may not even be opened (DuckDB
    allows one process at a time)."""
    import select

    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not select.select([proc.stdout], [], [], 0.1)[0]:
            continue
        line = proc.stdout.readline()
        if line.startswith("applied 1 "):
            return
        assert line, proc.communicate()  # it ended before applying V1
    raise AssertionError("the upgrade never applied V1")


@TRANSACTIONAL_DDL  # MySQL: test_mysql.py, where a killed migration stays recorded failed
def test_killed_upgrade_leaves_no_lock_and_no_history_row(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "V1__first.sql", "CREATE TABLE first (id integer);\n")
    write(
        migrations,
        "V2__interrupted.sql",
        f"CREATE TABLE interrupted (id integer);\n{slow(db_url, 60)}\n",
    )
    proc = keel_process(db_url, migrations, "upgrade")
    _wait_until_second_runs(proc)
    time.sleep(0.5)  # well inside the slow statement of V2
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)

    # The file was never applied, so editing it is allowed; the next run must proceed
    # without 'keel unlock' (the server or kernel dropped the lock with the process).
    write(migrations, "V2__interrupted.sql", "CREATE TABLE interrupted (id integer);\n")
    with Keel(url=db_url, migrations_dir=migrations) as keel:
        assert [str(r.version) for r in keel.history().rows] == ["1"]
    rerun = keel_process(db_url, migrations, "upgrade", "--lock-timeout", "20")
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, (out, err)
    with Keel(url=db_url, migrations_dir=migrations) as keel:
        assert [str(r.version) for r in keel.history().rows] == ["1", "2"]
        assert keel.lock_status().holder is None


def test_no_wait_fails_at_once_with_exit_3_naming_the_holder(db_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "V1__first.sql", "CREATE TABLE first (id integer);\n")
    write(migrations, "V2__slow.sql", f"{slow(db_url, 30)}\n")
    holder = keel_process(db_url, migrations, "upgrade")
    try:
        _wait_until_second_runs(holder)
        started = time.monotonic()
        blocked = keel_process(db_url, migrations, "upgrade", "--no-wait")
        out, err = blocked.communicate(timeout=30)
        assert blocked.returncode == 3, (out, err)
        assert time.monotonic() - started < 10
        assert names_the_holder(err, holder.pid, db_url), err
        status = keel_process(db_url, migrations, "lock-status", "--json")
        doc = json.loads(status.communicate(timeout=30)[0])
        assert doc["held"] is True and names_the_holder(doc["holder"], holder.pid, db_url)
        timed = keel_process(db_url, migrations, "upgrade", "--lock-timeout", "1")
        out, err = timed.communicate(timeout=30)
        assert timed.returncode == 3, (out, err)
        assert "waiting for the migration lock" in err and "not acquired within 1 s" in err
    finally:
        holder.kill()
        holder.communicate(timeout=10)


@SERVERS  # a statement that runs on while another process waits, on the server
def test_a_second_upgrade_waits_out_a_migration_running_outside_a_transaction(
    db_url: str, tmp_path: Path
) -> None:
    # While it runs, such a migration is recorded failed (so that a killed keel leaves it
    # refused); a second upgrade must wait for the lock, not refuse it as failed.
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(
        migrations,
        "V1__slow.sql",
        f"-- keel: transaction=off\nCREATE TABLE t1 (id integer);\n{slow(db_url, 3)}\n",
    )
    write(migrations, "V2__t2.sql", "CREATE TABLE t2 (id integer);\n")
    first = keel_process(db_url, migrations, "upgrade")
    _wait_until_holding(db_url, migrations, first)
    second = keel_process(db_url, migrations, "upgrade")
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert "waiting for the migration lock" in outputs[1][1]
    with Keel(url=db_url, migrations_dir=migrations) as keel:
        assert [(str(r.version), r.state.value) for r in keel.history().rows] == [
            ("1", "applied"),
            ("2", "applied"),
        ]
        upgrades = [r.version for r in keel.log().rows if r.action == "upgrade"]
    assert sorted(upgrades) == ["1", "2"]
