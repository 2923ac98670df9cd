"""The dialect conformance suite: every dialect, against its real database, keeps the
promises the shared code relies on. A new dialect joins by joining ``db_url``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import holding_lock
from sqlkeel.core.classify import classify_all
from sqlkeel.core.model import Kind, Mode, State
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.plan import step_mode
from sqlkeel.core.splitter import split_statements
from sqlkeel.dialects import dialect_for
from sqlkeel.dialects.base import Dialect
from sqlkeel.errors import LockTimeout
from sqlkeel.history import Entry, HistoryStore
from sqlkeel.urls import parse_url


def make(url: str) -> Dialect:
    return dialect_for(parse_url(url), table="keel_history", schema=None)


def test_the_lock_is_exclusive_across_connections(db_url: str) -> None:
    first, second = make(db_url), make(db_url)
    with holding_lock(first):
        holder = second.lock_holder()
        # SQLite and PostgreSQL name the holding keel (host, pid); MySQL names the holding
        # connection (id, user, client address), as its process list shows it.
        names = {"sqlite": "pid", "postgresql": "pid", "mysql": "MySQL connection"}
        assert holder is not None and names[first.name] in str(holder)
        with (
            pytest.raises(LockTimeout) as info,
            holding_lock(second),
        ):
            pass
        assert info.value.exit_code == 3
    assert second.lock_holder() is None
    with holding_lock(second):
        pass


def test_a_waiter_hears_the_holder_and_times_out(db_url: str) -> None:
    heard = []
    with holding_lock(make(db_url)):
        started = time.monotonic()
        with (
            pytest.raises(LockTimeout, match=r"not acquired within 0\.3 s"),
            holding_lock(make(db_url), timeout=0.3, wait=True, on_wait=heard.append),
        ):
            pass
        assert 0.3 <= time.monotonic() - started < 5
    assert len(heard) == 1 and heard[0] is not None


def test_the_lock_dies_with_its_holder_process(db_url: str) -> None:
    code = textwrap.dedent(f"""
        import sys, time
        from sqlkeel.dialects import dialect_for
        from sqlkeel.urls import parse_url
        d = dialect_for(parse_url({db_url!r}), table="keel_history", schema=None)
        with d.session_lock(d.connect, timeout=0, wait=False, on_wait=None):
            print("held", flush=True)
            time.sleep(60)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert make(db_url).lock_holder() is not None
    finally:
        holder.kill()
        holder.wait(timeout=10)
    deadline = time.monotonic() + 10
    while make(db_url).lock_holder() is not None:
        assert time.monotonic() < deadline, "the lock outlived its holder"
        time.sleep(0.05)
    with holding_lock(make(db_url), timeout=5, wait=True, on_wait=None):
        pass


def test_history_rows_round_trip(db_url: str) -> None:
    dialect = make(db_url)
    conn = dialect.connect()
    store = HistoryStore(dialect, conn)
    assert not store.exists() and store.read() == ()
    store.ensure()
    store.ensure()  # idempotent: an existing layout is left as it is
    file = parse_migration(
        "sub/V2.10__add_users.sql",
        "CREATE TABLE users (id int);\n-- rollback\nDROP TABLE users;\n",
        dialect.split_options,
    )
    other = parse_migration(
        "V2.11__more.sql", "CREATE TABLE more (id int);\n", dialect.split_options
    )
    at = datetime(2026, 11, 25, 14, 30, 22, 123456, tzinfo=timezone.utc)
    store.insert(Entry(file, at, "ada@build", 42))
    store.insert(
        Entry(other, at, "ada@build", 7),
        state=State.FAILED,
        failed_statement=3,
        failed_line=12,
        error='relation "x" does not exist',
    )
    first, second = store.read()
    assert first.id < second.id
    assert (str(first.version), first.description, first.script, first.kind) == (
        "2.10",
        "add_users",
        "sub/V2.10__add_users.sql",
        Kind.VERSIONED,
    )
    assert (first.checksum, first.rollback_checksum) == (file.checksum, file.rollback_checksum)
    assert (first.applied_at, first.applied_by, first.execution_ms) == (at, "ada@build", 42)
    assert (first.state, first.failed_statement, first.error) == (State.APPLIED, None, None)
    assert (second.state, second.failed_statement, second.failed_line, second.error) == (
        State.FAILED,
        3,
        12,
        'relation "x" does not exist',
    )
    store.append_log(
        action="upgrade",
        at=at,
        by="ada@build",
        outcome="success",
        duration_ms=5,
        version="2.10",
        script=file.path,
        detail="ok",
    )
    (entry,) = store.read_log()
    assert (entry.action, entry.version, entry.at, entry.by, entry.outcome) == (
        "upgrade",
        "2.10",
        at,
        "ada@build",
        "success",
    )
    dialect.close(conn)


