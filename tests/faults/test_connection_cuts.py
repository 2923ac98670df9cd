"""Fault suite, scenario 4: keel's lock connection or work connection cut by the server
(`pg_terminate_backend`, MariaDB `KILL`) mid-run, with a second keel started at once.

Whatever is cut, no migration may run twice: a run that lost its lock must notice before
its next migration (not when it releases the lock at the end), and the cut run exits
non-zero with one paragraph. A later upgrade then completes, each migration once.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from faults.conftest import (
    SERVER_DIALECTS,
    Target,
    counted_migration,
    finish,
    keel,
    one_paragraph,
)

pytestmark = pytest.mark.slow

COUNT = 6
SECONDS = 0.4  # per migration: the run lasts ~2.4 s, so the cut lands mid-run


def write_migrations(migrations: Path, target: Target) -> None:
    harness = target.harness
    for n in range(1, COUNT + 1):
        sql = counted_migration(
            harness, n, seconds=SECONDS, ddl=harness.capabilities.transactional_ddl
        )
        (migrations / f"V{n}__step_{n}.sql").write_text(sql, encoding="utf-8")


def work_session(target: Target) -> object | None:
    """The server id of the session running a migration's slow statement, if one runs now."""
    slow = target.harness.slow_statement(SECONDS).rstrip(";")
    sessions = target.harness.running_sessions(target.url, slow)
    return sessions[0] if sessions else None


def lock_session(target: Target) -> object | None:
    """The server id of the session holding keel's migration lock on ``target``."""
    return target.harness.lock_session(target.url)


def cut(target: Target, session: object) -> None:
    target.harness.end_session(target.url, session)


def wait_for_work(target: Target) -> None:
    """Until a migration after the first is running (so one is already committed)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (
            work_session(target) is not None
            and target.query("SELECT count(*) FROM keel_history")[0][0]
        ):
            return
        time.sleep(0.02)
    raise AssertionError("the run did not get going")


@SERVER_DIALECTS
@pytest.mark.parametrize("which", ["lock", "work"])
def test_a_cut_connection_never_lets_a_second_keel_apply_a_migration_twice(
    dialect: str, which: str, target: Target, migrations: Path
) -> None:
    """The lock's session or the migrations' session is ended by the server while a run
    is mid-way and a second upgrade starts at once: no version runs twice (history and
    counter rows), the cut run exits non-zero with one paragraph, the second exits 0, and
    a later upgrade leaves every migration applied exactly once."""
    write_migrations(migrations, target)
    first = keel(target, migrations, "upgrade")
    wait_for_work(target)
    session = lock_session(target) if which == "lock" else work_session(target)
    assert session is not None, f"no {which} session found"
    cut(target, session)
    second = keel(target, migrations, "upgrade", "--lock-timeout", "60")
    cut_run = finish(first, timeout=60)
    other = finish(second, timeout=60)

    runs = Counter(target.counter())
    rows = Counter(int(v) for v, _ in target.versions())
    doubles = sorted(n for n in range(1, COUNT + 1) if runs[n] > 1 or rows[n] > 1)
    assert doubles == [], (
        f"{which} connection cut on {dialect}: versions applied twice {doubles}; cut run "
        f"exit {cut_run.code}: {cut_run.stderr.strip()}"
    )
    assert cut_run.code not in (0, None), cut_run.stderr
    assert one_paragraph(cut_run.stderr), cut_run.stderr
    assert other.code == 0, other.stderr
    last = finish(keel(target, migrations, "upgrade"), timeout=60)
    assert last.code == 0, last.stderr
    expected = list(range(1, COUNT + 1))
    assert target.versions() == [(str(n), "applied") for n in expected]
    assert target.counter() == expected
