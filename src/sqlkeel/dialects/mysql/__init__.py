"""MySQL and MariaDB, through PyMySQL (extra ``mysql``).

Capabilities: no transactional DDL. Every DDL statement commits implicitly, so a migration
that holds one runs statement by statement, and a failure part-way is recorded ``failed``
with the statement that failed (the statements before it stayed applied). A migration made
only of statements a transaction can undo (DML, ``core.classify``) still runs in one, with
its history row. Splitting: back-ticks, ``#`` comments, ``/*! */`` version comments,
backslash escapes, routine ``BEGIN … END`` bodies, the mysql client's ``DELIMITER`` lines.
``schema`` names the database that holds keel's tables; migrations run in the URL's.
Lock: ``GET_LOCK('<database>.<history table>')`` on the connection that runs the
migrations; the server releases it when that connection ends, which is only after the
statement it was running has ended, so a killed keel frees it without letting a second run
start beside its last statement. Before each migration is recorded (and before a migration
that runs statement by statement is claimed), ``IS_USED_LOCK`` must still name this
connection: a migration's own ``RELEASE_ALL_LOCKS()`` cannot let two runs interleave.
https://mariadb.com/kb/en/get_lock/ Holder: the connection ``IS_USED_LOCK`` names, from the
process list (its keel host and pid only where performance_schema records connection
attributes; MariaDB has it off by default).
Table mode: a lease row in an InnoDB table (``_lease_sql`` at the end).
Gaps: DML on a non-transactional engine (MyISAM) cannot be rolled back either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlkeel.core.classify import first_keyword
from sqlkeel.core.splitter import MYSQL, Statement
from sqlkeel.dialects.base import (
    Capabilities,
    Connection,
    Dialect,
    HistorySQL,
    Holder,
    LeaseSQL,
    LockWait,
    Session,
    holder_name,
)
from sqlkeel.errors import ConfigError, ConnectionFailed
from sqlkeel.urls import DatabaseURL, mask_password

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, ClassVar


def _quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# URL parameters passed on to PyMySQL, with their types.
_PARAMETERS: dict[str, type] = {
    "charset": str,
    "unix_socket": str,
    "connect_timeout": int,
    "read_timeout": int,
    "write_timeout": int,
    "ssl_ca": str,
    "ssl_cert": str,
    "ssl_key": str,
}

_MULTI_STATEMENTS = 1 << 16  # CLIENT_MULTI_STATEMENTS, pymysql.constants.CLIENT (not loaded early)
# "... near 'oops' at line 3": the line within the statement sent.
_ERROR_LINE = re.compile(r" at line (\d+)\s*$")
# A USE statement, alone or in a chunk of several (a custom delimiter).
# A false alarm (a USE INDEX hint, a column named use) costs one USE at the next migration.
_USE = re.compile(r"(?<![\w$])USE(?![\w$])", re.IGNORECASE)
# ER_PARSE_ERROR, ER_SYNTAX_ERROR: their messages end in "at line N".
_SYNTAX_ERRORS = (1064, 1149)
# Statements that run others, which may have changed data before one of them (a PREPARE
# of dynamic SQL) fails with a syntax error.
_RUNS_OTHERS = ("CALL", "EXECUTE")
# GET_LOCK names are limited to 64 characters (MySQL 5.7+).
_LOCK_NAME_MAX = 64
# A year, the largest wait_timeout the server accepts on every platform.
_LOCK_IDLE_TIMEOUT = 31_536_000
# Seconds a connection may take, handshake included, unless the URL says connect_timeout.
_CONNECT_TIMEOUT = 10
# The connection is gone: server shutdown, connection killed, server gone away, lost
# during a query (https://mariadb.com/kb/en/mariadb-error-codes/).
_CONNECTION_LOST = (1053, 1927, 2006, 2013)


def _coded(exc: BaseException) -> tuple[int, str] | None:
    """PyMySQL's (error code, server message), or None for an error of its own."""
    args: tuple[Any, ...] = exc.args
    if len(args) == 2 and isinstance(args[0], int):
        return args[0], str(args[1]).strip()
    return None


