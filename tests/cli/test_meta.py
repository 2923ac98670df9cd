"""Meta-tests: every command has help and a README entry; ``keel --help`` loads neither click
nor a database driver nor the API; the pure core imports nothing that does I/O."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import sqlkeel.core
from sqlkeel.cli import commands
from sqlkeel.cli.app import COMMANDS, KeelParser, command_parser, main_parser, summary

if TYPE_CHECKING:
    from conftest import Outcome

Run = Callable[..., "Outcome"]

REPO = Path(__file__).resolve().parents[2]
COMMAND_NAMES = list(COMMANDS)
DRIVERS = (
    "psycopg",
    "psycopg2",
    "pymysql",
    "MySQLdb",
    "mysql",
    "sqlite3",
    "_sqlite3",
    "duckdb",
    "_duckdb",
)
# What `keel --help` and `keel --version` must not load: the old CLI framework, any driver,
# the API and everything behind it, and the standard modules that cost start-up time.
NOT_FOR_HELP = (
    "click",
    *DRIVERS,
    "sqlkeel.api",
    "sqlkeel.config",
    "sqlkeel.execute",
    "sqlkeel.errors",
    "sqlkeel.cli.commands",
    "sqlkeel.core",
    "sqlkeel.dialects",
    "json",
    "dataclasses",
    "pathlib",
    "shutil",
    "datetime",
)

# Imports nothing before main() (not even json), so that every module it lists was loaded
# by keel itself.
PROBE = """
import sys
unwanted = sys.argv[1].split(",")
from sqlkeel.cli.app import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if any(m == u or m.startswith(u + ".") for u in unwanted))
sys.stderr.write(repr((code, loaded)))
"""


def _options(parser: KeelParser) -> list[argparse.Action]:
    return [a for a in parser.actions if a.option_strings]


def _takes_json(name: str) -> bool:
    return any("--json" in a.option_strings for a in _options(command_parser(name)))


def test_the_command_list_is_complete_and_in_workflow_order() -> None:
    assert COMMAND_NAMES == [
        "init",
        "new",
        "upgrade",
        "rollback",
        "status",
        "history",
        "current",
        "validate",
        "repair",
        "baseline",
        "lock-status",
        "unlock",
    ]


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_has_a_function_that_runs_it(name: str) -> None:
    assert callable(getattr(commands, name.replace("-", "_")))


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--help"], id="keel_help"),
        pytest.param(["--version"], id="keel_version"),
        pytest.param(["upgrade", "--help"], id="upgrade_help"),
        pytest.param(["status", "--help"], id="status_help"),
    ],
)
def test_help_loads_no_driver_no_click_and_not_the_api(args: list[str]) -> None:
    """Checked in a fresh interpreter: the test process has loaded everything already."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(NOT_FOR_HELP), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stderr.startswith("("), result.stderr
    code, loaded = ast.literal_eval(result.stderr)
    assert code == 0
    assert loaded == []
    assert result.stdout.startswith("usage: keel" if "--help" in args else "keel, version")


# What a read-only command on SQLite must not load: who runs keel and the lock's jitter
# matter only to commands that write or wait (each costs start-up time in every CI job).
NOT_FOR_READING = ("socket", "getpass", "random", "psycopg", "typing")


@pytest.mark.parametrize("command", ["status", "current", "history", "validate"])
def test_read_only_commands_load_no_socket_getpass_or_random(tmp_path: Path, command: str) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__a.sql").write_text("CREATE TABLE a (id int);\n")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            ",".join(NOT_FOR_READING),
            "--url",
            url,
            "--dir",
            str(tmp_path / "migrations"),
            command,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    code, loaded = ast.literal_eval(result.stderr[result.stderr.rindex("(") :])
    assert code == 0, result.stderr
    assert loaded == []


def test_host_name_is_what_socket_reports() -> None:
    import socket

    from sqlkeel.dialects.base import host_name

    assert host_name() == socket.gethostname()


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_has_help(keel_cli: Run, tmp_path: Path, name: str) -> None:
    out = keel_cli(name, "--help", cwd=tmp_path)
    assert out.exit_code == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.startswith(f"usage: keel {name} [OPTIONS]")
    assert summary(name) in " ".join(out.stdout.split())
    for option in ("--url", "--dir", "--config", "--quiet", "--verbose", "--help"):
        assert option in out.stdout, f"{name} --help does not list {option}"
    for action in _options(command_parser(name)):
        assert action.option_strings[-1] in out.stdout
    assert keel_cli(name, "-h", cwd=tmp_path).stdout == out.stdout


def test_the_main_help_lists_every_command_in_order_and_the_exit_codes(
    keel_cli: Run, tmp_path: Path
) -> None:
    out = keel_cli("--help", cwd=tmp_path)
    assert out.exit_code == 0
    assert out.stdout.startswith("usage: keel [OPTIONS] COMMAND [ARGS]...")
    listed = out.stdout.split("commands:\n", 1)[1]
    names = [
        line.split()[0]
        for line in listed.splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    ]
    assert names == COMMAND_NAMES
    for name in COMMAND_NAMES:
        assert " ".join(summary(name).split()) in " ".join(listed.split())
    for option in ("--version", "--url", "--dir", "--config", "--quiet", "--verbose", "--help"):
        assert option in out.stdout
    assert "Exit codes: 0 success" in out.stdout
    assert "Configuration: flag > KEEL_* / DATABASE_URL environment > keel.toml >" in out.stdout
    assert keel_cli("-h", cwd=tmp_path).stdout == out.stdout


def test_keel_alone_prints_the_help_on_stderr_and_exits_2(keel_cli: Run, tmp_path: Path) -> None:
    out = keel_cli(cwd=tmp_path)
    assert out.exit_code == 2
    assert out.stdout == ""
    assert out.stderr == main_parser().format_help()


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_appears_in_the_readme(name: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"keel {name}" in readme, f"README.md does not mention 'keel {name}'"


@pytest.mark.parametrize("name", [n for n in COMMAND_NAMES if _takes_json(n)])
def test_read_only_commands_document_json(keel_cli: Run, tmp_path: Path, name: str) -> None:
    assert "--json" in keel_cli(name, "--help", cwd=tmp_path).stdout


def test_the_read_only_commands_are_the_ones_that_take_json() -> None:
    takes_json = {name for name in COMMAND_NAMES if _takes_json(name)}
    assert takes_json == {"status", "history", "current", "validate", "lock-status"}


@pytest.mark.parametrize("name", [None, *COMMAND_NAMES])
def test_every_option_and_argument_has_help_text(name: str | None) -> None:
    parser = main_parser() if name is None else command_parser(name)
    for action in parser.actions:
        label = "/".join(action.option_strings) or action.metavar
        assert action.help, f"keel {name or ''} {label} has no help"


# ---------------------------------------------------------------------------------------
# sqlkeel.core is pure

CORE = Path(sqlkeel.core.__file__).parent
CORE_MODULES = sorted(CORE.glob("*.py"))
FORBIDDEN_MODULES = {
    "os",
    "pathlib",
    "io",
    "shutil",
    "tempfile",
    "glob",
    "sqlite3",
    "psycopg",
    "psycopg2",
    "pymysql",
    "socket",
    "subprocess",
    "time",
    "fcntl",
    "getpass",
    "logging",
    "urllib",
    "http",
    "requests",
    "click",
}
# Attribute calls that read the clock or the environment, and builtins that do I/O.
FORBIDDEN_CALLS = {"now", "utcnow", "today", "getenv", "time", "perf_counter"}
FORBIDDEN_BUILTINS = {"print", "open", "input", "exec", "eval", "__import__"}
ALLOWED_SQLKEEL = ("sqlkeel.core", "sqlkeel.errors")


def _imports(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def test_the_core_has_modules_to_check() -> None:
    names = {p.stem for p in CORE_MODULES}
    assert {"model", "parsing", "plan", "splitter", "versions", "checksum"} <= names


def impurities(source: str, name: str) -> list[str]:
    """Every import or call in ``source`` that would let a core module do I/O."""
    tree = ast.parse(source, filename=name)
    problems = []
    for module, line in _imports(tree):
        top = module.split(".")[0]
        if top in FORBIDDEN_MODULES:
            problems.append(f"{name}:{line}: imports {module}")
        if top == "sqlkeel" and not module.startswith(ALLOWED_SQLKEEL):
            problems.append(f"{name}:{line}: imports {module} (outside the core)")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
            problems.append(f"{name}:{node.lineno}: calls {func.id}()")
        if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_CALLS:
            problems.append(f"{name}:{node.lineno}: calls .{func.attr}()")
    return problems


@pytest.mark.parametrize("path", CORE_MODULES, ids=[p.stem for p in CORE_MODULES])
def test_core_modules_import_nothing_that_does_io(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8"), path.name) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("import os\n", "x.py:1: imports os", id="import_os"),
        pytest.param("from pathlib import Path\n", "x.py:1: imports pathlib", id="pathlib"),
        pytest.param("import psycopg.sql\n", "x.py:1: imports psycopg.sql", id="driver"),
        pytest.param(
            "from sqlkeel.history import HistoryStore\n",
            "x.py:1: imports sqlkeel.history (outside the core)",
            id="outer_layer",
        ),
        pytest.param("x = 1\nprint(x)\n", "x.py:2: calls print()", id="print"),
        pytest.param("open('f')\n", "x.py:1: calls open()", id="open"),
        pytest.param(
            "from datetime import datetime\nd = datetime.now()\n",
            "x.py:2: calls .now()",
            id="clock",
        ),
    ],
)
def test_the_purity_check_catches_each_kind_of_io(source: str, expected: str) -> None:
    assert impurities(source, "x.py") == [expected]


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["mypy"]],
    ids=["ruff", "mypy"],
)
def test_the_code_is_lint_and_type_clean(command: list[str]) -> None:
    """The standards hold in CI too, not only on the machine of whoever ran the tools."""
    import subprocess
    import sys

    tool = [sys.executable, "-m", *command]
    done = subprocess.run(tool, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
