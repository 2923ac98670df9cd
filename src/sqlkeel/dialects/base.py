"""The dialect boundary: the few things that differ between database families.

Everything else (history, planning, execution, locking policy) is shared code. A dialect
imports its driver inside ``connect`` so that ``keel --help`` never loads it.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlkeel.core.splitter import SplitOptions, Statement
from sqlkeel.core.values import Value
from sqlkeel.errors import ConfigError, KeelError, LockLost, LockTimeout
from sqlkeel.urls import DatabaseURL

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, ClassVar

    Connection = Any  # a DB-API connection in autocommit mode; keel issues BEGIN/COMMIT itself
else:
    Connection = object  # for imports: only annotations use it, and they are never evaluated


class Holder(Value):
    """Who holds the migration lock, as far as the database can tell."""

    __slots__ = ("description", "since")
    description: str  # e.g. "keel on host web-1, pid 4242"
    since: datetime | None

    def __init__(self, description: str, since: datetime | None = None) -> None:
        self.description = description
        self.since = since

    def __str__(self) -> str:
        since = f", since {self.since:%Y-%m-%d %H:%M:%S %Z}".rstrip() if self.since else ""
        return self.description + since


def host_name() -> str:
    """This machine's name, as ``socket.gethostname()`` reports it; through ``os.uname``
    where there is one, because importing socket costs every command ~2 ms of start-up."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket  # Windows

    return socket.gethostname()


def holder_name() -> str:
    """How this process names itself as a lock holder."""
    return f"keel on {host_name()}, pid {os.getpid()}"


LockWait = Callable[[Holder | None], None]


def poll_lock(
    try_acquire: Callable[[], bool],
    describe_holder: Callable[[], Holder | None],
    *,
    timeout: float,
    wait: bool,
    on_wait: LockWait | None,
    what: str,
) -> None:
    """Call ``try_acquire`` until it succeeds, with jittered backoff, up to ``timeout`` seconds.

    ``on_wait`` hears the holder once when waiting starts and every ~10 s after.
    Raises LockTimeout (exit 3) naming the holder.
    """
    if try_acquire():
        return
    holder = describe_holder()
    if not wait:
        raise LockTimeout(
            f"the migration lock on {what} is held by {holder or 'another process'}; "
            "--no-wait was given. Fix: retry when that run has finished.",
            holder=str(holder) if holder else None,
        )
    if on_wait:
        on_wait(holder)
    import random  # only a waiting process needs jitter

    deadline = time.monotonic() + timeout
    next_report = time.monotonic() + 10.0
    delay = 0.05
    while time.monotonic() < deadline:
        time.sleep(min(delay * (0.5 + random.random()), max(0.0, deadline - time.monotonic())))
        if try_acquire():
            return
        delay = min(delay * 1.6, 1.0)
        if on_wait and time.monotonic() >= next_report:
            holder = describe_holder()
            on_wait(holder)
            next_report = time.monotonic() + 10.0
    holder = describe_holder()
    raise LockTimeout(
        f"the migration lock on {what} was not acquired within {timeout:g} s; it is held by "
        f"{holder or 'another process'}. Fix: wait for that run to finish, or raise "
        "--lock-timeout / lock_timeout.",
        holder=str(holder) if holder else None,
    )


class TransactionFailed(Exception):
    """A transaction sent whole (``Dialect.transaction``) failed and is left open for
    ROLLBACK. ``position`` numbers the failing statement from 1; past the last statement it
    is keel's own writes or the COMMIT (a deferred constraint); ``lock_lost`` when it is
    the lock's fence instead. ``offset``: characters before
    the statement in the text the server was sent, for ``describe_error``; None when the
    server's position does not point into a statement."""

    def __init__(
        self, position: int, cause: BaseException, offset: int | None, *, lock_lost: bool = False
    ) -> None:
        super().__init__(str(cause))
        self.position = position
        self.cause = cause
        self.offset = offset
        self.lock_lost = lock_lost  # the transaction's lock fence failed (Dialect.fence)


