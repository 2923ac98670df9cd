"""Bad input at the CLI edge: exit 2, one paragraph on stderr, never a traceback, and the
password of a URL never printed anywhere."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Outcome, Project

Run = Callable[..., "Outcome"]
SECRET = "s3cretpw"
UNREACHABLE = f"postgresql://u:{SECRET}@127.0.0.1:1/x"


def assert_one_paragraph_error(outcome: Outcome, *fragments: str) -> None:
    """exit 2; stderr is one 'keel: error:' line containing every fragment; stdout empty."""
    assert outcome.exit_code == 2, (outcome.stdout, outcome.stderr)
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert outcome.stdout == ""
    assert outcome.stderr.startswith("keel: error: ")
    assert outcome.stderr.endswith("\n")
    assert outcome.stderr.count("\n") == 1, outcome.stderr
    for fragment in fragments:
        assert fragment in outcome.stderr


# ---------------------------------------------------------------------------------------
# usage errors found by the argument parser: the same one paragraph, naming the problem and
# the help to read, and never a traceback, even with -v


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        pytest.param(
            ["frobnicate"], "no such command 'frobnicate'", "keel --help", id="unknown_command"
        ),
        pytest.param(["stat"], "did you mean 'status'?", "keel --help", id="misspelt_command"),
        pytest.param(
            ["status", "--frob"], "no such option '--frob'", "keel status --help", id="unknown_flag"
        ),
        pytest.param(
            ["--frob", "status"],
            "no such option '--frob'",
            "keel --help",
            id="unknown_flag_before_the_command",
        ),
        pytest.param(
            ["upgrade", "--dry"],
            "did you mean '--dir' or '--dry-run'",
            "keel upgrade --help",
            id="abbreviated_flag",
        ),
        pytest.param(
            ["status", "--version"],
            "no such option '--version'",
            "keel status --help",
            id="version_after_the_command",
        ),
        pytest.param(
            ["upgrade", "--count", "abc"],
            "invalid value for '--count': 'abc' is not a valid integer",
            "keel upgrade --help",
            id="flag_value_of_the_wrong_type",
        ),
        pytest.param(
            ["upgrade", "--lock-timeout=soon"],
            "invalid value for '--lock-timeout': 'soon' is not a valid number",
            "keel upgrade --help",
            id="float_flag_with_equals",
        ),
        pytest.param(
            ["upgrade", "--to"],
            "option '--to' requires an argument",
            "keel upgrade --help",
            id="flag_without_its_value",
        ),
        pytest.param(
            ["--url"],
            "option '--url' requires an argument",
            "keel --help",
            id="global_flag_without_its_value",
        ),
        pytest.param(
            ["status", "--json=yes"],
            "option '--json' does not take a value",
            "keel status --help",
            id="flag_given_a_value",
        ),
        pytest.param(
            ["baseline"],
            "missing argument 'VERSION'",
            "keel baseline --help",
            id="missing_argument",
        ),
        pytest.param(
            ["new", "--dir", "x"],
            "missing argument 'DESCRIPTION'",
            "keel new --help",
            id="missing_argument_after_options",
        ),
        pytest.param(
            ["current", "extra"],
            "unexpected extra argument 'extra'",
            "keel current --help",
            id="extra_argument",
        ),
        pytest.param(
            ["new", "a", "b", "c"],
            "unexpected extra arguments 'b' 'c'",
            "keel new --help",
            id="extra_arguments",
        ),
        pytest.param(["-q"], "missing command", "keel --help", id="options_but_no_command"),
        pytest.param(
            ["-v", "status", "--frob"],
            "no such option '--frob'",
            "keel status --help",
            id="verbose_adds_no_traceback",
        ),
    ],
)
def test_a_command_line_the_parser_rejects_exits_2_with_the_error_and_a_hint(
    keel_cli: Run, tmp_path: Path, args: list[str], message: str, hint: str
) -> None:
    out = keel_cli(*args, cwd=tmp_path)
    assert_one_paragraph_error(out, message, "Fix: ", f"see '{hint}'.")


def test_a_password_in_a_rejected_argument_is_masked(keel_cli: Run, tmp_path: Path) -> None:
    """`keel status postgresql://...` (the --url forgotten) must not echo the password."""
    out = keel_cli("status", UNREACHABLE, cwd=tmp_path)
    assert_one_paragraph_error(out, "unexpected extra argument 'postgresql://u:***@127.0.0.1:1/x'")
    assert SECRET not in out.stderr


# ---------------------------------------------------------------------------------------
# usage and configuration errors found by keel

# (arguments with {dir} / {root} placeholders, fragments the message must contain)
CONFIG_ERRORS = [
    pytest.param(
        ["status", "--dir", "{dir}"],
        ["no database URL is configured", "Fix: pass --url, set KEEL_URL or DATABASE_URL"],
        id="missing_url",
    ),
    pytest.param(
        ["upgrade", "--dir", "{dir}"],
        ["no database URL is configured"],
        id="missing_url_for_a_write",
    ),
    pytest.param(
        ["status", "--dir", "{dir}", "--url", "not a url"],
        ["--url option", "no '://'", "postgresql://"],
        id="malformed_url",
    ),
    pytest.param(
        ["status", "--dir", "{dir}", "--url", "oracle://x"],
        ["Unknown database URL scheme 'oracle'", "sqlite, postgresql"],
        id="unknown_scheme",
    ),
    pytest.param(
        ["status", "--dir", "{dir}", "--url", UNREACHABLE],
        ["cannot connect to PostgreSQL at postgresql://u:***@127.0.0.1:1/x", "Fix:"],
        id="unreachable_server",
    ),
    pytest.param(
        ["upgrade", "--dir", "{dir}", "--url", UNREACHABLE],
        ["cannot connect to PostgreSQL"],
        id="unreachable_server_for_a_write",
    ),
    pytest.param(
        ["status", "--dir", "{dir}", "--url", f"sqlite://u:{SECRET}@/x.db"],
        ["The sqlite database URL names a host", "three slashes"],
        id="sqlite_url_with_credentials",
    ),
    pytest.param(
        ["status", "--url", "sqlite:///{root}/t.db", "--dir", "{root}/nope"],
        ["the migrations directory", "nope does not exist", "keel init"],
        id="missing_migrations_directory",
    ),
    pytest.param(
        ["status", "--dir", "{dir}", "--url", "sqlite:///{root}/no/such/dir/t.db"],
        ["no/such/dir", "does not exist"],
        id="sqlite_database_in_a_missing_directory",
    ),
    pytest.param(
        ["status", "--dir", "{dir}", "--config", "{root}/missing.toml"],
        ["missing.toml", "does not exist"],
        id="missing_config_file",
    ),
    pytest.param(
        ["upgrade", "--dir", "{dir}", "--url", "sqlite:///{root}/t.db", "--to", "abc"],
        ["--to 'abc' is not a version"],
        id="to_is_not_a_version",
    ),
    pytest.param(
        [
            "rollback",
            "--dir",
            "{dir}",
            "--url",
            "sqlite:///{root}/t.db",
            "--to",
            "1",
            "--count",
            "1",
        ],
        ["either --to or --count"],
        id="rollback_to_and_count_together",
    ),
    pytest.param(
        ["upgrade", "--dir", "{dir}", "--url", "sqlite:///{root}/t.db", "--count", "0"],
        ["--count must be 1 or more."],
        id="count_zero_names_the_flag_the_plan_names_as_a_field",
    ),
    pytest.param(
        ["repair", "--dir", "{dir}", "--url", "sqlite:///{root}/t.db"],
        ["say what to repair: --checksums, --missing and/or --failed"],
        id="repair_without_a_kind",
    ),
    pytest.param(
        ["new", "!!!", "--dir", "{dir}"],
        ["has no letters or digits"],
        id="new_without_a_description",
    ),
]


@pytest.mark.parametrize(("args", "fragments"), CONFIG_ERRORS)
def test_bad_configuration_exits_2_with_one_paragraph_naming_the_fix(
    keel_cli: Run, project: Project, args: list[str], fragments: list[str]
) -> None:
    project.write("V1__a.sql", "CREATE TABLE a (id integer);\n")
    filled = [
        a.replace("{dir}", str(project.migrations)).replace("{root}", str(project.root))
        for a in args
    ]
    out = keel_cli(*filled, cwd=project.root)
    assert_one_paragraph_error(out, *fragments)
    assert SECRET not in out.stdout + out.stderr


def test_a_malformed_config_file_exits_2_naming_it(keel_cli: Run, project: Project) -> None:
    (project.root / "keel.toml").write_text("url = [\n", encoding="utf-8")
    out = keel_cli("status", "--dir", str(project.migrations), cwd=project.root)
    assert_one_paragraph_error(out, str(project.root / "keel.toml"), "not valid TOML")


def test_a_migration_file_that_cannot_be_read_exits_2_naming_it(
    keel_cli: Run, project: Project, tmp_path: Path
) -> None:
    # Root reads any file whatever its mode, so use what fails for everyone: a dangling link.
    project.write("V1__a.sql", "CREATE TABLE a (id integer);\n")
    os.symlink(tmp_path / "does-not-exist.sql", project.migrations / "V2__x.sql")
    url = f"sqlite:///{tmp_path / 't.db'}"
    for command in (["status"], ["upgrade"], ["validate", "--offline"]):
        out = keel_cli(*command, "--url", url, "--dir", str(project.migrations), cwd=project.root)
        # Found while walking the folder, before any file is read: named with its target.
        assert_one_paragraph_error(
            out,
            f"{project.migrations / 'V2__x.sql'} -> {tmp_path / 'does-not-exist.sql'}",
            "does not exist (errno 2)",
            "Fix:",
        )
    assert not (tmp_path / "t.db").exists() or "a" not in _sqlite_tables(tmp_path / "t.db")


def test_a_migration_file_that_is_not_utf8_exits_2_naming_file_and_line(
    keel_cli: Run, project: Project, tmp_path: Path
) -> None:
    path = project.migrations / "V1__latin.sql"
    path.write_bytes("-- plain ascii\n\nINSERT INTO t VALUES ('naïve');\n".encode("latin-1"))
    out = keel_cli(
        "upgrade",
        "--url",
        f"sqlite:///{tmp_path / 't.db'}",
        "--dir",
        str(project.migrations),
        cwd=project.root,
    )
    assert path.exists()
    assert_one_paragraph_error(
        out, "keel: error: V1__latin.sql:3: the file is not valid UTF-8", "Fix:"
    )


def test_a_utf8_bom_is_fine(keel_cli: Run, project: Project, tmp_path: Path) -> None:
    path = project.migrations / "V1__bom.sql"
    path.write_bytes("\ufeffCREATE TABLE café (id integer);\n".encode())
    out = keel_cli(
        "upgrade",
        "--url",
        f"sqlite:///{tmp_path / 't.db'}",
        "--dir",
        str(project.migrations),
        cwd=project.root,
    )
    assert out.exit_code == 0, out.stderr
    assert "café" in _sqlite_tables(tmp_path / "t.db")


def _sqlite_tables(path: Path) -> set[str]:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_a_url_from_the_environment_is_used_and_masked(keel_cli: Run, project: Project) -> None:
    out = keel_cli(
        "status", "--dir", str(project.migrations), cwd=project.root, env={"KEEL_URL": UNREACHABLE}
    )
    assert_one_paragraph_error(out, "postgresql://u:***@127.0.0.1:1/x")
    assert SECRET not in out.stdout + out.stderr


def test_a_password_expanded_from_the_environment_in_keel_toml_is_masked(
    keel_cli: Run, project: Project
) -> None:
    (project.root / "keel.toml").write_text(
        'url = "postgresql://u:${KEEL_TEST_PW}@127.0.0.1:1/x"\n', encoding="utf-8"
    )
    out = keel_cli(
        "status", "--dir", str(project.migrations), cwd=project.root, env={"KEEL_TEST_PW": SECRET}
    )
    assert_one_paragraph_error(out, "postgresql://u:***@127.0.0.1:1/x")
    assert SECRET not in out.stdout + out.stderr


def test_verbose_shows_the_traceback_but_still_not_the_password(
    keel_cli: Run, project: Project
) -> None:
    out = keel_cli(
        "-v", "status", "--dir", str(project.migrations), "--url", UNREACHABLE, cwd=project.root
    )
    assert out.exit_code == 2
    assert "Traceback" in out.stderr
    assert out.stderr.rstrip().splitlines()[-1].startswith("keel: error: cannot connect")
    assert SECRET not in out.stdout + out.stderr


# ---------------------------------------------------------------------------------------
# a real PostgreSQL URL with a password (trust auth ignores it, so keel connects)


@pytest.fixture
def secret_url(pg_url: str) -> str:
    assert "postgres@" in pg_url, pg_url
    return pg_url.replace("postgres@", f"postgres:{SECRET}@", 1)


@pytest.fixture
def keel_pg(keel_cli: Run, secret_url: str, project: Project) -> Run:
    def run(*args: str) -> Outcome:
        out = keel_cli(
            *args, "--url", secret_url, "--dir", str(project.migrations), cwd=project.root
        )
        assert SECRET not in out.stdout + out.stderr, (args, out.stdout, out.stderr)
        return out

    return run


def test_the_password_is_never_printed_by_successful_commands(
    keel_pg: Run, project: Project
) -> None:
    project.write("V1__a.sql", "CREATE TABLE a (id integer);\n-- rollback\nDROP TABLE a;\n")
    project.write("RA__grant.sql", "SELECT 1;\n")
    for args in (
        ["upgrade", "--dry-run"],
        ["upgrade", "-v"],
        ["status"],
        ["status", "--json"],
        ["history"],
        ["history", "--log"],
        ["history", "--log", "--json"],
        ["current"],
        ["validate"],
        ["lock-status"],
        ["lock-status", "--json"],
        ["unlock"],
        ["rollback", "--dry-run"],
        ["rollback", "-v"],
        ["baseline", "1"],  # the rollback above left no versioned row
    ):
        out = keel_pg(*args)
        assert out.exit_code == 0, (args, out.stderr)
        assert "Traceback" not in out.stderr


def test_the_password_is_never_printed_on_validation_errors(keel_pg: Run, project: Project) -> None:
    project.write("V1__a.sql", "SELECT 1;\n")
    project.write("V1.0__b.sql", "SELECT 1;\n")
    project.write("V2_bad.sql", "SELECT 1;\n")
    expected = {
        ("upgrade",): 1,
        ("validate",): 1,
        ("validate", "--json"): 1,
        ("status",): 0,
        ("rollback",): 1,
    }
    for args, code in expected.items():
        out = keel_pg(*args)
        assert out.exit_code == code, (args, out.stderr)
        assert "V1.0__b.sql" in out.stdout + out.stderr  # the problem is really reported


def test_the_password_is_never_printed_on_migration_failures(
    keel_pg: Run, project: Project
) -> None:
    project.write("V1__a.sql", "CREATE TABLE a (id integer);\nINSERT INTO nowhere VALUES (1);\n")
    out = keel_pg("upgrade")
    assert out.exit_code == 1
    assert "V1__a.sql:2" in out.stderr
    out = keel_pg("-v", "upgrade")
    assert out.exit_code == 1
    project.write("V1__a.sql", "-- keel: transaction=off\nSELECT 1;\nSELECT nosuchcolumn;\n")
    assert keel_pg("upgrade").exit_code == 1
    assert keel_pg("history", "--log", "--json").exit_code == 0
    assert keel_pg("repair", "--failed").exit_code == 0


def test_the_password_is_never_printed_when_the_database_does_not_exist(
    keel_cli: Run, secret_url: str, project: Project
) -> None:
    url = secret_url.rsplit("/", 1)[0] + "/keel_no_such_database"
    out = keel_cli("status", "--url", url, "--dir", str(project.migrations), cwd=project.root)
    assert_one_paragraph_error(out, "cannot connect to PostgreSQL", "postgres:***@")
    assert "keel_no_such_database" in out.stderr
    assert SECRET not in out.stdout + out.stderr


def test_a_closed_output_pipe_ends_quietly(tmp_path: Path) -> None:
    """`keel ... | head -1` must not report the reader going away as a bug."""
    import subprocess
    import sys

    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__t.sql").write_text("CREATE TABLE t (id int);\n")
    db = f"sqlite:///{tmp_path / 'pipe.db'}"
    keel = [sys.executable, "-m", "sqlkeel", "--url", db, "--dir", str(tmp_path / "migrations")]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before keel writes a byte
    try:
        writer = subprocess.run(
            [*keel, "status", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    assert writer.returncode == 0, writer.stderr
    assert writer.stderr == ""
