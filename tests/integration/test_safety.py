"""Behaviours that protect the user's data and output: keel leaves the database's own
settings alone, reads without creating, reports times in UTC and masks secrets everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import TRANSACTIONAL_DDL, holding_lock
from sqlkeel import Keel

if TYPE_CHECKING:
    from conftest import Database, Outcome, Project

Run = Callable[..., "Outcome"]


def test_sqlite_table_rebuild_keeps_child_rows_as_the_sqlite_shell_would(
    keel_cli: Run, project: Project, sqlite_url: str, tmp_path: Path
) -> None:
    """SQLite's documented 12-step table rebuild drops the parent; with foreign keys left at
    SQLite's default (off) no ON DELETE CASCADE fires, exactly as in the sqlite3 shell."""
    project.write(
        "V1__tables.sql",
        """
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (id INTEGER PRIMARY KEY,
                            parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);
        INSERT INTO parent VALUES (1);
        INSERT INTO child VALUES (1, 1), (2, 1);
        """,
    )
    project.write(
        "V2__rebuild_parent.sql",
        """
        CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT);
        INSERT INTO parent_new (id) SELECT id FROM parent;
        DROP TABLE parent;
        ALTER TABLE parent_new RENAME TO parent;
        """,
    )
    out = keel_cli("upgrade", "--url", sqlite_url, "--dir", str(project.migrations))
    assert out.exit_code == 0, out.stderr
    import sqlite3

    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("SELECT count(*) FROM child").fetchone() == (2,)


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("current",),
        ("history",),
        ("history", "--log"),
        ("validate",),
        ("upgrade", "--dry-run"),
        ("rollback", "--dry-run"),
        ("lock-status",),
    ],
    ids=lambda a: "_".join(a).replace("--", ""),
)
def test_read_only_commands_do_not_create_the_sqlite_file(
    keel_cli: Run, project: Project, tmp_path: Path, args: tuple[str, ...]
) -> None:
    project.write("V1__t.sql", "CREATE TABLE t (id int);\n-- rollback\nDROP TABLE t;\n")
    target = tmp_path / "not-yet.db"
    out = keel_cli(*args, "--url", f"sqlite:///{target}", "--dir", str(project.migrations))
    assert out.exit_code == 0, out.stderr
    assert not target.exists()
    assert not Path(f"{target}.keel-lock").exists()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_times_are_shown_in_utc_whatever_the_server_time_zone(
    keel_cli: Run, project: Project, db_url: str, db: Database
) -> None:
    name = db_url.rsplit("/", 1)[1]
    db.query(f"ALTER DATABASE \"{name}\" SET timezone = 'America/New_York'")
    project.write("V1__t.sql", "CREATE TABLE t (id int);\n")
    assert keel_cli("upgrade", "--url", db_url, "--dir", str(project.migrations)).exit_code == 0
    out = keel_cli("history", "--json", "--url", db_url, "--dir", str(project.migrations))
    applied_at = json.loads(out.stdout)["migrations"][0]["applied_at"]
    assert applied_at.endswith("+00:00"), applied_at


def test_validate_offline_needs_neither_the_url_variable_nor_the_dialect(
    keel_cli: Run, project: Project
) -> None:
    """keel.toml names ${DATABASE_URL}, unset here; the file uses PostgreSQL-only syntax."""
    (project.root / "keel.toml").write_text('url = "${DATABASE_URL}"\n')
    project.write("V1__fn.sql", "INSERT INTO t VALUES (E'it\\'s; fine');\n")
    out = keel_cli("validate", "--offline", cwd=project.root)
    assert out.exit_code == 0, out.stderr
    connecting = keel_cli("status", cwd=project.root)
    assert connecting.exit_code == 2
    assert "DATABASE_URL is not set" in connecting.stderr


@TRANSACTIONAL_DDL  # --single-transaction needs it
def test_a_failed_single_transaction_run_reports_nothing_as_applied(
    keel_cli: Run, project: Project, db_url: str
) -> None:
    project.write("V1__ok.sql", "CREATE TABLE ok (id int);\n")
    project.write("V2__bad.sql", "INSERT INTO missing VALUES (1);\n")
    out = keel_cli(
        "upgrade", "--single-transaction", "--url", db_url, "--dir", str(project.migrations)
    )
    assert out.exit_code == 1
    assert "applied" not in out.stdout
    assert "whole run was rolled back" in out.stderr


def test_secrets_in_a_failing_statement_are_masked_in_the_log_too(
    keel_cli: Run, project: Project, db_url: str
) -> None:
    project.write(
        "V1__link.sql",
        """
        -- keel: transaction=off
        SELECT 1;
        SELECT * FROM dblink_missing('postgresql://app:hunter2@db/app');
        """,
    )
    base = ("--url", db_url, "--dir", str(project.migrations))
    out = keel_cli("upgrade", *base)
    assert out.exit_code == 1
    log = keel_cli("history", "--log", "--json", *base).stdout
    rows = keel_cli("history", "--json", *base).stdout
    assert "hunter2" not in out.stderr + log + rows
    assert json.loads(rows)["migrations"][0]["state"] == "failed"


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_a_bad_lock_timeout_is_a_usage_error(
    keel_cli: Run, project: Project, sqlite_url: str, value: str
) -> None:
    out = keel_cli(
        "upgrade", "--lock-timeout", value, "--url", sqlite_url, "--dir", str(project.migrations)
    )
    assert out.exit_code == 2
    assert "--lock-timeout" in out.stderr


def test_postgres_without_psycopg_is_a_configuration_error_for_every_command(
    project: Project,
) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"  # makes `import psycopg` fail
        "from sqlkeel.cli.app import main\n"
        f"sys.argv = ['keel', 'status', '--url', 'postgresql://u@127.0.0.1/x', "
        f"'--dir', {str(project.migrations)!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "needs psycopg 3" in done.stderr and "pip install 'sqlkeel[postgres]'" in done.stderr


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_schema_public_and_no_schema_share_one_lock(db_url: str, project: Project) -> None:
    explicit = Keel(url=db_url, migrations_dir=project.migrations, schema="public")
    implicit = Keel(url=db_url, migrations_dir=project.migrations)
    with holding_lock(explicit.dialect):
        assert implicit.lock_status().holder is not None
    assert implicit.lock_status().holder is None


@pytest.mark.parametrize(
    "args",
    [("upgrade",), ("rollback",), ("repair", "--failed")],
    ids=["upgrade", "rollback", "repair"],
)
def test_write_commands_with_nothing_to_do_create_no_sqlite_file(
    keel_cli: Run, project: Project, tmp_path: Path, args: tuple[str, ...]
) -> None:
    target = tmp_path / "not-yet.db"
    out = keel_cli(*args, "--url", f"sqlite:///{target}", "--dir", str(project.migrations))
    assert out.exit_code == 0, out.stderr
    assert not target.exists()
    assert not Path(f"{target}.keel-lock").exists()


def test_verbose_says_where_each_setting_came_from_without_the_password(
    keel_cli: Run, project: Project
) -> None:
    (project.root / "keel.toml").write_text('migrations_dir = "migrations"\n')
    out = keel_cli(
        "-v",
        "validate",
        "--offline",
        cwd=project.root,
        env={"KEEL_URL": "postgresql://app:hunter2@127.0.0.1:1/app"},
    )
    assert out.exit_code == 0, out.stderr
    assert "url postgresql://app:***@127.0.0.1:1/app [env]" in out.stderr
    assert f"migrations {project.migrations} [keel.toml]" in out.stderr
    assert "hunter2" not in out.stdout + out.stderr
