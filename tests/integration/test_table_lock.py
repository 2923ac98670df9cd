"""Table lock mode (SPEC 10): a lease row in keel_lock, with heartbeat, takeover of a dead
holder's lease, keel unlock, and PgBouncer in transaction pooling mode in front of the
local PostgreSQL. Real processes against real databases."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import SERVERS, Database, Pooler, Project, Run, families, keel_process, ok
from sqlkeel import Keel
from sqlkeel.testing import DialectHarness, harness_of

pytestmark = pytest.mark.slow

LEASE = 2.0  # seconds: small, so that a dead holder's lease goes stale quickly
TABLE = ("--lock-mode", "table", "--lock-lease", str(LEASE))


def write_counted(
    migrations: Path, harness: DialectHarness, count: int, seconds: float = 0.0
) -> None:
    """Migrations 1..count, each adding one row to counter (a second run adds a second):
    DML only, so that they run in a transaction on MySQL too."""
    for n in range(1, count + 1):
        body = f"INSERT INTO counter (version) VALUES ({n});\n"
        if seconds:
            body += harness.slow_statement(seconds) + "\n"
        (migrations / f"V{n}__step_{n}.sql").write_text(
            f"-- upgrade\n{body}-- rollback\nDELETE FROM counter WHERE version = {n};\n",
            encoding="utf-8",
        )


def counter(db: Database) -> list[int]:
    return sorted(int(str(r[0])) for r in db.query("SELECT version FROM counter"))


def lease_rows(db: Database) -> list[tuple[object, ...]]:
    return db.query("SELECT owner FROM keel_lock")


def log_rows(db: Database, action: str) -> list[str]:
    return [str(r[0]) for r in db.query(f"SELECT detail FROM keel_log WHERE action = '{action}'")]


@pytest.fixture
def migrations(project: Project) -> Path:
    """The folder the ``keel`` fixture runs on."""
    return project.migrations


@pytest.fixture
def counted(db: Database) -> Database:
    db.query("CREATE TABLE counter (version integer NOT NULL)")
    return db


def start(url: str, migrations: Path, *args: str) -> subprocess.Popen[str]:
    return keel_process(url, migrations, *args, *TABLE)


def wait_for_lease(db: Database, proc: subprocess.Popen[str], *, applied: int = 0) -> None:
    """Until ``proc`` holds the lease and (with ``applied``) has that many migrations in."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            held = bool(lease_rows(db))
            done = len(counter(db)) >= applied if applied else True
        except Exception:  # the tables are not there yet
            held = done = False
        if held and done:
            return
        time.sleep(0.05)
    raise AssertionError("the keel process never took the lease")


@contextmanager
def lease_held(url: str, migrations: Path) -> Iterator[Keel]:
    """This test process holds the lease, as a running keel does (heartbeat included)."""
    keel = Keel(url=url, migrations_dir=migrations, lock_mode="table", lock_lease=LEASE)
    try:
        with keel.locker.hold(keel._connection, timeout=0, wait=False, on_wait=None):
            yield keel
    finally:
        keel.close()


# Families whose database another process can read while a run holds the lease (on the
# others, a waiting run waits for the file itself: the fault suite's kills cover them).
SHARED = families(lambda h: h.shared_between_processes)
# The PgBouncer tests: a pooler of PostgreSQL's wire protocol.
POSTGRES = harness_of("postgresql:")


# -- on every dialect ------------------------------------------------------------------


def test_table_mode_applies_and_rolls_back_and_leaves_no_lease_behind(
    keel: Run, counted: Database, migrations: Path
) -> None:
    write_counted(migrations, harness_of(counted.url), 3)
    out = ok(keel("upgrade", *TABLE))
    assert out.stdout.count("applied ") == 3
    assert counter(counted) == [1, 2, 3]
    assert lease_rows(counted) == []  # deleted on exit
    ok(keel("rollback", "--count", "2", *TABLE))
    assert counter(counted) == [1]
    assert lease_rows(counted) == []


def test_a_live_lease_makes_no_wait_exit_3_at_once_naming_its_holder(
    keel: Run, counted: Database, migrations: Path
) -> None:
    write_counted(migrations, harness_of(counted.url), 1)
    with lease_held(counted.url, migrations):
        began = time.monotonic()
        out = keel("upgrade", "--no-wait", *TABLE)
        took = time.monotonic() - began
        # Renewed by the heartbeat: still held well after the lease would have run out.
        time.sleep(LEASE * 1.5)
        later = keel("upgrade", "--no-wait", *TABLE)
    assert out.exit_code == 3, out.stderr
    assert took < LEASE
    assert f"pid {os.getpid()}" in out.stderr and "--no-wait" in out.stderr
    assert "Traceback" not in out.stderr
    assert later.exit_code == 3, later.stderr
    assert counter(counted) == []
    ok(keel("upgrade", *TABLE))  # released on exit
    assert counter(counted) == [1]


