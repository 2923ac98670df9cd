"""Fault suite, scenarios 1 and 2: many keel processes at once on one database.

The lock must serialise them so that every migration runs exactly once, whichever process
runs it, and history must always describe the schema that is really there.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from faults.conftest import (
    ALL_DIALECTS,
    Target,
    counted_migration,
    finish,
    keel,
)

pytestmark = pytest.mark.slow

MIGRATIONS = 50
ROUNDS_UP_DOWN = 4
# Each scenario runs with either lock: the session lock and table mode's lease (SPEC 10).
LOCK_MODES = pytest.mark.parametrize("lock_mode", ["session", "table"])


def write_counted(migrations: Path, target: Target, count: int, *, seconds: float = 0.0) -> None:
    for n in range(1, count + 1):
        (migrations / f"V{n}__step_{n}.sql").write_text(
            counted_migration(target.harness, n, seconds=seconds), encoding="utf-8"
        )


def migration_tables(target: Target) -> set[int]:
    return {int(t[2:]) for t in target.tables() if t.startswith("t_") and t[2:].isdigit()}


@ALL_DIALECTS
@LOCK_MODES
def test_concurrent_upgrades_apply_each_of_fifty_migrations_exactly_once(
    dialect: str, lock_mode: str, target: Target, migrations: Path
) -> None:
    """N upgrade processes started together (the harness's concurrent_processes: 32 on
    PostgreSQL, 8 elsewhere) over 50 migrations all exit 0, and each migration ran once:
    one history row, one counter row and its table, whoever applied it."""
    write_counted(migrations, target, MIGRATIONS)
    processes = [
        keel(target, migrations, "upgrade", "--lock-timeout", "120", "--lock-mode", lock_mode)
        for _ in range(target.harness.concurrent_processes)
    ]
    results = [finish(p, timeout=180) for p in processes]

    codes = [r.code for r in results]
    failures = [r.stderr for r in results if r.code != 0]
    assert codes == [0] * len(processes), failures[:3]
    assert all("Traceback" not in r.stderr for r in results)
    expected = list(range(1, MIGRATIONS + 1))
    assert target.counter() == expected  # a second run of a file would add a second row
    assert sorted(int(v) for v, _ in target.versions()) == expected
    assert {s for _, s in target.versions()} == {"applied"}
    assert migration_tables(target) == set(expected)
    applied = sum(r.stdout.count("applied ") for r in results)
    assert applied == MIGRATIONS, [r.stdout for r in results]


@ALL_DIALECTS
@LOCK_MODES
def test_concurrent_upgrades_and_rollbacks_leave_history_equal_to_the_schema(
    dialect: str, lock_mode: str, target: Target, migrations: Path
) -> None:
    """Rounds of two `upgrade` and two `rollback --count 5` processes racing each other:
    every process exits 0, and after each round the applied versions are exactly the
    migration tables present and the counter rows (nothing applied or undone twice)."""
    write_counted(migrations, target, 20)
    lock = ("--lock-timeout", "120", "--lock-mode", lock_mode)
    first = finish(keel(target, migrations, "upgrade", *lock), timeout=120)
    assert first.code == 0, first.stderr
    for round_ in range(ROUNDS_UP_DOWN):
        processes = [
            keel(target, migrations, "upgrade", *lock),
            keel(target, migrations, "rollback", "--count", "5", *lock),
            keel(target, migrations, "upgrade", *lock),
            keel(target, migrations, "rollback", "--count", "5", *lock),
        ]
        results = [finish(p, timeout=180) for p in processes]
        assert [r.code for r in results] == [0, 0, 0, 0], (round_, [r.stderr for r in results])
        history = target.versions()
        applied = sorted(int(v) for v, state in history if state == "applied")
        assert len(history) == len(applied), (round_, history)  # no failed rows
        assert max(Counter(applied).values(), default=1) == 1, (round_, history)
        assert migration_tables(target) == set(applied), round_
        assert target.counter() == applied, round_
