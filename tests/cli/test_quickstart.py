"""The README's Quick start is the truth: its two commands, the example project they run,
and the CI script that must run exactly the second one."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_the_quick_start_has_exactly_two_commands() -> None:
    first, second = quick_start_commands()
    assert "pip install" in first and "examples" in first
    assert first.rstrip(")").endswith("keel status")
    assert "pytest" in second


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, test_command = quick_start_commands()
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def keel(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlkeel", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},  # no KEEL_* or DATABASE_URL from the caller
    )


def test_the_example_project_upgrades_and_reports_on_sqlite(tmp_path: Path) -> None:
    example = tmp_path / "examples"
    shutil.copytree(REPO / "examples", example, ignore=shutil.ignore_patterns("*.db*"))
    upgrade = keel(example, "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.count("applied ") == 5
    status = keel(example, "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.rstrip().endswith("Head: 4. 5 applied, 0 pending.")
    assert (example / "shop.db").exists()  # relative to keel.toml, the example's own folder
    # keel works from any sub-folder of the project, finding keel.toml by walking up.
    again = keel(example / "migrations" / "views", "upgrade")
    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stdout
    rollback = keel(example, "rollback", "--to", "2")
    assert rollback.returncode == 0, rollback.stderr
    assert "now at version 2" in rollback.stdout
