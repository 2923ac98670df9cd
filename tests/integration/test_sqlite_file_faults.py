"""SQLite faults of the file itself (issue 10, points 2.7 and 2.16b): another process's write
transaction is waited for up to lock_timeout, said while waiting and named with the right fix;
a full disk is one paragraph and leaves the database intact."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from conftest import Project, Run, history_rows, keel_process, ok


@pytest.fixture
def held_write(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) in the middle of a write transaction
    on the test database; rolled back at the end of the test if still open."""
    path = sqlite_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def _applied_v1(keel: Run, project: Project) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\n")
    ok(keel("upgrade"))
    project.write("V2__u.sql", "CREATE TABLE u (id INT);\nINSERT INTO t VALUES (1);\n")


def _run(url: str, project: Project, *args: str) -> tuple[int, str, float]:
    """keel as its own process: exit code, stderr and the seconds it took."""
    start = time.monotonic()
    proc = keel_process(url, project.migrations, *args)
    _out, err = proc.communicate(timeout=60)
    return proc.returncode, err, time.monotonic() - start


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_upgrade_waits_for_another_write_transaction_only_as_long_as_lock_timeout(
    keel: Run, project: Project, db_url: str, held_write: sqlite3.Connection
) -> None:
    _applied_v1(keel, project)
    held_write.execute("BEGIN IMMEDIATE")
    held_write.execute("INSERT INTO t VALUES (42)")
    code, err, took = _run(db_url, project, "upgrade", "--lock-timeout", "1.5")
    assert code == 3, err
    assert took < 15, took  # not the driver's 30 s busy timeout
    path = db_url.removeprefix("sqlite:///")
    assert f"keel: waiting: another process holds a write transaction on {path}" in err, err
    assert "Traceback" not in err
    assert "keel status" not in err
    [error] = [line for line in err.splitlines() if line.startswith("keel: error:")]
    assert "another process holds a write transaction" in error, error
    assert "wait for it to finish or stop it" in error, error
    held_write.execute("ROLLBACK")
    ok(keel("upgrade"))
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_upgrade_goes_on_once_the_other_write_transaction_ends(
    keel: Run, project: Project, db_url: str
) -> None:
    _applied_v1(keel, project)
    path = db_url.removeprefix("sqlite:///")
    # check_same_thread off: the holder commits from a timer thread.
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (42)")
    committer = threading.Timer(1.5, lambda: other.execute("COMMIT"))
    committer.start()
    try:
        code, err, _took = _run(db_url, project, "upgrade", "--lock-timeout", "30")
    finally:
        committer.join()
        other.close()
    assert code == 0, err
    assert "keel: waiting: another process holds a write transaction" in err, err
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_status_while_another_process_writes_the_file_waits_as_long_as_lock_timeout(
    keel: Run, project: Project, db_url: str, held_write: sqlite3.Connection
) -> None:
    _applied_v1(keel, project)
    # EXCLUSIVE: what a migration holds once its changes outgrow the page cache, or while
    # it commits; readers wait for it.
    held_write.execute("BEGIN EXCLUSIVE")
    held_write.execute("INSERT INTO t VALUES (42)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env["KEEL_LOCK_TIMEOUT"] = "1.5"
    start = time.monotonic()
    proc = subprocess.run(
        [
            *_keel_argv(db_url, project),
            "status",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    took = time.monotonic() - start
    assert proc.returncode == 3, proc.stderr
    assert took < 15, took
    assert "keel: waiting: another process holds a write transaction" in proc.stderr
    assert "keel status" not in proc.stderr
    assert "Traceback" not in proc.stderr


def _keel_argv(url: str, project: Project) -> list[str]:
    import sys

    return [sys.executable, "-m", "sqlkeel", "--url", url, "--dir", str(project.migrations)]


# -- 2.16b: a full disk ---------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of the test's own (the test runs as root), unmounted afterwards."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test: {done.stderr}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave_kib: int) -> None:
    """Fill the disk up to ``leave_kib`` KiB of free space."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave_kib * 1024))


@pytest.mark.parametrize(
    "leave_kib", [0, 4, 12, 40], ids=["nothing", "one-page", "a-little", "some"]
)
def test_a_full_disk_during_an_sqlite_upgrade_is_one_paragraph_and_the_database_is_intact(
    keel_cli: Run, project: Project, small_disk: Path, leave_kib: int
) -> None:
    url = f"sqlite:///{small_disk / 'app.db'}"
    project.write("V1__t.sql", "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\n")
    args = ("--url", url, "--dir", str(project.migrations))
    ok(keel_cli("upgrade", *args, cwd=project.root))
    before = _rows(small_disk / "app.db")
    project.write(
        "V2__big.sql",
        "CREATE TABLE big (b BLOB);\n"
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20)\n"
        "INSERT INTO big SELECT randomblob(2000) FROM c;\n",
    )
    _fill(small_disk, leave_kib)
    out = keel_cli("upgrade", *args, cwd=project.root)
    assert out.exit_code == 1, out
    assert "Traceback" not in out.stdout + out.stderr
    assert "unexpected" not in out.stderr
    assert out.stderr.startswith("keel: error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "the disk is full" in out.stderr, out.stderr
    assert str(small_disk) in out.stderr
    assert "Fix the statement" not in out.stderr
    (small_disk / "filler").unlink()
    assert _rows(small_disk / "app.db") == before
    with closing(sqlite3.connect(small_disk / "app.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM t").fetchall() == [(1,)]
    ok(keel_cli("upgrade", *args, cwd=project.root))


def _rows(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT * FROM keel_history ORDER BY id").fetchall()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_wait_fails_at_once_when_another_process_writes_the_file(
    keel: Run, project: Project, held_write: sqlite3.Connection
) -> None:
    _applied_v1(keel, project)
    held_write.execute("BEGIN IMMEDIATE")
    held_write.execute("INSERT INTO t VALUES (42)")
    start = time.monotonic()
    out = keel("upgrade", "--no-wait")
    assert time.monotonic() - start < 5
    assert out.exit_code == 3, out
    assert "another process holds a write transaction" in out.stderr
    assert "--no-wait was given" in out.stderr
    assert [r["version"] for r in history_rows(keel)] == ["1"]
