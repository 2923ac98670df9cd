"""Fault suite, scenario 3: `kill -9` of an upgrade at random moments, each followed at once
by another upgrade.

A killed client's server session may still be executing (and committing) what it sent;
the next keel must neither apply that migration a second time nor find the lock stuck,
and nothing may be lost. Rounds: KEEL_FAULT_ROUNDS (default 50) per dialect; the moments
come from KEEL_FAULT_SEED, printed in any failure.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from faults.conftest import (
    ALL_DIALECTS,
    ROUNDS,
    SEED,
    Target,
    counted_migration,
    dialects,
    finish,
    keel,
    rng,
)
from sqlkeel.testing import DialectHarness

pytestmark = pytest.mark.slow

PER_ROUND = 3
# Database time of each round's three migrations. On a server the middle one outlasts the
# start of the next keel (~0.3 s), so a kill inside it leaves the server still working when
# that keel arrives. A file database runs in the killed process itself; it needs no more
# than a busy moment.
SECONDS_ON_A_SERVER = (0.02, 0.5, 0.02)
SECONDS_IN_PROCESS = (0.05, 0.3, 0.05)
# Table lock mode: a killed holder's lease stays until it is stale, so each round waits
# LEASE seconds, and runs fewer rounds. Its middle migration outlasts the lease on the
# servers: a killed keel's server session may still be running it when the next run takes
# the lease over, and the fence inside its transaction must keep it from being recorded.
LEASE = 1.0
TABLE_SECONDS_ON_A_SERVER = (0.02, 1.5, 0.02)


def write_round(
    migrations: Path,
    harness: DialectHarness,
    round_: int,
    seconds_each: tuple[float, ...] | None = None,
) -> list[int]:
    versions = []
    if seconds_each is None:
        seconds_each = SECONDS_ON_A_SERVER if harness.is_server else SECONDS_IN_PROCESS
    for i, seconds in enumerate(seconds_each):
        n = round_ * PER_ROUND + i + 1
        # Without transactional DDL (MySQL/MariaDB) a migration holding DDL runs outside a
        # transaction and a kill inside it is refused until repair (by design): these stay
        # transactional so that every round can go on.
        sql = counted_migration(
            harness, n, seconds=seconds, ddl=harness.capabilities.transactional_ddl
        )
        (migrations / f"V{n}__step_{n}.sql").write_text(sql, encoding="utf-8")
        versions.append(n)
    return versions


def check_round(target: Target, expected: list[int]) -> Counter[str]:
    """Counts of what is wrong with the round's versions ``expected`` (earlier rounds'
    stay as they were), by kind."""
    problems: Counter[str] = Counter()
    history = [(v, s) for v, s in target.versions() if int(v) in expected]
    per_version = Counter(int(v) for v, _ in history)
    runs = Counter(n for n in target.counter() if n >= expected[0])
    problems["double-applies"] = sum(1 for n in expected if per_version[n] > 1 or runs[n] > 1)
    problems["lost"] = sum(1 for n in expected if per_version[n] == 0 or runs[n] == 0)
    problems["wrong-rows"] = sum(1 for _, state in history if state != "applied") + sum(
        1 for n in runs if n not in expected
    )
    if target.harness.capabilities.transactional_ddl:  # the rounds made tables
        tables = target.tables()
        problems["lost"] += sum(1 for n in expected if f"t_{n}" not in tables)
    return problems


@ALL_DIALECTS
@pytest.mark.parametrize("lock_mode", ["session", "table"])
def test_kill_nine_at_random_moments_never_double_applies_or_sticks_the_lock(
    dialect: str, lock_mode: str, target: Target, migrations: Path
) -> None:
    """In each round an upgrade of three migrations is killed with SIGKILL at a random
    moment and another upgrade starts at once: that one exits 0 within 30 s (no stuck
    lock; in table mode once the killed run's lease is stale), and every version ran
    exactly once: one history row, one counter row, its table (no double apply, nothing
    lost, no failed row)."""
    table = lock_mode == "table"
    random = rng(f"kill:{dialect}" + (":table" if table else ""))
    harness = target.harness
    seconds = (
        (TABLE_SECONDS_ON_A_SERVER if harness.is_server else SECONDS_IN_PROCESS) if table else None
    )
    rounds = max(1, ROUNDS // 5) if table else ROUNDS
    lock = ("--lock-mode", lock_mode, "--lock-lease", f"{LEASE:g}")
    write_round(migrations, harness, 0, seconds)
    start = time.monotonic()
    calibration = finish(keel(target, migrations, "upgrade", *lock), timeout=60)
    full_run = time.monotonic() - start  # how long an upgrade of one round takes
    assert calibration.code == 0, calibration.stderr

    tally: Counter[str] = Counter()
    examples: list[str] = []
    for round_ in range(1, rounds + 1):
        expected = write_round(migrations, harness, round_, seconds)
        victim = keel(target, migrations, "upgrade", *lock)
        moment = random.uniform(0.05, full_run)
        time.sleep(moment)
        victim.kill()
        victim.wait()
        second = finish(keel(target, migrations, "upgrade", "--lock-timeout", "15", *lock), 30)
        found = check_round(target, expected)
        if second.code is None:
            found["hangs"] += 1
        elif second.code == 3:
            found["stuck-locks"] += 1
        elif second.code != 0:
            found["failed-second-runs"] += 1
        if "Traceback" in second.stderr:
            found["tracebacks"] += 1
        if +found and len(examples) < 5:
            examples.append(
                f"round {round_} (kill after {moment:.3f} s): {dict(+found)}; second run "
                f"exit {second.code}: {second.stderr.strip()[:300]}"
            )
        tally += found
    summary = (
        f"{dialect}, {lock_mode} lock: {rounds} rounds (seed {SEED}, KEEL_FAULT_SEED), full run "
        f"{full_run:.2f} s: double-applies {tally['double-applies']}, stuck locks "
        f"{tally['stuck-locks']}, hangs {tally['hangs']}, lost {tally['lost']}, wrong rows "
        f"{tally['wrong-rows']}, failed second runs {tally['failed-second-runs']}, "
        f"tracebacks {tally['tracebacks']}"
    )
    print(summary)
    assert not +tally, summary + "\n" + "\n".join(examples)


@dialects(lambda h: not h.capabilities.transactional_ddl)
def test_kill_nine_inside_a_ddl_migration_outside_a_transaction_is_refused_until_repair(
    dialect: str, target: Target, migrations: Path
) -> None:
    """A family without transactional DDL (MySQL/MariaDB) runs a migration holding DDL
    outside a transaction. Killed at a random
    moment of one (KEEL_FAULT_ROUNDS / 5 rounds), the next upgrade started at once either
    completes or refuses (exit 1, one paragraph naming the file and 'keel repair
    --failed') because the migration is recorded failed; it never runs it a second time.
    Undoing its effects and repairing, as the message says, lets the next upgrade apply it
    exactly once."""
    random = rng(f"kill-ddl:{dialect}")
    tally: Counter[str] = Counter()
    examples: list[str] = []
    for round_ in range(1, max(1, ROUNDS // 5) + 1):
        name = f"V{round_}__ddl_{round_}.sql"
        sql = counted_migration(target.harness, round_, seconds=0.5)  # CREATE TABLE: DDL
        (migrations / name).write_text(sql, encoding="utf-8")
        victim = keel(target, migrations, "upgrade")
        moment = random.uniform(0.05, 1.2)
        time.sleep(moment)
        victim.kill()
        victim.wait()
        second = finish(keel(target, migrations, "upgrade", "--lock-timeout", "15"), 30)
        found: Counter[str] = Counter()
        if target.counter().count(round_) > 1:
            found["double-applies"] += 1
        if second.code == 1 and name in second.stderr and "repair --failed" in second.stderr:
            found["refused-until-repair"] += 1  # by design, not a problem
            # What the message asks: undo the migration's effects, then repair.
            target.query(f"DROP TABLE IF EXISTS t_{round_}")
            target.query(f"DELETE FROM fault_counter WHERE version = {round_}")
            repaired = finish(keel(target, migrations, "repair", "--failed"), 30)
            again = finish(keel(target, migrations, "upgrade"), 30)
            if repaired.code != 0 or again.code != 0:
                found["failed-recoveries"] += 1
        elif second.code is None:
            found["hangs"] += 1
        elif second.code == 3:
            found["stuck-locks"] += 1
        elif second.code != 0:
            found["failed-second-runs"] += 1
        if "Traceback" in second.stderr or second.stderr.count("keel: error:") > 1:
            found["tracebacks"] += 1
        if target.counter().count(round_) != 1 or (str(round_), "applied") not in (
            target.versions()
        ):
            found["lost-or-wrong"] += 1
        problems = +found - Counter({"refused-until-repair": found["refused-until-repair"]})
        if problems and len(examples) < 5:
            examples.append(
                f"round {round_} (kill after {moment:.3f} s): {dict(problems)}; second run "
                f"exit {second.code}: {second.stderr.strip()[-400:]}"
            )
        tally += found
    refused = tally.pop("refused-until-repair", 0)
    summary = (
        f"{dialect} DDL: {max(1, ROUNDS // 5)} rounds (seed {SEED}), refused until repair "
        f"{refused}, problems {dict(+tally)}"
    )
    print(summary)
    assert not +tally, summary + "\n" + "\n".join(examples)