def test_a_live_lease_is_waited_for_up_to_lock_timeout_then_exit_3(
    keel: Run, counted: Database, migrations: Path
) -> None:
    write_counted(migrations, harness_of(counted.url), 1)
    with lease_held(counted.url, migrations):
        began = time.monotonic()
        out = keel("upgrade", "--lock-timeout", "3", *TABLE)
        took = time.monotonic() - began
    assert out.exit_code == 3, out.stderr
    assert 3 <= took < 10
    assert "waiting for the migration lock" in out.stderr
    assert "not acquired within 3 s" in out.stderr and f"pid {os.getpid()}" in out.stderr
    assert counter(counted) == []


@SHARED  # the test reads the lease while another process holds it
def test_a_killed_holders_lease_is_taken_over_after_lock_lease_and_logged(
    counted: Database, migrations: Path
) -> None:
    url = counted.url
    write_counted(migrations, harness_of(url), 3, seconds=1.0)
    victim = start(url, migrations, "upgrade")
    wait_for_lease(counted, victim, applied=1)
    victim.kill()  # SIGKILL: no chance to delete its lease
    victim.wait()
    assert lease_rows(counted), "the killed holder's lease should still be there"
    began = time.monotonic()
    second = start(url, migrations, "upgrade", "--lock-timeout", "30")
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert time.monotonic() - began >= LEASE * 0.5  # it waited for the lease to go stale
    assert "took over the migration lock's lease" in err
    assert f"pid {victim.pid}" in err
    assert counter(counted) == [1, 2, 3]  # nothing ran twice, nothing was lost
    takeovers = log_rows(counted, "lock-takeover")
    assert len(takeovers) == 1 and f"pid {victim.pid}" in takeovers[0], takeovers
    assert lease_rows(counted) == []


@SHARED  # the test reads the lease while another process holds it
def test_a_migration_longer_than_the_lease_keeps_its_lease_from_a_waiting_run(
    counted: Database, migrations: Path
) -> None:
    """A live holder's lease is never taken over, even while one migration runs for more
    than twice the lease (on SQLite, where the heartbeat waits for that migration's write
    lock, the fence renews it before the commit)."""
    url = counted.url
    harness = harness_of(url)
    write_counted(migrations, harness, 2)
    (migrations / "V1__step_1.sql").write_text(
        "-- upgrade\nINSERT INTO counter (version) VALUES (1);\n"
        + harness.slow_statement(LEASE * 2.5)
        + "\n-- rollback\nDELETE FROM counter WHERE version = 1;\n",
        encoding="utf-8",
    )
    holder = start(url, migrations, "upgrade")
    wait_for_lease(counted, holder)
    waiter = start(url, migrations, "upgrade", "--lock-timeout", "60")
    out, err = holder.communicate(timeout=90)
    waiter_out, waiter_err = waiter.communicate(timeout=90)
    assert holder.returncode == 0, err
    assert waiter.returncode == 0, waiter_err
    assert "took over" not in waiter_err
    assert out.count("applied ") == 2 and waiter_out.count("applied ") == 0
    assert counter(counted) == [1, 2]
    assert log_rows(counted, "lock-takeover") == []


def test_a_migration_whose_lease_is_gone_at_its_fence_is_rolled_back_and_keel_stops(
    keel: Run, counted: Database, migrations: Path
) -> None:
    """The fence inside each migration's transaction (on PostgreSQL inside the migration
    sent whole): a migration that takes the lease away, as a takeover would, is not
    recorded, and keel stops with exit 3 naming it."""
    write_counted(migrations, harness_of(counted.url), 3)
    (migrations / "V2__step_2.sql").write_text(
        "-- upgrade\nINSERT INTO counter (version) VALUES (2);\n"
        "UPDATE keel_lock SET token = 'stolen', owner = 'another run';\n"
        "-- rollback\nDELETE FROM counter WHERE version = 2;\n",
        encoding="utf-8",
    )
    out = keel("upgrade", *TABLE)
    assert out.exit_code == 3, (out.stdout, out.stderr)
    assert "V2__step_2.sql" in out.stderr and "lease" in out.stderr
    assert "Traceback" not in out.stderr and out.stderr.count("keel: error:") == 1
    assert counter(counted) == [1]  # V2 was rolled back, V3 never ran
    history = counted.query("SELECT version FROM keel_history ORDER BY id")
    assert [int(str(v)) for (v,) in history] == [1]
    assert lease_rows(counted) == []


