"""SQLite, through the standard library's ``sqlite3``: keel's embedded default.

Capabilities: transactional DDL; back-ticked identifiers; trigger ``BEGIN … END`` bodies.
Lock: an exclusive ``flock`` on ``<database>.keel-lock`` beside the database file
(``sqlkeel.filelock``); the kernel drops it when the process dies, so a crash can never
leave it held. ``:memory:`` databases live in one process, so they need no lock.
Table mode: a lease row (``_lease_sql`` at the end); a holder paused inside a write
transaction keeps every writer out, the takeover too.
Gaps: no schemas (``schema`` is refused).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlkeel.core.splitter import SQLITE
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
from sqlkeel.filelock import FileLock, is_disk_full

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, ClassVar


# The first 16 bytes of every SQLite 3 database file.
_HEADER = b"SQLite format 3\x00"
# History rows handed on per driver call: few enough to keep no table's worth at once.
_ROWS_PER_BATCH = 256
# Page cache for reading keel's tables, in KiB (negative: SQLite's unit for KiB).
_SCAN_CACHE_KIB = -64
# Primary result codes, https://www.sqlite.org/rescode.html: another connection holds the
# lock keel needs; the disk (or the file's size limit) is full.
_SQLITE_BUSY, _SQLITE_FULL = 5, 13
_MESSAGES = {_SQLITE_BUSY: "database is locked", _SQLITE_FULL: "database or disk is full"}
# The database files this process has opened. A file's header is read only before that:
# closing any descriptor of a file drops every POSIX lock this process holds on it, SQLite's
# own included (a second connection opened while a migration's write transaction runs, by
# table mode's heartbeat, would free that transaction's lock). Process-wide, as the locks.
# https://www.sqlite.org/howtocorrupt.html#_posix_advisory_locks_canceled_by_a_separate_thread_doing_close_
_OPENED: set[str] = set()


def _is(exc: BaseException, code: int) -> bool:
    """Whether ``exc`` carries SQLite's primary result ``code`` (from its message before
    Python 3.11, which added ``sqlite_errorcode``)."""
    found = getattr(exc, "sqlite_errorcode", None)
    if isinstance(found, int):
        return found & 0xFF == code
    return _MESSAGES[code] in str(exc)


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return is_disk_full(exc)
    return _is(exc, _SQLITE_FULL)


# SQLite VM instructions between two calls of the progress handler (see connect).
_PROGRESS_STEPS = 100_000


def _progress() -> int:
    return 0  # go on; a signal handler that raises here stops the statement instead


def _raise_if_interrupted(exc: Exception) -> None:
    """Re-raise a statement stopped by a signal as the interruption it was: sqlite3 drops
    the exception raised in the progress handler and reports only "interrupted". A plain
    function, not a context manager: it is on the path of every statement keel sends."""
    if type(exc).__name__ == "OperationalError" and str(exc) == "interrupted":
        from sqlkeel.signals import last_interrupt

        raise last_interrupt() from None


class SQLiteHistorySQL(HistorySQL):
    param = "?"
    types: ClassVar[dict[str, str]] = {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "ts": "TEXT",
        "text": "TEXT",
        "int": "INTEGER",
    }

    def timestamp_param(self, value: datetime) -> object:
        # ISO text: sorts correctly and reads back exactly (SQLite has no timestamp type).
        return value.isoformat()


class SQLiteSession(Session):
    """Statements stopped by a signal surface as that interruption (see ``connect``)."""

    def execute(self, sql: str) -> None:
        try:
            super().execute(sql)
        except Exception as exc:
            _raise_if_interrupted(exc)
            raise

    def run(self, sql: str, params: Sequence[object] = ()) -> None:
        try:
            super().run(sql, params)
        except Exception as exc:
            _raise_if_interrupted(exc)
            raise

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return super().query(sql, params)
        except Exception as exc:
            _raise_if_interrupted(exc)
            raise

    def rows(
        self, sql: str, params: Sequence[object] = ()
    ) -> Generator[tuple[Any, ...], None, None]:
        """The rows one at a time, read through a small page cache: they are read once, in
        order, and 10 000 history rows would otherwise leave SQLite's whole cache (2 MB)
        allocated for the rest of the command. The connection's own setting comes back
        after (migrations run with SQLite's defaults)."""
        cur = self.conn.cursor()
        try:
            (size,) = cur.execute("PRAGMA cache_size").fetchone()
            cur.execute(f"PRAGMA cache_size = {_SCAN_CACHE_KIB}")
            try:
                cur.execute(sql, tuple(params))
                # Batches, not `yield from cur`: closing this generator early would close the
                # cursor (yield from closes its sub-iterator) before the setting below comes
                # back; a list is safe to delegate to, and as fast.
                while batch := cur.fetchmany(_ROWS_PER_BATCH):
                    yield from batch
            finally:
                cur.execute(f"PRAGMA cache_size = {int(size)}")
        finally:
            cur.close()


class SQLiteDialect(Dialect):
    name = "sqlite"
    title = "SQLite"
    capabilities = Capabilities(
        transactional_ddl=True, split_options=SQLITE, lock="file", has_schemas=False
    )
    history_sql = SQLiteHistorySQL()

    @property
    def path(self) -> str:
        return self.url.database or ":memory:"

    def _check_directory(self) -> None:
        parent = Path(self.path).parent
        if not self.url.is_memory and not parent.is_dir():
            raise ConnectionFailed(
                f"cannot open SQLite database {self.path}: the directory {parent} does not "
                "exist. Fix: create the directory or correct the URL."
            )

    def database_exists(self) -> bool:
        self._check_directory()
        return self.url.is_memory or os.path.exists(self.path)

    def _why_unopenable(self, exc: BaseException) -> str:
        """The operating system's reason, where SQLite says only 'unable to open database
        file': opening the path as SQLite would (create it only if it is missing)."""
        flags = os.O_RDWR if os.path.exists(self.path) else os.O_RDWR | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as error:
            return f"{error.strerror} (errno {error.errno})"
        os.close(fd)
        return str(exc)

    def connect(self) -> Session:
        import sqlite3

        self._check_directory()
        try:
            # isolation_level=None: autocommit; keel writes BEGIN/COMMIT itself.
            # Connection settings stay SQLite's defaults: a migration must behave as it
            # would in the sqlite3 shell (e.g. foreign_keys off, so table rebuilds are safe).
            # No busy timeout until the file could be read: waiting is said, below.
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        except sqlite3.Error as exc:
            raise ConnectionFailed(
                f"cannot open SQLite database {self.path}: {self._why_unopenable(exc)}. "
                "Fix: check the path and its permissions."
            ) from exc
        if self.path not in _OPENED:
            self._check_header()
        try:
            # A reader waits only for a writer that holds the whole file (committing, or
            # with more changes than its page cache holds): a migration running elsewhere.
            self._patiently(
                lambda: conn.execute("SELECT count(*) FROM sqlite_master").fetchone(),
                timeout=self.busy_timeout,
                wait=self.busy_wait,
            )
            # Later waits (a writer that came after this check) are SQLite's own, as long.
            conn.execute(f"PRAGMA busy_timeout = {round(self.busy_timeout * 1000)}")
        except BaseException:
            conn.close()
            raise
        # A statement runs in C without returning to Python, so Ctrl-C or SIGTERM would
        # wait for its end. Python runs signal handlers when it next runs Python code: this
        # callback, every _PROGRESS_STEPS VM instructions (~1 ms). The exception a handler
        # raises there makes SQLite abort the statement ("interrupted"), which
        # ``_raise_if_interrupted`` turns back into that interruption.
        conn.set_progress_handler(_progress, _PROGRESS_STEPS)
        _OPENED.add(self.path)
        return SQLiteSession(self, conn)

    def _check_header(self) -> None:
        """Refuse a file that is not an SQLite database before keel reads or writes it
        (an empty file is a new database). https://www.sqlite.org/fileformat.html"""
        if self.url.is_memory:
            return
        try:
            with open(self.path, "rb") as file:
                header = file.read(len(_HEADER))
        except OSError:  # not there yet (SQLite creates it on first write), or unreadable
            return  # sqlite3 then reports what it meets
        if header and header != _HEADER[: len(header)]:
            raise ConnectionFailed(
                f"{self.path} is not an SQLite database file: it does not start with "
                "SQLite's header 'SQLite format 3'. Fix: check the path in the URL; keel "
                "reads and writes only SQLite databases and has not changed this file."
            )

    # -- another process's write transaction -------------------------------------------
    def _patiently(self, attempt: Callable[[], object], *, timeout: float, wait: bool) -> None:
        """Call ``attempt`` (on a connection without a busy timeout) until no other
        connection's lock refuses it, for up to ``timeout`` seconds, saying once through
        ``on_busy`` that keel waits. Raises DatabaseBusy (exit 3)."""
        import sqlite3

        wait_while_busy(
            attempt,
            lambda exc: isinstance(exc, sqlite3.OperationalError) and _is(exc, _SQLITE_BUSY),
            timeout=timeout,
            wait=wait,
            on_busy=self.on_busy,
            waiting=f"another process holds a write transaction on {self.path}; waiting "
            f"up to {timeout:g} s (lock_timeout) for it to end",
            busy_error=self._busy_error,
        )

    def _busy_error(self, waited: float | None) -> DatabaseBusy:
        how = (
            f"keel waited {waited:g} s (lock_timeout) for it"
            if waited is not None
            else ("--no-wait was given")
        )
        longer = " To wait longer, raise --lock-timeout / lock_timeout." if waited else ""
        return DatabaseBusy(
            f"another process holds a write transaction on the SQLite database {self.path} "
            "(a migration running elsewhere, an open sqlite3 shell, an application's long "
            f"transaction), and {how}. Fix: wait for it to finish or stop it, then run the "
            f"command again.{longer}"
        )

    def _wait_for_writers(self, timeout: float, wait: bool) -> None:
        """Wait until no other process holds a write transaction on the file: keel's own
        lock keeps other keel runs out, not the applications that share the file."""
        import sqlite3

        self._check_header()  # the probe would meet another file as "not a database"
        probe = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        try:
            self._patiently(lambda: probe.execute("BEGIN IMMEDIATE"), timeout=timeout, wait=wait)
            probe.execute("ROLLBACK")
        finally:
            probe.close()

    def explain(self, exc: BaseException) -> KeelError | None:
        if _is_disk_full(exc):
            return DiskFull(
                f"the disk is full: SQLite could not write {self.path} ({exc}). SQLite undoes "
                "a transaction it cannot write, so the database is intact: nothing of the "
                "transaction that failed was kept, and what was committed before stays. Fix: "
                "free space on that disk (or move the database to a larger one), then run "
                "the command again."
            )
        if _is(exc, _SQLITE_BUSY):
            return self._busy_error(self.busy_timeout)
        return None

    def index_exists(self, session: Session, index: str) -> bool:
        rows = session.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
        )
        return bool(rows)

    def relation_kind(self, session: Session, name: str) -> str | None:
        rows = session.query(
            "SELECT type FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?",
            (name,),
        )
        return str(rows[0][0]) if rows else None

    def check_writable(self) -> None:
        """SQLite writes a journal beside the database and keel its lock file there, so the
        folder must be writable as well as the file. ``os.access`` answers for the real
        user, as the kernel will (https://www.sqlite.org/tempfiles.html)."""
        if self.url.is_memory:
            return
        folder = os.path.dirname(self.path) or "."
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(
                f"the folder {folder} of the SQLite database is not writable for keel's user: "
                f"SQLite writes its journal there and keel its lock file {self.lock_path}. "
                f"Fix: let keel's user write to {folder} (e.g. chmod u+w), or move the "
                "database to a folder it may write to. Commands that only read still work."
            )
        if os.path.exists(self.path) and not os.access(self.path, os.W_OK):
            raise ConfigError(
                f"the SQLite database file {self.path} is read-only for keel's user, so "
                f"nothing could be recorded. Fix: chmod u+w {self.path}, or run keel as a "
                "user who may write it. Commands that only read, such as 'keel status', "
                "still work."
            )

    def failure_left_nothing(self, sql: str, exc: BaseException) -> bool:
        # Outside a transaction every statement runs in a transaction of its own, which
        # its failure rolls back: https://www.sqlite.org/lang_transaction.html
        return True

    def needs_no_transaction(self, exc: BaseException) -> bool:
        # "cannot VACUUM from within a transaction", "cannot change into wal mode from
        # within a transaction", "Safety level may not be changed inside a transaction".
        text = str(exc)
        return "within a transaction" in text or "inside a transaction" in text

    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        import sqlite3

        return (sqlite3.Error,)

    # -- locking -----------------------------------------------------------------------
    @property
    def _file_lock(self) -> FileLock:
        return FileLock(self.path)

    @property
    def lock_path(self) -> str:
        return self._file_lock.path

    @contextmanager
    def session_lock(
        self,
        connect: Callable[[], Session],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        # The lock is this process's, and so is the work: SQLite runs it in-process, and a
        # killed keel's open transaction is rolled back from the journal on the next open.
        # The connection opens only once the lock is held: opening it waits for another
        # process's write transaction, which --no-wait must not do before the lock.
        if self.url.is_memory:
            yield
            return
        with self._file_lock.held(timeout=timeout, wait=wait, on_wait=on_wait):
            self._wait_for_writers(timeout, wait)
            yield

    def lease_sql(self, session: Session, table: str) -> LeaseSQL:
        return _lease_sql(session.qualify(table))

    def lock_holder(self) -> Holder | None:
        if self.url.is_memory:
            return None
        return self._file_lock.holder()


# -- table lock mode: the lease's SQL (SPEC 10) ------------------------------------------
# Times are ISO text in UTC (SQLite has no timestamp type), compared as julianday().
# SQLite has one writer at a time: a takeover waits for a migration's commit, and the
# fence's UPDATE takes the write lock at once, so nothing can take the lease between the
# fence and the commit. https://www.sqlite.org/lang_transaction.html
# The heartbeat, a writer too, waits for the run's own migrations; so the fence renews the
# heartbeat as well: a migration longer than the lease does not leave it stale at commit.
# The heartbeat never waits for a lock (busy_timeout 0; it tries again at the next beat):
# waiting to commit while the run's own migration holds a read lock would make SQLite fail
# that migration's first write at once, to avoid a deadlock.
# https://www.sqlite.org/c3ref/busy_handler.html
def _lease_sql(table: str) -> LeaseSQL:
    now = "strftime('%Y-%m-%dT%H:%M:%f', 'now')"
    stale = "julianday(heartbeat_at) < julianday('now') - ? / 86400.0"
    return LeaseSQL(
        table=table,
        create=(
            f"CREATE TABLE IF NOT EXISTS {table} (lock_id INTEGER PRIMARY KEY, "
            "token TEXT NOT NULL, owner TEXT NOT NULL, acquired_at TEXT NOT NULL, "
            "heartbeat_at TEXT NOT NULL)"
        ),
        acquire=(
            f"INSERT OR IGNORE INTO {table} (lock_id, token, owner, acquired_at, heartbeat_at) "
            f"VALUES (1, ?, ?, {now}, {now})"
        ),
        takeover=(
            f"UPDATE {table} SET token = ?, owner = ?, acquired_at = {now}, "
            f"heartbeat_at = {now} WHERE lock_id = 1 AND token = ? AND {stale}"
        ),
        heartbeat=f"UPDATE {table} SET heartbeat_at = {now} WHERE lock_id = 1 AND token = ?",
        read=(
            "SELECT token, owner, acquired_at, "
            f"(julianday('now') - julianday(heartbeat_at)) * 86400.0 FROM {table} "
            "WHERE lock_id = 1"
        ),
        fence=(
            f"UPDATE {table} SET heartbeat_at = {now} WHERE lock_id = 1",
            f"SELECT token FROM {table} WHERE lock_id = 1",
        ),
        release=f"DELETE FROM {table} WHERE lock_id = 1 AND token = ?",
        release_stale=f"DELETE FROM {table} WHERE lock_id = 1 AND token = ? AND {stale}",
        heartbeat_setup="PRAGMA busy_timeout = 0",
    )
