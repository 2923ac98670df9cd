"""A server the suite needs and cannot reach fails the run loudly; it is never skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("dialect", "env", "says"),
    [
        ("mysql", {"KEEL_TEST_MYSQL_PORT": "1"}, "MariaDB is not reachable at 127.0.0.1:1"),
        (
            "postgres",
            {"KEEL_TEST_PG": "postgresql://postgres@127.0.0.1:1/postgres"},
            "PostgreSQL is not reachable",
        ),
    ],
    ids=["mariadb", "postgresql"],
)
def test_a_server_that_cannot_be_reached_fails_the_tests_that_need_it(
    dialect: str, env: dict[str, str], says: str
) -> None:
    test = f"{TESTS / 'dialects' / 'test_conformance.py'}::test_history_rows_round_trip[{dialect}]"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider", test],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=TESTS.parent,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout or "1 failed" in result.stdout, result.stdout
    assert "skipped" not in result.stdout
    assert says in result.stdout
