"""What the commands print: stdout for results, stderr for errors, --json as data, -q quiet,
no colour off a terminal; plus init and new, which only touch files."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from conftest import Outcome, Project

Run = Callable[..., "Outcome"]

USERS = "CREATE TABLE users (id integer);\n-- rollback\nDROP TABLE users;\n"
ORDERS = "CREATE TABLE orders (id integer);\n-- rollback\nDROP TABLE orders;\n"


@pytest.fixture
def keel(keel_cli: Run, sqlite_url: str, project: Project) -> Run:
    def run(*args: str) -> Outcome:
        return keel_cli(
            *args, "--url", sqlite_url, "--dir", str(project.migrations), cwd=project.root
        )

    return run


@pytest.fixture
def two(project: Project) -> Project:
    project.write("V1__users.sql", USERS)
    project.write("V2__orders.sql", ORDERS)
    return project


def ok(outcome: Outcome) -> Outcome:
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stderr == ""
    return outcome


# ---------------------------------------------------------------------------------------
# init and new


def test_init_creates_the_migrations_folder_and_a_commented_config(
    keel_cli: Run, tmp_path: Path
) -> None:
    out = ok(keel_cli("init", cwd=tmp_path))
    assert out.stdout == (f"created {tmp_path / 'migrations'}\ncreated {tmp_path / 'keel.toml'}\n")
    assert (tmp_path / "migrations").is_dir()
    config = (tmp_path / "keel.toml").read_text(encoding="utf-8")
    assert tomllib.loads(config) == {}  # every setting is commented out
    for key in ("url", "migrations_dir", "table", "schema", "lock_timeout", "lock_mode"):
        assert f"# {key} = " in config


def test_init_keeps_what_already_exists(keel_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "keel.toml").write_text('url = "sqlite:///app.db"\n', encoding="utf-8")
    out = ok(keel_cli("init", cwd=tmp_path))
    assert out.stdout == (
        f"created {tmp_path / 'migrations'}\nkept existing {tmp_path / 'keel.toml'}\n"
    )
    assert (tmp_path / "keel.toml").read_text(encoding="utf-8") == 'url = "sqlite:///app.db"\n'


def test_new_creates_a_utc_timestamped_file_with_both_sections(
    keel_cli: Run, project: Project
) -> None:
    out = ok(keel_cli("new", "add users", "--dir", str(project.migrations), cwd=project.root))
    (created,) = project.migrations.iterdir()
    assert re.fullmatch(r"V\d{8}\.\d{6}__add_users\.sql", created.name)
    assert out.stdout == f"created {created}\n"
    text = created.read_text(encoding="utf-8")
    assert "-- upgrade" in text and "-- rollback" in text
    assert text.index("-- upgrade") < text.index("-- rollback")
    # Until the user writes SQL into it, the file is a problem rather than a no-op migration.
    checked = keel_cli("validate", "--offline", "--dir", str(project.migrations), cwd=project.root)
    assert checked.exit_code == 1
    assert f"{created.name}:3: the file has no statements to run" in checked.stderr
    created.write_text(text.replace("-- upgrade\n", "-- upgrade\nCREATE TABLE users (id int);\n"))
    checked = keel_cli("validate", "--offline", "--dir", str(project.migrations), cwd=project.root)
    assert checked.exit_code == 0, checked.stderr


@pytest.mark.parametrize(
    ("description", "filename"),
    [
        pytest.param("add users", "V7__add_users.sql", id="spaces_become_underscores"),
        pytest.param("Add  e-mail, index!", "V7__Add_e_mail_index.sql", id="punctuation_collapses"),
    ],
)
def test_new_with_a_version_uses_it(
    keel_cli: Run, project: Project, description: str, filename: str
) -> None:
    project.write("V6__before.sql", "SELECT 1;\n")
    ok(
        keel_cli(
            "new", description, "--version", "7", "--dir", str(project.migrations), cwd=project.root
        )
    )
    assert (project.migrations / filename).is_file()


@pytest.mark.parametrize("version", ["5", "6", "6.0", "2.1"])
def test_new_refuses_a_version_at_or_below_the_highest_file(
    keel_cli: Run, project: Project, version: str
) -> None:
    project.write("V6__top.sql", "SELECT 1;\n")
    out = keel_cli(
        "new", "late", "--version", version, "--dir", str(project.migrations), cwd=project.root
    )
    assert out.exit_code == 2
    assert "V6__top.sql" in out.stderr and "pick a version above 6" in out.stderr
    assert sorted(p.name for p in project.migrations.iterdir()) == ["V6__top.sql"]


def test_version_option_prints_the_package_version(keel_cli: Run, tmp_path: Path) -> None:
    import sqlkeel

    out = ok(keel_cli("--version", cwd=tmp_path))
    assert out.stdout == f"keel, version {sqlkeel.__version__}\n"


# ---------------------------------------------------------------------------------------
# write commands


def test_upgrade_prints_each_migration_and_a_summary(keel: Run, two: Project) -> None:
    lines = ok(keel("upgrade")).stdout.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"applied 1 +users  \((<1|\d+) ms\)", lines[0])
    assert re.fullmatch(r"applied 2 +orders  \((<1|\d+) ms\)", lines[1])
    assert re.fullmatch(r"Applied 2 migrations in (<1|\d+) ms; now at version 2\.", lines[2])


def test_upgrade_with_nothing_pending_says_so(keel: Run, two: Project) -> None:
    ok(keel("upgrade"))
    assert ok(keel("upgrade")).stdout == "Nothing to do: the database is up to date.\n"


def test_rollback_prints_each_migration_and_a_summary(keel: Run, two: Project) -> None:
    ok(keel("upgrade"))
    lines = ok(keel("rollback", "--count", "2")).stdout.splitlines()
    assert re.fullmatch(r"rolled back 2 +orders  \((<1|\d+) ms\)", lines[0])
    assert re.fullmatch(r"rolled back 1 +users  \((<1|\d+) ms\)", lines[1])
    assert lines[2] == "Rolled back 2 migrations; now at version none."


def test_dry_run_shows_the_plan_header_each_file_and_its_statements(
    keel: Run, project: Project
) -> None:
    project.write("V1__users.sql", USERS)
    project.write(
        "V2__index.sql", "-- keel: transaction=off\nCREATE INDEX users_id ON users (id);\n"
    )
    assert ok(keel("upgrade", "--dry-run")).stdout == (
        "-- plan: upgrade 2 migrations, each in its own transaction unless marked "
        "[transaction=off]\n"
        "-- [1/2] 1 users (V1__users.sql)\n"
        "CREATE TABLE users (id integer);\n"
        "\n"
        "-- [2/2] 2 index (V2__index.sql) [transaction=off]\n"
        "CREATE INDEX users_id ON users (id);\n"
        "\n"
        "-- dry run: nothing was changed; afterwards the head would be 2.\n"
    )


def test_progress_goes_to_stdout_and_the_error_to_stderr(keel: Run, project: Project) -> None:
    project.write("V1__users.sql", USERS)
    project.write("V2__bad.sql", "INSERT INTO nowhere VALUES (1);\n")
    out = keel("upgrade")
    assert out.exit_code == 1
    assert out.stdout.startswith("applied 1 ")
    assert "nowhere" not in out.stdout
    assert out.stderr.startswith("keel: error: V2__bad.sql:1: upgrade failed at statement 1")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["upgrade"], id="upgrade"),
        pytest.param(["upgrade", "--dry-run"], id="upgrade_dry_run"),
        pytest.param(["baseline", "2"], id="baseline"),
    ],
)
def test_quiet_prints_nothing_on_success(keel: Run, two: Project, args: list[str]) -> None:
    out = ok(keel("-q", *args))
    assert out.stdout == ""


def test_quiet_rollback_and_repair_print_nothing(keel: Run, two: Project) -> None:
    ok(keel("upgrade"))
    assert ok(keel("rollback", "--quiet")).stdout == ""
    two.write("V1__users.sql", "SELECT 1;\n" + USERS)
    assert ok(keel("repair", "--checksums", "-q")).stdout == ""
    assert ok(keel("validate", "-q")).stdout == ""


def test_quiet_still_reports_errors(keel: Run, project: Project) -> None:
    project.write("V1_bad.sql", "SELECT 1;\n")
    out = keel("-q", "upgrade")
    assert out.exit_code == 1
    assert out.stdout == ""
    assert "V1_bad.sql" in out.stderr


def test_output_has_no_colour_codes_when_not_a_terminal(keel: Run, two: Project) -> None:
    outputs = [
        keel("upgrade", "--count", "1"),
        keel("status"),
        keel("history"),
        keel("history", "--log"),
    ]
    two.write("V1__users.sql", "SELECT 1;\n" + USERS)
    outputs.append(keel("status"))
    for out in outputs:
        assert "\x1b[" not in out.stdout + out.stderr


# ---------------------------------------------------------------------------------------
# read-only commands


def test_status_text_lists_problems_after_the_summary(keel: Run, two: Project) -> None:
    ok(keel("upgrade"))
    (two.migrations / "V2__orders.sql").unlink()
    out = ok(keel("status"))
    lines = out.stdout.splitlines()
    assert "missing" in lines[2]
    assert "Head: 2. 1 applied, 0 pending, 1 problem(s)." in lines
    assert lines[-1].startswith("problem: V2__orders.sql: migration 2 is applied but its file")


def test_status_of_an_empty_project_is_only_the_summary(keel: Run) -> None:
    assert ok(keel("status")).stdout == (
        "Head: none. 0 applied, 0 pending.\n"
        "The database does not exist yet; 'keel upgrade' creates it.\n"
    )


def test_history_and_log_of_a_fresh_database_say_it_is_empty(keel: Run) -> None:
    assert ok(keel("history")).stdout == "No migrations applied yet.\n"
    assert ok(keel("history", "--log")).stdout == (
        "The log is empty: keel has not changed this database yet.\n"
    )


def test_lock_status_and_unlock_explain_the_session_lock(keel: Run) -> None:
    assert ok(keel("lock-status")).stdout == "The migration lock is free.\n"
    out = ok(keel("unlock"))
    assert out.stdout.startswith("Nothing to unlock: the session lock is released")


def test_validate_prints_a_one_line_verdict(keel: Run, two: Project) -> None:
    assert ok(keel("validate")).stdout == (
        "OK: 2 migration files checked (files and history); no problems.\n"
    )


def _keys(data: Any) -> list[str]:
    assert isinstance(data, dict)
    return sorted(data)


def test_json_documents_have_stable_keys(keel: Run, two: Project) -> None:
    ok(keel("upgrade", "--count", "1"))
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert _keys(status) == ["database_exists", "head", "migrations", "problems"]
    assert status["database_exists"] is True
    assert _keys(status["migrations"][0]) == sorted(
        [
            "version",
            "kind",
            "description",
            "script",
            "state",
            "order",
            "applied_at",
            "applied_by",
            "execution_ms",
            "rollback_changed",
            "has_rollback",
            "noop",
            "rollback_noop",
        ]
    )
    history = json.loads(ok(keel("history", "--json")).stdout)
    assert _keys(history["migrations"][0]) == sorted(
        [
            "version",
            "kind",
            "description",
            "script",
            "state",
            "applied_at",
            "applied_by",
            "execution_ms",
            "checksum",
            "noop",
            "failed_statement",
            "failed_line",
            "error",
            "failed_direction",
        ]
    )
    log = json.loads(ok(keel("history", "--log", "--json")).stdout)
    assert _keys(log["log"][0]) == sorted(
        [
            "id",
            "action",
            "version",
            "script",
            "at",
            "by",
            "duration_ms",
            "outcome",
            "detail",
        ]
    )
    assert _keys(json.loads(ok(keel("current", "--json")).stdout)) == ["current"]
    assert _keys(json.loads(ok(keel("validate", "--json")).stdout)) == [
        "files",
        "offline",
        "ok",
        "problems",
    ]
    assert _keys(json.loads(ok(keel("lock-status", "--json")).stdout)) == [
        "held",
        "holder",
        "mode",
        "since",
    ]


def test_json_timestamps_are_utc_iso_8601(keel: Run, two: Project) -> None:
    ok(keel("upgrade"))
    history = json.loads(ok(keel("history", "--json")).stdout)["migrations"]
    log = json.loads(ok(keel("history", "--log", "--json")).stdout)["log"]
    for stamp in [m["applied_at"] for m in history] + [r["at"] for r in log]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", stamp), stamp


def test_init_inside_a_configured_project_says_which_config_it_shadows(
    keel_cli: Run, tmp_path: Path
) -> None:
    (tmp_path / "keel.toml").write_text('url = "sqlite:///app.db"\n', encoding="utf-8")
    inner = tmp_path / "migrations" / "views"
    inner.mkdir(parents=True)
    out = keel_cli("init", cwd=inner)
    assert out.exit_code == 0
    assert f"note: {tmp_path / 'keel.toml'} already configures keel" in out.stderr
    quiet = keel_cli("init", cwd=tmp_path)
    assert "note:" not in quiet.stderr


def test_times_are_shown_to_the_second_in_their_own_time_zone() -> None:
    from datetime import datetime, timedelta, timezone

    from sqlkeel.cli.render import when

    at = datetime(2026, 11, 25, 14, 30, 22, 5, tzinfo=timezone.utc)
    assert when(at) == when(at.replace(microsecond=999_999)) == "2026-11-25 14:30:22"
    assert when(at.astimezone(timezone(timedelta(hours=2)))) == "2026-11-25 16:30:22"
    assert when(at + timedelta(seconds=1)) == "2026-11-25 14:30:23"
    assert when(at) == "2026-11-25 14:30:22" and when(None) == ""


def test_init_honours_dir_and_url_and_later_commands_use_them(
    keel_cli: Run, tmp_path: Path
) -> None:
    out = ok(keel_cli("init", "--dir", "db/migrations", "--url", "sqlite:///app.db", cwd=tmp_path))
    assert out.stdout == (
        f"created {tmp_path / 'db' / 'migrations'}\ncreated {tmp_path / 'keel.toml'}\n"
    )
    assert not (tmp_path / "migrations").exists()
    config = tomllib.loads((tmp_path / "keel.toml").read_text(encoding="utf-8"))
    assert config == {"url": "sqlite:///app.db", "migrations_dir": "db/migrations"}
    ok(keel_cli("new", "add users", "--version", "1", cwd=tmp_path))
    created = tmp_path / "db" / "migrations" / "V1__add_users.sql"
    created.write_text("CREATE TABLE users (id int);\n-- rollback\nDROP TABLE users;\n")
    ok(keel_cli("upgrade", cwd=tmp_path))
    assert (tmp_path / "app.db").is_file()


def test_init_says_when_an_existing_config_was_left_without_the_given_url(
    keel_cli: Run, tmp_path: Path
) -> None:
    (tmp_path / "keel.toml").write_text('url = "sqlite:///old.db"\n', encoding="utf-8")
    out = keel_cli("init", "--url", "sqlite:///new.db", cwd=tmp_path)
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / "keel.toml").read_text(encoding="utf-8") == 'url = "sqlite:///old.db"\n'
    assert "was left unchanged: --url was not written into it" in out.stderr


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql://app:s3cret@host/db", id="postgresql_userinfo"),
        pytest.param("mysql://app:s3cret@host:3306/db", id="mysql_userinfo"),
        pytest.param("postgresql://app@host/db?password=s3cret", id="password_parameter"),
    ],
)
def test_init_refuses_to_write_a_password_into_keel_toml(
    keel_cli: Run, tmp_path: Path, url: str
) -> None:
    out = keel_cli("init", "--url", url, cwd=tmp_path)
    assert out.exit_code == 2, out.stdout
    assert out.stderr.count("\n") == 1, out.stderr
    assert "s3cret" not in out.stdout + out.stderr
    assert "plain text" in out.stderr
    assert 'url = "${DATABASE_URL}"' in out.stderr
    assert "${DB_PASSWORD}" in out.stderr
    assert not (tmp_path / "keel.toml").exists()
    assert not (tmp_path / "migrations").exists()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql://app:${DB_PASSWORD}@host/db", id="password_reference"),
        pytest.param("${DATABASE_URL}", id="url_reference"),
        pytest.param("postgresql://app@host/db", id="no_password"),
    ],
)
def test_init_writes_a_url_whose_password_stays_in_the_environment(
    keel_cli: Run, tmp_path: Path, url: str
) -> None:
    ok(keel_cli("init", "--url", url, cwd=tmp_path))
    config = tomllib.loads((tmp_path / "keel.toml").read_text(encoding="utf-8"))
    assert config == {"url": url}


@pytest.mark.parametrize(
    ("config_name", "config_text"),
    [
        pytest.param("keel.toml", 'migrations_dir = "db/migrations"\n', id="keel_toml"),
        pytest.param(
            "pyproject.toml", '[tool.keel]\nmigrations_dir = "db/migrations"\n', id="pyproject"
        ),
    ],
)
def test_init_creates_the_migrations_folder_the_existing_config_names(
    keel_cli: Run, tmp_path: Path, config_name: str, config_text: str
) -> None:
    (tmp_path / config_name).write_text(config_text, encoding="utf-8")
    out = ok(keel_cli("init", cwd=tmp_path))
    folder = tmp_path / "db" / "migrations"
    assert folder.is_dir()
    assert not (tmp_path / "migrations").exists()
    assert f"created {folder} (migrations_dir from {tmp_path / config_name})" in out.stdout
    again = ok(keel_cli("init", cwd=tmp_path))
    assert f"kept existing {folder} (migrations_dir from {tmp_path / config_name})" in again.stdout
    ok(keel_cli("new", "add users", "--version", "1", cwd=tmp_path))
    assert (folder / "V1__add_users.sql").is_file()


def test_new_twice_in_one_second_bumps_the_second_above_the_first(project: Project) -> None:
    from datetime import datetime, timezone

    from sqlkeel import Keel

    fixed = datetime(2026, 12, 4, 19, 23, 59, tzinfo=timezone.utc)
    keel = Keel(migrations_dir=project.migrations, clock=lambda: fixed, environ={})
    first = keel.new("add users")
    second = keel.new("add orders")
    third = keel.new("add items")
    assert [first.name, second.name, third.name] == [
        "V20261204.192359__add_users.sql",
        "V20261204.192360__add_orders.sql",
        "V20261204.192361__add_items.sql",
    ]


def test_new_twice_in_a_row_from_the_command_line_succeeds(keel_cli: Run, project: Project) -> None:
    for description in ("one", "two", "three"):
        ok(keel_cli("new", description, "--dir", str(project.migrations), cwd=project.root))
    names = sorted(p.name for p in project.migrations.iterdir())
    assert [n.split("__")[1] for n in names] == ["one.sql", "two.sql", "three.sql"]
