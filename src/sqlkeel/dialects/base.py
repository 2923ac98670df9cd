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
    from typing import Any, ClassVar, TypeVar

    _T = TypeVar("_T")

    from sqlkeel.core.plan import TransactionSupport

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


def wait_while_busy(
    attempt: Callable[[], _T],
    is_busy: Callable[[Exception], bool],
    *,
    timeout: float,
    wait: bool,
    on_busy: Callable[[str], None] | None,
    waiting: str,
    busy_error: Callable[[float | None], KeelError],
) -> _T:
    """``attempt()``, called again while it raises an error ``is_busy`` accepts (another
    process keeps a database file busy: SQLite's write transaction, DuckDB's open file), for
    up to ``timeout`` seconds; ``waiting`` is said once through ``on_busy``. Raises
    ``busy_error(timeout)`` (None: ``wait`` was false), a DatabaseBusy (exit 3)."""
    deadline = time.monotonic() + timeout
    delay, told = 0.02, False
    while True:
        try:
            return attempt()
        except Exception as exc:
            if not is_busy(exc):
                raise
            if not wait or time.monotonic() >= deadline:
                raise busy_error(timeout if wait else None) from exc
            if not told and on_busy is not None:
                on_busy(waiting)
                told = True
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 1.5, 0.5)


class TransactionFailed(Exception):
    """A transaction sent whole (``OneRoundTrip.transaction``) failed and is left open for
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
        self.lock_lost = lock_lost  # the transaction's lock fence failed (its fence command)


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


class OneRoundTrip(ABC):
    """An optional capability: sending a whole migration (BEGIN, its statements, keel's rows
    and COMMIT) in one round trip. A dialect offers it as ``Dialect.one_round_trip``; None
    where it cannot. keel's rows travel with the statements and are built before the
    migration starts, so the database measures the run time and the start itself."""

    # SQL of "milliseconds since this transaction began, the same value for every use in
    # the transaction": the run time keel records.
    elapsed_ms: ClassVar[str]
    # SQL of "when this transaction began": the applied_at of a migration sent whole.
    started_at: ClassVar[str]
    # Appended to the log row's INSERT so that its result carries the measured run time.
    returning_ms: ClassVar[str]

    @abstractmethod
    def sendable(self, sql: str) -> bool:
        """Whether ``sql`` may travel in a transaction sent whole: one command whose failure
        the server reports as that statement's."""

    @abstractmethod
    def transaction(
        self,
        session: Session,
        statements: Sequence[str],
        fence: tuple[str, Sequence[object]],
        commands: Sequence[tuple[str, Sequence[object]]],
    ) -> Transaction:
        """BEGIN, ``statements`` (user SQL, untouched), ``fence`` (fails unless the lock is
        still held: TransactionFailed.lock_lost), keel's
        parameterised ``commands`` and COMMIT, ready to be sent in one round trip."""


class Capabilities(Value):
    """What a database family can do, as the shared code asks it: plain data, so that the
    planner, the executor and the docs read one answer."""

    __slots__ = (
        "default_port",
        "has_schemas",
        "lock",
        "reads_beside_writers",
        "run_notice",
        "split_options",
        "transactional_ddl",
        "transactional_dml",
    )
    # A transaction undoes DDL as well as DML (else a migration holding DDL runs statement
    # by statement; the plan decides, from these two and ``core.classify``).
    transactional_ddl: bool
    # A transaction undoes changes to rows (False: no transactions at all).
    transactional_dml: bool
    # Reading keel's history never waits for a migration running elsewhere (MVCC): then an
    # upgrade with nothing to do can skip the lock. SQLite's readers wait for a writer's
    # commit (up to the busy timeout), which would bypass --no-wait.
    reads_beside_writers: bool
    # ``schema`` may name where keel's tables live.
    has_schemas: bool
    # The session-mode lock: "server" (held by the working session on the server) or
    # "file" (an OS file lock beside the database file, held by this process).
    lock: str
    split_options: SplitOptions
    # Said once at the start of a run that has migrations to run: what the user must know
    # about this database's transactions (MySQL: DDL commits implicitly).
    run_notice: str | None
    default_port: int | None  # what a URL without a port means; None without a server

    def __init__(
        self,
        *,
        transactional_ddl: bool,
        split_options: SplitOptions,
        lock: str,
        has_schemas: bool,
        transactional_dml: bool = True,
        reads_beside_writers: bool = False,
        run_notice: str | None = None,
        default_port: int | None = None,
    ) -> None:
        self.transactional_ddl = transactional_ddl
        self.transactional_dml = transactional_dml
        self.split_options = split_options
        self.lock = lock
        self.has_schemas = has_schemas
        self.reads_beside_writers = reads_beside_writers
        self.run_notice = run_notice
        self.default_port = default_port


