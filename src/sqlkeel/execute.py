"""Run a Plan: transaction layout, history rows, the failed-state protocol, progress.

Each step runs as its ``mode`` says; the plan decides it, nothing here does again.
``transaction`` steps run with their history and log rows in one transaction, so a failure
leaves no trace (where the dialect can, sent whole: ``_apply_sent``). ``single`` steps run
all in one transaction. ``statement-by-statement`` steps (``transaction=off``, or
statements the database cannot roll back, such as DDL on MySQL) are
recorded ``failed`` before they start and ``applied`` when they end, so a failure, or a
keel killed part-way, leaves a ``failed`` row (naming the statement where known), and later
runs refuse until repair. A failure of the first statement takes that row back when the
dialect proves that it changed nothing (``Dialect.failure_left_nothing``). A rollback
marks its migration's own row (``failed_direction``), so a failed rollback can be
restored as applied.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlkeel.core.model import (
    Direction,
    HistoryRow,
    Identity,
    MigrationFile,
    Mode,
    Plan,
    Section,
    State,
    Step,
)
from sqlkeel.core.splitter import Statement
from sqlkeel.core.values import Value
from sqlkeel.dialects.base import (
    Holder,
    Session,
    Transaction,
    TransactionFailed,
    WriteFailed,
)
from sqlkeel.errors import (
    ConnectionLost,
    DatabaseBusy,
    HistoryWriteFailed,
    KeelError,
    LockLost,
    MigrationFailed,
)
from sqlkeel.history import Entry, HistoryStore
from sqlkeel.urls import mask_password

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import NoReturn

    from sqlkeel.core.model import Source
    from sqlkeel.locking import Locker


class Listener:
    """Hears progress; the CLI prints it, the library ignores it by default."""

    def lock_waiting(self, holder: Holder | None) -> None:
        """The lock is held by someone else; keel is waiting."""

    def notice(self, text: str) -> None:
        """Something the user should know before the run starts (said once per run)."""

    def lock_taken_over(self, owner: str, age: float) -> None:
        """Table lock mode: keel took over the stale lease of ``owner``, whose last
        heartbeat was ``age`` seconds ago (its holder died or was cut off)."""

    def database_busy(self, text: str) -> None:
        """Another process keeps the database busy (an SQLite write transaction): keel is
        waiting for it; ``text`` says for what and how long."""

    def step_started(self, step: Step) -> None:
        """A migration is about to run."""

    def step_finished(self, step: Step, duration_ms: int) -> None:
        """A migration is applied (committed); ``duration_ms`` is its recorded run time."""


class StepResult(Value):
    """One migration that ran."""

    __slots__ = ("description", "direction", "duration_ms", "is_noop", "kind", "path", "version")
    path: str
    version: str | None
    description: str
    kind: str
    direction: str
    duration_ms: int
    is_noop: bool  # the section that ran held only comments (SPEC 12)

    def __init__(
        self,
        path: str,
        version: str | None,
        description: str,
        kind: str,
        direction: str,
        duration_ms: int,
        is_noop: bool = False,
    ) -> None:
        self.path = path
        self.version = version
        self.description = description
        self.kind = kind
        self.direction = direction
        self.duration_ms = duration_ms
        self.is_noop = is_noop


def is_noop_step(step: Step) -> bool:
    """The section ``step`` runs holds only comments: it changes nothing (SPEC 12)."""
    f = step.migration
    return f.is_noop if step.direction is Direction.UPGRADE else f.rollback_is_noop


# The log row's detail of a step that ran no statement, so the audit trail says why.
NOOP_DETAIL = "no-op: its {} section holds only comments"


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


def _commit_statement(section: Section, statements: Sequence[Statement]) -> Statement:
    """The COMMIT that ends a migration, numbered after its last statement. ``statements``
    are the ones that ran: splitting the section again would read its file again."""
    line = statements[-1].line if statements else section.line
    return Statement("COMMIT", line, len(statements) + 1)


# The error of a step's history row while it runs outside a transaction.
INTERRUPTED = (
    "keel stopped while it ran this migration outside a transaction (or is running it now: "
    "see 'keel lock-status')"
)


def _what_ran(statements: Sequence[Statement]) -> str:
    """Which statements of a failed migration had run, for its error: 'statements 1 and
    2 (lines 1 and 4) had run and stayed applied'."""
    if not statements:
        return "no statement of it had run before the failing one"
    if len(statements) == 1:
        return f"statement 1 (line {statements[0].line}) had run and stayed applied"
    lines = [str(s.line) for s in statements]
    if len(statements) == 2:
        return f"statements 1 and 2 (lines {lines[0]} and {lines[1]}) had run and stayed applied"
    if len(statements) > 6:
        shown = f"lines {lines[0]} to {lines[-1]}"
    else:
        shown = f"lines {', '.join(lines[:-1])} and {lines[-1]}"
    return f"statements 1 to {len(statements)} ({shown}) had run and stayed applied"


