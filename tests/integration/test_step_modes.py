"""The executor obeys each step's mode as the plan decided it, and decides nothing again:
a plan that says statement by statement runs so even where the database could roll the
step back, and one that says transaction leaves no trace of a failure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import TRANSACTIONAL_DDL
from sqlkeel.core.model import Mode, Plan, State
from sqlkeel.core.plan import EVERYTHING, TransactionSupport, plan_upgrade
from sqlkeel.dialects import dialect_for
from sqlkeel.discovery import MigrationSet
from sqlkeel.errors import MigrationFailed
from sqlkeel.execute import Listener, Runner
from sqlkeel.history import HistoryStore
from sqlkeel.urls import parse_url

# The second statement fails: what the first left shows how the step ran.
BODY = "CREATE TABLE made (id int);\nINSERT INTO nowhere VALUES (1);\n"
NO_TRANSACTIONS = TransactionSupport(ddl=False, dml=False)


@contextmanager
def running(
    url: str, plan_for: TransactionSupport, folder: Path
) -> Iterator[tuple[Runner, Plan, HistoryStore]]:
    """A runner holding the migration lock on its connection, as keel's own does, and the
    plan of BODY (a file in ``folder``) made for a database whose transactions undo
    ``plan_for``."""
    dialect = dialect_for(parse_url(url), table="keel_history", schema=None)
    (folder / "V1__made.sql").write_text(BODY, encoding="utf-8")
    found = MigrationSet(folder, (dialect.split_options,)).match(())
    session = dialect.connect()
    try:
        with dialect.session_lock(lambda: session, timeout=0, wait=False, on_wait=None):
            store = HistoryStore(session)
            store.ensure()
            plan = plan_upgrade(found.files, [], support=plan_for)
            runner = Runner(
                session,
                store,
                (),
                found.source,
                clock=lambda: datetime.now(timezone.utc),
                user="tester@host",
                listener=Listener(),
            )
            yield runner, plan, store
    finally:
        session.close()


def test_a_step_planned_statement_by_statement_runs_so_on_every_database(
    db_url: str, tmp_path: Path
) -> None:
    with running(db_url, NO_TRANSACTIONS, tmp_path) as (runner, plan, store):
        assert [s.mode for s in plan.steps] == [Mode.STATEMENT_BY_STATEMENT]
        with pytest.raises(MigrationFailed) as info:
            runner.apply(plan)
        assert info.value.recorded_failed
        assert runner.dialect.relation_kind(runner.session, "made") is not None  # stayed
        rows = store.read()
        assert [(r.state, r.failed_statement) for r in rows] == [(State.FAILED, 2)]


@TRANSACTIONAL_DDL
def test_a_step_planned_in_a_transaction_leaves_no_trace_of_its_failure(
    db_url: str, tmp_path: Path
) -> None:
    with running(db_url, EVERYTHING, tmp_path) as (runner, plan, store):
        assert [s.mode for s in plan.steps] == [Mode.TRANSACTION]
        with pytest.raises(MigrationFailed) as info:
            runner.apply(plan)
        assert not info.value.recorded_failed
        assert runner.dialect.relation_kind(runner.session, "made") is None
        assert store.read() == ()