class HistorySQL:
    """The text of keel's own statements on its tables, for one family: column types, the
    placeholder, the unique key, and each read and write ``sqlkeel.history`` makes. The
    layout (which columns) is ``sqlkeel.history``'s; a family whose engine updates rows
    badly (a warehouse) may keep the same facts another way by overriding these."""

    param: ClassVar[str]  # the driver's placeholder
    # Column types for keel's tables: id (auto-increment primary key), ts, text, int.
    types: ClassVar[dict[str, str]]

    def create_table(self, table: str, columns: Sequence[tuple[str, str, bool]]) -> str:
        cols = ", ".join(
            f"{c} {self.types[t]}{'' if null else ' NOT NULL'}" for c, t, null in columns
        )
        return f"CREATE TABLE {table} (id {self.types['id']}, {cols})"

    def add_column(self, table: str, column: str, kind: str) -> str:
        return f"ALTER TABLE {table} ADD COLUMN {column} {self.types[kind]}"

    def unique_index(self, index: str, table: str, column: str) -> str:
        """The SQL creating a unique index on one text column of keel's ``table``."""
        return f"CREATE UNIQUE INDEX {index} ON {table} ({column})"

    def timestamp_param(self, value: datetime) -> object:
        """A UTC timestamp as the driver should receive it for a ``ts`` column."""
        return value

    # -- keel_history: ``at`` and ``ms`` are SQL for applied_at and execution_ms (a
    # placeholder, or the database's own measurement: OneRoundTrip) -----------------------
    def insert_history(self, table: str, at: str, ms: str) -> str:
        p = self.param
        return (
            f"INSERT INTO {table} (version, description, script, kind, checksum, "
            f"rollback_checksum, applied_at, applied_by, execution_ms, state, failed_statement, "
            f"failed_line, error, digest, noop) VALUES ({', '.join([p] * 6)}, {at}, {p}, {ms}, "
            f"{', '.join([p] * 6)})"
        )

    def update_state(self, table: str) -> str:
        """Parameters: state, failed_statement, failed_line, error, failed_direction, id."""
        p = self.param
        return (
            f"UPDATE {table} SET state = {p}, failed_statement = {p}, failed_line = {p}, "
            f"error = {p}, failed_direction = {p} WHERE id = {p}"
        )

    def update_checksums(self, table: str) -> str:
        """Parameters: checksum, rollback_checksum, script, digest, noop, id."""
        p = self.param
        return (
            f"UPDATE {table} SET checksum = {p}, rollback_checksum = {p}, script = {p}, "
            f"digest = {p}, noop = {p} WHERE id = {p}"
        )

    def delete_row(self, table: str) -> str:
        return f"DELETE FROM {table} WHERE id = {self.param}"

    def last_id(self, table: str) -> str:
        return f"SELECT MAX(id) FROM {table}"

    def select_history(self, table: str, digest: str, direction: str, noop: str) -> str:
        """Every row in insertion order; ``digest``, ``direction`` and ``noop`` are those
        columns, or NULL for a table from before them."""
        return (
            f"SELECT id, version, description, script, kind, checksum, rollback_checksum, "
            f"applied_at, applied_by, execution_ms, state, failed_statement, failed_line, "
            f"error, {digest}, {direction}, {noop} FROM {table} ORDER BY id"
        )

    def duplicated_versions(self, table: str) -> str:
        return (
            f"SELECT DISTINCT version FROM {table} WHERE version IN (SELECT version FROM "
            f"{table} WHERE version IS NOT NULL GROUP BY version HAVING COUNT(*) > 1)"
        )

    def no_rows(self, table: str) -> str:
        """A query whose result names the table's columns."""
        return f"SELECT * FROM {table} WHERE 1 = 0"

    # -- keel_log (append-only) ----------------------------------------------------------
    def insert_log(self, table: str, at: str, ms: str, returning: str = "") -> str:
        p = self.param
        return (
            f"INSERT INTO {table} (action, version, script, logged_at, by_user, duration_ms, "
            f"outcome, detail) VALUES ({p}, {p}, {p}, {at}, {p}, {ms}, {p}, {p}){returning}"
        )

    def select_log(self, table: str) -> str:
        return (
            f"SELECT id, action, version, script, logged_at, by_user, duration_ms, outcome, "
            f"detail FROM {table} ORDER BY id"
        )

    def count_upgrades(self, table: str) -> str:
        return f"SELECT count(*) FROM {table} WHERE action = 'upgrade' AND outcome = 'success'"


