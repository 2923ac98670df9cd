"""MySQL/MariaDB's test harness (``sqlkeel.testing``): a database of its own on the server
at ``KEEL_TEST_MYSQL_HOST``:``KEEL_TEST_MYSQL_PORT`` (default 127.0.0.1:3306, user root)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from sqlkeel.testing import DialectHarness, HarnessUnavailable

ADMIN: dict[str, Any] = {
    "host": os.environ.get("KEEL_TEST_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("KEEL_TEST_MYSQL_PORT", "3306")),
    "user": "root",
}


def admin_query(sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
    """Run one statement as root, in autocommit mode; its rows, if any."""
    import pymysql

    try:
        conn = pymysql.connect(**ADMIN, autocommit=True, connect_timeout=5)
    except pymysql.err.OperationalError as exc:
        raise HarnessUnavailable(
            f"MariaDB is not reachable at {ADMIN['host']}:{ADMIN['port']}: {exc}. Start it "
            "with 'start-stop-daemon --start --oknodo --background --exec "
            "/usr/sbin/mariadbd' (.ci/run does this)."
        ) from exc
    try:
        if database is not None:
            conn.select_db(database)
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def _connect_args(url: str) -> dict[str, Any]:
    """PyMySQL's arguments for the server and database a ``mysql://`` URL names."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    return {
        "host": parts.hostname or ADMIN["host"],
        "port": parts.port or 3306,
        "user": unquote(parts.username or ADMIN["user"]),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/") or None,
    }


def database_url(name: str) -> str:
    return f"mysql://root@{ADMIN['host']}:{ADMIN['port']}/{name}"


class Harness(DialectHarness):
    id = "mysql"
    # The server keeps no client pid unless performance_schema is on: the holder is named
    # by its connection.
    holder_mentions = "MySQL connection"
    reports_error_position = True  # "... at line N" of a syntax error
    is_server = True
    admin = ADMIN

    def create_database(self, tmp_path: Path) -> str:
        name = f"keel_t_{uuid.uuid4().hex[:12]}"
        admin_query(f"CREATE DATABASE `{name}`")
        return database_url(name)

    def drop_database(self, url: str) -> None:
        admin_query(f"DROP DATABASE IF EXISTS `{url.rsplit('/', 1)[1]}`")

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        import pymysql

        args = _connect_args(url)
        try:
            conn = pymysql.connect(**args, autocommit=True, connect_timeout=5, read_timeout=60)
        except pymysql.err.OperationalError as exc:
            raise HarnessUnavailable(
                f"MariaDB is not reachable at {args['host']}:{args['port']}: {exc}."
            ) from exc
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def tables(self, url: str) -> set[str]:
        sql = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
        )
        return {str(r[0]) for r in self.query(url, sql)}

    def slow_statement(self, seconds: float) -> str:
        return f"SELECT SLEEP({seconds});"

    def concatenation(self, *parts: str) -> str:
        return f"CONCAT({', '.join(parts)})"  # || is OR on MySQL

    def drop_index_statement(self, index: str, table: str) -> str:
        return f"DROP INDEX {index} ON {table}"  # MySQL names the table of an index

    def running_sessions(self, url: str, fragment: str) -> list[object]:
        like = fragment.replace("'", "''")
        sql = (
            "SELECT id FROM information_schema.processlist WHERE db = DATABASE() "
            f"AND info LIKE '%{like}%' AND id <> CONNECTION_ID()"
        )
        return [r[0] for r in self.query(url, sql)]

    def lock_session(self, url: str) -> object | None:
        # keel's lock is a named lock, "<database>.<history table>" (sqlkeel.dialects.mysql).
        name = _connect_args(url)["database"]
        rows = self.query(url, f"SELECT IS_USED_LOCK('{name}.keel_history')")
        holder: object | None = rows[0][0]
        return holder

    def end_session(self, url: str, session: object) -> None:
        self.query(url, f"KILL {int(str(session))}")

    def release_locks_statement(self) -> str:
        return "DO RELEASE_ALL_LOCKS();"
