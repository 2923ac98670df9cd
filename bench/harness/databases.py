"""Fresh databases for each run, and reading back what a run left in them.

PostgreSQL is administered with the psql client (the harness itself uses the standard
library only); SQLite files are read with the sqlite3 module, read-only; DuckDB files by a
script in the DuckDB virtualenv's interpreter.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from adapters import Database

_TABLE_NAME = re.compile(r"^t[0-9]+$")


class AdminError(Exception):
    """An untimed administrative step (create, drop, inspect a database) failed."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    @classmethod
    def from_url(cls, url: str) -> PostgresServer:
        """From postgresql://user@host:port; raises ValueError if a part is missing."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise ValueError(f"not a postgresql://user@host:port URL: {url!r}")
        return cls(parts.hostname, parts.port or 5432, parts.username or "postgres")

    def psql(self, dbname: str, sql: str) -> str:
        """Run `sql` with psql in `dbname`; unaligned tuples only. Raises AdminError."""
        argv = [
            "psql", "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", dbname,
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql,
        ]  # fmt: skip
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AdminError(f"psql failed: {error}") from error
        if done.returncode != 0:
            raise AdminError(f"psql -d {dbname} -c {sql[:80]!r}: {done.stderr.strip()}")
        return done.stdout.strip()

    def version(self) -> str:
        return self.psql("postgres", "SHOW server_version")

    def create(self, name: str) -> Database:
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return Database("postgresql", host=self.host, port=self.port, user=self.user, name=name)

    def drop(self, name: str) -> None:
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Databases:
    """Makes fresh databases and drops them; `close` drops whatever is left."""

    def __init__(
        self, workdir: Path, server: PostgresServer | None, duckdb_python: Path | None = None
    ) -> None:
        self.workdir = workdir
        self.server = server
        self.duckdb_python = duckdb_python  # reads DuckDB files (bench/.venvs/duckdb)
        self.live: list[Database] = []

    def fresh(self, dialect: str, tool: str) -> Database:
        """A new empty database: a PostgreSQL database, an empty SQLite file, or the path of
        a DuckDB file that the first run creates (a zero-byte file is no DuckDB database)."""
        name = f"bench_{tool}_{secrets.token_hex(4)}"
        if dialect == "sqlite":
            path = self.workdir / "sqlite" / f"{name}.db"
            path.parent.mkdir(exist_ok=True)
            path.touch()  # a zero-byte file is an empty SQLite database
            db = Database("sqlite", path=path)
        elif dialect == "duckdb":
            path = self.workdir / "duckdb" / f"{name}.duckdb"
            path.parent.mkdir(exist_ok=True)
            db = Database("duckdb", path=path)
        else:
            if self.server is None:
                raise AdminError("no PostgreSQL server configured")
            db = self.server.create(name)
        self.live.append(db)
        return db

    def drop(self, db: Database) -> None:
        if db in self.live:
            self.live.remove(db)
        if db.dialect in ("sqlite", "duckdb"):
            path = db.sqlite_file()
            for leftover in path.parent.glob(path.name + "*"):  # journal, log, lock files
                leftover.unlink()
        elif self.server is not None:
            self.server.drop(db.name)

    def close(self) -> None:
        for db in list(self.live):
            with contextlib.suppress(AdminError):
                self.drop(db)


@dataclass(frozen=True)
class State:
    """What a run left: workload tables, history rows, rows in a few sampled tables."""

    tables: int
    history_rows: int
    sampled_rows: dict[str, int]


def read_state(db: Database, databases: Databases, history: str, sample: list[str]) -> State:
    """Count workload tables (t<n>), rows of `history` (0 if absent) and of `sample`."""
    if db.dialect == "sqlite":
        return _read_sqlite(db.sqlite_file(), history, sample)
    if db.dialect == "duckdb":
        if databases.duckdb_python is None:
            raise AdminError("no DuckDB interpreter configured")
        return _read_duckdb(databases.duckdb_python, db.sqlite_file(), history, sample)
    if databases.server is None:
        raise AdminError("no PostgreSQL server configured")
    return _read_postgres(databases.server, db.name, history, sample)


def _read_sqlite(path: Path, history: str, sample: list[str]) -> State:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        listed = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        names = {row[0] for row in listed}
        tables = sum(1 for name in names if _TABLE_NAME.match(name))
        rows = _count(connection, history) if history in names else 0
        sampled = {name: _count(connection, name) for name in sample if name in names}
    finally:
        connection.close()
    return State(tables, rows, sampled)


def _count(connection: sqlite3.Connection, table: str) -> int:
    value: int = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return value


# Run by the DuckDB virtualenv's interpreter: path, history table, sampled tables (JSON);
# prints {"names": [...], "counts": {table: rows}}.
_DUCKDB_READER = """
import json, sys, duckdb
path, history, sample = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
connection = duckdb.connect(path, read_only=True)
names = [row[0] for row in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
counts = {
    name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    for name in [history, *sample] if name in names
}
print(json.dumps({"names": names, "counts": counts}))
"""


def _read_duckdb(python: Path, path: Path, history: str, sample: list[str]) -> State:
    if not path.exists():  # a status of an empty database creates no file
        return State(0, 0, {})
    argv = [str(python), "-c", _DUCKDB_READER, str(path), history, json.dumps(sample)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AdminError(f"reading {path} failed: {error}") from error
    if done.returncode != 0:
        raise AdminError(f"reading {path} failed: {done.stderr.strip()[-500:]}")
    found = json.loads(done.stdout)
    names, counts = set(found["names"]), found["counts"]
    tables = sum(1 for name in names if _TABLE_NAME.match(name))
    return State(
        tables, counts.get(history, 0), {name: counts[name] for name in sample if name in names}
    )


def _read_postgres(server: PostgresServer, dbname: str, history: str, sample: list[str]) -> State:
    names = set(
        server.psql(dbname, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split()
    )
    tables = sum(1 for name in names if _TABLE_NAME.match(name))
    present = [name for name in sample if name in names]
    counted = ([history] if history in names else []) + present
    counts: list[int] = []
    if counted:
        query = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{name}")' for name in counted)
        counts = [int(value) for value in server.psql(dbname, query).split("|")]
    by_name = dict(zip(counted, counts, strict=True))
    return State(tables, by_name.get(history, 0), {name: by_name[name] for name in present})