@SERVERS
def test_a_holder_paused_longer_than_the_lease_stops_with_exit_3_before_its_next_migration(
    counted: Database, migrations: Path
) -> None:
    """SIGSTOP a holder for longer than the lease: another run takes the lease over and
    applies the rest; the holder, resumed, stops with exit 3 saying why, and nothing ran
    twice. (On SQLite a holder paused inside its write transaction keeps every writer out,
    the takeover included, so the pause cannot be timed there.)"""
    url = counted.url
    write_counted(migrations, harness_of(url), 6, seconds=0.5)
    holder = start(url, migrations, "upgrade")
    wait_for_lease(counted, holder, applied=1)
    holder.send_signal(signal.SIGSTOP)
    try:
        taker = start(url, migrations, "upgrade", "--lock-timeout", "30")
        _taker_out, taker_err = taker.communicate(timeout=60)
    finally:
        holder.send_signal(signal.SIGCONT)
    out, err = holder.communicate(timeout=60)
    assert taker.returncode == 0, taker_err
    assert "took over" in taker_err
    assert holder.returncode == 3, (out, err)
    assert "lease" in err and "taken over" in err and "lock_lease" in err, err
    assert "Traceback" not in err and err.count("keel: error:") == 1
    assert counter(counted) == [1, 2, 3, 4, 5, 6]
    history = counted.query("SELECT version FROM keel_history ORDER BY id")
    assert sorted(int(str(v)) for (v,) in history) == [1, 2, 3, 4, 5, 6]


@SHARED  # the test reads the lease while another process holds it
def test_unlock_deletes_a_stale_lease_refuses_a_fresh_one_and_forces_with_a_log_row(
    keel: Run, counted: Database, migrations: Path
) -> None:
    url = counted.url
    write_counted(migrations, harness_of(url), 2, seconds=1.0)
    # A fresh lease: refused, exit 3, naming the holder and the heartbeat's age.
    live = start(url, migrations, "upgrade")
    wait_for_lease(counted, live)
    refused = keel("unlock", *TABLE)
    assert refused.exit_code == 3, refused.stderr
    assert f"pid {live.pid}" in refused.stderr and "heartbeat" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    status = ok(keel("lock-status", "--json", *TABLE))
    held = json.loads(status.stdout)
    assert held["mode"] == "table" and held["held"] and f"pid {live.pid}" in held["holder"]
    assert "last heartbeat" in held["holder"]
    live.kill()
    live.wait()
    # Stale once lock_lease has passed without a heartbeat: deleted, with a log row.
    time.sleep(LEASE + 0.5)
    stale = ok(keel("unlock", *TABLE))
    assert "Deleted the stale lease" in stale.stdout and f"pid {live.pid}" in stale.stdout
    assert lease_rows(counted) == []
    assert any(f"pid {live.pid}" in d for d in log_rows(counted, "unlock"))
    assert "no run holds the lease" in ok(keel("unlock", *TABLE)).stdout
    # --force deletes a fresh one.
    with lease_held(url, migrations):
        forced = ok(keel("unlock", "--force", *TABLE))
        assert "(--force)" in forced.stdout and f"pid {os.getpid()}" in forced.stdout
        assert lease_rows(counted) == []
    assert len(log_rows(counted, "unlock")) == 2


def test_unlock_in_session_mode_explains_that_nothing_needs_unlocking(
    keel: Run, counted: Database
) -> None:
    out = ok(keel("unlock"))
    assert "Nothing to unlock: the session lock is released by the database" in out.stdout


def test_lock_lease_comes_from_the_environment_and_a_bad_value_is_one_paragraph(
    keel_cli: Run, counted: Database, migrations: Path
) -> None:
    args = ("--url", counted.url, "--dir", str(migrations), "lock-status")
    out = ok(keel_cli(*args, "-v", env={"KEEL_LOCK_MODE": "table", "KEEL_LOCK_LEASE": "7"}))
    assert "lock_mode table, lock_lease 7 s" in out.stderr
    bad = keel_cli(*args, env={"KEEL_LOCK_MODE": "table", "KEEL_LOCK_LEASE": "0.1"})
    assert bad.exit_code == 2
    assert "lock_lease from environment variable KEEL_LOCK_LEASE" in bad.stderr
    assert "from 1 to 86400" in bad.stderr and "Traceback" not in bad.stderr
    huge = keel_cli(*args, env={"KEEL_LOCK_MODE": "table", "KEEL_LOCK_LEASE": "1e11"})
    assert huge.exit_code == 2 and "from 1 to 86400" in huge.stderr, huge.stderr