class Session:
    """One open connection and its state: what a migration run talks to. Not shared
    between threads; the dialect that made it is."""

    def __init__(self, dialect: Dialect, conn: Connection) -> None:
        self.dialect = dialect
        self.conn = conn  # DB-API, in autocommit mode: keel issues BEGIN/COMMIT itself

    def close(self) -> None:
        self.conn.close()

    def is_lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the connection itself is gone (server stopped or killed the
        session), rather than the database refusing a statement."""
        return False

    def begin(self) -> None:
        self.execute("BEGIN")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def execute(self, sql: str) -> None:
        """Run user SQL exactly as written: no parameters argument, so no % substitution."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()

    def run(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run keel's own parameterised SQL."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(params))
        finally:
            cur.close()

    def run_and_commit(self, commands: Sequence[tuple[str, Sequence[object]]]) -> None:
        """Run keel's own parameterised ``commands``, then COMMIT; a session whose driver can
        send them in one round trip does. Raises WriteFailed when a command fails, the
        driver's error when the COMMIT does (a deferred constraint of the migration's)."""
        for sql, params in commands:
            try:
                self.run(sql, params)
            except self.dialect.error_types as exc:
                raise WriteFailed(exc) from exc
        self.commit()

    def rows(
        self, sql: str, params: Sequence[object] = ()
    ) -> Generator[tuple[Any, ...], None, None]:
        """The rows one at a time: a caller that converts them never holds all the driver's
        tuples at once (10 000 history rows: ~10 MB less at the peak)."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(params))
            yield from cur
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()

    def columns(self, sql: str) -> list[str]:
        """The names of the columns ``sql`` (keel's own query) returns."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            return [str(col[0]) for col in cur.description]
        finally:
            cur.close()

    def qualify(self, table: str) -> str:
        """The table name as written in keel's SQL on this session (schema-qualified where
        a schema is set, or where the session found its own)."""
        return self.dialect.qualify(table)


class Dialect(ABC):
    """One database family, bound to a URL and keel's table settings. It holds no state of
    any connection (that is its ``Session``'s), so one instance may serve many threads.

    Checklist for a new family (one package under ``sqlkeel/dialects/`` and one registry
    line in ``sqlkeel/dialects/__init__.py``; then run the conformance suite through a
    ``sqlkeel.testing.DialectHarness``):
    1. ``capabilities``: transactional DDL? schemas? the session-mode lock (server or file)?
       split options (each one named for the syntax it enables, see ``core/splitter``)?
    2. ``validate_url`` refuses what the family cannot connect with, naming the fix.
    3. ``connect`` imports the driver there (``keel --help`` never loads it) and returns an
       autocommit ``Session``; connect and handshake are bounded; a failure is
       ConnectionFailed naming host:port, never the password.
    4. ``history_sql``: column types and placeholder; catalog lookups (``relation_kind``,
       ``index_exists``) answer for keel's schema only.
    5. Errors: ``error_types``; ``describe_error`` maps the server's position to the
       file's line; ``explain`` for states of the whole database (busy, disk full);
       ``failure_left_nothing`` only where the database proves it.
    6. The lock: ``session_lock`` holds it on the working session (or an OS file lock),
       ``fence`` checks it inside each migration's transaction, ``lock_holder`` names who.
    """

    name: ClassVar[str]
    title: ClassVar[str]  # the family as the docs and messages name it
    capabilities: ClassVar[Capabilities]
    history_sql: ClassVar[HistorySQL]

    def __init__(
        self,
        url: DatabaseURL,
        *,
        table: str,
        schema: str | None = None,
        busy_timeout: float = 60.0,
        on_busy: Callable[[str], None] | None = None,
        send_whole: bool = True,
        pooled: bool = False,
    ) -> None:
        self.validate_url(url)
        if schema and not self.capabilities.has_schemas:
            raise ConfigError(
                f"schema = {schema!r} is set, but {self.title} has no schemas. "
                f"Fix: remove 'schema' from the configuration for {self.title} databases."
            )
        self.url = url
        self.table = table
        self.schema = schema
        # How long keel waits for another process that keeps the database busy (SQLite: a
        # write transaction), and what it calls while it waits (lock_timeout, the listener).
        self.busy_timeout = busy_timeout
        self.busy_wait = True  # False: --no-wait, for a database file another process holds
        self.on_busy = on_busy
        # Whether an optional one-round-trip sender may be used (setting one_round_trip).
        self.send_whole = send_whole
        # Whether keel's connections may pass through a transaction-mode pooler (table lock
        # mode, chosen for PgBouncer): then each transaction may run in another server
        # session, so keel must not rely on statements prepared in an earlier one.
        self.pooled = pooled

    @classmethod  # noqa: B027 - optional hook
    def validate_url(cls, url: DatabaseURL) -> None:
        """Raise ConfigError naming the fix when ``url`` (its parameters included) cannot
        be used with this family."""

    def with_busy(
        self, timeout: float, on_busy: Callable[[str], None] | None, *, wait: bool = True
    ) -> Dialect:
        """This dialect waiting ``timeout`` seconds, saying so through ``on_busy``, for
        another process that keeps the database busy; without ``wait`` (``--no-wait``,
        said so in the error) not when it connects, though a statement may still wait
        ``timeout`` for a reader (SQLite) once the run has begun."""
        import copy

        other = copy.copy(self)
        other.busy_timeout = timeout
        other.busy_wait = wait
        other.on_busy = on_busy
        return other

    @property
    def one_round_trip(self) -> OneRoundTrip | None:
        """An optional capability (see OneRoundTrip); None where the family has none, or
        where the settings turned it off (``send_whole``)."""
        return None

    @property
    def split_options(self) -> SplitOptions:
        return self.capabilities.split_options

    # -- connections -------------------------------------------------------------------
    @abstractmethod
    def connect(self) -> Session:
        """Open an autocommit session; raises ConnectionFailed with a masked message."""

    @property
    def address(self) -> str:
        """host:port of the server, as errors name it (a connection that failed or broke)."""
        return f"{self.url.host or 'localhost'}:{self.url.port or self.capabilities.default_port}"

    def database_exists(self) -> bool:
        """False only when connecting would create the database (SQLite files)."""
        return True

    @property
    def transaction_support(self) -> TransactionSupport:
        """What this database's transactions undo, as the plan takes it to decide each
        step's mode (``core.plan.step_mode``)."""
        from sqlkeel.core.plan import TransactionSupport

        caps = self.capabilities
        return TransactionSupport(ddl=caps.transactional_ddl, dml=caps.transactional_dml)

    # -- keel's own tables -------------------------------------------------------------
    def qualify(self, table: str) -> str:
        """The table name as written in keel's SQL (schema-qualified where set)."""
        return f"{self.schema}.{table}" if self.schema else table

    @abstractmethod
    def index_exists(self, session: Session, index: str) -> bool:
        """Whether keel's index ``index`` exists (beside keel's tables)."""

    @abstractmethod
    def relation_kind(self, session: Session, name: str) -> str | None:
        """What ``name`` is in keel's schema: "table", "view" (or another kind of
        relation, in the database's words), or None when nothing has that name."""

    def check_writable(self) -> None:  # noqa: B027 - optional hook
        """Raise ConfigError when keel could not write to the database for a reason
        known before it tries (an SQLite file or folder that is read-only)."""

    def prepare_schema(self, session: Session) -> None:  # noqa: B027 - optional hook
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
    # The invariant: no two runs ever apply the same migration. The lock is held by the
    # session that runs the migrations, so it lives exactly as long as the server-side
    # work it protects: when keel dies, the server frees it only once that session's last
    # statement has ended (committed or rolled back), never while it still runs.
    @abstractmethod
    @contextmanager
    def session_lock(
        self,
        connect: Callable[[], Session],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        """Hold the migration lock for the block on the session ``connect`` returns (the
        one that runs the migrations), opened when the lock needs it; it dies with the
        session. If the block raises, the lock is left to the caller, who closes it."""
        yield

    def fence(self, session: Session) -> bool:
        """Inside a migration's transaction, before its history row commits: whether ``session``
        still holds the migration lock (and keeps it until the transaction ends). False when
        it was lost, e.g. released by a migration's own SQL, and another session may hold it."""
        return True

    def fence_command(self, session: Session) -> tuple[str, Sequence[object]]:
        """``fence`` as one command to send inside a migration sent whole (OneRoundTrip):
        it fails when the lock is lost."""
        raise NotImplementedError(f"{self.name} sends no migration whole")

    @abstractmethod
    def lock_holder(self) -> Holder | None:
        """Who holds the migration lock now, or None when it is free."""

    def lease_sql(self, session: Session, table: str) -> LeaseSQL:
        """The statements of table lock mode on the lease table ``table`` (keel's name,
        unqualified), named as ``session`` names keel's tables. Raises ConfigError where
        the family has none."""
        raise ConfigError(
            f'lock_mode = "table" is not available on {self.name} yet. Fix: use '
            'lock_mode = "session" (the default).'
        )

    @contextmanager
    def hold_server_lock(
        self,
        session: Session,
        prepare: Callable[[], object],
        acquire: str,
        release: str,
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        """Hold a lock the server keeps for ``session``: ``prepare`` readies the
        session and returns the lock's key; ``acquire`` (one parameter, the key) answers 1
        when it took the lock without waiting, ``release`` 1 when it was still held. The
        server drops the lock with the session, so a killed keel frees it. Raises
        LockTimeout, or LockLost at the end."""
        key = prepare()
        poll_lock(
            lambda: bool(session.query(acquire, (key,))[0][0] == 1),
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
            released = session.query(release, (key,))[0][0]
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
    heartbeat_at. Times are the database's clock, so clients' clocks never matter.

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
        "read",
        "release",
        "release_stale",
        "table",
        "takeover",
    )
    table: str  # the lease table, as written in the statements
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