def _said(exc: BaseException) -> str:
    """A driver error as one masked line for keel's messages."""
    said = mask_password(" ".join(str(exc).split()))
    if not any(c.isalpha() for c in said):  # PyMySQL's "(0, '')" for a lost connection
        return "the connection to the database was lost"
    return said


def _is_integrity_error(exc: BaseException) -> bool:
    """Whether the driver says a constraint refused the write (DB-API's IntegrityError)."""
    return any(cls.__name__ == "IntegrityError" for cls in type(exc).__mro__)


def _lost_note(address: str, *, at_commit: bool) -> str:
    """What a transactional migration left when its connection broke, and the fix."""
    fix = f"Fix: when the server at {address} answers again, run 'keel status', then the command."
    if at_commit:
        # The COMMIT may have reached the server before the connection broke.
        return f"keel cannot tell whether its COMMIT took effect. {fix}"
    return (
        "Its transaction was not committed, so it left no trace; earlier migrations stay "
        f"applied. {fix}"
    )


def _unknown_statement(section: Section, cause: BaseException) -> _StatementFailed:
    """A failure the server tied to no statement of ``section`` (index 0)."""
    return _StatementFailed(0, Statement("", section.line, 0), cause, None)


class _StatementFailed(Exception):
    def __init__(
        self, index: int, statement: Statement, cause: BaseException, offset: int | None = 0
    ) -> None:
        super().__init__(str(cause))
        self.index = index
        self.statement = statement
        self.cause = cause
        self.offset = offset  # see Dialect.describe_error


class _Batch:
    """A migration ready to be sent whole: its statements and keel's rows for it."""

    __slots__ = ("at", "commands", "section", "start", "statements", "step", "transaction")

    def __init__(
        self,
        step: Step,
        section: Section,
        statements: tuple[Statement, ...],
        at: datetime,
        transaction: Transaction,
        commands: int,
    ) -> None:
        self.commands = commands  # keel's own, sent after the statements
        self.step = step
        self.section = section
        self.statements = statements
        self.at = at
        self.transaction = transaction
        self.start = 0.0  # perf_counter() when sent