class WriteFailed(Exception):
    """One of keel's own commands given to ``run_and_commit`` failed (not the COMMIT): the
    failure is keel's write, not the migration's. The transaction is left open for ROLLBACK."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Transaction(ABC):
    """A migration made ready to travel whole: keel builds it while the server still runs
    the previous one, then sends it and, later, waits for its outcome."""

    @abstractmethod
    def send(self) -> None:
        """Send it without waiting for the server."""

    @abstractmethod
    def wait(self) -> str | None:
        """Block until it has committed; the first value of the last command's result as
        text (None without one). Raises TransactionFailed, or the driver's error when the
        connection itself failed."""


class Dialect(ABC):
    """One database family. Instances are bound to a URL and keel's table settings."""

    # A dialect that can send a migration whole (BEGIN, its statements, keel's rows and
    # COMMIT in one round trip) sets this to the SQL of "milliseconds since this
    # transaction began, the same value for every use in the transaction": the run time it
    # records is measured by the database, since keel's rows travel with the statements.
    elapsed_ms: ClassVar[str | None] = None
    # With ``elapsed_ms``: the SQL of "when this transaction began", the applied_at of a
    # migration sent whole (its rows are written before keel knows when it will start).
    started_at: ClassVar[str | None] = None

    name: ClassVar[str]
    split_options: ClassVar[SplitOptions]
    transactional_ddl: ClassVar[bool]
    # Whether reading keel's history never waits for a migration running elsewhere (MVCC):
    # then an upgrade with nothing to do can skip the lock. SQLite's readers wait for a
    # writer's commit (up to the busy timeout), which would bypass --no-wait.
    reads_beside_writers: ClassVar[bool] = False
    # Said once at the start of a run that has migrations to run: what the user must know
    # about this database's transactions (MySQL: DDL commits implicitly).
    run_notice: ClassVar[str | None] = None
    param: ClassVar[str]  # the driver's placeholder for keel's own parameterised SQL
    # Column types for keel's tables: id (auto-increment primary key), ts, text, int.
    types: ClassVar[dict[str, str]]

    def __init__(self, url: DatabaseURL, *, table: str, schema: str | None = None) -> None:
        self.url = url
        self.table = table
        self.schema = schema
        # How long keel waits for another process that keeps the database busy (SQLite: a
        # write transaction), and what it calls while it waits; the caller sets both from
        # lock_timeout and its listener.
        self.busy_timeout = 60.0
        self.on_busy: Callable[[str], None] | None = None
        # Whether keel's connections may pass through a transaction-mode pooler (table lock
        # mode, chosen for PgBouncer): then each transaction may run in another server
        # session, so keel must not rely on statements prepared in an earlier one.
        self.pooled = False

    # -- connections -------------------------------------------------------------------
    @abstractmethod
    def connect(self) -> Connection:
        """Open an autocommit connection; raises ConnectionFailed with a masked message."""

    # The port a URL without one means (None: the dialect has no server).
    default_port: ClassVar[int | None] = None

    @property
    def address(self) -> str:
        """host:port of the server, as errors name it (a connection that failed or broke)."""
        return f"{self.url.host or 'localhost'}:{self.url.port or self.default_port}"

    def is_connection_lost(self, conn: Connection, exc: BaseException) -> bool:
        """Whether ``exc`` means the connection itself is gone (server stopped or killed the
        session), rather than the database refusing a statement."""
        return False

    def database_exists(self) -> bool:
        """False only when connecting would create the database (SQLite files)."""
        return True

    def close(self, conn: Connection) -> None:
        conn.close()

    def begin(self, conn: Connection) -> None:
        self.execute(conn, "BEGIN")

    def commit(self, conn: Connection) -> None:
        self.execute(conn, "COMMIT")

    def rollback(self, conn: Connection) -> None:
        self.execute(conn, "ROLLBACK")

    def execute(self, conn: Connection, sql: str) -> None:
        """Run user SQL exactly as written: no parameters argument, so no % substitution."""
        cur = conn.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()

    def run(self, conn: Connection, sql: str, params: Sequence[object] = ()) -> None:
        """Run keel's own parameterised SQL."""
        cur = conn.cursor()
        try:
            cur.execute(sql, tuple(params))
        finally:
            cur.close()

    def is_transactional(self, statements: Sequence[str]) -> bool:
        """Whether one transaction can undo all of ``statements`` should one fail: always
        where DDL is transactional; elsewhere only if none of them commits implicitly."""
        return self.transactional_ddl

    def sendable(self, sql: str) -> bool:
        """Whether ``sql`` may travel in a transaction sent whole: one command whose failure
        the server reports as that statement's."""
        return False

    def transaction(
        self,
        conn: Connection,
        statements: Sequence[str],
        commands: Sequence[tuple[str, Sequence[object]]],
        fence: tuple[str, Sequence[object]] | None = None,
    ) -> Transaction:
        """BEGIN, ``statements`` (user SQL, untouched), the lock's fence, keel's
        parameterised ``commands`` and COMMIT, to be sent in one round trip; only where
        ``elapsed_ms`` is set. ``fence``: a command that fails unless this run still holds
        the lock (the lease's); None: the dialect's own session-lock fence."""
        raise NotImplementedError(f"{self.name} runs a migration statement by statement")

    def run_and_commit(
        self, conn: Connection, commands: Sequence[tuple[str, Sequence[object]]]
    ) -> None:
        """Run keel's own parameterised ``commands``, then COMMIT; a dialect whose driver can
        send them in one round trip does. Raises WriteFailed when a command fails, the
        driver's error when the COMMIT does (a deferred constraint of the migration's)."""
        for sql, params in commands:
            try:
                self.run(conn, sql, params)
            except self.error_types as exc:
                raise WriteFailed(exc) from exc
        self.commit(conn)

    def rows(
        self, conn: Connection, sql: str, params: Sequence[object] = ()
    ) -> Generator[tuple[Any, ...], None, None]:
        """The rows one at a time: a caller that converts them never holds all the driver's
        tuples at once (10 000 history rows: ~10 MB less at the peak)."""
        cur = conn.cursor()
        try:
            cur.execute(sql, tuple(params))
            yield from cur
        finally:
            cur.close()

    def query(
        self, conn: Connection, sql: str, params: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        cur = conn.cursor()
        try:
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()

    # -- keel's own tables -------------------------------------------------------------
    def timestamp_param(self, value: datetime) -> object:
        """A UTC timestamp as the driver should receive it for a ``ts`` column."""
        return value

    def qualify(self, table: str) -> str:
        """The table name as written in keel's SQL (schema-qualified where set)."""
        return f"{self.schema}.{table}" if self.schema else table

    @abstractmethod
    def table_exists(self, conn: Connection, table: str) -> bool: ...

    @abstractmethod
    def index_exists(self, conn: Connection, index: str) -> bool:
        """Whether keel's index ``index`` exists (beside keel's tables)."""

    def unique_index_sql(self, index: str, table: str, column: str) -> str:
        """The SQL creating a unique index on one text column of keel's ``table``."""
        return f"CREATE UNIQUE INDEX {index} ON {table} ({column})"

    def relation_kind(self, conn: Connection, name: str) -> str | None:
        """What ``name`` is in keel's schema: "table", "view" (or another kind of
        relation, in the database's words), or None when nothing has that name."""
        return "table" if self.table_exists(conn, name) else None

    def check_writable(self) -> None:  # noqa: B027 - optional hook
        """Raise ConfigError when keel could not write to the database for a reason
        known before it tries (an SQLite file or folder that is read-only)."""

    def prepare_schema(self, conn: Connection) -> None:  # noqa: B027 - optional hook
        """Create the configured schema if the dialect has schemas and it is missing."""

    # -- errors ------------------------------------------------------------------------
    @property
    @abstractmethod
    def error_types(self) -> tuple[type[BaseException], ...]:
        """Driver exceptions that mean 'the database refused this statement'."""

    def explain(self, exc: BaseException) -> KeelError | None:
        """The error to raise instead of ``exc`` when it is a state of the database as a
        whole (busy, disk full) rather than the failure of one statement; else None."""
        return None

    def needs_no_transaction(self, exc: BaseException) -> bool:
        """Whether ``exc`` says that the statement cannot run inside a transaction block
        (a migration then needs ``-- keel: transaction=off``)."""
        return False

    def failure_left_nothing(self, sql: str, exc: BaseException) -> bool:
        """Whether the failure ``exc`` of ``sql``, one command sent outside a transaction
        on a connection that is still open, proves that the database changed nothing (so
        the migration may simply run again). False unless the dialect can prove it."""
        return False

    def describe_error(
        self, exc: BaseException, statement: Statement | None, offset: int | None = 0
    ) -> tuple[str, int]:
        """The database's message and the file line it points at (statement's line if unknown).
        ``offset``: characters before the statement in the text the server was sent (None:
        the server's position does not point into it)."""
        line = statement.line if statement else 0
        return str(exc).strip(), line

    # -- locking -----------------------------------------------------------------------
    # The invariant: no two runs ever apply the same migration. The lock is held by ``conn``,
    # the session that runs the migrations, so it lives exactly as long as the server-side
    # work it protects: when keel dies, the server frees it only once that session's last
    # statement has ended (committed or rolled back), never while it still runs.
    @abstractmethod
    @contextmanager
    def session_lock(
        self,
        connect: Callable[[], Connection],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        """Hold the migration lock for the block on the connection ``connect`` returns (the
        one that runs the migrations), opened when the lock needs it; it dies with the
        session. If the block raises, the lock is left to the caller, who closes it."""
        yield

    def fence(self, conn: Connection) -> bool:
        """Inside a migration's transaction, before its history row commits: whether ``conn``
        still holds the migration lock (and keeps it until the transaction ends). False when
        it was lost, e.g. released by a migration's own SQL, and another session may hold it."""
        return True

    @abstractmethod
    def lock_holder(self) -> Holder | None:
        """Who holds the migration lock now, or None when it is free."""

    def lease_sql(self, table: str) -> LeaseSQL:
        """The statements of table lock mode on the lease table ``table`` (keel's name,
        unqualified). Raises ConfigError where the family has none."""
        raise ConfigError(
            f'lock_mode = "table" is not available on {self.name} yet. Fix: use '
            'lock_mode = "session" (the default).'
        )

    @contextmanager
    def hold_server_lock(
        self,
        conn: Connection,
        prepare: Callable[[], object],
        acquire: str,
        release: str,
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        """Hold a lock the server keeps for the session ``conn``: ``prepare`` readies the
        session and returns the lock's key; ``acquire`` (one parameter, the key) answers 1
        when it took the lock without waiting, ``release`` 1 when it was still held. The
        server drops the lock with the session, so a killed keel frees it. Raises
        LockTimeout, or LockLost at the end."""
        key = prepare()
        poll_lock(
            lambda: bool(self.query(conn, acquire, (key,))[0][0] == 1),
            self.lock_holder,
            timeout=timeout,
            wait=wait,
            on_wait=on_wait,
            what=self.url.masked(),
        )
        # If the block raises, its error is what the user sees, and the caller's closing
        # of the session releases the lock.
        yield
        try:
            released = self.query(conn, release, (key,))[0][0]
        except self.error_types:  # the session, and with it the lock, was lost
            released = None
        if released != 1:
            raise LockLost(
                "the migration lock was no longer held when keel released it at the end of the "
                "run (a migration's own SQL may release it, e.g. pg_advisory_unlock_all() or "
                "RELEASE_ALL_LOCKS()). Each migration of this run checked that it still held "
                "the lock before it was recorded. Fix: run 'keel status' to see where the "
                "database stands, and remove such statements from the migration."
            )


# -- table lock mode: the lease's SQL ------------------------------------------------------
class LeaseSQL(Value):
    """keel's statements on the lease table of table lock mode (SPEC 10), in one family's
    SQL, with the driver's placeholders. The table holds at most one row (``lock_id`` 1):
    token (this holding's random id), owner (host, pid, keel version), acquired_at,
    heartbeat_at. Times are the database's (``now``), so clients' clocks never matter.

    Parameters, in order: ``acquire`` (token, owner); ``takeover`` (token, owner, old
    token, lease seconds); ``heartbeat`` and ``release`` (token); ``release_stale`` (token,
    lease seconds); ``fence_or_fail`` (token). ``read`` answers (token, owner, acquired_at,
    seconds since the heartbeat) or no row. ``fence``: statements run in a migration's
    transaction, the last one answering the token; they lock the row until the transaction
    ends, so a takeover waits for the migration's commit and a holder whose lease was taken
    over sees it. ``fence_or_fail``: one statement that fails unless the token is still
    ours, for a migration sent whole (None where the dialect never sends one whole).
    ``heartbeat_setup``: run once on the heartbeat's own connection (None: nothing).
    """

    __slots__ = (
        "acquire",
        "create",
        "fence",
        "fence_or_fail",
        "heartbeat",
        "heartbeat_setup",
        "now",
        "read",
        "release",
        "release_stale",
        "table",
        "takeover",
    )
    table: str  # the lease table, as written in the statements
    now: str  # the database's current time (not the transaction's start)
    create: str  # CREATE TABLE IF NOT EXISTS
    acquire: str  # an insert that does nothing when the row exists
    takeover: str  # an update of a stale lease to ours, conditional on its old token
    heartbeat: str
    read: str
    fence: tuple[str, ...]
    fence_or_fail: str | None
    release: str
    release_stale: str
    heartbeat_setup: str | None

    def __init__(
        self,
        *,
        table: str,
        now: str,
        create: str,
        acquire: str,
        takeover: str,
        heartbeat: str,
        read: str,
        fence: tuple[str, ...],
        release: str,
        release_stale: str,
        fence_or_fail: str | None = None,
        heartbeat_setup: str | None = None,
    ) -> None:
        self.table = table
        self.now = now
        self.create = create
        self.acquire = acquire
        self.takeover = takeover
        self.heartbeat = heartbeat
        self.read = read
        self.fence = fence
        self.fence_or_fail = fence_or_fail
        self.release = release
        self.release_stale = release_stale
        self.heartbeat_setup = heartbeat_setup