class MySQLHistorySQL(HistorySQL):
    param = "%s"
    types: ClassVar[dict[str, str]] = {
        "id": "BIGINT AUTO_INCREMENT PRIMARY KEY",
        "ts": "DATETIME(6)",
        "text": "LONGTEXT",  # TEXT holds 64 KB: less than a failed statement's log row
        "int": "INT",
    }

    def unique_index(self, index: str, table: str, column: str) -> str:
        # A key on a LONGTEXT column needs a prefix length; versions are far shorter.
        return f"CREATE UNIQUE INDEX {index} ON {table} ({column}(191))"

    def timestamp_param(self, value: datetime) -> object:
        # DATETIME has no time zone: keel stores UTC and reads it back as UTC.
        return value.astimezone(timezone.utc).replace(tzinfo=None)


class MySQLSession(Session):
    """A PyMySQL connection, and whether a migration's USE moved it to another database."""

    dialect: MySQLDialect

    def __init__(self, dialect: MySQLDialect, conn: Connection) -> None:
        super().__init__(dialect, conn)
        self.moved = False

    def is_lost(self, exc: BaseException) -> bool:
        coded = _coded(exc)
        return not self.conn.open or (coded is not None and coded[0] in _CONNECTION_LOST)

    def begin(self) -> None:
        # Each migration starts in the URL's database, whatever a USE in the last one chose.
        if self.moved:
            self.moved = False
            super().execute(f"USE {_quote_ident(self.dialect.url.database or '')}")
        super().begin()

    def execute(self, sql: str) -> None:
        if _USE.search(sql):
            self.moved = True
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            # Several statements answer with several results; a later one's error arrives
            # only when its result is read, so read them all here, as this statement's.
            while cur.nextset():
                pass
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (sqlkeel.signals)
            self.dialect.kill_query(self.conn)
            raise
        finally:
            cur.close()


