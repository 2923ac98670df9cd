"""The dialect conformance suite: every family, against its real database, keeps the
promises keel's shared code relies on. It names no family: what differs is asked of the
``DialectHarness`` or of the dialect's ``Capabilities``.

Run it for a family by importing it into a test module (``from
sqlkeel.testing.conformance import *``) where two fixtures exist: ``harness``, the
family's ``DialectHarness``, and ``db_url``, a fresh database made by it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sqlkeel.core.classify import classify_all
from sqlkeel.core.model import Kind, Mode, State
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.plan import step_mode
from sqlkeel.core.splitter import split_statements
from sqlkeel.dialects import dialect_for
from sqlkeel.dialects.base import Dialect
from sqlkeel.errors import LockTimeout
from sqlkeel.history import Entry, HistoryStore
from sqlkeel.testing import DialectHarness, holding_lock
from sqlkeel.urls import parse_url


def make(url: str) -> Dialect:
    return dialect_for(parse_url(url), table="keel_history", schema=None)


def test_the_lock_is_exclusive_across_connections(harness: DialectHarness, db_url: str) -> None:
    first, second = make(db_url), make(db_url)
    with holding_lock(first):
        holder = second.lock_holder()
        assert holder is not None and harness.holder_mentions in str(holder)
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
    heard: list[object] = []
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
    session = dialect.connect()
    store = HistoryStore(session)
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
    session.close()


def test_a_second_history_row_for_one_version_is_refused_by_the_database(db_url: str) -> None:
    """The unique key on the version: the lock's last line of defence."""
    dialect = make(db_url)
    session = dialect.connect()
    try:
        store = HistoryStore(session)
        store.ensure()
        file = parse_migration("V7__x.sql", "CREATE TABLE x (id int);\n", dialect.split_options)
        at = datetime(2026, 11, 25, tzinfo=timezone.utc)
        store.insert(Entry(file, at, "ada@build", 1))
        with pytest.raises(dialect.error_types):
            store.insert(Entry(file, at, "bob@build", 1), state=State.FAILED)
        assert [str(r.version) for r in store.read()] == ["7"]
    finally:
        session.close()


def test_a_rolled_back_transaction_leaves_nothing(db_url: str) -> None:
    dialect = make(db_url)
    session = dialect.connect()
    store = HistoryStore(session)
    store.ensure()
    file = parse_migration("V1__t.sql", "CREATE TABLE t (id int);\n", dialect.split_options)
    session.begin()
    session.execute("CREATE TABLE t (id int)")
    store.insert(Entry(file, datetime.now(timezone.utc), "me", 1))
    session.rollback()
    # Where DDL commits implicitly (MySQL) the table stays, and so does the history row the
    # CREATE committed with it: keel runs such a migration statement by statement instead.
    assert (
        dialect.relation_kind(session, "t") == "table"
    ) is not dialect.capabilities.transactional_ddl
    assert len(store.read()) == (0 if dialect.capabilities.transactional_ddl else 1)
    session.close()


def test_a_rolled_back_transaction_of_dml_leaves_nothing(db_url: str) -> None:
    dialect = make(db_url)
    session = dialect.connect()
    store = HistoryStore(session)
    store.ensure()
    session.execute("CREATE TABLE t (id int)")
    statements = ["INSERT INTO t (id) VALUES (1)", "UPDATE t SET id = 2", "DELETE FROM t"]
    file = parse_migration("V1__t.sql", "INSERT INTO t (id) VALUES (1);\n", dialect.split_options)
    # Every dialect plans a migration of DML alone in a transaction.
    classes = classify_all(statements, dialect.split_options)
    assert step_mode(file, dialect.transaction_support, classes) is Mode.TRANSACTION
    session.begin()
    session.execute(statements[0])
    store.insert(Entry(file, datetime.now(timezone.utc), "me", 1))
    session.rollback()
    assert session.query("SELECT id FROM t") == []
    assert store.read() == ()
    session.close()


def test_special_characters_reach_the_database_untouched(db_url: str) -> None:
    dialect = make(db_url)
    session = dialect.connect()
    literal = r"100% :name ? %s %(x)s \n \ $1"
    quoted = literal.replace("'", "''")
    if dialect.split_options.backslash_escapes:  # MySQL: a backslash in a literal escapes
        quoted = quoted.replace("\\", "\\\\")
    sql = "SELECT '" + quoted + "'"
    session.execute("CREATE TABLE t (v text)")
    session.execute("INSERT INTO t (v) " + sql)
    assert session.query("SELECT v FROM t") == [(literal,)]
    session.close()


def test_error_positions_map_to_the_file_line(harness: DialectHarness, db_url: str) -> None:
    dialect = make(db_url)
    session = dialect.connect()
    text = "SELECT 1;\n\nSELECT *\n  FROM t\n WHERE oops oops;\n"
    statement = split_statements(text, dialect.split_options)[1]
    with pytest.raises(dialect.error_types) as info:
        session.execute(statement.sql)
    message, line = dialect.describe_error(info.value, statement)
    assert message
    # Where the database says where the error is (a character position, a line within the
    # statement), the exact line; else the statement's first line.
    assert line == (5 if harness.reports_error_position else 3)
    session.close()


def test_a_failed_migration_leaves_no_trace(db_url: str, tmp_path: Path) -> None:
    """Through the whole of keel: a migration whose second statement fails leaves neither
    its first statement's rows nor a history row (DML only, which every family's
    transactions undo); the one before it stays applied."""
    from sqlkeel import Keel
    from sqlkeel.errors import MigrationFailed

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__t.sql").write_text("CREATE TABLE t (id int);\n")
    (migrations / "V2__fill.sql").write_text(
        "INSERT INTO t (id) VALUES (1);\nINSERT INTO no_such_table (id) VALUES (2);\n"
    )
    with Keel(db_url, migrations, cwd=tmp_path) as keel, pytest.raises(MigrationFailed) as info:
        keel.upgrade()
    assert info.value.path == "V2__fill.sql" and info.value.line == 2
    with Keel(db_url, migrations, cwd=tmp_path) as keel:
        assert [row.label for row in keel.history().rows] == ["1"]
        session = keel.dialect.connect()
        try:
            assert session.query("SELECT count(*) FROM t") == [(0,)]
        finally:
            session.close()


def test_sessions_of_one_dialect_keep_their_own_transactions(db_url: str) -> None:
    """The dialect holds no connection's state: a transaction begun on one session is that
    session's, whatever another session of the same dialect does meanwhile."""
    dialect = make(db_url)
    setup = dialect.connect()
    setup.execute("CREATE TABLE t (id int)")
    setup.close()
    first, second = dialect.connect(), dialect.connect()
    try:
        first.begin()
        second.begin()
        first.execute("INSERT INTO t (id) VALUES (1)")
        first.rollback()
        second.execute("INSERT INTO t (id) VALUES (2)")
        second.commit()
        assert first.query("SELECT id FROM t") == [(2,)]
    finally:
        first.close()
        second.close()


def test_one_dialect_serves_sessions_on_several_threads(db_url: str) -> None:
    import threading

    dialect = make(db_url)
    setup = dialect.connect()
    setup.execute("CREATE TABLE t (id int)")
    setup.close()
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        session = dialect.connect()
        try:
            for i in range(10):
                session.begin()
                session.run(
                    f"INSERT INTO t (id) VALUES ({dialect.history_sql.param})", (offset + i,)
                )
                session.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=work, args=(n * 100,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    check = dialect.connect()
    try:
        assert check.query("SELECT count(*) FROM t") == [(20,)]
    finally:
        check.close()


__all__ = [name for name in dir() if name.startswith("test_")]
