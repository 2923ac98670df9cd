"""DuckDB's test harness (``sqlkeel.testing``): a database file in the test's folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlkeel.testing import DialectHarness


def _names_lines() -> bool:
    """Whether this DuckDB says on which line of a statement its syntax error is ("LINE n:"):
    DuckDB 1.2 does so for unknown names only, later versions for syntax errors too."""
    import duckdb

    conn = duckdb.connect()
    try:
        conn.execute("SELECT 1\n WHERE oops oops")
    except duckdb.Error as exc:
        return "LINE 2:" in str(exc)
    finally:
        conn.close()
    return False


class Harness(DialectHarness):
    id = "duckdb"
    holder_mentions = "pid"
    reports_error_position = _names_lines()
    is_server = False
    # A process that has the file open for writing has it to itself.
    shared_between_processes = False

    def create_database(self, tmp_path: Path) -> str:
        return f"duckdb:///{tmp_path / 'test.duckdb'}"

    def drop_database(self, url: str) -> None:
        pass  # the test's folder goes with it

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        """Through a connection of its own, opened when no other process has the file open
        (for up to 30 s, as SQLite's harness waits for a writer); in this process it shares
        the database keel has open."""
        import duckdb

        path = url.removeprefix("duckdb:///")
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = duckdb.connect(path)
                break
            except duckdb.IOException as exc:
                if "Could not set lock on file" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            conn.execute("SET enable_progress_bar = false")
            result = conn.execute(sql)
            return list(result.fetchall()) if result.description else []
        finally:
            conn.close()

    def lock_file(self, url: str) -> Path | None:
        # Beside the database file (sqlkeel.filelock.FileLock).
        return Path(url.removeprefix("duckdb:///") + ".keel-lock")

    def tables(self, url: str) -> set[str]:
        sql = (
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = current_schema()"
        )
        return {str(r[0]) for r in self.query(url, sql)}

    def slow_statement(self, seconds: float) -> str:
        # A count over generated rows: DuckDB has no sleep function.
        rows = max(1, int(seconds * _ROWS_PER_SECOND))
        return f"SELECT count(*) FROM range({rows}) t(i) WHERE i % 7 = 3;"


# Rows of slow_statement's count a second here (measured: ~150 M/s on 2 cores).
_ROWS_PER_SECOND = 150_000_000
