"""SQLite's test harness (``sqlkeel.testing``): a database file in the test's folder."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlkeel.testing import DialectHarness


class Harness(DialectHarness):
    id = "sqlite"
    holder_mentions = "pid"
    reports_error_position = False  # sqlite3 names no position in a statement
    is_server = False
    runs_command_batches = False  # sqlite3's execute() runs one command

    def create_database(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'test.db'}"

    def drop_database(self, url: str) -> None:
        pass  # the test's folder goes with it

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        path = url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as conn:
            return list(conn.execute(sql).fetchall())

    def tables(self, url: str) -> set[str]:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        return {str(r[0]) for r in self.query(url, sql)}

    def slow_statement(self, seconds: float) -> str:
        # A recursive count: SQLite has no sleep function (~3 M rows a second here).
        rows = max(1, int(seconds * 3_000_000))
        return (
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
            "SELECT count(*) FROM n;"
        )

    def lock_file(self, url: str) -> Path | None:
        # Beside the database file (sqlkeel.dialects.sqlite: SQLiteDialect.lock_path).
        return Path(url.removeprefix("sqlite:///") + ".keel-lock")
