"""yoyo-migrations: <n>_t<n>.sql holds the upgrade statements and
<n>_t<n>.rollback.sql the rollback ones; versions zero-padded because yoyo orders
files by name.

Configured by flags (-d URL, the folder as argument), with --batch (no prompts) and
--no-config-file (neither reads nor writes yoyo.ini). History in _yoyo_migration.
`list` is its status: every migration marked A(pplied) or U(napplied). Rollback of
all: `rollback --all` in one run (without --all batch mode rolls back one).
"""

from __future__ import annotations

from pathlib import Path

from adapters import workload
from adapters.base import Action, Adapter, Command, Database, Project, require


class Yoyo(Adapter):
    name = "yoyo"
    package = "yoyo-migrations"
    history_table = "_yoyo_migration"

    def write_project(self, parent: Path, size: int) -> Project:
        migrations = parent / "migrations"
        migrations.mkdir(parents=True)
        width = workload.version_width(size)
        for n in range(1, size + 1):
            stem = f"{n:0{width}d}_{workload.table_name(n)}"
            (migrations / f"{stem}.sql").write_text(workload.upgrade_sql(n))
            (migrations / f"{stem}.rollback.sql").write_text(workload.rollback_sql(n))
        return Project(root=parent, migrations=migrations, size=size)

    def command(self, action: Action, db: Database | None, project: Project) -> Command:
        yoyo = self.executable("yoyo")
        if action is Action.HELP:
            return Command((yoyo, "--help"), project.root)
        words = {
            Action.STATUS: ("list",),
            Action.UPGRADE: ("apply", "--batch"),
            Action.ROLLBACK_ALL: ("rollback", "--batch", "--all"),
        }[action]
        argv = (
            yoyo,
            *words,
            "--no-config-file",
            "--database",
            _url(require(db)),
            str(project.migrations),
        )
        return Command(argv, project.root)


def _url(db: Database) -> str:
    if db.dialect == "sqlite":
        return f"sqlite:///{db.sqlite_file()}"
    return db.postgres_url()
