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
        return admin_query(sql, database=url.rsplit("/", 1)[1])

    def tables(self, url: str) -> set[str]:
        sql = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
        )
        return {str(r[0]) for r in self.query(url, sql)}

    def slow_statement(self, seconds: float) -> str:
        return f"SELECT SLEEP({seconds});"