class Runner:
    """Applies one plan through one connection; the caller holds the migration lock."""

    def __init__(
        self,
        session: Session,
        store: HistoryStore,
        history: Sequence[HistoryRow],
        source: Source,
        *,
        clock: Callable[[], datetime],
        user: str,
        listener: Listener,
        locker: Locker | None = None,
    ) -> None:
        self.session = session
        # The migration lock this run holds; None: the dialect's session lock.
        self.locker = locker
        self.dialect = session.dialect
        self.sender = self.dialect.one_round_trip  # resolved once: a property
        self.store = store
        self.history = tuple(history)
        self.source = source  # reads each step's statements as its turn comes
        self._last_recorded: tuple[MigrationFile, MigrationFile] | None = None
        # Rows by identity: a rollback of N migrations looks up N rows, not N x N.
        self._rows: dict[Identity, list[HistoryRow]] = {}
        for row in self.history:
            self._rows.setdefault(row.identity, []).append(row)
        self.clock = clock
        self.user = user
        self.listener = listener

    def apply(self, plan: Plan) -> tuple[Plan, list[StepResult]]:
        """Run the plan; returns it as it ran, and the result of each step.

        A section's statements are read from its file as its turn comes, where a dialect
        that sends migrations whole does it while the previous one runs on the server.
        """
        notice = self.dialect.capabilities.run_notice
        if plan.steps and notice:
            self.listener.notice(notice)
        if plan.single_transaction:
            return plan, self._apply_single_transaction(plan)
        if self.sender is None:
            return plan, [self._apply_step(step) for step in plan.steps]
        ran: list[Step] = []
        results = self._apply_sent(plan.steps, ran)
        return Plan(plan.direction, tuple(ran)), results

    # -- pieces --------------------------------------------------------------------------
    def _section(self, step: Step) -> Section:
        # Read from the file each time (plan_rollback refuses files without a rollback
        # section): 10 000 files' statements are never held at once.
        return self.source.section(step.migration, step.direction)

    def _run_statements(self, statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
        """Run the statements in order; returns them."""
        for index, statement in enumerate(statements, start=1):
            try:
                self.session.execute(statement.sql)
            except self.dialect.error_types as exc:
                raise _StatementFailed(index, statement, exc) from exc
        return statements

    def _recorded(self, file: MigrationFile) -> MigrationFile:
        """``file`` with the checksums its history row records: a pending file's are
        computed only now, as it is recorded (the last one kept, for its second row)."""
        last = self._last_recorded
        if last is not None and last[0] is file:
            return last[1]
        known = self.source.with_checksums(file)
        self._last_recorded = (file, known)
        return known

    def _forget_earlier_row(self, step: Step) -> None:
        """Delete the history row this step replaces: a repeatable's previous run, or the
        row of the migration being rolled back."""
        self.store.delete(self._rows.get(step.migration.identity, []))

    def _record(self, step: Step, at: datetime, ms: int | None) -> None:
        file = step.migration
        self._forget_earlier_row(step)
        if step.direction is Direction.UPGRADE:
            self.store.insert(Entry(self._recorded(file), at, self.user, ms))
        self.store.append_log(
            action=step.direction.value,
            at=at,
            by=self.user,
            outcome="success",
            duration_ms=ms,
            version=file.label,
            script=file.path,
            detail=NOOP_DETAIL.format(step.direction.value) if is_noop_step(step) else "",
        )

    def _failure(
        self, step: Step, failure: _StatementFailed, *, recorded: bool, note: str
    ) -> MigrationFailed:
        message, line = self.dialect.describe_error(
            failure.cause, failure.statement, failure.offset
        )
        # Masked here, once, so the history row and the log hold what the user sees.
        message = mask_password(message)
        kind = MigrationFailed
        if self.session.is_lost(failure.cause):
            kind = ConnectionLost
            message = f"the connection to the server at {self.dialect.address} was lost: {message}"
            if not recorded:
                # Index 0: lost while the whole transaction was on its way, COMMIT included.
                note = _lost_note(
                    self.dialect.address,
                    at_commit=failure.index == 0
                    or failure.index > len(self._section(step).statements),
                )
        return kind(
            path=step.migration.path,
            line=line,
            statement_index=failure.index,
            statement=mask_password(failure.statement.sql),
            db_message=message,
            direction=step.direction.value,
            recorded_failed=recorded,
            note=note,
        )

    def _log_failure(self, step: Step, at: datetime, ms: int, error: KeelError) -> None:
        self.store.append_log(
            action=step.direction.value,
            at=at,
            by=self.user,
            outcome="failed",
            duration_ms=ms,
            version=step.migration.label,
            script=step.migration.path,
            detail=str(error),
        )

    def _lock_lost(self, step: Step, *, ran_outside: bool = False) -> LockLost:
        what = (
            "It ran outside a transaction and stays recorded as failed"
            if ran_outside
            else "It was rolled back and is not applied"
        )
        reason = self.locker.lost_reason() if self.locker is not None else None
        if reason is not None:
            return LockLost(
                f"{step.migration.path}: keel stopped before recording migration "
                f"{step.migration.label}: {reason}. {what}; the migrations before it are "
                "applied. Fix: run 'keel status' once the other run has ended."
            )
        return LockLost(
            f"{step.migration.path}: the migration lock was no longer held by this run "
            f"when migration {step.migration.label} was about to be recorded, so another "
            f"process may be migrating this database now; keel stopped. {what}; the "
            "migrations before it are applied. A migration's own SQL can release the lock "
            "(pg_advisory_unlock_all(), DISCARD ALL, RELEASE_ALL_LOCKS()): remove such "
            "statements. Fix: run 'keel status' once the other run has ended."
        )

    def _fence(self, step: Step, *, ran_outside: bool = False) -> None:
        """Inside the step's open transaction, before its rows: stop (rolling the
        transaction back) unless this run still holds the migration lock."""
        held = self.locker.fence(self.session) if self.locker else self.dialect.fence(self.session)
        if not held:
            self._rollback_quietly()
            raise self._lock_lost(step, ran_outside=ran_outside)

    def _check_lock(self, step: Step) -> None:
        """Before the step starts: stop if this run knows it holds the lock no more (a
        lease taken over while it was paused)."""
        reason = self.locker.check() if self.locker is not None else None
        if reason is not None:
            raise LockLost(
                f"keel stopped before migration {step.migration.label} "
                f"({step.migration.path}): {reason}. The migrations before it are applied. "
                "Fix: run 'keel status' once the other run has ended."
            )

    # -- one step ------------------------------------------------------------------------
    def _apply_step(self, step: Step) -> StepResult:
        self._check_lock(step)
        self.listener.step_started(step)
        at, start = self.clock(), time.perf_counter()
        section = self._section(step)
        statements = section.statements  # split on each access: once here
        if step.mode is Mode.TRANSACTION:
            ms = self._transactional_step(step, section, statements, at, start)
        elif step.mode is Mode.STATEMENT_BY_STATEMENT:
            ms = self._autocommit_step(step, statements, at, start)
        else:  # a plan's single steps run in _apply_single_transaction, all of them
            raise ValueError(f"a {step.mode.value} step runs only with the rest of its plan")
        self.listener.step_finished(step, ms)
        return self._result(step, ms)

    def _rollback_quietly(self) -> None:
        """ROLLBACK on a path that handles another error: a connection that is gone has
        nothing left to undo, and its own error must not hide the one being handled."""
        with contextlib.suppress(*self.dialect.error_types):
            self.session.rollback()

    def _log_quietly(self, step: Step, at: datetime, ms: int, error: KeelError) -> None:
        """The failure's log row, where the connection still allows it: the error itself
        is what the user must see."""
        with contextlib.suppress(*self.dialect.error_types):
            self._log_failure(step, at, ms, error)

    def _raise_explained(
        self, step: Step, cause: BaseException, at: datetime, start: float
    ) -> None:
        """Raise what the dialect makes of ``cause`` when it is the database's state as a
        whole (a full disk, another process's lock), not the step's fault; logged where
        the database still takes a write."""
        explained = self.dialect.explain(cause)
        if explained is None:
            return
        if not isinstance(explained, DatabaseBusy):  # the log row would wait as long again
            self._log_quietly(step, at, _ms(start), explained)
        raise explained from cause

    def _undo(self, step: Step, failure: _StatementFailed, at: datetime, start: float) -> NoReturn:
        """Roll the failed transactional step back, log it and raise its MigrationFailed."""
        self._rollback_quietly()
        self._raise_explained(step, failure.cause, at, start)
        note = (
            "The migration was rolled back and left no trace; earlier migrations stay applied. "
            if step.direction is Direction.UPGRADE
            else "Its rollback was undone and left no trace: the migration stays applied. "
        )
        if self.dialect.needs_no_transaction(failure.cause):
            note += (
                "The statement cannot run inside a transaction. Fix: add '-- keel: "
                f"transaction=off' as the first line of {step.migration.path} (its statements "
                "then run one by one, outside a transaction), and run the command again."
            )
        elif step.direction is Direction.UPGRADE:
            note += "Fix the statement and run the command again."
        else:
            note += "Fix the rollback section and run the command again."
        error = self._failure(step, failure, recorded=False, note=note)
        self._log_quietly(step, at, _ms(start), error)
        raise error from failure.cause

    def _write_failed(
        self, step: Step, cause: BaseException, at: datetime, start: float
    ) -> NoReturn:
        """keel's own rows for a transactional step failed: roll the step back with them and
        say that it was keel's write that failed, not a statement of the file."""
        if self.session.is_lost(cause):
            self._undo(step, _unknown_statement(self._section(step), cause), at, start)
        self._rollback_quietly()
        self._raise_explained(step, cause, at, start)
        said = _said(cause)
        section = "upgrade" if step.direction is Direction.UPGRADE else "rollback"
        error = HistoryWriteFailed(
            f"{step.migration.path}: the {section} section's statements ran, but keel's write of "
            f"its history row (in {self.store.history}) and log row (in {self.store.log}) then "
            f"failed: {said.rstrip('.')}. The migration was rolled back with it and left no "
            "trace; earlier migrations stay applied. Fix: make sure the migration leaves "
            "keel's tables alone, then run the command again.",
            path=step.migration.path,
        )
        self._log_quietly(step, at, _ms(start), error)
        raise error from cause

    def _transactional_step(
        self,
        step: Step,
        section: Section,
        statements: tuple[Statement, ...],
        at: datetime,
        start: float,
    ) -> int:
        """Run the step with its history row in one transaction; returns its recorded ms."""
        self.session.begin()
        try:
            self._run_statements(statements)
            try:
                self._fence(step)
            except self.dialect.error_types as exc:
                if not self.session.is_lost(exc):
                    raise
                raise _unknown_statement(section, exc) from exc
            ms = _ms(start)
            try:
                self.store.commit_with(lambda: self._record(step, at, ms))
            except WriteFailed as exc:
                self._write_failed(step, exc.cause, at, start)
            except self.dialect.error_types as exc:
                # Deferred constraints are checked at COMMIT: the migration's own failure.
                commit = _commit_statement(section, statements)
                raise _StatementFailed(commit.index, commit, exc) from exc
        except _StatementFailed as failure:
            self._undo(step, failure, at, start)
        except BaseException:
            self._rollback_quietly()
            raise
        return ms

    def _autocommit_step(
        self, step: Step, statements: tuple[Statement, ...], at: datetime, start: float
    ) -> int:
        """Run the step statement by statement; a failure leaves a ``failed`` row, and so
        does a keel killed while it runs (the row is written first). A failure of its
        first statement that provably changed nothing leaves none (or the earlier row it
        replaces, as it was): the next run simply retries."""
        marker, claimed = self._mark_running(step, at)
        try:
            self._run_statements(statements)
        except _StatementFailed as failure:
            if self._left_nothing(failure):
                self._nothing_ran(step, failure, marker, claimed, at, start)
            self._record_failed(step, statements, failure, marker, at, start)
        ms = _ms(start)
        self.session.begin()
        self._fence(step, ran_outside=True)
        self.store.delete_id(marker)
        self._record(step, at, ms)
        self.session.commit()
        return ms

    def _why_outside(self, step: Step) -> str:
        why = (
            "'-- keel: transaction=off'"
            if not step.migration.transactional
            else f"{self.dialect.name} commits DDL implicitly"
        )
        section = "This migration" if step.direction is Direction.UPGRADE else "Its rollback"
        return f"{section} ran outside a transaction ({why})"

    def _is_one_command(self, statement: Statement) -> bool:
        """Whether ``statement`` is one command to the server: a chunk of a custom
        delimiter may hold several, and those before a failing one stay applied."""
        from sqlkeel.core.splitter import split_statements
        from sqlkeel.errors import SplitError

        try:
            return len(split_statements(statement.sql, self.dialect.split_options)) == 1
        except SplitError:
            return False

    def _left_nothing(self, failure: _StatementFailed) -> bool:
        """Whether the failure proves that nothing of the step ran: its first statement, one
        command, on a connection still open (a lost connection or a timeout proves nothing:
        the server may have finished the statement), and the dialect's proof."""
        return (
            failure.index == 1
            and self._is_one_command(failure.statement)
            and not self.session.is_lost(failure.cause)
            and self.dialect.failure_left_nothing(failure.statement.sql, failure.cause)
        )

    def _nothing_ran(
        self,
        step: Step,
        failure: _StatementFailed,
        marker: int,
        claimed: bool,
        at: datetime,
        start: float,
    ) -> NoReturn:
        """The first statement failed and provably changed nothing: take back the row that
        said the step was running (a new claim is deleted, an earlier row it marked is as it
        was: a rollback's migration, a repeatable's earlier run), log the failure, raise it."""
        if step.direction is Direction.UPGRADE:
            note = (
                f"{self._why_outside(step)}, and its first statement failed, so nothing of it "
                "ran: it is not recorded as failed, and the next run tries it again. Fix the "
                "statement and run the command again."
            )
        else:
            note = (
                f"{self._why_outside(step)}, and its first statement failed, so nothing of it "
                "ran: the migration stays applied. Fix the rollback section and run the "
                "command again."
            )
        error = self._failure(step, failure, recorded=False, note=note)

        def take_back() -> None:
            if claimed:
                self.store.delete_id(marker)
            else:
                self.store.mark(marker, State.APPLIED)

        said = self._record_outcome(take_back, step, at, _ms(start), error)
        if said is not None:
            # The row written before the step still says that keel stopped while it ran,
            # which the next run reports.
            error = self._failure(
                step,
                failure,
                recorded=True,
                note=f"{self._why_outside(step)}, and its first statement failed, so nothing "
                f"of it ran; but keel could not take back its history row ({said}), which "
                "says that keel stopped while it ran. Fix: run 'keel repair --failed' "
                "(nothing needs undoing), then run the command again.",
            )
        raise error from failure.cause

    def _record_outcome(
        self, write: Callable[[], None], step: Step, at: datetime, ms: int, error: KeelError
    ) -> str | None:
        """After a step that ran outside a transaction failed: roll back what it left open,
        then ``write`` its history row and log ``error`` in one transaction. Returns None,
        or why that failed (the connection may be gone with the statement)."""
        try:
            self._rollback_quietly()  # a transaction of the migration's own, left open
            self.session.begin()
            write()
            self._log_failure(step, at, ms, error)
            self.session.commit()
        except self.dialect.error_types as exc:
            self._rollback_quietly()
            return _said(exc)
        return None

    @staticmethod
    def _repair_fix(step: Step) -> str:
        if step.direction is Direction.UPGRADE:
            return (
                "Fix: undo or finish its effects by hand, correct the file, run "
                "'keel repair --failed', then run the command again."
            )
        return (
            "Fix: either undo what the rollback did (put back what it removed) and run "
            "'keel repair --failed', which records the migration as applied again; or finish "
            "the rollback by hand and run 'keel repair --failed --rolled-back', which records "
            "it as rolled back. Correct the rollback section too."
        )

    def _record_failed(
        self,
        step: Step,
        statements: tuple[Statement, ...],
        failure: _StatementFailed,
        marker: int,
        at: datetime,
        start: float,
    ) -> NoReturn:
        """Record where the step stopped in its ``failed`` row, log it and raise it."""
        ran = f"{self._why_outside(step)}, so " + _what_ran(statements[: failure.index - 1])
        recorded = (
            "recorded as failed"
            if step.direction is Direction.UPGRADE
            else "recorded as a failed rollback"
        )
        fix = self._repair_fix(step)
        error = self._failure(step, failure, recorded=True, note=f"{ran}; it is {recorded}. {fix}")
        ms = _ms(start)

        def say_where() -> None:
            if step.direction is Direction.UPGRADE:
                self.store.delete_id(marker)
                self.store.insert(
                    Entry(self._recorded(step.migration), at, self.user, ms),
                    state=State.FAILED,
                    failed_statement=failure.index,
                    failed_line=error.line,
                    error=error.db_message,
                )
            else:
                self.store.mark(
                    marker,
                    State.FAILED,
                    failed_statement=failure.index,
                    failed_line=error.line,
                    error=error.db_message,
                    failed_direction=Direction.ROLLBACK,
                )

        said = self._record_outcome(say_where, step, at, ms, error)
        if said is not None:
            # The row written before the step still says it failed, only not where.
            error = self._failure(
                step,
                failure,
                recorded=True,
                note=f"{ran}. keel could not record where it stopped ({said}): its history "
                "row says that keel stopped while it ran. " + fix,
            )
        raise error from failure.cause

    def _mark_running(self, step: Step, at: datetime) -> tuple[int, bool]:
        """Record the step as failed before it runs outside a transaction, so that a keel
        killed part-way leaves it refused until repair instead of silently half-applied;
        returns the row's id and whether it is a new row (a claim). The one earlier row of
        its migration (a rollback's, a repeatable's previous run) is marked in place, so
        that a failure that changed nothing can put it back as it was."""
        self.session.begin()
        self._fence(step)
        rows = self._rows.get(step.migration.identity, [])
        claimed = len(rows) != 1
        if not claimed:
            marker = rows[0].id
            rollback = step.direction is Direction.ROLLBACK
            self.store.mark(
                marker,
                State.FAILED,
                error=INTERRUPTED,
                failed_direction=Direction.ROLLBACK if rollback else None,
            )
        else:
            self._forget_earlier_row(step)
            try:
                # The claim: keel_history's unique version refuses a second claimer.
                self.store.insert(
                    Entry(self._recorded(step.migration), at, self.user, 0),
                    state=State.FAILED,
                    error=INTERRUPTED,
                )
            except self.dialect.error_types as exc:
                self._rollback_quietly()
                if _is_integrity_error(exc):
                    raise self._lock_lost(step) from exc
                raise
            marker = self.store.last_id()
        self.session.commit()
        return marker, claimed

    # -- migrations sent whole -----------------------------------------------------------
    def _apply_sent(self, steps: Sequence[Step], ran: list[Step]) -> list[StepResult]:
        """Each migration in one round trip, and the next one read, parsed and prepared while
        the server runs it: keel's own work per migration overlaps the server's. Steps that
        cannot be sent whole run as ``_apply_step`` runs them, in their turn."""
        results: list[StepResult] = []
        pending: _Batch | None = None
        try:
            for step in steps:
                try:
                    section = self._sendable(step)
                    batch = None if section is None else self._batch(step, section)
                except Exception:
                    if pending is not None:  # its outcome comes first: it ran first
                        done, pending = pending, None
                        results.append(self._finish(done))
                    raise
                if pending is not None:
                    done, pending = pending, None
                    results.append(self._finish(done))
                ran.append(step)
                if batch is None:
                    results.append(self._apply_step(step))
                    continue
                self._check_lock(step)
                batch.at = self.clock()  # for a failure's log row; its rows use the server's
                self.listener.step_started(step)
                batch.start = time.perf_counter()
                batch.transaction.send()
                pending = batch
            if pending is not None:
                done, pending = pending, None
                results.append(self._finish(done))
        except BaseException:
            if pending is not None:  # interrupted while one is on its way: let it end first
                try:
                    pending.transaction.wait()
                except BaseException:
                    self._rollback_quietly()
            raise
        return results

    def _sendable(self, step: Step) -> Section | None:
        """The step's section (read and split while the previous one runs on the server),
        or None when it runs otherwise: statement by statement, or in a transaction of
        statements the server would not report one by one."""
        if step.mode is not Mode.TRANSACTION:
            return None
        section = self._section(step)  # reads the file: once here
        assert self.sender is not None  # _apply_sent runs only with one
        if not all(self.sender.sendable(s.sql) for s in section.statements):
            return None
        return section

    def _batch(self, step: Step, section: Section) -> _Batch:
        """The step ready to send."""
        statements = section.statements
        at = self.clock()  # replaced when it is sent: built now, it may wait for the previous
        # The run time and start are the database's: keel's rows travel with the statements
        # and are built while the previous migration still runs, so keel cannot know either
        # when it writes them, and a later write would cost a round trip. The time runs from
        # BEGIN to the rows (the statements' time on the server).
        commands = self.store.queued(lambda: self._record(step, at, None))
        assert self.sender is not None  # _apply_sent runs only with one
        fence = (
            self.locker.fence_command(self.session)
            if self.locker is not None
            else self.dialect.fence_command(self.session)
        )
        transaction = self.sender.transaction(
            self.session,
            [s.sql for s in statements],
            fence,
            commands,
        )
        return _Batch(step, section, statements, at, transaction, len(commands))

    def _finish(self, batch: _Batch) -> StepResult:
        step = batch.step
        try:
            value = batch.transaction.wait()
        except TransactionFailed as exc:
            if exc.lock_lost:
                self._rollback_quietly()
                raise self._lock_lost(step) from exc.cause
            if exc.position <= len(batch.statements):
                statement = batch.statements[exc.position - 1]
                failure = _StatementFailed(exc.position, statement, exc.cause, exc.offset)
            elif exc.position <= len(batch.statements) + batch.commands:  # keel's own rows
                self._write_failed(step, exc.cause, batch.at, batch.start)
            else:  # the COMMIT (deferred constraints): the migration's own
                commit = _commit_statement(batch.section, batch.statements)
                failure = _StatementFailed(commit.index, commit, exc.cause, None)
            self._undo(step, failure, batch.at, batch.start)
        except self.dialect.error_types as exc:
            # No result for a statement: the connection itself broke while the migration,
            # its rows and its COMMIT were on their way.
            if not self.session.is_lost(exc):
                raise
            self._undo(step, _unknown_statement(batch.section, exc), batch.at, batch.start)
        ms = int(value) if value is not None else _ms(batch.start)
        self.listener.step_finished(step, ms)
        return self._result(step, ms)

    # -- all steps in one transaction ----------------------------------------------------
    def _apply_single_transaction(self, plan: Plan) -> list[StepResult]:
        results: list[tuple[Step, int]] = []
        last_statements: tuple[Statement, ...] = ()
        self.session.begin()
        try:
            for step in plan.steps:
                self.listener.step_started(step)
                at, start = self.clock(), time.perf_counter()
                try:
                    last_statements = self._run_statements(self._section(step).statements)
                except _StatementFailed as failure:
                    self._rollback_quietly()
                    self._raise_explained(step, failure.cause, at, start)
                    error = self._failure(
                        step,
                        failure,
                        recorded=False,
                        note="single_transaction: the whole run was rolled back; no "
                        "migration of it was applied.",
                    )
                    self._log_quietly(step, at, _ms(start), error)
                    raise error from failure.cause
                ms = _ms(start)
                self._record(step, at, ms)
                results.append((step, ms))
            if results:
                self._fence(results[-1][0])
            try:
                self.session.commit()
            except self.dialect.error_types as exc:
                # Deferred constraints are checked here, for the whole run: name the last
                # migration, whose COMMIT this is, and undo everything.
                self._rollback_quietly()
                step, ms = results[-1]
                self._raise_explained(step, exc, self.clock(), time.perf_counter())
                commit = _commit_statement(self._section(step), last_statements)
                error = self._failure(
                    step,
                    _StatementFailed(commit.index, commit, exc),
                    recorded=False,
                    note="single_transaction: a constraint checked at the end of the run "
                    "failed; the whole run was rolled back and no migration of it was applied.",
                )
                self._log_quietly(step, self.clock(), ms, error)
                raise error from exc
        except MigrationFailed:
            raise  # already rolled back and logged
        except BaseException:
            self._rollback_quietly()
            raise
        # Only now is anything applied: report the steps after the commit.
        for step, ms in results:
            self.listener.step_finished(step, ms)
        return [self._result(step, ms) for step, ms in results]

    @staticmethod
    def _result(step: Step, ms: int) -> StepResult:
        f = step.migration
        return StepResult(
            f.path,
            str(f.version) if f.version is not None else None,
            f.description,
            f.kind.value,
            step.direction.value,
            ms,
            is_noop_step(step),
        )
