"""The floor: the workload's own statements with no tool at all.

One script, each migration in its own BEGIN ... COMMIT with one row into a plain
history table (version, applied_at) that the script creates first; the rollback
script drops the tables newest first, one transaction each, deleting the history row.
PostgreSQL: `psql -q -X -v ON_ERROR_STOP=1 -f script`. SQLite: sqlite3.executescript
in a bare interpreter (python3 -S), default journal and synchronous settings. DuckDB: the
whole script in one `execute` of the duckdb module, in the interpreter of the DuckDB
virtualenv (its site-packages, so not -S), progress bar off as keel has it.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from adapters import workload
from adapters.base import Action, Adapter, Command, Database, Kind, Project, require

_NOT_A_TOOL = "the floor is a plain script, not a migration tool"

SQLITE_RUNNER = (
    "import sqlite3, sys\n"
    "connection = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "with open(sys.argv[2]) as script:\n"
    "    connection.executescript(script.read())\n"
    "connection.close()\n"
)
DUCKDB_RUNNER = (
    "import sys, duckdb\n"
    "connection = duckdb.connect(sys.argv[1])\n"
    "connection.execute('SET enable_progress_bar = false')\n"
    "with open(sys.argv[2]) as script:\n"
    "    connection.execute(script.read())\n"
    "connection.close()\n"
)


class Floor(Adapter):
    name = "floor"
    package = None
    history_table = "floor_history"
    databases = frozenset({"sqlite", "postgresql", "duckdb"})
    unsupported: ClassVar[Mapping[Kind, str]] = {
        Kind.HELP: _NOT_A_TOOL,
        Kind.STATUS_EMPTY: _NOT_A_TOOL,
        Kind.STATUS: _NOT_A_TOOL,
        Kind.NOOP_UPGRADE: "the floor script applies everything it holds; it has no notion"
        " of pending",
    }

    def __init__(self, bin_dir: Path) -> None:
        # bin_dir: the DuckDB virtualenv's, where DuckDB is measured; else this interpreter's.
        super().__init__(bin_dir)
        self.psql = shutil.which("psql") or "psql"
        self.python = sys.executable

    def write_project(self, parent: Path, size: int) -> Project:
        parent.mkdir(parents=True, exist_ok=True)
        up = [
            f"CREATE TABLE {self.history_table} "
            "(version integer PRIMARY KEY, applied_at timestamp NOT NULL);\n"
        ]
        for n in range(1, size + 1):
            up.append(
                f"BEGIN;\n{workload.upgrade_sql(n)}"
                f"INSERT INTO {self.history_table} (version, applied_at) "
                f"VALUES ({n}, CURRENT_TIMESTAMP);\nCOMMIT;\n"
            )
        down = [
            f"BEGIN;\n{workload.rollback_sql(n)}"
            f"DELETE FROM {self.history_table} WHERE version = {n};\nCOMMIT;\n"
            for n in range(size, 0, -1)
        ]
        (parent / "upgrade.sql").write_text("".join(up))
        (parent / "rollback.sql").write_text("".join(down))
        return Project(root=parent, migrations=parent, size=size)

    def command(self, action: Action, db: Database | None, project: Project) -> Command:
        script = {Action.UPGRADE: "upgrade.sql", Action.ROLLBACK_ALL: "rollback.sql"}[action]
        path = str(project.root / script)
        target = require(db)
        if target.dialect == "sqlite":
            argv: tuple[str, ...] = (
                self.python,
                "-S",
                "-c",
                SQLITE_RUNNER,
                str(target.sqlite_file()),
                path,
            )
        elif target.dialect == "duckdb":
            argv = (self.executable("python"), "-c", DUCKDB_RUNNER, str(target.sqlite_file()), path)
        else:
            argv = (
                self.psql,
                "-h",
                target.host,
                "-p",
                str(target.port),
                "-U",
                target.user,
                "-d",
                target.name,
                "-q",
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                path,
            )
        return Command(argv, project.root)