class MySQLDialect(Dialect):
    name = "mysql"
    title = "MySQL"
    capabilities = Capabilities(
        transactional_ddl=False,
        split_options=MYSQL,
        lock="server",
        has_schemas=True,
        default_port=3306,
        run_notice=(
            "MySQL and MariaDB commit every DDL statement at once, so a migration that holds DDL "
            "cannot be rolled back automatically if it fails part-way: keel then records it as "
            "failed and names the statements that ran. Migrations of DML only run in a "
            "transaction."
        ),
    )
    history_sql = MySQLHistorySQL()

    @classmethod
    def validate_url(cls, url: DatabaseURL) -> None:
        if not url.database:
            raise ConfigError(
                f"the MySQL URL {url.masked()} names no database. Fix: add it after the "
                "host, e.g. mysql://app@db.example.com:3306/app."
            )
        unknown = sorted(set(url.query) - set(_PARAMETERS))
        if unknown:
            raise ConfigError(
                f"the MySQL URL {url.masked()} has unknown parameter(s) {', '.join(unknown)}. "
                f"Fix: use only {', '.join(sorted(_PARAMETERS))}."
            )
        for key, kind in _PARAMETERS.items():
            if kind is int and key in url.query and not url.query[key].isdigit():
                raise ConfigError(
                    f"the MySQL URL parameter {key} must be a whole number of seconds. "
                    f"Fix: write e.g. ?{key}=10."
                )

    # -- connections -------------------------------------------------------------------
    def _connect_kwargs(self, program_name: str) -> dict[str, Any]:
        url = self.url
        kwargs: dict[str, Any] = {
            "host": url.host or "localhost",
            "port": url.port or 3306,
            "user": url.username or "",
            "password": url.password or "",
            "database": url.database,
            "charset": "utf8mb4",
            "connect_timeout": _CONNECT_TIMEOUT,
            "autocommit": True,  # keel issues BEGIN/COMMIT itself
            # As the mysql client does: a chunk between custom delimiters may hold several
            # statements. keel's own SQL is one statement with values escaped by PyMySQL.
            "client_flag": _MULTI_STATEMENTS,
            "program_name": program_name[:255],
        }
        for key, value in url.query.items():
            kwargs[key] = int(value) if _PARAMETERS[key] is int else value
        return kwargs

    def _open(self, program_name: str) -> Connection:
        try:
            import pymysql
        except ImportError as exc:
            raise ConfigError(
                "MySQL and MariaDB support needs PyMySQL. Fix: pip install 'sqlkeel[mysql]'."
            ) from exc
        kwargs = self._connect_kwargs(program_name)
        from pymysql.charset import charset_by_name

        if charset_by_name(kwargs["charset"]) is None:
            raise ConfigError(
                f"the MySQL URL {self.url.masked()} asks for charset {kwargs['charset']!r}, "
                "which the driver does not know. Fix: use a MySQL character set name such "
                "as utf8mb4 (the default)."
            )
        # PyMySQL's connect_timeout bounds only the TCP connect: a server that accepts and
        # never answers (frozen, SIGSTOPped) would hold the handshake forever. So the
        # handshake's reads and writes get the same bound, and the URL's own read and
        # write timeouts (none by default: a migration may run for hours) apply after.
        after = {key: kwargs.get(key) for key in ("read_timeout", "write_timeout")}
        timeout = kwargs["connect_timeout"]
        kwargs.update(read_timeout=timeout, write_timeout=timeout)
        try:
            conn = pymysql.connect(**kwargs)
        except pymysql.err.MySQLError as exc:
            raise ConnectionFailed(self._connect_failure(exc, timeout)) from exc
        # Private attributes, read again before each packet (PyMySQL 0.9 to 1.2): the only
        # way to give a connection a handshake timeout without keeping it for every query.
        conn._read_timeout = after["read_timeout"]
        conn._write_timeout = after["write_timeout"]
        return conn

    def _connect_failure(self, exc: BaseException, timeout: int) -> str:
        said = " ".join(mask_password(self._message(exc)).split())
        if "timed out" in said:
            return (
                f"cannot connect to MySQL at {self.url.masked()}: the server at "
                f"{self.address} did not answer within {timeout} s ({said}); it may be "
                "frozen or overloaded, or a firewall drops the packets. Fix: check that "
                "server; if it is only slow, raise connect_timeout in the URL "
                "(?connect_timeout=30)."
            )
        return (
            f"cannot connect to MySQL at {self.url.masked()} ({self.address}): {said}. "
            "Fix: check that the server is running and that host, port, user, password "
            "and database in the URL are right."
        )

    def connect(self) -> MySQLSession:
        # Named as the lock's holder: this connection takes the lock when keel writes.
        return MySQLSession(self, self._open(holder_name()))

    def kill_query(self, conn: Connection) -> None:
        """Stop the statement ``conn`` is running. PyMySQL drops the socket when a read is
        interrupted, but the server runs the statement on to its end (holding its locks,
        committing its DDL) after keel has released the migration lock; PostgreSQL's
        driver cancels it instead. https://mariadb.com/kb/en/kill/"""
        import pymysql

        thread_id = conn.thread_id()
        try:
            killer = self._open("keel (stopping an interrupted statement)")
        except ConnectionFailed:  # the server is gone: so is the statement
            return
        try:
            with killer.cursor() as cur:
                cur.execute(f"KILL QUERY {int(thread_id)}")
        except pymysql.err.MySQLError:  # it had ended already
            pass
        finally:
            killer.close()

    def failure_left_nothing(self, sql: str, exc: BaseException) -> bool:
        # Only a syntax error proves it: the server parsed nothing of the statement, so it
        # ran nothing. Any other error may come after part of the work: DROP TABLE a, b
        # drops a, then fails on b (https://mariadb.com/kb/en/drop-table/), and a statement
        # on a non-transactional table (MyISAM) keeps the rows it changed before failing.
        coded = _coded(exc)
        if coded is None or coded[0] not in _SYNTAX_ERRORS:
            return False
        return first_keyword(sql, self.split_options) not in _RUNS_OTHERS

    # -- keel's own tables -------------------------------------------------------------
    def qualify(self, table: str) -> str:
        # Always qualified: a migration's USE changes the session's database, and keel's
        # rows must never follow it (into another application's keel_history, say).
        return f"{_quote_ident(self.schema or self.url.database or '')}.{table}"

    def prepare_schema(self, session: Session) -> None:
        if self.schema:
            session.execute(f"CREATE DATABASE IF NOT EXISTS {_quote_ident(self.schema)}")

    def index_exists(self, session: Session, index: str) -> bool:
        rows = session.query(
            "SELECT 1 FROM information_schema.statistics "
            "WHERE table_schema = %s AND table_name = %s AND index_name = %s",
            (self.schema or self.url.database, self.table, index),
        )
        return bool(rows)

    def relation_kind(self, session: Session, name: str) -> str | None:
        # TABLE_TYPE: BASE TABLE, VIEW, SYSTEM VIEW, SEQUENCE (MariaDB), SYSTEM VERSIONED.
        rows = session.query(
            "SELECT table_type FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = %s",
            (self.schema or self.url.database, name),
        )
        if not rows:
            return None
        kind = str(rows[0][0]).lower()
        return "table" if kind in ("base table", "system versioned") else kind

    # -- errors ------------------------------------------------------------------------
    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        import pymysql

        return (pymysql.err.MySQLError,)

    @staticmethod
    def _message(exc: BaseException) -> str:
        coded = _coded(exc)
        return f"{coded[1]} (error {coded[0]})" if coded else str(exc)

    def describe_error(
        self, exc: BaseException, statement: Statement | None, offset: int | None = 0
    ) -> tuple[str, int]:
        line = statement.line if statement else 0
        coded = _coded(exc)
        if coded is None:
            return mask_password(str(exc)).strip(), line
        code, message = coded
        # A syntax error counts lines within the statement sent, from 1.
        where = _ERROR_LINE.search(message)
        if statement is not None and where and code in _SYNTAX_ERRORS:
            within = int(where.group(1))
            if 1 <= within <= statement.sql.count("\n") + 1:
                line = statement.line + within - 1
        return f"{mask_password(message)} (error {code})", line

    # -- locking -----------------------------------------------------------------------
    def _lock_name(self) -> str:
        """``<database>.<history table>``: one lock per history table, shared by every keel
        that uses it; hashed only where it would pass GET_LOCK's 64 characters."""
        name = f"{self.schema or self.url.database}.{self.table}"
        if len(name) > _LOCK_NAME_MAX:
            import hashlib  # rarely needed, and ~5 ms to import

            name = "keel:" + hashlib.sha256(name.encode()).hexdigest()[:40]
        return name

    @contextmanager
    def session_lock(
        self,
        connect: Callable[[], Session],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        session = connect()

        def prepare() -> str:
            # keel reads the next file between two migrations: the server's idle timeout
            # (often short on managed servers) must not end the connection, and the lock.
            session.execute(f"SET SESSION wait_timeout = {_LOCK_IDLE_TIMEOUT}")
            return self._lock_name()

        # Polled with a zero wait, as on PostgreSQL, so that a waiter can say who holds it.
        with self.hold_server_lock(
            session,
            prepare,
            "SELECT GET_LOCK(%s, 0)",
            "SELECT RELEASE_LOCK(%s)",
            timeout=timeout,
            wait=wait,
            on_wait=on_wait,
        ):
            yield

    def fence(self, session: Session) -> bool:
        rows = session.query("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (self._lock_name(),))
        return bool(rows[0][0] == 1)

    def lease_sql(self, session: Session, table: str) -> LeaseSQL:
        return _lease_sql(session.qualify(table))

    def lock_holder(self) -> Holder | None:
        session = Session(self, self._open("keel lock-status"))
        try:
            rows = session.query("SELECT IS_USED_LOCK(%s)", (self._lock_name(),))
            holder_id = rows[0][0]
            if holder_id is None:
                return None
            # Without the PROCESS privilege another user's connection is not listed: then
            # only its id is known. The server keeps no time a lock was taken, and the lock's
            # connection is the one running the migrations (its state's time is a
            # statement's), so no "since" is given.
            listed = session.query(
                "SELECT user, host FROM information_schema.processlist WHERE id = %s",
                (holder_id,),
            )
            program = self._program_name(session, holder_id)
        finally:
            session.close()
        who = f"{program}, " if program else ""
        if not listed:
            return Holder(f"{who}MySQL connection {holder_id}")
        user, host = listed[0]
        return Holder(f"{who}MySQL connection {holder_id} (user {user}, from {host})")

    def _program_name(self, session: Session, holder_id: int) -> str | None:
        """The holder's own name for itself ('keel on web-1, pid 42'), where the server
        keeps connection attributes (performance_schema on)."""
        import pymysql

        try:
            rows = session.query(
                "SELECT attr_value FROM performance_schema.session_connect_attrs "
                "WHERE processlist_id = %s AND attr_name = 'program_name'",
                (holder_id,),
            )
        except pymysql.err.MySQLError:
            return None
        return str(rows[0][0]) if rows and rows[0][0] else None


# -- table lock mode: the lease's SQL (SPEC 10) ------------------------------------------
# UTC_TIMESTAMP(6): DATETIME has no time zone, and keel's times are UTC. InnoDB, whatever
# the server's default engine: its row locks make concurrent takeovers of one stale row
# serialise (an UPDATE reads the latest committed row), and the fence's locking read holds
# the row until the migration commits. https://mariadb.com/kb/en/for-update/
# INSERT IGNORE: a lease already there is a warning, not an error.
def _lease_sql(table: str) -> LeaseSQL:
    now = "UTC_TIMESTAMP(6)"
    stale = f"heartbeat_at < {now} - INTERVAL ROUND(%s * 1000000) MICROSECOND"
    return LeaseSQL(
        table=table,
        create=(
            f"CREATE TABLE IF NOT EXISTS {table} (lock_id INT PRIMARY KEY, "
            "token VARCHAR(64) NOT NULL, owner TEXT NOT NULL, acquired_at DATETIME(6) NOT NULL, "
            "heartbeat_at DATETIME(6) NOT NULL) ENGINE = InnoDB"
        ),
        acquire=(
            f"INSERT IGNORE INTO {table} (lock_id, token, owner, acquired_at, heartbeat_at) "
            f"VALUES (1, %s, %s, {now}, {now})"
        ),
        takeover=(
            f"UPDATE {table} SET token = %s, owner = %s, acquired_at = {now}, "
            f"heartbeat_at = {now} WHERE lock_id = 1 AND token = %s AND {stale}"
        ),
        heartbeat=f"UPDATE {table} SET heartbeat_at = {now} WHERE lock_id = 1 AND token = %s",
        read=(
            "SELECT token, owner, acquired_at, "
            f"TIMESTAMPDIFF(MICROSECOND, heartbeat_at, {now}) / 1000000 FROM {table} "
            "WHERE lock_id = 1"
        ),
        fence=(f"SELECT token FROM {table} WHERE lock_id = 1 FOR UPDATE",),
        release=f"DELETE FROM {table} WHERE lock_id = 1 AND token = %s",
        release_stale=f"DELETE FROM {table} WHERE lock_id = 1 AND token = %s AND {stale}",
    )
