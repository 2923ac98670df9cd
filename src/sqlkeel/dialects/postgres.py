"""PostgreSQL, through psycopg 3 (extra ``postgres``).

Capabilities: transactional DDL; dollar quoting, E'' strings, nested block comments,
``BEGIN ATOMIC`` bodies. ``schema`` holds keel's tables and leads the ``search_path`` of
the migration connection, as Flyway does with its default schema.
Lock: ``pg_try_advisory_lock`` on the session that runs the migrations, whose
``application_name`` names the holder; the server drops it when that session ends, which is
only after its last transaction has committed or rolled back, so a killed keel frees it and
never lets a second run start beside the work the first one left running. Each migration
is fenced in its own transaction: ``pg_try_advisory_xact_lock`` on the same key must succeed
before its history row commits (it cannot if a migration's own ``pg_advisory_unlock_all()``
or ``DISCARD ALL`` dropped the lock and another run took it).
https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
In session mode keel refuses a connection through a transaction-mode pooler (PgBouncer),
whose transactions run in changing server sessions; table mode (a lease row, ``_lease_sql``
at the end) works through one, with no server-side prepared statements.
Migration sessions set ``client_connection_check_interval`` (PostgreSQL 14+) so that a
statement of a killed keel is cancelled promptly instead of running on.
Round trips: a transactional migration whose statements hold no ';' travels whole (BEGIN,
statements, history and log rows, COMMIT) as one query; its run time is the server's.
Gaps: ``transaction=off`` files are recorded ``failed`` on error (no automatic undo).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from functools import cache

from sqlkeel.core.lexer import Lexed
from sqlkeel.core.splitter import POSTGRES, Statement
from sqlkeel.dialects.base import (
    Connection,
    Dialect,
    Holder,
    LeaseSQL,
    LockWait,
    Transaction,
    TransactionFailed,
    WriteFailed,
    holder_name,
)
from sqlkeel.errors import ConfigError, ConnectionFailed
from sqlkeel.urls import DatabaseURL, mask_password

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, ClassVar


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Outside a transaction block one statement runs in an implicit transaction of its own
# (https://www.postgresql.org/docs/current/sql-begin.html), so its failure undoes it; these
# may commit part of their work first: a procedure or DO block with COMMIT inside
# (https://www.postgresql.org/docs/current/plpgsql-transactions.html), statements that run
# in several transactions (VACUUM, CLUSTER and REINDEX of several tables, DROP DATABASE),
# and CONCURRENTLY, which leaves an INVALID index behind when it fails
# (https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY).
_MAY_COMMIT_PART_WAY = re.compile(
    r"(?:CALL|DO|VACUUM|CLUSTER|REINDEX|DROP\s+DATABASE)(?![\w$])", re.IGNORECASE
)
# Anywhere, even in a literal or a comment: a false alarm only asks for a repair.
_CONCURRENTLY = re.compile(r"(?<![\w$])CONCURRENTLY(?![\w$])", re.IGNORECASE)


# From BEGIN, which reaches the server with the statements, to keel's first row. The first
# use keeps the value in a transaction-local setting, so the history row, the log row and
# what keel prints agree to the millisecond; after COMMIT the setting reads ''.
_ELAPSED_MS = (
    "CAST(COALESCE(NULLIF(current_setting('keel.elapsed_ms', true), ''), "
    "set_config('keel.elapsed_ms', CAST(round(EXTRACT(EPOCH FROM clock_timestamp() - "
    "transaction_timestamp()) * 1000) AS text), true)) AS integer)"
)
# In a transaction sent whole, before keel's rows: fails (division by zero) unless this
# session holds the migration lock until the transaction ends. Not a constant expression,
# so the planner cannot fold it to an error in advance.
_FENCE = "SELECT 1 / pg_try_advisory_xact_lock(%s)::int"

# pg_class.relkind, as keel names it to the user.
_RELATION_KINDS = {
    "r": "table",
    "p": "table",  # partitioned
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
    "S": "sequence",
    "i": "index",
    "I": "index",
    "c": "composite type",
}
# Between the commands of a transaction sent whole: the newline ends a trailing line comment.
_GLUE = "\n;\n"


def _local_address(conn: Connection) -> tuple[str, int] | None:
    """This end of ``conn``'s TCP socket (None for a Unix socket), as the server would
    name its client."""
    import os
    import socket  # psycopg has loaded it already

    sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
    try:
        name = sock.getsockname()
    finally:
        sock.close()  # the duplicate only
    if not isinstance(name, tuple):
        return None
    return str(name[0]), int(name[1])


def _position(result: Any) -> int:
    """The character (from 1) an error result points at in the text sent; 0 if none."""
    from psycopg import pq

    position = result.error_field(pq.DiagnosticField.STATEMENT_POSITION)
    return int(position) if position and position.isdigit() else 0


@cache
def _driver_sends_whole() -> bool:
    """Whether the installed psycopg has the pieces a migration sent whole is read with.

    They are psycopg's own building blocks (``psycopg.generators``, ``error_from_result``),
    present since 3.1 but not documented as public: should a release drop them, keel runs
    migrations statement by statement as before instead of failing.
    """
    try:
        from psycopg.errors import error_from_result  # noqa: F401
        from psycopg.generators import fetch_many, send  # noqa: F401
    except ImportError:
        return False
    return True


class _Transaction(Transaction):
    """One simple-protocol query holding a whole transaction. The server answers with one
    result per command and stops at the first error, so the number of results before the
    error names the failing statement."""

    def __init__(
        self,
        conn: Connection,
        text: bytes,
        offsets: list[int],
        commands: int,
    ) -> None:
        self.conn = conn
        self.text = text
        self.offsets = offsets  # where each statement starts in the text
        self.expected = len(offsets) + commands + 3  # with BEGIN, the fence and COMMIT

    def send(self) -> None:
        from psycopg.generators import send

        self.conn.pgconn.send_query(self.text)
        self.conn.wait(send(self.conn.pgconn))  # flushed now; wait() reads the results

    def wait(self) -> str | None:
        from psycopg import ProgrammingError, errors, pq
        from psycopg.generators import fetch_many

        ok = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
        results = self.conn.wait(fetch_many(self.conn.pgconn))
        for index, result in enumerate(results):
            if result.status in ok:
                continue
            cause: BaseException
            if result.status == pq.ExecStatus.FATAL_ERROR:
                cause = errors.error_from_result(result, encoding=self.conn.info.encoding)
            else:  # COPY to or from the client: keel has no data to give or take
                cause = ProgrammingError(
                    f"the server answered {pq.ExecStatus(result.status).name}, which a "
                    "migration cannot use"
                )
            # results[0] is BEGIN's, results[k] statement k's. But the server parses the
            # whole text before running any of it: a syntax error comes first, and only its
            # position tells which statement holds it.
            if index == 0:
                index = max(1, bisect_right(self.offsets, _position(result) - 1))
            if index == len(self.offsets) + 1:  # the fence
                raise TransactionFailed(index, cause, None, lock_lost=True)
            statement = 1 <= index <= len(self.offsets)
            offset = self.offsets[index - 1] if statement else None
            if not statement:  # keel's rows or the COMMIT: number them as before the fence
                index -= 1
            raise TransactionFailed(index, cause, offset)
        if len(results) != self.expected:  # cannot happen: the splitter drops empty statements
            return None
        last = results[-2]  # the last command before COMMIT
        if not last.ntuples or not last.nfields:
            return None
        value = last.get_value(0, 0)
        return None if value is None else bytes(value).decode()


class PostgresDialect(Dialect):
    name = "postgresql"
    split_options = POSTGRES
    transactional_ddl = True
    default_port = 5432
    reads_beside_writers = True
    param = "%s"
    types: ClassVar[dict[str, str]] = {
        "id": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        "ts": "TIMESTAMPTZ",
        "text": "TEXT",
        "int": "INTEGER",
    }

    def __init__(self, url: DatabaseURL, *, table: str, schema: str | None = None) -> None:
        # Without a name libpq picks a database (the user's name, PGDATABASE): keel would
        # migrate whichever that is. ``dbname=`` or a ``service=`` file may name it instead.
        # https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING
        if not url.database and not {"dbname", "service"} & set(url.query):
            raise ConfigError(
                f"the PostgreSQL URL {url.masked()} names no database, so the server would "
                "pick one (its default, named after the user) and keel would migrate that. "
                "Fix: add it after the host, e.g. postgresql://app@db.example.com:5432/app."
            )
        super().__init__(url, table=table, schema=schema)
        self._lock_key: int | None = None
        # BEGIN is held back and sent with the transaction's first command, in one pipeline:
        # a migration step costs one round trip less.
        self._begin_pending: int | None = None  # id() of the connection whose BEGIN waits
        self._mogrifier: tuple[Connection, Any] | None = None  # (its connection, cursor)
        # Without a configured schema: the session's current schema when keel connected.
        # keel's own tables are always named with it, so a migration that changes
        # search_path (every pg_dump output empties it) never moves keel's history.
        self._own_schema: str | None = None

    def lock_key(self, conn: Connection) -> int:
        """The advisory-lock key of the history table keel uses. Without a configured
        schema that is the session's current schema, so `schema = "app"` and an unset
        schema on a search_path led by app share one lock, as they share one table."""
        if self._lock_key is None:
            schema = self.schema or self.query(conn, "SELECT current_schema()")[0][0] or ""
            digest = hashlib.sha256(f"keel:{schema}.{self.table}".encode()).digest()
            # A positive 63-bit key keeps the (classid, objid) split in pg_locks simple.
            self._lock_key = int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF
        return self._lock_key

    def _connect_kwargs(self, application_name: str) -> dict[str, Any]:
        url = self.url
        kwargs: dict[str, Any] = {
            "host": url.host,
            "port": url.port,
            "user": url.username,
            "password": url.password,
            "dbname": url.database,
            "connect_timeout": 10,
            "application_name": application_name[:63],
        }
        kwargs.update(url.query)
        return {k: v for k, v in kwargs.items() if v is not None}

    def _open(self, application_name: str) -> Connection:
        try:
            import psycopg
        except ImportError as exc:
            raise ConfigError(
                "PostgreSQL support needs psycopg 3. Fix: pip install 'sqlkeel[postgres]'."
            ) from exc
        kwargs = self._connect_kwargs(application_name)
        try:
            # connect_timeout bounds the whole start-up, TCP and handshake (libpq's rule),
            # so a frozen server is given up on too.
            if self.pooled:
                # Behind a transaction-mode pooler the next transaction may run in another
                # server session, where psycopg's prepared statements do not exist.
                # https://www.psycopg.org/psycopg3/docs/advanced/prepare.html#using-prepared-statements-with-pgbouncer
                kwargs["prepare_threshold"] = None
            return psycopg.connect(autocommit=True, **kwargs)
        except psycopg.Error as exc:
            said = " ".join(mask_password(str(exc)).split())
            if isinstance(exc, getattr(psycopg.errors, "ConnectionTimeout", ())) or (
                "timeout expired" in said
            ):
                raise ConnectionFailed(
                    f"cannot connect to PostgreSQL at {self.url.masked()}: the server at "
                    f"{self.address} did not answer within {kwargs['connect_timeout']} s "
                    f"({said}); it may be frozen or overloaded, or a firewall drops the "
                    "packets. Fix: check that server; if it is only slow, raise "
                    "connect_timeout in the URL (?connect_timeout=30)."
                ) from exc
            raise ConnectionFailed(
                f"cannot connect to PostgreSQL at {self.url.masked()} ({self.address}): "
                f"{said} Fix: check that the server is running and "
                "that host, port, user, password and database in the URL are right."
            ) from exc

    def is_connection_lost(self, conn: Connection, exc: BaseException) -> bool:
        return bool(conn.closed or conn.broken)

    def connect(self) -> Connection:
        # Named as the lock's holder: this session takes the lock when keel writes.
        conn = self._open(holder_name())  # first: it explains a missing psycopg
        import psycopg

        with contextlib.suppress(psycopg.Error):  # PostgreSQL 13 and older lack it
            self.execute(conn, "SET client_connection_check_interval = '1s'")
        if self.schema:
            self.execute(conn, f"SET search_path TO {_quote_ident(self.schema)}, public")
        elif self._own_schema is None:
            # NULL when no schema of the search_path exists: names then stay unqualified.
            self._own_schema = self.query(conn, "SELECT current_schema()")[0][0]
        return conn

    # -- transactions: BEGIN rides with the next command -------------------------------
    def begin(self, conn: Connection) -> None:
        self._begin_pending = id(conn)

    def _send_begin(self, conn: Connection) -> None:
        if self._begin_pending == id(conn):
            self._begin_pending = None
            super().execute(conn, "BEGIN")

    def execute(self, conn: Connection, sql: str) -> None:
        if self._begin_pending != id(conn) or ";" in sql:
            # A ';' may join several commands (a file with a custom delimiter), which only
            # the simple protocol takes, not a pipeline: BEGIN then goes on its own.
            self._send_begin(conn)
            super().execute(conn, sql)
            return
        self._begin_pending = None
        # Without parameters psycopg sends the statement untouched (`%`, `?`, `\`), and an
        # error still comes back for this statement alone: BEGIN cannot fail here.
        with conn.pipeline():
            conn.execute("BEGIN")
            conn.execute(sql)

    def run(self, conn: Connection, sql: str, params: Sequence[object] = ()) -> None:
        self._send_begin(conn)
        super().run(conn, sql, params)

    def query(
        self, conn: Connection, sql: str, params: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        self._send_begin(conn)
        return super().query(conn, sql, params)

    def rows(
        self, conn: Connection, sql: str, params: Sequence[object] = ()
    ) -> Generator[tuple[Any, ...], None, None]:
        self._send_begin(conn)
        return super().rows(conn, sql, params)

    def commit(self, conn: Connection) -> None:
        self._send_begin(conn)
        super().commit(conn)

    def rollback(self, conn: Connection) -> None:
        if self._begin_pending == id(conn):  # nothing was sent, so nothing to undo
            self._begin_pending = None
            return
        super().rollback(conn)

    # -- a migration in one round trip ---------------------------------------------------
    elapsed_ms = _ELAPSED_MS
    started_at = "transaction_timestamp()"

    def sendable(self, sql: str) -> bool:
        # A ';' may join several commands (a custom delimiter): their results would not
        # map one to one onto statements. (A ';' in a literal is just sent the other way.)
        return ";" not in sql and _driver_sends_whole()

    def transaction(
        self,
        conn: Connection,
        statements: Sequence[str],
        commands: Sequence[tuple[str, Sequence[object]]],
        fence: tuple[str, Sequence[object]] | None = None,
    ) -> Transaction:
        # One simple-protocol query, not a pipeline: the server runs the statements as psql
        # would send them (no Parse/Bind/Describe per statement), and keel's own values are
        # quoted by psycopg as literals. User SQL is joined untouched (no % substitution).
        if self._mogrifier is None or self._mogrifier[0] is not conn:
            import psycopg

            # The connection itself, not its id(): a new one could reuse a closed one's id
            # and would not hold its prepared statements.
            self._mogrifier = (conn, psycopg.ClientCursor(conn))
        mogrify = self._mogrifier[1].mogrify
        parts = ["BEGIN"]
        offsets = []
        at = len("BEGIN") + len(_GLUE)
        for sql in statements:
            offsets.append(at)
            parts.append(sql)
            at += len(sql) + len(_GLUE)
        # keel's own commands go as literal SQL rather than PREPAREd once per session: a
        # migration's DEALLOCATE ALL, or a pooler handing out another session, would make
        # a prepared name vanish under the next migration.
        if fence is None:
            fence = (_FENCE, (self.lock_key(conn),))
        parts.append(mogrify(*fence))
        parts.extend(mogrify(sql, params) if params else sql for sql, params in commands)
        parts.append("COMMIT")
        text = _GLUE.join(parts).encode(conn.info.encoding)
        return _Transaction(conn, text, offsets, len(commands))

    def run_and_commit(
        self, conn: Connection, commands: Sequence[tuple[str, Sequence[object]]]
    ) -> None:
        # Pipeline mode: history row, log row and COMMIT travel together, one round trip
        # instead of one per command; an error still surfaces here, at the sync.
        import psycopg

        cursors = []
        try:
            with conn.pipeline():
                if self._begin_pending == id(conn):
                    self._begin_pending = None
                    conn.execute("BEGIN")
                for sql, params in commands:
                    cursors.append(conn.execute(sql, tuple(params)))
                conn.execute("COMMIT")
        except psycopg.Error as exc:
            # The failing command, and every one after it, got no result: if one of keel's
            # own did not, the failure is keel's write, else the COMMIT's.
            if any(cur.pgresult is None for cur in cursors):
                raise WriteFailed(exc) from exc
            raise

    def qualify(self, table: str) -> str:
        schema = self.schema or self._own_schema
        return f"{_quote_ident(schema)}.{table}" if schema else table

    def prepare_schema(self, conn: Connection) -> None:
        if self.schema:
            self.execute(conn, f"CREATE SCHEMA IF NOT EXISTS {_quote_ident(self.schema)}")

    def index_exists(self, conn: Connection, index: str) -> bool:
        return self.table_exists(conn, index)  # to_regclass finds any relation

    def table_exists(self, conn: Connection, table: str) -> bool:
        rows = self.query(conn, "SELECT to_regclass(%s) IS NOT NULL", (self.qualify(table),))
        return bool(rows[0][0])

    def relation_kind(self, conn: Connection, name: str) -> str | None:
        # pg_class.relkind: https://www.postgresql.org/docs/current/catalog-pg-class.html
        rows = self.query(
            conn,
            "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
            (self.qualify(name),),
        )
        if not rows:
            return None
        return _RELATION_KINDS.get(str(rows[0][0]), "relation")

    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        import psycopg

        return (psycopg.Error,)

    def failure_left_nothing(self, sql: str, exc: BaseException) -> bool:
        start = Lexed(sql, self.split_options).first_significant()
        return not (_MAY_COMMIT_PART_WAY.match(sql, start) or _CONCURRENTLY.search(sql))

    def needs_no_transaction(self, exc: BaseException) -> bool:
        # 25001 active_sql_transaction: CREATE INDEX CONCURRENTLY, VACUUM, CREATE DATABASE,
        # ALTER TYPE ... ADD VALUE before PostgreSQL 12; 55P04 unsafe_new_enum_value_usage:
        # an enum value added in the same transaction (it must be committed first).
        # https://www.postgresql.org/docs/current/errcodes-appendix.html
        return getattr(exc, "sqlstate", None) in ("25001", "55P04")

    def describe_error(
        self, exc: BaseException, statement: Statement | None, offset: int | None = 0
    ) -> tuple[str, int]:
        diag = getattr(exc, "diag", None)
        line = statement.line if statement else 0
        if diag is None or not diag.message_primary:
            return mask_password(str(exc)).strip(), line
        parts = [diag.message_primary]
        if diag.message_detail:
            parts.append(f"DETAIL: {diag.message_detail}")
        if diag.message_hint:
            parts.append(f"HINT: {diag.message_hint}")
        position = diag.statement_position
        if statement is not None and offset is not None and position and position.isdigit():
            # The server counts characters from 1 within the text it was sent.
            at = int(position) - 1 - offset
            if 0 <= at <= len(statement.sql):
                line = statement.line + statement.sql.count("\n", 0, at)
        return " ".join(parts), line

    # -- locking -----------------------------------------------------------------------
    @contextmanager
    def session_lock(
        self,
        connect: Callable[[], Connection],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        conn = connect()
        self._refuse_pooler(conn)

        def prepare() -> int:
            import psycopg

            # keel reads the next file between two migrations: a server's
            # idle_session_timeout must not end the session, and the lock with it, then.
            with contextlib.suppress(psycopg.Error):  # PostgreSQL 13 and older lack it
                self.execute(conn, "SET idle_session_timeout = 0")
            return self.lock_key(conn)

        with self.hold_server_lock(
            conn,
            prepare,
            "SELECT pg_try_advisory_lock(%s)",
            "SELECT pg_advisory_unlock(%s)",
            timeout=timeout,
            wait=wait,
            on_wait=on_wait,
        ):
            yield

    def _refuse_pooler(self, conn: Connection) -> None:
        """Raise ConfigError when ``conn`` goes through a transaction-mode pooler: its
        transactions then run in whichever server session is free, so a session lock would
        stay behind in one session while the migrations run in others.

        When the server sees this very socket as its client (same address and port), there
        is nothing between: done, in one round trip. Otherwise (a pooler, or a proxy or NAT
        that is harmless) the test is the pooler's own behaviour: another connection holds
        a transaction open, keeping busy the server session ``conn`` just used (which a
        pooler hands out first), and ``conn``'s next transaction must still run in the same
        backend; without a pooler it always does."""
        first, address, port = self.query(
            conn,
            "SELECT pid, host(client_addr), client_port FROM pg_stat_activity "
            "WHERE pid = pg_backend_pid()",
        )[0]
        if (address, port) == _local_address(conn):
            return
        probe = self._open("keel (pooler check)")
        try:
            probe.execute("BEGIN")
            probe.execute("SELECT pg_backend_pid()")
            second = self.query(conn, "SELECT pg_backend_pid()")[0][0]
        finally:
            probe.close()
        if first != second:
            raise ConfigError(
                f"the connection to {self.url.masked()} goes through a connection pooler in "
                f"transaction mode (such as PgBouncer's pool_mode = transaction): two "
                f"transactions of one connection ran in two server sessions (pids {first} "
                f"and {second}), so the session lock keel takes would stay behind in one "
                'of them. Fix: set lock_mode = "table" (or KEEL_LOCK_MODE=table, '
                "--lock-mode table), whose lease row works through a pooler; or connect "
                "to the server directly, or through a session-mode pool."
            )

    def fence(self, conn: Connection) -> bool:
        rows = self.query(conn, "SELECT pg_try_advisory_xact_lock(%s)", (self.lock_key(conn),))
        return bool(rows[0][0])

    def lease_sql(self, table: str) -> LeaseSQL:
        return _lease_sql(self.qualify(table))

    def lock_holder(self) -> Holder | None:
        conn = self._open("keel lock-status")
        try:
            key = self.lock_key(conn)
            rows = self.query(
                conn,
                """
                SELECT a.application_name, a.client_addr::text, a.pid, a.backend_start
                  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND l.classid::bigint = %s AND l.objid::bigint = %s
                """,
                (key >> 32, key & 0xFFFF_FFFF),
            )
        finally:
            conn.close()
        if not rows:
            return None
        app, addr, pid, since = rows[0]
        who = app or "a session without application_name"
        return Holder(f"{who} (server pid {pid}{', from ' + addr if addr else ''})", since)


# -- table lock mode: the lease's SQL (SPEC 10) ------------------------------------------
# clock_timestamp(), not now(): now() is the start of the transaction, and a fence or a
# heartbeat must compare the time it runs. Concurrent takeovers of one stale row serialise
# on its row lock, and the second re-checks its WHERE against the row the first committed
# (https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED), so
# only one wins. The fence's FOR UPDATE holds the row until the migration commits.
def _lease_sql(table: str) -> LeaseSQL:
    now = "clock_timestamp()"
    stale = f"heartbeat_at < {now} - make_interval(secs => %s)"
    return LeaseSQL(
        table=table,
        now=now,
        create=(
            f"CREATE TABLE IF NOT EXISTS {table} (lock_id INTEGER PRIMARY KEY, "
            "token TEXT NOT NULL, owner TEXT NOT NULL, acquired_at TIMESTAMPTZ NOT NULL, "
            "heartbeat_at TIMESTAMPTZ NOT NULL)"
        ),
        acquire=(
            f"INSERT INTO {table} (lock_id, token, owner, acquired_at, heartbeat_at) "
            f"VALUES (1, %s, %s, {now}, {now}) ON CONFLICT (lock_id) DO NOTHING"
        ),
        takeover=(
            f"UPDATE {table} SET token = %s, owner = %s, acquired_at = {now}, "
            f"heartbeat_at = {now} WHERE lock_id = 1 AND token = %s AND {stale}"
        ),
        heartbeat=f"UPDATE {table} SET heartbeat_at = {now} WHERE lock_id = 1 AND token = %s",
        read=(
            "SELECT token, owner, acquired_at, "
            f"CAST(EXTRACT(EPOCH FROM {now} - heartbeat_at) AS float8) FROM {table} "
            "WHERE lock_id = 1"
        ),
        fence=(f"SELECT token FROM {table} WHERE lock_id = 1 FOR UPDATE",),
        # Division by zero unless the row is still ours.
        fence_or_fail=(
            f"SELECT 1 / count(*) FROM (SELECT 1 FROM {table} WHERE lock_id = 1 "
            "AND token = %s FOR UPDATE) AS lease"
        ),
        release=f"DELETE FROM {table} WHERE lock_id = 1 AND token = %s",
        release_stale=f"DELETE FROM {table} WHERE lock_id = 1 AND token = %s AND {stale}",
    )
