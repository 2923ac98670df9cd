"""Each step's mode, decided by the plan from what the database's transactions undo (and,
where DDL is not among it, the classes of the step's statements); core errors name fields,
not flags. Table-driven, no database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import pytest

from sqlkeel.core.classify import StatementClass
from sqlkeel.core.model import (
    Direction,
    HistoryRow,
    Identity,
    MigrationFile,
    Mode,
    State,
    Step,
)
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.plan import (
    EVERYTHING,
    TransactionSupport,
    needs_statements,
    plan_rollback,
    plan_upgrade,
    step_mode,
    with_classes,
)
from sqlkeel.core.splitter import MYSQL
from sqlkeel.errors import UsageError

DML, OTHER = StatementClass.DML, StatementClass.OTHER
ROWS_ONLY = TransactionSupport(ddl=False, dml=True)  # MySQL, MariaDB
NOTHING = TransactionSupport(ddl=False, dml=False)  # a database without transactions
TRANSACTION, ONE_BY_ONE, SINGLE = Mode.TRANSACTION, Mode.STATEMENT_BY_STATEMENT, Mode.SINGLE
OFF = "-- keel: transaction=off\n"


def mf(
    path: str, body: str = "CREATE TABLE t (a int);\n-- rollback\nDROP TABLE t;\n"
) -> MigrationFile:
    return parse_migration(path, body, MYSQL)


def applied(*files: MigrationFile) -> list[HistoryRow]:
    return [
        HistoryRow(
            id=n,
            version=f.version,
            description=f.description,
            script=f.path,
            kind=f.kind,
            checksum=f.checksum,
            rollback_checksum=f.rollback_checksum,
            applied_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            applied_by="tester@host",
            execution_ms=1,
            state=State.APPLIED,
        )
        for n, f in enumerate(files, start=1)
    ]


# (directive, what the database undoes, the statements' classes, mode)
MODES = [
    pytest.param("", EVERYTHING, None, TRANSACTION, id="transactional_ddl_needs_no_statements"),
    pytest.param("", EVERYTHING, (OTHER,), TRANSACTION, id="transactional_ddl_takes_ddl_too"),
    pytest.param(OFF, EVERYTHING, None, ONE_BY_ONE, id="transaction_off_wins_everywhere"),
    pytest.param(OFF, ROWS_ONLY, (DML,), ONE_BY_ONE, id="transaction_off_wins_over_dml"),
    pytest.param("", ROWS_ONLY, (DML, DML), TRANSACTION, id="rows_only_and_dml_only"),
    pytest.param("", ROWS_ONLY, (), TRANSACTION, id="rows_only_and_no_statement"),
    pytest.param("", ROWS_ONLY, (DML, OTHER), ONE_BY_ONE, id="rows_only_and_one_ddl"),
    pytest.param("", ROWS_ONLY, None, ONE_BY_ONE, id="rows_only_unclassified_is_never_promised"),
    pytest.param("", NOTHING, (DML,), ONE_BY_ONE, id="no_transactions_at_all"),
]


@pytest.mark.parametrize(("directive", "support", "classes", "mode"), MODES)
def test_step_mode_is_a_transaction_only_where_the_database_can_undo_the_step(
    directive: str,
    support: TransactionSupport,
    classes: Sequence[StatementClass] | None,
    mode: Mode,
) -> None:
    file = mf("V1__m.sql", directive + "INSERT INTO t VALUES (1);\n")
    assert step_mode(file, support, classes) is mode


# (directive, what the database undoes, whether the mode needs the statements' classes)
NEEDS = [
    pytest.param("", EVERYTHING, False, id="transactional_ddl"),
    pytest.param("", ROWS_ONLY, True, id="rows_only"),
    pytest.param(OFF, ROWS_ONLY, False, id="rows_only_but_transaction_off"),
    pytest.param("", NOTHING, False, id="no_transactions"),
]


@pytest.mark.parametrize(("directive", "support", "needed"), NEEDS)
def test_needs_statements_only_where_rows_but_not_ddl_roll_back(
    directive: str, support: TransactionSupport, needed: bool
) -> None:
    assert needs_statements(mf("V1__m.sql", directive + "SELECT 1;\n"), support) is needed


def project() -> list[MigrationFile]:
    return [
        mf("V1__table.sql"),
        mf("V2__rows.sql", "INSERT INTO t VALUES (1);\n-- rollback\nDELETE FROM t;\n"),
        mf("V3__index.sql", OFF + "CREATE INDEX i ON t (a);\n-- rollback\nDROP INDEX i ON t;\n"),
    ]


def modes(steps: Sequence[Step]) -> list[Mode]:
    return [s.mode for s in steps]


def test_upgrade_where_ddl_is_transactional_decides_every_mode_without_statements() -> None:
    plan = plan_upgrade(project(), [], support=EVERYTHING)
    assert modes(plan.steps) == [TRANSACTION, TRANSACTION, ONE_BY_ONE]
    assert not plan.single_transaction


def test_upgrade_where_ddl_commits_promises_no_transaction_until_the_classes_are_in() -> None:
    plan = plan_upgrade(project(), [], support=ROWS_ONLY)
    assert modes(plan.steps) == [ONE_BY_ONE, ONE_BY_ONE, ONE_BY_ONE]
    # By identity: the version's key.
    classes: dict[Identity, tuple[StatementClass, ...]] = {(1,): (OTHER,), (2,): (DML,)}
    decided = with_classes(plan, ROWS_ONLY, classes)
    assert modes(decided.steps) == [ONE_BY_ONE, TRANSACTION, ONE_BY_ONE]
    assert [s.migration for s in decided.steps] == [s.migration for s in plan.steps]


def test_rollback_steps_get_their_modes_as_upgrades_do() -> None:
    files = project()
    plan = plan_rollback(files, applied(*files), support=EVERYTHING, count=3)
    assert [s.direction for s in plan.steps] == [Direction.ROLLBACK] * 3
    assert modes(plan.steps) == [ONE_BY_ONE, TRANSACTION, TRANSACTION]
    rows_only = plan_rollback(files, applied(*files), support=ROWS_ONLY, count=3)
    classes: dict[Identity, tuple[StatementClass, ...]] = {(2,): (DML,), (1,): (OTHER,)}
    decided = with_classes(rows_only, ROWS_ONLY, classes)
    assert modes(decided.steps) == [ONE_BY_ONE, TRANSACTION, ONE_BY_ONE]


def test_single_transaction_makes_every_step_single() -> None:
    plan = plan_upgrade(project()[:2], [], support=EVERYTHING, single_transaction=True)
    assert modes(plan.steps) == [SINGLE, SINGLE]
    assert plan.single_transaction
    assert with_classes(plan, EVERYTHING, {}) == plan


# (request, fields the error names, its text for the library, its text on the command line)
FLAGS = {"to": "--to", "count": "--count", "single_transaction": "--single-transaction"}
REFUSED = [
    pytest.param(
        {"single_transaction": True, "support": ROWS_ONLY},
        ("single_transaction",),
        "single_transaction is not possible",
        "--single-transaction is not possible",
        id="single_transaction_where_ddl_commits",
    ),
    pytest.param(
        {"single_transaction": True, "support": EVERYTHING},
        ("single_transaction", "to"),
        "Fix: run without single_transaction, or upgrade up to the version before them first (to).",
        "Fix: run without --single-transaction, or upgrade up to the version before them "
        "first (--to).",
        id="single_transaction_with_transaction_off",
    ),
    pytest.param(
        {"count": 0, "support": EVERYTHING},
        ("count",),
        "count must be 1 or more.",
        "--count must be 1 or more.",
        id="count_zero",
    ),
]


@pytest.mark.parametrize(("request_", "fields", "library", "cli"), REFUSED)
def test_core_errors_name_fields_and_the_cli_spells_them_as_flags(
    request_: dict[str, object], fields: tuple[str, ...], library: str, cli: str
) -> None:
    with pytest.raises(UsageError) as info:
        plan_upgrade(project(), [], **request_)  # type: ignore[arg-type]
    assert info.value.fields == fields
    assert library in str(info.value)
    assert "--" not in str(info.value).replace("-- keel:", "")
    assert cli in info.value.spelled(FLAGS)
