"""DuckDB, through the ``duckdb`` package (extra ``duckdb``): an embedded database in one file.

Capabilities: transactional DDL and DML; PostgreSQL's lexical syntax (dollar quotes, E''
strings, nested block comments) and back-ticked identifiers; schemas (``schema`` names
where keel keeps its tables). keel's tables take their ids from a sequence (DuckDB has no
auto-increment) and keep their times as TIMESTAMP in UTC.
Lock: an exclusive ``flock`` on ``<database>.keel-lock`` beside the database file
(``sqlkeel.filelock``), as on SQLite. DuckDB itself lets only one process open a file for
writing (https://duckdb.org/docs/stable/connect/concurrency): a keel that finds the file
open in another process waits for it, as long as for the lock (lock_timeout), saying so
once, then ends with exit 3. Threads of one process share one open database.
Gaps: DuckDB's COMMIT of a transaction in which a statement failed rolls it back without an
error; keel's session remembers the failure and its COMMIT raises instead. The driver does
not return to Python while a statement runs, so a signal reaches it through a thread that
interrupts the statement (``_Interrupter``). ``:memory:`` databases live in one connection,
so they need no lock.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlkeel.core.splitter import SplitOptions, Statement
from sqlkeel.dialects.base import (
    Capabilities,
    Dialect,
    HistorySQL,
    Holder,
    LeaseSQL,
    LockWait,
    Session,
    wait_while_busy,
)
from sqlkeel.errors import ConfigError, ConnectionFailed, DatabaseBusy, DiskFull, KeelError
from sqlkeel.filelock import FileLock

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, ClassVar

# DuckDB's parser is PostgreSQL's: $tag$ bodies, E'..' strings and nesting /* */ comments
# (https://duckdb.org/docs/stable/sql/data_types/literal_types#dollar-quoted-string-literals,
# https://duckdb.org/docs/stable/sql/dialect/keywords_and_identifiers); DuckDB 2 reads
# `ident` as a quoted identifier too (before, a back-tick is no valid token, so reading it
# as a quote splits nothing a database would run). No BEGIN ... END bodies: macros are one
# expression.
DUCKDB = SplitOptions(
    dollar_quotes=True,
    escape_strings=True,
    nested_block_comments=True,
    backtick_identifiers=True,
)
# History rows handed on per driver call: few enough to keep no table's worth at once.
_ROWS_PER_BATCH = 256
# "LINE 3:  WHERE oops oops": where in the statement DuckDB found the error, from 1.
_ERROR_LINE = re.compile(r"\n\s*LINE (\d+):")
# DuckDB's messages for another process that has the file open ("Could not set lock on
# file ...: Conflicting lock is held in ... (PID n)").
_FILE_LOCKED = "Could not set lock on file"
# DuckDB's guess at a misspelt name, when it guesses one of its own catalog views (the
# nearest name in an empty schema): noise, not help.
_CATALOG_GUESS = re.compile(r'\s*Did you mean "(?:pg_|duckdb_|information_schema|sqlite_)[^"]*"\?')
_NOTHING_TO_ROLL_BACK = "cannot rollback - no transaction is active"
# Statements DuckDB refuses inside a transaction block (the other part of the message names
# the statement), and writes to a second attached database in one transaction.
_NO_TRANSACTION = (
    "Cannot CHECKPOINT",
    "Cannot FORCE CHECKPOINT",
    "a single transaction can only write to a single attached database",
)


def _is_file_locked(exc: Exception) -> bool:
    return type(exc).__name__ == "IOException" and _FILE_LOCKED in str(exc)


class DuckDBHistorySQL(HistorySQL):
    param = "?"
    types: ClassVar[dict[str, str]] = {
        "id": "BIGINT PRIMARY KEY",  # numbered by the table's sequence: see create_table
        # UTC, without a zone: older drivers read TIMESTAMPTZ back only with pytz installed
        # (DuckDB 1.2 does), and in the session's time zone.
        "ts": "TIMESTAMP",
        "text": "TEXT",
        "int": "BIGINT",
    }

    def create_table(self, table: str, columns: Sequence[tuple[str, str, bool]]) -> str:
        # No auto-increment column in DuckDB: a sequence of the table's own, its next value
        # the id's default (https://duckdb.org/docs/stable/sql/statements/create_sequence).
        sequence = f"{table}_id_seq"
        cols = ", ".join(
            f"{c} {self.types[t]}{'' if null else ' NOT NULL'}" for c, t, null in columns
        )
        return (
            f"CREATE SEQUENCE IF NOT EXISTS {sequence}; CREATE TABLE {table} "
            f"(id BIGINT DEFAULT nextval('{sequence}') PRIMARY KEY, {cols})"
        )

    def timestamp_param(self, value: datetime) -> object:
        # Naive: the driver would convert an aware value to the session's time zone.
        return value.astimezone(timezone.utc).replace(tzinfo=None)


class TransactionRolledBack(Exception):
    """Raised by COMMIT when a statement of the transaction had failed: DuckDB would have
    rolled the whole transaction back while reporting success."""


class _Interrupter:
    """Stops the running statement when a signal arrives (Ctrl-C, SIGTERM), so that keel's
    handler can end the run. Python runs signal handlers only between bytecodes, and the
    driver holds the main thread until the statement ends; but the interpreter writes each
    signal's number to its wakeup fd at once (``signal.set_wakeup_fd``): a thread reading it
    calls ``interrupt()``, which DuckDB allows from another thread. Only in the main thread
    (where handlers run), and only where nothing else (an asyncio loop) uses the wakeup fd."""

    def __init__(self, conn: Any) -> None:
        import threading

        self.conn = conn
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)  # the interpreter must never block on it
        self.closed = False
        self.thread = threading.Thread(target=self._watch, name="keel-interrupt", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        import signal

        # The fd receives every handled signal's number: only those that end keel's run
        # stop the statement (an application's SIGUSR1 or SIGHUP handler must not).
        stopping = {signal.SIGINT, signal.SIGTERM}
        while (numbers := os.read(self.read_fd, 64)) and not self.closed:
            if not stopping.intersection(numbers):
                continue
            try:
                self.conn.interrupt()
            except Exception:  # closed meanwhile: nothing runs any more
                return

    @contextmanager
    def armed(self) -> Iterator[None]:
        import signal

        try:
            previous: int | None = signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        except ValueError:  # not the main thread, where no handler would run anyway
            previous = None
        if previous != -1:
            if previous is not None:  # someone else's: leave it theirs
                signal.set_wakeup_fd(previous)
            yield
            return
        try:
            yield
        finally:
            signal.set_wakeup_fd(-1)

    def close(self) -> None:
        self.closed = True
        os.write(self.write_fd, b"\0")  # ends _watch
        self.thread.join(timeout=1)
        os.close(self.read_fd)
        os.close(self.write_fd)


def _raise_if_interrupted(exc: BaseException) -> None:
    """Re-raise a statement stopped by a signal as the interruption it was: the driver
    reports only "Query interrupted" (a RuntimeError, or its InterruptException)."""
    if "interrupted" in str(exc).lower() and type(exc).__name__ in (
        "RuntimeError",
        "InterruptException",
    ):
        from sqlkeel.signals import last_interrupt

        raise last_interrupt() from None


class DuckDBSession(Session):
    """Every statement runs on the connection itself: a DuckDB cursor is another connection
    with a transaction of its own. Remembers a failure inside the open transaction, so that
    COMMIT cannot report success for a transaction DuckDB has rolled back."""

    def __init__(self, dialect: Dialect, conn: Any, interrupter: _Interrupter | None) -> None:
        super().__init__(dialect, conn)
        self.in_transaction = False
        self.failure: BaseException | None = None  # the first error of the open transaction
        self.interrupter = interrupter

    def _send(self, sql: str, params: Sequence[object] | None) -> Any:
        try:
            if self.interrupter is None:
                return self._execute(sql, params)
            with self.interrupter.armed():
                return self._execute(sql, params)
        except BaseException as exc:  # an interruption too leaves the transaction aborted
            if self.in_transaction and self.failure is None:
                self.failure = exc
            _raise_if_interrupted(exc)
            raise

    def _execute(self, sql: str, params: Sequence[object] | None) -> Any:
        if params is None:
            return self.conn.execute(sql)
        return self.conn.execute(sql, tuple(params))

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.interrupter is not None:
                self.interrupter.close()

    def begin(self) -> None:
        self._send("BEGIN", None)
        self.in_transaction, self.failure = True, None

    def commit(self) -> None:
        failure = self.failure
        if failure is not None:
            self.rollback()
            raise TransactionRolledBack(
                "the transaction was rolled back, not committed: one of its statements had "
                f"failed ({str(failure).strip()})"
            ) from failure
        try:
            self._send("COMMIT", None)
        finally:
            # A COMMIT that fails (a write conflict) ends the transaction as well.
            self.in_transaction = False

    def rollback(self) -> None:
        self.in_transaction, self.failure = False, None
        try:
            self.conn.execute("ROLLBACK")
        except Exception as exc:
            # A failed COMMIT ended the transaction already.
            if _NOTHING_TO_ROLL_BACK not in str(exc):
                raise

    def execute(self, sql: str) -> None:
        # No parameters argument: the driver reads `?` and `$1` as parameters if given any.
        self._send(sql, None)

    def run(self, sql: str, params: Sequence[object] = ()) -> None:
        self._send(sql, params)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return list(self._send(sql, params).fetchall())

    def rows(
        self, sql: str, params: Sequence[object] = ()
    ) -> Generator[tuple[Any, ...], None, None]:
        result = self._send(sql, params)
        while batch := result.fetchmany(_ROWS_PER_BATCH):
            yield from batch


class DuckDBDialect(Dialect):
    name = "duckdb"
    title = "DuckDB"
    capabilities = Capabilities(
        transactional_ddl=True, split_options=DUCKDB, lock="file", has_schemas=True
    )
    history_sql = DuckDBHistorySQL()

    @property
    def path(self) -> str:
        return self.url.database or ":memory:"

    def _check_directory(self) -> None:
        parent = Path(self.path).parent
        if not self.url.is_memory and not parent.is_dir():
            raise ConnectionFailed(
                f"cannot open DuckDB database {self.path}: the directory {parent} does not "
                "exist. Fix: create the directory or correct the URL."
            )

    def database_exists(self) -> bool:
        self._check_directory()
        return self.url.is_memory or os.path.exists(self.path)

    def connect(self) -> Session:
        conn = self._open(wait=self.busy_wait)
        try:
            # DuckDB draws a progress bar on stdout for a statement that runs over 2 s; keel's
            # output is its own. A setting of this connection only.
            conn.execute("SET enable_progress_bar = false")
        except BaseException:
            conn.close()
            raise
        import threading

        # Signal handlers run in the main thread only.
        main = threading.current_thread() is threading.main_thread()
        return DuckDBSession(self, conn, _Interrupter(conn) if main else None)

    def _open(self, *, wait: bool) -> Any:
        """A driver connection, once no other process has the file open (waiting up to
        busy_timeout if ``wait``). Raises DatabaseBusy (exit 3) or ConnectionFailed."""
        try:
            import duckdb
        except ImportError as exc:
            raise ConfigError(
                "the DuckDB driver is not installed. Fix: pip install 'sqlkeel[duckdb]'."
            ) from exc

        self._check_directory()

        def attempt() -> Any:
            # The default configuration: connections of one process to one file share the
            # open database only when their configurations agree.
            return duckdb.connect(self.path)

        try:
            return wait_while_busy(
                attempt,
                _is_file_locked,
                timeout=self.busy_timeout,
                wait=wait,
                on_busy=self.on_busy,
                waiting=f"another process has the DuckDB database {self.path} open; waiting up "
                f"to {self.busy_timeout:g} s (lock_timeout) for it to close it",
                busy_error=self._busy_error,
            )
        except duckdb.Error as exc:
            raise ConnectionFailed(
                f"cannot open DuckDB database {self.path}: {str(exc).strip().rstrip('.!')}. Fix: "
                "check the path, its permissions, and that it is a DuckDB database file of "
                "this DuckDB version or an older one."
            ) from exc

    def _busy_error(self, waited: float | None) -> DatabaseBusy:
        how = (
            f"keel waited {waited:g} s (lock_timeout) for it"
            if waited is not None
            else "--no-wait was given"
        )
        longer = " To wait longer, raise --lock-timeout / lock_timeout." if waited else ""
        return DatabaseBusy(
            f"another process has the DuckDB database {self.path} open (a migration running "
            "elsewhere, a duckdb shell, an application), and DuckDB lets only one process "
            f"open a database file for writing; {how}. Fix: wait for it to finish or close "
            f"the database there, then run the command again.{longer}"
        )

    # -- keel's own tables -------------------------------------------------------------
    def qualify(self, table: str) -> str:
        return f"{self.schema}.{table}" if self.schema else table

    def _schema_sql(self) -> str:
        return "?" if self.schema else "current_schema()"

    def _schema_params(self) -> tuple[object, ...]:
        return (self.schema,) if self.schema else ()

    def prepare_schema(self, session: Session) -> None:
        if self.schema:
            session.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")

    def index_exists(self, session: Session, index: str) -> bool:
        rows = session.query(
            "SELECT 1 FROM duckdb_indexes() WHERE database_name = current_database() "
            f"AND schema_name = {self._schema_sql()} AND lower(index_name) = lower(?)",
            (*self._schema_params(), index),
        )
        return bool(rows)

    def relation_kind(self, session: Session, name: str) -> str | None:
        where = (
            f"database_name = current_database() AND schema_name = {self._schema_sql()} "
            "AND lower({0}) = lower(?)"
        )
        rows = session.query(
            f"SELECT 'table' FROM duckdb_tables() WHERE {where.format('table_name')} "
            f"UNION ALL SELECT 'view' FROM duckdb_views() WHERE {where.format('view_name')}",
            (*self._schema_params(), name, *self._schema_params(), name),
        )
        return str(rows[0][0]) if rows else None

    def check_writable(self) -> None:
        """DuckDB writes its write-ahead log beside the database and keel its lock file
        there, so the folder must be writable as well as the file. ``os.access`` answers
        for the real user, as the kernel will."""
        if self.url.is_memory:
            return
        folder = os.path.dirname(self.path) or "."
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(
                f"the folder {folder} of the DuckDB database is not writable for keel's user: "
                f"DuckDB writes its log ({self.path}.wal) there and keel its lock file "
                f"{self._file_lock.path}. Fix: let keel's user write to {folder} (e.g. chmod "
                "u+w), or move the database to a folder it may write to."
            )
        if os.path.exists(self.path) and not os.access(self.path, os.W_OK):
            raise ConfigError(
                f"the DuckDB database file {self.path} is read-only for keel's user, so "
                f"nothing could be recorded. Fix: chmod u+w {self.path}, or run keel as a "
                "user who may write it."
            )

    # -- errors ------------------------------------------------------------------------
    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        import duckdb

        return (duckdb.Error, TransactionRolledBack)

    def explain(self, exc: BaseException) -> KeelError | None:
        text = str(exc)
        if "No space left on device" in text or "Disk quota exceeded" in text:
            return DiskFull(
                f"the disk is full: DuckDB could not write {self.path} ({text.strip()}). "
                "Fix: free space on that disk (or move the database to a larger one), then "
                "run 'keel status' to see where the database stands and run the command again."
            )
        if isinstance(exc, Exception) and _is_file_locked(exc):
            return self._busy_error(self.busy_timeout)
        return None

    def failure_left_nothing(self, sql: str, exc: BaseException) -> bool:
        # Outside a transaction every statement runs in a transaction of its own, which its
        # failure rolls back: https://duckdb.org/docs/stable/sql/statements/transactions
        return True

    def needs_no_transaction(self, exc: BaseException) -> bool:
        text = str(exc)
        return any(words in text for words in _NO_TRANSACTION)

    def describe_error(
        self, exc: BaseException, statement: Statement | None, offset: int | None = 0
    ) -> tuple[str, int]:
        line = statement.line if statement else 0
        text = str(exc)
        where = _ERROR_LINE.search(text)
        message = _CATALOG_GUESS.sub("", text[: where.start()] if where else text)
        # DuckDB counts lines within the statement it was sent, from 1 (keel sends each
        # statement alone: offset 0).
        if statement is not None and where and offset == 0:
            within = int(where.group(1))
            if 1 <= within <= statement.sql.count("\n") + 1:
                line = statement.line + within - 1
        # One line; DuckDB ends some messages with "!", where keel puts its own full stop.
        return " ".join(message.split()).rstrip("!"), line

    # -- locking -----------------------------------------------------------------------
    @property
    def _file_lock(self) -> FileLock:
        return FileLock(self.path)

    @contextmanager
    def session_lock(
        self,
        connect: Callable[[], Session],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        # The lock is this process's, and so is the work: DuckDB runs it in-process, and a
        # killed keel's uncommitted transaction is not in the file's log, so the next open
        # finds it undone. The connection opens when the run first needs it.
        if self.url.is_memory:
            yield
            return
        with self._file_lock.held(timeout=timeout, wait=wait, on_wait=on_wait):
            if not wait:
                # --no-wait: refuse now, not after lock_timeout, when another process (not a
                # keel: it would hold the lock) has the file open. In this process the
                # probe shares the database a session of keel may already have open.
                self._open(wait=False).close()
            yield

    def lease_sql(self, session: Session, table: str) -> LeaseSQL:
        return _lease_sql(session.qualify(table))

    def lock_holder(self) -> Holder | None:
        if self.url.is_memory:
            return None
        return self._file_lock.holder()


# -- table lock mode: the lease's SQL (SPEC 10) ------------------------------------------
# One process at a time has the file open, so another process's run waits for the file
# before it can even read the lease; the lease orders runs of this process and keeps the
# takeover rule. Heartbeats are epoch seconds of the database's clock (``now()`` is the
# statement's transaction's start, and each lease statement but the fence runs alone);
# acquired_at is UTC without a zone (TIMESTAMPTZ reads back only with pytz installed).
# DuckDB has no FOR UPDATE, and two transactions that update one row conflict, the later
# failing at its commit: so the fence only reads the row (an update there would fail the
# migration whenever the heartbeat had renewed the lease meanwhile). No other process can
# take the lease over while this one has the file open.
# https://duckdb.org/docs/stable/connect/concurrency
def _lease_sql(table: str) -> LeaseSQL:
    now = "epoch(now())"
    stale = f"heartbeat_at < {now} - CAST(? AS DOUBLE)"
    return LeaseSQL(
        table=table,
        create=(
            f"CREATE TABLE IF NOT EXISTS {table} (lock_id INTEGER PRIMARY KEY, "
            "token TEXT NOT NULL, owner TEXT NOT NULL, acquired_at TIMESTAMP NOT NULL, "
            "heartbeat_at DOUBLE NOT NULL)"
        ),
        acquire=(
            f"INSERT INTO {table} (lock_id, token, owner, acquired_at, heartbeat_at) "
            f"VALUES (1, ?, ?, timezone('UTC', now()), {now}) ON CONFLICT (lock_id) DO NOTHING"
        ),
        takeover=(
            f"UPDATE {table} SET token = ?, owner = ?, acquired_at = timezone('UTC', now()), "
            f"heartbeat_at = {now} WHERE lock_id = 1 AND token = ? AND {stale}"
        ),
        heartbeat=f"UPDATE {table} SET heartbeat_at = {now} WHERE lock_id = 1 AND token = ?",
        read=(
            f"SELECT token, owner, acquired_at, {now} - heartbeat_at FROM {table} WHERE lock_id = 1"
        ),
        fence=(f"SELECT token FROM {table} WHERE lock_id = 1",),
        release=f"DELETE FROM {table} WHERE lock_id = 1 AND token = ?",
        release_stale=f"DELETE FROM {table} WHERE lock_id = 1 AND token = ? AND {stale}",
    )
