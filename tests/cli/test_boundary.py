"""Meta-test of the dialect boundary: outside ``sqlkeel/dialects/`` no code names a database
family, so that adding one is a package, a registry line and a harness (issue 11).

What counts as naming one: an identifier (a name, attribute, function, class, argument,
keyword or import) or a string literal holding a family's URL scheme or package name, from
the registry, in any case. Docstrings and comments are prose and may name families (to say
why, with the manual's link); a message a user reads is code, since it must stay true when a
family is added. The few names that remain are listed in KNOWN with why, and the list must
only shrink: an entry that no longer matches fails too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlkeel.dialects import ENTRIES

SRC = Path(__file__).resolve().parents[2] / "src" / "sqlkeel"
TERMS = sorted(
    {scheme for entry in ENTRIES for scheme in entry.schemes}
    | {entry.module.rsplit(".", 1)[1] for entry in ENTRIES}
)
NAMES_A_FAMILY = re.compile("|".join(map(re.escape, TERMS)), re.IGNORECASE)

# (module relative to src/sqlkeel, a fragment of the identifier or string) that still names a
# family, and why. Remove an entry when its leak is fixed.
KNOWN: dict[tuple[str, str], str] = {
    # The splitter's lexer profiles are defined in the core, one per family; they belong in
    # the family packages (their Capabilities.split_options).
    ("core/lexer.py", "SQLITE"): "lexer profile",
    ("core/lexer.py", "POSTGRES"): "lexer profile",
    ("core/lexer.py", "MYSQL"): "lexer profile",
    ("core/splitter.py", "SQLITE"): "lexer profile re-exported",
    ("core/splitter.py", "POSTGRES"): "lexer profile re-exported",
    ("core/splitter.py", "MYSQL"): "lexer profile re-exported",
    # Messages naming families: each should come from the registry or Capabilities.
    ("config.py", "# keel.toml: settings for keel"): "the keel.toml template's examples",
    ("core/parsing.py", "as the mysql client does"): "DELIMITER message",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _code_words(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, text) of every identifier and non-docstring string literal of ``tree``."""
    docs = _docstrings(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docs:
                yield line, node.value
        elif isinstance(node, ast.Name):
            yield line, node.id
        elif isinstance(node, ast.Attribute):
            yield line, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield line, node.name
        elif isinstance(node, (ast.arg, ast.keyword)) and node.arg:
            yield line, node.arg
        elif isinstance(node, ast.alias):
            yield line, f"{node.name} {node.asname or ''}"
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield line, node.module


def family_names_in_code(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of each identifier or string literal of ``source`` naming a family."""
    for line, text in _code_words(ast.parse(source)):
        if NAMES_A_FAMILY.search(text):
            yield line, text


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] != "dialects")


def test_there_are_family_terms_and_modules_to_check() -> None:
    assert {"sqlite", "postgresql", "mysql"} <= set(TERMS)
    assert len(_modules()) > 10


def _known(module: str, text: str) -> bool:
    return any(module == m and fragment in text for m, fragment in KNOWN)


def test_no_module_outside_the_dialects_names_a_database_family() -> None:
    leaks = [
        f"src/sqlkeel/{path.relative_to(SRC)}:{line}: {text[:80]!r}"
        for path in _modules()
        for line, text in family_names_in_code(path.read_text(encoding="utf-8"))
        if not _known(str(path.relative_to(SRC)), text)
    ]
    assert not leaks, (
        "code outside src/sqlkeel/dialects/ names a database family; ask the dialect "
        "(Capabilities, the registry's Entry) instead:\n" + "\n".join(leaks)
    )


@pytest.mark.parametrize(
    ("module", "fragment"), list(KNOWN), ids=[f"{m}:{f[:20]}" for m, f in KNOWN]
)
def test_each_known_family_name_outside_the_dialects_is_still_there(
    module: str, fragment: str
) -> None:
    """A fixed leak leaves the list, so the list can only shrink."""
    found = family_names_in_code((SRC / module).read_text(encoding="utf-8"))
    assert any(fragment in text for _line, text in found), (
        f"{module} no longer names a family with {fragment!r}: remove it from KNOWN"
    )


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("import sqlkeel.dialects.sqlite\n", True),
        ("x = url.scheme == 'postgresql'\n", True),
        ("def is_mysql(): pass\n", True),
        ("x.mariadb_port = 1\n", True),
        ("f(postgres=True)\n", True),
        ('raise ConfigError(f"{MySQL} refused")\n', True),
        ('"""SQLite, PostgreSQL and MySQL may be named in a docstring."""\n', False),
        ("x = 1  # and in a comment: SQLite\n", False),
        ("def f():\n    '''PostgreSQL'''\n    return caps.transactional_ddl\n", False),
    ],
)
def test_the_boundary_check_tells_code_from_prose(source: str, named: bool) -> None:
    assert bool(list(family_names_in_code(source))) is named
