"""Meta-tests: every command has help and a README entry; ``keel --help`` loads no database
driver; the pure core imports nothing that does I/O."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest

import sqlkeel.core
from sqlkeel.cli.app import cli
from sqlkeel.cli.commands import ALL

if TYPE_CHECKING:
    from conftest import Outcome

Run = Callable[..., "Outcome"]

REPO = Path(__file__).resolve().parents[2]
COMMAND_NAMES = [c.name for c in ALL if c.name is not None]
DRIVERS = ("psycopg", "psycopg2", "pymysql", "MySQLdb", "mysql", "sqlite3", "_sqlite3")

PROBE = """
import json, sys
from sqlkeel.cli.app import main
drivers = set(json.loads(sys.argv[2]))
sys.argv = ["keel", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted({m.split(".")[0] for m in sys.modules} & drivers)
sys.stderr.write(json.dumps({"code": code, "loaded": loaded}))
"""


def test_the_command_list_is_complete() -> None:
    assert COMMAND_NAMES == [
        "init", "new", "upgrade", "rollback", "status", "history", "current", "validate",
        "repair", "baseline", "lock-status", "unlock",
    ]
    assert sorted(cli.commands) == sorted(COMMAND_NAMES)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--help"], id="keel_help"),
        pytest.param(["upgrade", "--help"], id="upgrade_help"),
        pytest.param(["status", "--help"], id="status_help"),
    ],
)
def test_help_loads_no_database_driver(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(DRIVERS)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.stderr.startswith("{"), result.stderr
    report = json.loads(result.stderr)
    assert report["code"] == 0
    assert report["loaded"] == []
    assert "Usage: keel" in result.stdout


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_has_help(keel_cli: Run, tmp_path: Path, name: str) -> None:
    out = keel_cli(name, "--help", cwd=tmp_path)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith(f"Usage: keel {name} ")
    command = cli.commands[name]
    assert command.help and command.help.strip(), f"{name} has no docstring"
    summary = " ".join(command.help.strip().splitlines()[0].split())
    assert summary in " ".join(out.stdout.split())
    for option in ("--url", "--dir", "--config", "--quiet", "--verbose"):
        assert option in out.stdout, f"{name} --help does not list {option}"


def test_the_main_help_lists_every_command_and_the_exit_codes(
    keel_cli: Run, tmp_path: Path
) -> None:
    out = keel_cli("--help", cwd=tmp_path)
    assert out.exit_code == 0
    listed = out.stdout.split("Commands:", 1)[1]
    for name in COMMAND_NAMES:
        assert f"  {name} " in listed
    assert "Exit codes:" in out.stdout


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_appears_in_the_readme(name: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"keel {name}" in readme, f"README.md does not mention 'keel {name}'"


@pytest.mark.parametrize(
    "name", [c.name for c in ALL if any(p.name == "json_" for p in c.params)]
)
def test_read_only_commands_document_json(keel_cli: Run, tmp_path: Path, name: str) -> None:
    assert "--json" in keel_cli(name, "--help", cwd=tmp_path).stdout


def test_the_read_only_commands_are_the_ones_that_take_json() -> None:
    takes_json = {c.name for c in ALL if any(p.name == "json_" for p in c.params)}
    assert takes_json == {"status", "history", "current", "validate", "lock-status"}


def test_every_option_has_help_text() -> None:
    for command in ALL:
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"keel {command.name} {param.opts[0]} has no help"


# ---------------------------------------------------------------------------------------
# sqlkeel.core is pure

CORE = Path(sqlkeel.core.__file__).parent
CORE_MODULES = sorted(CORE.glob("*.py"))
FORBIDDEN_MODULES = {
    "os", "pathlib", "io", "shutil", "tempfile", "glob", "sqlite3", "psycopg", "psycopg2",
    "pymysql", "socket", "subprocess", "time", "fcntl", "getpass", "logging", "urllib",
    "http", "requests", "click",
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
        pytest.param("from sqlkeel.history import HistoryStore\n",
                     "x.py:1: imports sqlkeel.history (outside the core)", id="outer_layer"),
        pytest.param("x = 1\nprint(x)\n", "x.py:2: calls print()", id="print"),
        pytest.param("open('f')\n", "x.py:1: calls open()", id="open"),
        pytest.param("from datetime import datetime\nd = datetime.now()\n",
                     "x.py:2: calls .now()", id="clock"),
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
