"""How the command line is read: global options before or after the command (a value after
it wins), --help and --version wherever click accepted them, and the in-process runner's
own contract (stdout and stderr apart, the exit code returned)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import sqlkeel

if TYPE_CHECKING:
    from conftest import Outcome, Project

Run = Callable[..., "Outcome"]

USERS = "CREATE TABLE users (id integer);\n-- rollback\nDROP TABLE users;\n"


@pytest.fixture
def users(project: Project) -> Project:
    project.write("V1__users.sql", USERS)
    return project


def _ok(out: Outcome) -> Outcome:
    assert out.exit_code == 0, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    return out


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param("before", id="before_the_command"),
        pytest.param("after", id="after_the_command"),
        pytest.param("split", id="some_before_some_after"),
        pytest.param("equals", id="with_equals_signs"),
    ],
)
def test_global_options_work_before_or_after_the_command(
    keel_cli: Run, users: Project, sqlite_url: str, layout: str
) -> None:
    url, folder = ["--url", sqlite_url], ["--dir", str(users.migrations)]
    args = {
        "before": [*url, *folder, "upgrade"],
        "after": ["upgrade", *url, *folder],
        "split": [*url, "upgrade", *folder],
        "equals": [f"--url={sqlite_url}", "upgrade", f"--dir={users.migrations}"],
    }[layout]
    out = _ok(keel_cli(*args, cwd=users.root))
    assert out.stdout.startswith("applied 1 ")


def test_a_value_after_the_command_wins(
    keel_cli: Run, users: Project, sqlite_url: str, tmp_path: Path
) -> None:
    good, bad = str(users.migrations), str(tmp_path / "nope")
    out = keel_cli("--dir", bad, "status", "--url", sqlite_url, "--dir", good, cwd=users.root)
    assert _ok(out).stdout.endswith(
        "Head: none. 0 applied, 1 pending.\n"
        "The database does not exist yet; 'keel upgrade' creates it.\n"
    )
    out = keel_cli("--dir", good, "status", "--url", sqlite_url, "--dir", bad, cwd=users.root)
    assert out.exit_code == 2
    assert f"the migrations directory {bad} does not exist" in out.stderr


@pytest.mark.parametrize(
    ("args", "verbose"),
    [
        pytest.param(["-q", "upgrade"], False, id="quiet_before"),
        pytest.param(["upgrade", "-q"], False, id="quiet_after"),
        pytest.param(["upgrade", "--quiet"], False, id="quiet_long"),
        pytest.param(["-qv", "upgrade"], True, id="combined_with_verbose_before"),
        pytest.param(["upgrade", "-vq"], True, id="combined_with_verbose_after"),
    ],
)
def test_quiet_and_verbose_are_global_flags(
    keel_cli: Run, users: Project, sqlite_url: str, args: list[str], verbose: bool
) -> None:
    out = _ok(keel_cli(*args, "--url", sqlite_url, "--dir", str(users.migrations), cwd=users.root))
    assert out.stdout == ""
    assert out.stderr.startswith("keel: url ") == verbose


def test_verbose_after_the_command_says_where_settings_came_from(
    keel_cli: Run, users: Project, sqlite_url: str
) -> None:
    out = _ok(
        keel_cli(
            "status", "-v", "--url", sqlite_url, "--dir", str(users.migrations), cwd=users.root
        )
    )
    assert out.stderr.startswith("keel: url sqlite:///")
    assert "[flag]" in out.stderr


def test_command_options_and_the_argument_go_in_any_order(keel_cli: Run, project: Project) -> None:
    folder = ["--dir", str(project.migrations)]
    _ok(keel_cli("new", "--version", "3", *folder, "add users", cwd=project.root))
    _ok(keel_cli(*folder, "new", "add orders", "--version", "4", cwd=project.root))
    names = sorted(p.name for p in project.migrations.iterdir())
    assert names == ["V3__add_users.sql", "V4__add_orders.sql"]


def test_a_double_dash_ends_the_options(keel_cli: Run, project: Project) -> None:
    """A description that starts with a dash, as with any POSIX tool."""
    out = _ok(
        keel_cli(
            "--dir",
            str(project.migrations),
            "new",
            "--version",
            "2",
            "--",
            "-fix typo",
            cwd=project.root,
        )
    )
    assert out.stdout == f"created {project.migrations / 'V2__fix_typo.sql'}\n"


def test_negative_numbers_reach_the_api_as_values(
    keel_cli: Run, users: Project, sqlite_url: str
) -> None:
    out = keel_cli(
        "upgrade",
        "--lock-timeout",
        "-1",
        "--url",
        sqlite_url,
        "--dir",
        str(users.migrations),
        cwd=users.root,
    )
    assert out.exit_code == 2
    assert "must be a number of seconds >= 0" in out.stderr


@pytest.mark.parametrize(
    ("args", "starts"),
    [
        pytest.param(["--help"], "usage: keel [OPTIONS] COMMAND", id="help"),
        pytest.param(["-h", "status"], "usage: keel [OPTIONS] COMMAND", id="help_before_command"),
        pytest.param(
            ["--help", "frobnicate"],
            "usage: keel [OPTIONS] COMMAND",
            id="help_before_unknown_command",
        ),
        pytest.param(["--url", "x", "status", "--help"], "usage: keel status", id="command_help"),
        pytest.param(
            ["status", "-h", "extra"], "usage: keel status", id="command_help_before_extra"
        ),
        pytest.param(["upgrade", "-vh"], "usage: keel upgrade", id="combined_flags"),
        pytest.param(
            ["upgrade", "--count", "abc", "-h"],
            "usage: keel upgrade",
            id="command_help_wins_over_a_bad_value",
        ),
        pytest.param(
            ["baseline", "--help"],
            "usage: keel baseline [OPTIONS] VERSION",
            id="command_help_without_its_argument",
        ),
        pytest.param(["--version"], f"keel, version {sqlkeel.__version__}\n", id="version"),
        pytest.param(
            ["--version", "status"],
            f"keel, version {sqlkeel.__version__}\n",
            id="version_before_command",
        ),
    ],
)
def test_help_and_version_print_on_stdout_and_exit_0(
    keel_cli: Run, tmp_path: Path, args: list[str], starts: str
) -> None:
    out = keel_cli(*args, cwd=tmp_path)
    assert out.exit_code == 0
    assert out.stderr == ""
    assert out.stdout.startswith(starts)


def test_new_has_its_own_version_option(keel_cli: Run, project: Project) -> None:
    """`keel new --version 7` is the migration's version, not keel's."""
    out = _ok(
        keel_cli("new", "x", "--version", "7", "--dir", str(project.migrations), cwd=project.root)
    )
    assert out.stdout.endswith("V7__x.sql\n")


def test_the_runner_applies_env_to_one_call_only(
    keel_cli: Run, users: Project, sqlite_url: str
) -> None:
    folder = ["--dir", str(users.migrations)]
    _ok(keel_cli("upgrade", *folder, cwd=users.root, env={"KEEL_URL": sqlite_url}))
    assert "KEEL_URL" not in os.environ
    out = keel_cli("status", *folder, cwd=users.root)
    assert out.exit_code == 2
    assert "no database URL is configured" in out.stderr


def test_no_wait_and_lock_timeout_reach_the_lock(
    keel_cli: Run, users: Project, sqlite_url: str
) -> None:
    folder = ["--url", sqlite_url, "--dir", str(users.migrations)]
    _ok(keel_cli("upgrade", "--no-wait", "--lock-timeout", "0.5", *folder, cwd=users.root))
    out = _ok(keel_cli("rollback", "--no-wait", "--dry-run", *folder, cwd=users.root))
    assert out.stdout.startswith("-- plan: rollback 1 migration")