# -- PgBouncer in transaction pooling mode -----------------------------------------------


@pytest.fixture
def pooled(pg_url: str, pgbouncer: Pooler) -> Database:
    """A fresh PostgreSQL database, reached through PgBouncer (counter table made)."""
    Database(pg_url).query("CREATE TABLE counter (version integer NOT NULL)")
    return Database(pgbouncer.url(pg_url))


def test_session_mode_through_pgbouncer_is_refused_with_exit_2_naming_table_mode(
    pooled: Database, migrations: Path
) -> None:
    write_counted(migrations, POSTGRES, 1)
    proc = keel_process(pooled.url, migrations, "upgrade")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert 'lock_mode = "table"' in err and "pooler" in err
    assert "Traceback" not in err and err.count("keel: error:") == 1
    assert counter(pooled) == []


@contextmanager
def tcp_proxy(port: int) -> Iterator[int]:
    """A plain TCP forwarder to 127.0.0.1:``port``, one server connection per client (as
    a NAT or an SSH tunnel): the server sees it, not keel, as its client."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                server = socket.create_connection(("127.0.0.1", port))
                threading.Thread(target=pump, args=(client, server), daemon=True).start()
                threading.Thread(target=pump, args=(server, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


def test_session_mode_through_a_plain_tcp_proxy_is_not_taken_for_a_pooler(
    pg_url: str, migrations: Path
) -> None:
    Database(pg_url).query("CREATE TABLE counter (version integer NOT NULL)")
    write_counted(migrations, POSTGRES, 2)
    with tcp_proxy(5432) as port:
        url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
        assert url != pg_url
        proc = keel_process(url, migrations, "upgrade")
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.count("applied ") == 2
    assert counter(Database(pg_url)) == [1, 2]


def test_eight_concurrent_upgrades_through_pgbouncer_in_table_mode_apply_each_once(
    pooled: Database, migrations: Path
) -> None:
    write_counted(migrations, POSTGRES, 20)
    processes = [
        start(pooled.url, migrations, "upgrade", "--lock-timeout", "120") for _ in range(8)
    ]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0] * 8, [e for _o, e in outputs]
    assert all("Traceback" not in e for _o, e in outputs)
    assert counter(pooled) == list(range(1, 21))
    assert sum(o.count("applied ") for o, _e in outputs) == 20
    history = pooled.query("SELECT version FROM keel_history ORDER BY id")
    assert [int(str(v)) for (v,) in history] == list(range(1, 21))
    assert lease_rows(pooled) == []


def test_a_killed_holders_lease_is_taken_over_through_pgbouncer(
    pooled: Database, migrations: Path
) -> None:
    write_counted(migrations, POSTGRES, 3, seconds=1.0)
    victim = start(pooled.url, migrations, "upgrade")
    wait_for_lease(pooled, victim, applied=1)
    victim.kill()
    victim.wait()
    began = time.monotonic()
    second = start(pooled.url, migrations, "upgrade", "--lock-timeout", "30")
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert time.monotonic() - began >= LEASE * 0.5
    assert "took over" in err and f"pid {victim.pid}" in err
    assert counter(pooled) == [1, 2, 3]
    assert len(log_rows(pooled, "lock-takeover")) == 1


def test_keel_help_lists_unlock_force_and_the_lock_mode_options() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "sqlkeel", "unlock", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--force" in run.stdout and "--lock-mode" in run.stdout
    assert "lock_lease" in run.stdout


def test_the_api_unlock_returns_what_it_did_and_lock_status_names_the_lease(
    counted: Database, migrations: Path
) -> None:
    from sqlkeel import LockTimeout, UnlockResult

    url = counted.url
    assert Keel(url=url, migrations_dir=migrations).unlock() == UnlockResult("session")
    table = Keel(url=url, migrations_dir=migrations, lock_mode="table", lock_lease=LEASE)
    assert table.unlock() == UnlockResult("table")  # nothing held yet
    with lease_held(url, migrations):
        status = table.lock_status()
        assert status.mode == "table" and status.holder is not None
        assert f"pid {os.getpid()}" in status.holder.description
        assert "last heartbeat" in status.holder.description
        with pytest.raises(LockTimeout) as refused:
            table.unlock()
        assert refused.value.exit_code == 3 and refused.value.holder
        forced = table.unlock(force=True)
        assert forced.forced and f"pid {os.getpid()}" in str(forced.removed)
    assert table.lock_status().holder is None
    table.close()


@families(lambda h: h.shared_between_processes and h.capabilities.has_schemas)
def test_table_mode_creates_a_missing_schema_before_its_lease(
    keel_cli: Run, db_url: str, migrations: Path, harness: DialectHarness
) -> None:
    """The lock table lives beside keel's tables, in ``schema``, which a first run makes."""
    write_counted(migrations, harness, 1)
    (migrations / "V0.1__counter.sql").write_text("CREATE TABLE counter (version integer);\n")
    schema = f"keel_fresh_{os.getpid()}"
    args = ("--url", db_url, "--dir", str(migrations))
    try:
        out = ok(keel_cli(*args, "upgrade", *TABLE, env={"KEEL_SCHEMA": schema}))
        assert "Applied 2 migrations" in out.stdout, out.stdout
    finally:
        try:  # on MySQL the schema is a database beside the test's own
            harness.query(db_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        except Exception:
            harness.query(db_url, f"DROP SCHEMA IF EXISTS {schema}")


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # search_path, quoting
@pytest.mark.parametrize("schema", [None, "MyApp"])
def test_table_mode_on_postgresql_keeps_its_lease_beside_keels_tables(
    keel_cli: Run, db_url: str, migrations: Path, schema: str | None
) -> None:
    """A migration that empties search_path (as pg_dump's output does) moves neither keel's
    tables nor its lease; a mixed-case schema is quoted for both."""
    (migrations / "V1__dump.sql").write_text(
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE TABLE public.t1 (id integer);\n"
    )
    env = {"KEEL_SCHEMA": schema} if schema else {}
    args = ("--url", db_url, "--dir", str(migrations))
    out = ok(keel_cli(*args, "upgrade", *TABLE, env=env))
    assert "Applied 1 migration" in out.stdout
    where = '"MyApp"' if schema else "public"
    rows = Database(db_url).query(f"SELECT count(*) FROM {where}.keel_lock")
    assert rows == [(0,)]  # created there, and its lease deleted at the end


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite's reader locks
def test_no_wait_in_table_mode_does_not_mistake_a_reader_for_a_holder(
    keel: Run, counted: Database, migrations: Path
) -> None:
    """``--no-wait`` refuses a held lock at once, but a plain reader of the file (an
    application's open read transaction) is waited for as usual, as in session mode."""
    write_counted(migrations, harness_of(counted.url), 2)
    path = counted.url.removeprefix("sqlite:///")
    code = (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({path!r}, isolation_level=None)\n"
        "c.execute('BEGIN'); c.execute('SELECT * FROM sqlite_master').fetchall()\n"
        "print('reading', flush=True); time.sleep(2); c.execute('COMMIT')\n"
    )
    reader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline() == "reading\n"
        out = ok(keel("upgrade", "--no-wait", *TABLE))
        assert "Applied 2 migrations" in out.stdout
    finally:
        reader.wait(timeout=30)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # its CREATE SCHEMA races
def test_first_runs_starting_together_in_a_new_schema_all_succeed(
    db_url: str, migrations: Path
) -> None:
    """Replicas deploying at once to a schema that does not exist yet: each creates it if
    missing (CREATE SCHEMA IF NOT EXISTS, which races), none fails, all apply once. Three
    rounds of eight: the race is a matter of milliseconds."""
    (migrations / "V1__t.sql").write_text("CREATE TABLE t (id integer);\n")
    args = ["upgrade", "--lock-timeout", "60", *TABLE]
    for round_ in range(3):
        env = {**os.environ, "KEEL_SCHEMA": f"Fresh{round_}"}
        command = [sys.executable, "-m", "sqlkeel", "--url", db_url, "--dir", str(migrations)]
        procs = [
            subprocess.Popen(
                [*command, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(8)
        ]
        outcomes = [(p.wait(timeout=90), p.communicate()) for p in procs]
        assert all(code == 0 for code, _ in outcomes), outcomes
        rows = Database(db_url).query(f'SELECT version FROM "Fresh{round_}".keel_history')
        assert rows == [("1",)]