def test_a_second_history_row_for_one_version_is_refused_by_the_database(db_url: str) -> None:
    """The unique key on the version: the lock's last line of defence."""
    dialect = make(db_url)
    conn = dialect.connect()
    try:
        store = HistoryStore(dialect, conn)
        store.ensure()
        file = parse_migration("V7__x.sql", "CREATE TABLE x (id int);\n", dialect.split_options)
        at = datetime(2026, 11, 25, tzinfo=timezone.utc)
        store.insert(Entry(file, at, "ada@build", 1))
        with pytest.raises(dialect.error_types):
            store.insert(Entry(file, at, "bob@build", 1), state=State.FAILED)
        assert [str(r.version) for r in store.read()] == ["7"]
    finally:
        dialect.close(conn)


def test_a_rolled_back_transaction_leaves_nothing(db_url: str) -> None:
    dialect = make(db_url)
    conn = dialect.connect()
    store = HistoryStore(dialect, conn)
    store.ensure()
    file = parse_migration("V1__t.sql", "CREATE TABLE t (id int);\n", dialect.split_options)
    dialect.begin(conn)
    dialect.execute(conn, "CREATE TABLE t (id int)")
    store.insert(Entry(file, datetime.now(timezone.utc), "me", 1))
    dialect.rollback(conn)
    # Where DDL commits implicitly (MySQL) the table stays, and so does the history row the
    # CREATE committed with it: keel runs such a migration statement by statement instead.
    assert dialect.table_exists(conn, "t") is not dialect.transactional_ddl
    assert len(store.read()) == (0 if dialect.transactional_ddl else 1)
    dialect.close(conn)


def test_a_rolled_back_transaction_of_dml_leaves_nothing(db_url: str) -> None:
    dialect = make(db_url)
    conn = dialect.connect()
    store = HistoryStore(dialect, conn)
    store.ensure()
    dialect.execute(conn, "CREATE TABLE t (id int)")
    statements = ["INSERT INTO t (id) VALUES (1)", "UPDATE t SET id = 2", "DELETE FROM t"]
    file = parse_migration("V1__t.sql", "INSERT INTO t (id) VALUES (1);\n", dialect.split_options)
    # Every dialect plans a migration of DML alone in a transaction.
    classes = classify_all(statements, dialect.split_options)
    assert step_mode(file, dialect.transaction_support, classes) is Mode.TRANSACTION
    dialect.begin(conn)
    dialect.execute(conn, statements[0])
    store.insert(Entry(file, datetime.now(timezone.utc), "me", 1))
    dialect.rollback(conn)
    assert dialect.query(conn, "SELECT id FROM t") == []
    assert store.read() == ()
    dialect.close(conn)


def test_special_characters_reach_the_database_untouched(db_url: str) -> None:
    dialect = make(db_url)
    conn = dialect.connect()
    literal = r"100% :name ? %s %(x)s \n \ $1"
    quoted = literal.replace("'", "''")
    if dialect.split_options.backslash_escapes:  # MySQL: a backslash in a literal escapes
        quoted = quoted.replace("\\", "\\\\")
    sql = "SELECT '" + quoted + "'"
    dialect.execute(conn, "CREATE TABLE t (v text)")
    dialect.execute(conn, "INSERT INTO t (v) " + sql)
    assert dialect.query(conn, "SELECT v FROM t") == [(literal,)]
    dialect.close(conn)


def test_error_positions_map_to_the_file_line(db_url: str) -> None:
    dialect = make(db_url)
    conn = dialect.connect()
    text = "SELECT 1;\n\nSELECT *\n  FROM t\n WHERE oops oops;\n"
    statement = split_statements(text, dialect.split_options)[1]
    with pytest.raises(dialect.error_types) as info:
        dialect.execute(conn, statement.sql)
    message, line = dialect.describe_error(info.value, statement)
    assert message
    # PostgreSQL reports the character position and MySQL the line within the statement,
    # so the exact line; SQLite reports neither, so the statement's first line.
    assert line == (3 if dialect.name == "sqlite" else 5)
    dialect.close(conn)


def test_connecting_to_a_missing_sqlite_directory_is_a_clear_error(tmp_path: Path) -> None:
    from sqlkeel.errors import ConnectionFailed

    with pytest.raises(ConnectionFailed, match="does not exist"):
        make(f"sqlite:///{tmp_path / 'nope' / 'x.db'}").connect()


def test_reading_keels_tables_leaves_the_connections_settings_as_they_were(tmp_path: Path) -> None:
    # The history is read through a small page cache (10 000 rows would fill SQLite's
    # default one); the migrations that follow run with the connection's own setting.
    dialect = make(f"sqlite:///{tmp_path / 'a.db'}")
    conn = dialect.connect()
    before = dialect.query(conn, "PRAGMA cache_size")
    store = HistoryStore(dialect, conn)
    store.ensure()
    assert store.read() == ()
    assert dialect.query(conn, "PRAGMA cache_size") == before
    dialect.close(conn)
