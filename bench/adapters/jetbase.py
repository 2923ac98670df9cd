"""jetbase: V<n>__t<n>.sql files with '-- upgrade' and '-- rollback' sections, in
jetbase/migrations/; every command must run from a folder named `jetbase`.

Configured by the environment (JETBASE_SQLALCHEMY_URL, a SQLAlchemy URL); history in
jetbase_migrations. `status` prints an applied table and a pending table. Rollback of
all: `rollback --count N` in one run (there is no "all"; `--to-version V` keeps V).
"""

from __future__ import annotations

from pathlib import Path

from adapters import workload
from adapters.base import Action, Adapter, Command, Database, Project, require


class Jetbase(Adapter):
    name = "jetbase"
    package = "jetbase"
    history_table = "jetbase_migrations"

    def write_project(self, parent: Path, size: int) -> Project:
        root = parent / "jetbase"
        migrations = root / "migrations"
        migrations.mkdir(parents=True)
        for n in range(1, size + 1):
            text = f"-- upgrade\n{workload.upgrade_sql(n)}\n-- rollback\n{workload.rollback_sql(n)}"
            (migrations / f"V{n}__{workload.table_name(n)}.sql").write_text(text)
        return Project(root=root, migrations=migrations, size=size)

    def command(self, action: Action, db: Database | None, project: Project) -> Command:
        jetbase = self.executable("jetbase")
        if action is Action.HELP:
            return Command((jetbase, "--help"), project.root)
        words = {
            Action.STATUS: ("status",),
            Action.UPGRADE: ("upgrade",),
            Action.ROLLBACK_ALL: ("rollback", "--count", str(project.size)),
        }[action]
        env = {"JETBASE_SQLALCHEMY_URL": _url(require(db))}
        return Command((jetbase, *words), project.root, env)


def _url(db: Database) -> str:
    if db.dialect == "sqlite":
        return f"sqlite:///{db.sqlite_file()}"
    return db.postgres_url("postgresql+psycopg2")
