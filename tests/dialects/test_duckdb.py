"""DuckDB's own promises, beyond the conformance suite: a COMMIT after a failed statement,
a file that another process has open, schemas, statements refused in a transaction."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import keel_process
from sqlkeel import Keel
from sqlkeel.dialects import dialect_for
from sqlkeel.dialects.base import Dialect
from sqlkeel.errors import DatabaseBusy, MigrationFailed
from sqlkeel.urls import parse_url


def make(url: str, **settings: object) -> Dialect:
    options: dict[str, object] = {"table": "keel_history", "schema": None, **settings}
    return dialect_for(parse_url(url), **options)  # type: ignore[arg-type]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'app.duckdb'}"


def test_commit_after_a_failed_statement_raises_instead_of_reporting_success(url: str) -> None:
    # DuckDB itself answers such a COMMIT as if it had committed, having rolled back.
    dialect = make(url)
    session = dialect.connect()
    try:
        session.begin()
        session.execute("CREATE TABLE t (id int)")
        with pytest.raises(dialect.error_types):
            session.execute("INSERT INTO no_such_table VALUES (1)")
        with pytest.raises(dialect.error_types, match="rolled back, not committed"):
            session.commit()
        session.rollback()  # as keel does after a failed COMMIT: harmless
        assert dialect.relation_kind(session, "t") is None
        # The session is usable again, and a clean transaction commits.
        session.begin()
        session.execute("CREATE TABLE t (id int)")
        session.commit()
        assert dialect.relation_kind(session, "t") == "table"
    finally:
        session.close()


def _hold_open(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that has the database file open for ``seconds``."""
    code = textwrap.dedent(f"""
        import time, duckdb
        conn = duckdb.connect({str(path)!r})
        print("open", flush=True)
        time.sleep({seconds})
        conn.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "open\n"
    return proc


def test_a_file_open_in_another_process_is_waited_for_saying_so_once(
    url: str, tmp_path: Path
) -> None:
    heard: list[str] = []
    dialect = make(url, busy_timeout=30, on_busy=heard.append)
    dialect.connect().close()  # the file exists
    other = _hold_open(tmp_path / "app.duckdb", 1.5)
    try:
        started = time.monotonic()
        session = dialect.connect()
        waited = time.monotonic() - started
        session.close()
    finally:
        other.wait(timeout=30)
    assert 0.5 < waited < 20
    assert len(heard) == 1 and "another process has the DuckDB database" in heard[0]
    assert "waiting up to 30 s (lock_timeout)" in heard[0]


def test_a_file_open_in_another_process_for_too_long_is_exit_3(url: str, tmp_path: Path) -> None:
    dialect = make(url, busy_timeout=0.5)
    dialect.connect().close()
    other = _hold_open(tmp_path / "app.duckdb", 30)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseBusy) as info:
            dialect.connect()
        assert 0.5 <= time.monotonic() - started < 10
    finally:
        other.kill()
        other.wait(timeout=10)
    assert info.value.exit_code == 3
    assert "keel waited 0.5 s (lock_timeout)" in str(info.value)
    assert "raise --lock-timeout" in str(info.value)


def test_no_wait_refuses_at_once_a_file_open_in_another_process(url: str, tmp_path: Path) -> None:
    dialect = make(url, busy_timeout=30)
    dialect.connect().close()
    other = _hold_open(tmp_path / "app.duckdb", 30)
    try:
        started = time.monotonic()
        with (
            pytest.raises(DatabaseBusy, match="--no-wait was given"),
            dialect.session_lock(dialect.connect, timeout=30, wait=False, on_wait=None),
        ):
            pass
        assert time.monotonic() - started < 5
    finally:
        other.kill()
        other.wait(timeout=10)
    assert dialect.lock_holder() is None  # the lock was let go


def test_keels_tables_live_in_the_configured_schema(url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__t.sql").write_text("CREATE TABLE t (id int);\n")
    with Keel(url, migrations, schema="deploy", cwd=tmp_path) as keel:
        keel.upgrade()
        assert [row.label for row in keel.history().rows] == ["1"]
        session = keel.dialect.connect()
        try:
            rows = session.query(
                "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY table_name"
            )
        finally:
            session.close()
    assert rows == [("deploy", "keel_history"), ("deploy", "keel_log"), ("main", "t")]


def test_a_statement_refused_in_a_transaction_names_transaction_off(
    url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__t.sql").write_text("CREATE TABLE t (id int);\nCHECKPOINT;\n")
    with Keel(url, migrations, cwd=tmp_path) as keel, pytest.raises(MigrationFailed) as info:
        keel.upgrade()
    assert "transaction=off" in str(info.value) and info.value.line == 2
    (migrations / "V1__t.sql").write_text(
        "-- keel: transaction=off\nCREATE TABLE t (id int);\nCHECKPOINT;\n"
    )
    with Keel(url, migrations, cwd=tmp_path) as keel:
        keel.upgrade()
        assert [row.label for row in keel.history().rows] == ["1"]


def test_relative_and_absolute_urls_name_the_file(tmp_path: Path) -> None:
    relative = parse_url("duckdb:///data/app.duckdb", base_dir=tmp_path)
    assert relative.database == str(tmp_path / "data" / "app.duckdb")
    assert parse_url("duckdb:////srv/app.duckdb").database == "/srv/app.duckdb"


def test_keel_help_does_not_import_the_driver() -> None:
    code = textwrap.dedent("""
        import sys
        from sqlkeel.cli.app import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        print("duckdb" in sys.modules, file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stderr.strip().endswith("False"), done.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_interrupts_the_running_statement_and_records_nothing(
    url: str, tmp_path: Path, signum: int
) -> None:
    # The driver keeps the main thread until a statement ends: without the interrupting
    # thread, keel would end only after this 30 s statement.
    from sqlkeel.testing import harness_of

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    slow = harness_of(url).slow_statement(30)
    (migrations / "V1__slow.sql").write_text(f"CREATE TABLE t (id int);\n{slow}\n")
    proc = keel_process(url, migrations, "upgrade")
    lock_file = tmp_path / "app.duckdb.keel-lock"
    deadline = time.monotonic() + 30
    while not (lock_file.exists() and lock_file.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(1.0)  # inside the slow statement
    started = time.monotonic()
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, err
    assert time.monotonic() - started < 5
    assert "keel: interrupted" in err and "Traceback" not in err, err
    with Keel(url, migrations, cwd=tmp_path) as keel:
        assert keel.history().rows == ()
        session = keel.dialect.connect()
        try:
            assert keel.dialect.relation_kind(session, "t") is None
        finally:
            session.close()


def test_an_error_names_its_line_without_duckdbs_guess_at_a_catalog_view(url: str) -> None:
    from sqlkeel.core.splitter import split_statements

    dialect = make(url)
    session = dialect.connect()
    try:
        text = "SELECT 1;\nSELECT *\n  FROM orders;\n"
        statement = split_statements(text, dialect.split_options)[1]
        with pytest.raises(dialect.error_types) as info:
            session.execute(statement.sql)
        message, line = dialect.describe_error(info.value, statement)
    finally:
        session.close()
    assert "Did you mean" in str(info.value)  # DuckDB's guess: one of its catalog views
    assert message == "Catalog Error: Table with name orders does not exist"
    assert line == 3


def test_no_wait_in_table_mode_refuses_at_once_a_file_open_in_another_process(
    url: str, tmp_path: Path
) -> None:
    """Table mode keeps --no-wait as session mode does: the file is not waited for."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__t.sql").write_text("CREATE TABLE t (id int);\n")
    make(url).connect().close()
    other = _hold_open(tmp_path / "app.duckdb", 30)
    try:
        started = time.monotonic()
        with (
            Keel(url, migrations, lock_mode="table", lock_timeout=30, cwd=tmp_path) as keel,
            pytest.raises(DatabaseBusy, match="--no-wait was given"),
        ):
            keel.upgrade(wait=False)
        assert time.monotonic() - started < 5
    finally:
        other.kill()
        other.wait(timeout=10)


def test_an_applications_own_signal_handler_does_not_stop_a_migration(
    url: str, tmp_path: Path
) -> None:
    """Only the signals that end keel's run interrupt the running statement."""
    code = textwrap.dedent(f"""
        import os, signal, threading
        from sqlkeel import Keel
        signal.signal(signal.SIGUSR1, lambda *_: None)
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with Keel({url!r}, {str(tmp_path / "migrations")!r}, cwd={str(tmp_path)!r}) as keel:
            print(len(keel.upgrade().applied))
    """)
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    from sqlkeel.dialects import entry_for
    from sqlkeel.dialects.duckdb.harness import Harness

    slow = Harness(entry_for("duckdb")).slow_statement(2)  # type: ignore[arg-type]
    (migrations / "V1__slow.sql").write_text(slow + "\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
