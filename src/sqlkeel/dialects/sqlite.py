"""SQLite, through the standard library's ``sqlite3``: keel's embedded default.

Capabilities: transactional DDL; back-ticked identifiers; trigger ``BEGIN … END`` bodies.
Lock: an exclusive ``flock`` on ``<database>.keel-lock`` beside the database file; the
kernel drops it when the process dies, so a crash can never leave it held. The file holds
the holder's name and start time for ``lock-status``. ``:memory:`` databases live in one
process, so they need no lock. Gaps: no schemas (``schema`` is refused).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlkeel.core.splitter import SQLITE
from sqlkeel.dialects.base import Connection, Dialect, Holder, LockWait, holder_name, poll_lock
from sqlkeel.errors import ConfigError, ConnectionFailed
from sqlkeel.urls import DatabaseURL

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, ClassVar


# Page cache for reading keel's tables, in KiB (negative: SQLite's unit for KiB).
_SCAN_CACHE_KIB = -64


# SQLite VM instructions between two calls of the progress handler (see connect).
_PROGRESS_STEPS = 100_000


def _progress() -> int:
    return 0  # go on; a signal handler that raises here stops the statement instead


@contextmanager
def _interruptible() -> Iterator[None]:
    """Re-raise a statement stopped by a signal as the interruption it was: sqlite3 drops
    the exception raised in the progress handler and reports only "interrupted"."""
    import sqlite3

    try:
        yield
    except sqlite3.OperationalError as exc:
        if str(exc) != "interrupted":
            raise
        from sqlkeel.signals import last_interrupt

        raise last_interrupt() from None


class SQLiteDialect(Dialect):
    name = "sqlite"
    split_options = SQLITE
    transactional_ddl = True
    param = "?"
    types: ClassVar[dict[str, str]] = {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "ts": "TEXT",
        "text": "TEXT",
        "int": "INTEGER",
    }

    def __init__(self, url: DatabaseURL, *, table: str, schema: str | None = None) -> None:
        if schema:
            raise ConfigError(
                f"schema = {schema!r} is set, but SQLite has no schemas. "
                "Fix: remove 'schema' from the configuration for SQLite databases."
            )
        super().__init__(url, table=table, schema=None)
        self.path = url.database or ":memory:"

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

    def connect(self) -> Connection:
        import sqlite3

        self._check_directory()
        try:
            # isolation_level=None: autocommit; keel writes BEGIN/COMMIT itself.
            # Connection settings stay SQLite's defaults: a migration must behave as it
            # would in the sqlite3 shell (e.g. foreign_keys off, so table rebuilds are safe).
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise ConnectionFailed(
                f"cannot open SQLite database {self.path}: {exc}. "
                "Fix: check the path and its permissions."
            ) from exc
        # A statement runs in C without returning to Python, so Ctrl-C or SIGTERM would
        # wait for its end. Python runs signal handlers when it next runs Python code: this
        # callback, every _PROGRESS_STEPS VM instructions (~1 ms). The exception a handler
        # raises there makes SQLite abort the statement ("interrupted"), which
        # ``_interruptible`` turns back into that interruption.
        conn.set_progress_handler(_progress, _PROGRESS_STEPS)
        return conn

    def execute(self, conn: Connection, sql: str) -> None:
        with _interruptible():
            super().execute(conn, sql)

    def run(self, conn: Connection, sql: str, params: Sequence[object] = ()) -> None:
        with _interruptible():
            super().run(conn, sql, params)

    def query(
        self, conn: Connection, sql: str, params: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        with _interruptible():
            return super().query(conn, sql, params)

    def rows(
        self, conn: Connection, sql: str, params: Sequence[object] = ()
    ) -> Iterator[tuple[Any, ...]]:
        """The rows one at a time, read through a small page cache: they are read once, in
        order, and 10 000 history rows would otherwise leave SQLite's whole cache (2 MB)
        allocated for the rest of the command. The connection's own setting comes back
        after (migrations run with SQLite's defaults)."""
        cur = conn.cursor()
        try:
            (size,) = cur.execute("PRAGMA cache_size").fetchone()
            cur.execute(f"PRAGMA cache_size = {_SCAN_CACHE_KIB}")
            try:
                cur.execute(sql, tuple(params))
                yield from cur
            finally:
                cur.execute(f"PRAGMA cache_size = {int(size)}")
        finally:
            cur.close()

    def timestamp_param(self, value: datetime) -> object:
        # ISO text: sorts correctly and reads back exactly (SQLite has no timestamp type).
        return value.isoformat()

    def table_exists(self, conn: Connection, table: str) -> bool:
        rows = self.query(
            conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        )
        return bool(rows)

    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        import sqlite3

        return (sqlite3.Error,)

    # -- locking -----------------------------------------------------------------------
    @property
    def lock_path(self) -> str:
        return f"{self.path}.keel-lock"

    @contextmanager
    def session_lock(
        self, *, timeout: float, wait: bool, on_wait: LockWait | None
    ) -> Iterator[None]:
        if self.url.is_memory:
            yield
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:

            def try_acquire() -> bool:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                return True

            poll_lock(
                try_acquire,
                self.lock_holder,
                timeout=timeout,
                wait=wait,
                on_wait=on_wait,
                what=self.path,
            )
            since = datetime.now(timezone.utc).isoformat(timespec="seconds")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{holder_name()}\n{since}\n".encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def lock_holder(self) -> Holder | None:
        if self.url.is_memory or not os.path.exists(self.lock_path):
            return None
        fd = os.open(self.lock_path, os.O_RDONLY)
        try:
            try:
                # A shared lock succeeds only when nobody holds the exclusive one.
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None
            text = os.pread(fd, 4096, 0).decode("utf-8", "replace").splitlines()
        finally:
            os.close(fd)
        description = text[0] if text else "another process"
        since: Any = None
        if len(text) > 1:
            try:
                since = datetime.fromisoformat(text[1])
            except ValueError:
                since = None
        return Holder(description, since)
