"""keel: V<n>__t<n>.sql files with '-- upgrade' and '-- rollback' sections.

Configured by flags (--url, --dir); history in keel_history. `rollback --to 0` rolls
back everything in one command; `status` lists applied then pending migrations.
"""

from __future__ import annotations

from pathlib import Path

from adapters import workload
from adapters.base import Action, Adapter, Command, Database, Project, require


class Keel(Adapter):
    name = "keel"
    package = "sqlkeel"
    history_table = "keel_history"
    databases = frozenset({"sqlite", "postgresql", "duckdb"})

    def write_project(self, parent: Path, size: int) -> Project:
        migrations = parent / "migrations"
        migrations.mkdir(parents=True)
        for n in range(1, size + 1):
            text = f"-- upgrade\n{workload.upgrade_sql(n)}\n-- rollback\n{workload.rollback_sql(n)}"
            (migrations / f"V{n}__{workload.table_name(n)}.sql").write_text(text)
        return Project(root=parent, migrations=migrations, size=size)

    def command(self, action: Action, db: Database | None, project: Project) -> Command:
        keel = self.executable("keel")
        if action is Action.HELP:
            return Command((keel, "--help"), project.root)
        words = {
            Action.STATUS: ("status",),
            Action.UPGRADE: ("upgrade",),
            Action.ROLLBACK_ALL: ("rollback", "--to", "0"),
        }[action]
        argv = (keel, "--url", _url(require(db)), "--dir", str(project.migrations), *words)
        return Command(argv, project.root)


def _url(db: Database) -> str:
    if db.dialect in ("sqlite", "duckdb"):
        return f"{db.dialect}:///{db.sqlite_file()}"  # sqlite:////abs/path: absolute
    return db.postgres_url()
