"""Golden output of the human tables, with a fixed clock and user (history written through
the API's baseline, which records no run time). Rewrite the goldens only on purpose, with
KEEL_UPDATE_GOLDEN=1, and review the diff."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sqlkeel import Keel

if TYPE_CHECKING:
    from conftest import Outcome, Project

Run = Callable[..., "Outcome"]
GOLDEN = Path(__file__).with_name("golden")
FIXED = datetime(2026, 11, 25, 14, 30, 22, tzinfo=timezone.utc)
# Read at import: the keel_cli fixture clears every KEEL_* variable before the test runs.
UPDATE = os.environ.get("KEEL_UPDATE_GOLDEN") == "1"


@pytest.fixture
def baselined(project: Project, sqlite_url: str) -> Project:
    project.write(
        "V1__create_users.sql", "CREATE TABLE users (id int);\n-- rollback\nDROP TABLE users;\n"
    )
    project.write("V1.10__add_email.sql", "ALTER TABLE users ADD email text;\n")
    project.write(
        "V2__create_orders.sql", "CREATE TABLE orders (id int);\n-- rollback\nSELECT 1;\n"
    )
    project.write(
        "views/R__user_emails.sql", "CREATE VIEW user_emails AS SELECT email FROM users;\n"
    )
    project.write("RA__grants.sql", "SELECT 1;\n")
    with Keel(
        url=sqlite_url, migrations_dir=project.migrations, clock=lambda: FIXED, user="ada@build-7"
    ) as keel:
        keel.baseline("1.10")
    return project


@pytest.mark.parametrize(
    "args",
    [["status"], ["history"], ["history", "--log"], ["upgrade", "--dry-run"]],
    ids=["status", "history", "history_log", "upgrade_dry_run"],
)
def test_human_output_matches_the_golden_file(
    keel_cli: Run, baselined: Project, sqlite_url: str, args: list[str]
) -> None:
    out = keel_cli(*args, "--url", sqlite_url, "--dir", str(baselined.migrations))
    assert out.exit_code == 0, out.stderr
    assert out.stderr == ""
    golden = GOLDEN / f"{'_'.join(a.strip('-') for a in args).replace('-', '_')}.txt"
    if UPDATE:
        golden.write_text(out.stdout, encoding="utf-8")
    assert out.stdout == golden.read_text(encoding="utf-8")
