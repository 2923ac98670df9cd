"""sqlstep: <n>_t<n>.sql files with '-- migrate:up' and '-- migrate:down' sections
(versions compared as numbers).

Configured by flags (--url, --dir) over [tool.sqlstep] in pyproject.toml, which it looks
for upwards from the working directory: the project gets its own empty one so nothing
outside is read. History in schema_migrations. `status` lists applied then pending
migrations. Rollback of all: `down --to 0` in one run.
"""

from __future__ import annotations

from pathlib import Path

from adapters import workload
from adapters.base import Action, Adapter, Command, Database, Project, require


class Sqlstep(Adapter):
    name = "sqlstep"
    package = "sqlstep"
    history_table = "schema_migrations"

    def write_project(self, parent: Path, size: int) -> Project:
        migrations = parent / "migrations"
        migrations.mkdir(parents=True)
        (parent / "pyproject.toml").write_text("[tool.sqlstep]\n")
        for n in range(1, size + 1):
            text = (
                f"-- migrate:up\n{workload.upgrade_sql(n)}\n"
                f"-- migrate:down\n{workload.rollback_sql(n)}"
            )
            (migrations / f"{n}_{workload.table_name(n)}.sql").write_text(text)
        return Project(root=parent, migrations=migrations, size=size)

    def command(self, action: Action, db: Database | None, project: Project) -> Command:
        sqlstep = self.executable("sqlstep")
        if action is Action.HELP:
            return Command((sqlstep, "--help"), project.root)
        words = {
            Action.STATUS: ("status",),
            Action.UPGRADE: ("up",),
            Action.ROLLBACK_ALL: ("down", "--to", "0"),
        }[action]
        argv = (sqlstep, "--url", _url(require(db)), "--dir", str(project.migrations), *words)
        return Command(argv, project.root)


def _url(db: Database) -> str:
    if db.dialect == "sqlite":
        return str(db.sqlite_file())  # a path ending in .db selects SQLite
    return db.postgres_url()
