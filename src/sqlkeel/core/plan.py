"""The pure planning core: files + history -> a Plan, or every validation problem at once.

``validate``, ``status``, ``upgrade --dry-run`` and ``upgrade`` all go through here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlkeel.core.classify import StatementClass
from sqlkeel.core.model import (
    Direction,
    HistoryRow,
    Identity,
    Kind,
    LogRow,
    MigrationFile,
    Mode,
    Plan,
    State,
    Step,
    identity,
)
from sqlkeel.core.parsing import parse_filename, zero_renamed
from sqlkeel.core.values import Value
from sqlkeel.core.versions import Version
from sqlkeel.errors import PlanError, Problem, SourceError, UsageError, ValidationFailed

# The codes of problems that planning finds in the history; every other code is a file's own.
_HISTORY_CODES = frozenset(
    ("failed", "missing-file", "checksum-mismatch", "below-head", "history-row-missing")
)


def _failed_where(row: HistoryRow) -> str:
    """Where a failed migration stopped and what of it had run, from its history row."""
    said = f": {row.error.rstrip('.')}" if row.error else ""
    if not row.failed_statement:
        return f"{said}; statements of it may have run and were not rolled back."
    ran = row.failed_statement - 1
    before = (
        "no statement before it had run"
        if ran == 0
        else "statement 1 before it had run and was not rolled back"
        if ran == 1
        else f"statements 1 {'and' if ran == 2 else 'to'} {ran} before it had run and were "
        "not rolled back "
        "('keel history --log' names their lines)"
    )
    return f" at statement {row.failed_statement} (line {row.failed_line}){said}; {before}."


def head(history: Sequence[HistoryRow]) -> Version | None:
    """The highest applied version, or None."""
    versions = [r.version for r in history if r.version is not None and r.state is State.APPLIED]
    return max(versions) if versions else None


def head_after(history: Sequence[HistoryRow], plan: Plan) -> Version | None:
    """The head once ``plan`` has run completely, without asking the database again."""
    moved = (s.migration.version for s in plan.steps if s.migration.version is not None)
    if plan.direction is Direction.UPGRADE:
        # The higher of two maxima: no set of 10 000 versions at the end of a long run.
        tops = [v for v in (head(history), max(moved, default=None)) if v is not None]
        return max(tops) if tops else None
    gone = set(moved)
    versions = [
        r.version
        for r in history
        if r.version is not None and r.state is State.APPLIED and r.version not in gone
    ]
    return max(versions) if versions else None


def _next_version_hint(top: Version) -> str:
    return str(top.key[0] + 1) if len(top.key) == 1 else f"{top.text}.1"


def invalid_files(problems: Sequence[Problem]) -> set[Identity | str]:
    """The paths, and identities where the name tells them, of files that are there but
    could not be taken as migrations (they do not parse, or their name is refused): a
    history row of theirs is not missing, and advice to forget it would erase history."""
    found: set[Identity | str] = set()
    for p in problems:
        if p.code in _HISTORY_CODES:
            continue
        found.add(p.path)
        try:
            name = parse_filename(p.path)
        except SourceError:
            continue
        found.add(identity(name.version, name.kind, name.description))
    return found


def _applied_zero(problem: Problem, history: Sequence[HistoryRow]) -> Problem:
    """A version-0 file that an older keel applied: renaming the file alone would make it
    pending again (above the head 0), so the fix renames its history row too."""
    row = next((r for r in history if r.script == problem.path and r.version is not None), None)
    if row is None:
        return problem
    new = problem.path[: -len(problem.path.rsplit("/", 1)[-1])] + zero_renamed(problem.path)
    return Problem(
        problem.code,
        problem.path,
        problem.message,
        f"it is already applied (by an older keel), so rename the file and its history row "
        f"together, or it would run again: rename it to {new} and run, in the database, "
        f"UPDATE <history table> SET version = '0.1', script = '{new}' WHERE version = "
        f"'{row.version}'.",
    )


def duplicate_rows(history: Sequence[HistoryRow], table: str) -> list[Problem]:
    """One problem per migration recorded more than once: keel writes one row per migration,
    so a second one was added by hand or by another tool (or by two racing runs of a keel
    without the unique key). The DELETE given keeps the first row; validation and the
    unique key's backstop (HistoryStore.ensure) both report it so."""
    groups: dict[Identity, list[HistoryRow]] = {}
    for row in history:
        groups.setdefault(row.identity, []).append(row)
    problems = []
    for rows in groups.values():
        if len(rows) < 2:
            continue
        listed = ", ".join(
            f"id {r.id} ({r.state.value}, applied {r.applied_at:%Y-%m-%d %H:%M:%S} by "
            f"{r.applied_by})"
            for r in rows
        )
        extra = [str(r.id) for r in rows[1:]]
        where = f"id = {extra[0]}" if len(extra) == 1 else f"id IN ({', '.join(extra)})"
        problems.append(
            Problem(
                "duplicate-history-row",
                rows[0].script,
                f"{table} holds {len(rows)} rows for migration {rows[0].label}: {listed}; keel "
                "records each migration once, so the history was changed by hand or by "
                "another tool.",
                "check that the migration's effects are in the database once, then delete "
                f"the extra row{'s' if len(extra) > 1 else ''} by hand: DELETE FROM {table} "
                f"WHERE {where}; this keeps the first row, id {rows[0].id} (to keep another, "
                "change the ids in the DELETE); then run 'keel validate'.",
            )
        )
    return problems


def _sql_text(value: str | None) -> str:
    """``value`` as an SQL string literal (or NULL), for a statement a fix spells out."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _restoring_insert(file: MigrationFile, logged: LogRow, table: str) -> str:
    """The INSERT that gives ``file`` back the history row keel wrote when ``logged`` ran
    it (the columns HistoryStore.insert writes; applied_at as UTC without a zone, which
    every dialect's timestamp column takes)."""
    values = (
        _sql_text(str(file.version)),
        _sql_text(file.description),
        _sql_text(file.path),
        _sql_text(file.kind.value),
        _sql_text(file.checksum),
        _sql_text(file.rollback_checksum),
        _sql_text(f"{logged.at:%Y-%m-%d %H:%M:%S}"),
        _sql_text(logged.by),
        str(logged.duration_ms if logged.action == "upgrade" else 0),
        _sql_text(State.APPLIED.value),
        _sql_text(file.digest),
        str(int(file.is_noop)),
    )
    return (
        f"INSERT INTO {table} (version, description, script, kind, checksum, "
        "rollback_checksum, applied_at, applied_by, execution_ms, state, digest, noop) "
        f"VALUES ({', '.join(values)});"
    )


def _history_row_missing(file: MigrationFile, logged: LogRow, table: str) -> Problem:
    """A pending file below the head whose keel_log says it is applied: its history row
    was deleted by hand, and renaming the file above the head would run it a second time."""
    when = f"at {logged.at:%Y-%m-%d %H:%M:%S} UTC by {logged.by} (keel_log row id {logged.id})"
    how = (
        f", by 'keel baseline {logged.version}', which recorded every migration file then "
        f"present up to {logged.version} as applied without running it"
        if logged.action == "baseline"
        else ", by 'keel repair --failed'"
        if logged.action == "repair"
        else ""
    )
    caveat = (
        f" (A baseline records the files present then: only if {file.path} was added "
        "after it did it never run, and only then does it need a version above the head.)"
        if logged.action == "baseline"
        else ""
    )
    return Problem(
        "history-row-missing",
        file.path,
        f"migration {file.version} has no row in {table}, but keel_log records it applied "
        f"{when}{how}, and no later rollback or repair that removed it: its history row was "
        "deleted by hand or by another tool. Renaming or running the file would apply it a "
        "second time.",
        f"restore the row from a backup of {table}, or re-insert it: "
        f"{_restoring_insert(file, logged, table)} then run 'keel validate'.{caveat}",
    )


def find_problems(
    files: Sequence[MigrationFile],
    history: Sequence[HistoryRow],
    source_problems: Sequence[Problem] = (),
    *,
    table: str = "keel_history",
    logged: Mapping[Version, LogRow] | None = None,
) -> list[Problem]:
    """Every SPEC 4 problem, in a stable order: sources, duplicates, history mismatches.
    ``table`` names the history table in the fixes that spell out SQL. ``logged`` maps a
    version to the keel_log row that last recorded it applied (read by the caller only
    when a file is below the head): such a file lost its history row, it is not new."""
    problems = [
        _applied_zero(p, history) if p.code == "version-zero" else p for p in source_problems
    ]
    # Files by identity (the last one of duplicates, as rows are matched), and the groups
    # of duplicates: one list per identity would cost ~1 MB for 10 000 files.
    by_file: dict[Identity, MigrationFile] = {}
    duplicates: dict[Identity, list[MigrationFile]] = {}
    for f in files:
        earlier = by_file.get(f.identity)
        if earlier is not None:
            duplicates.setdefault(f.identity, [earlier]).append(f)
        by_file[f.identity] = f
    for first in files if duplicates else ():
        group = duplicates.pop(first.identity, None)
        if group is None:
            continue
        paths = ", ".join(g.path for g in group)
        for f in group:
            what = f"version {f.version}" if f.version else f"description {f.description!r}"
            problems.append(
                Problem(
                    "duplicate-version" if f.version else "duplicate-description",
                    f.path,
                    f"{len(group)} files share {what}: {paths}.",
                    "give each file its own version (rename all but one)."
                    if f.version
                    else "give each repeatable file its own description (rename all but one).",
                )
            )
    invalid = invalid_files(source_problems) if source_problems else set()
    for row in history:
        file = by_file.get(row.identity)
        if file is None and (row.identity in invalid or row.script in invalid):
            continue  # the file is there; its own problem says what is wrong with it
        if row.is_failed_rollback:
            problems.append(
                Problem(
                    "rollback-failed",
                    row.script,
                    f"the rollback of migration {row.label} failed{_failed_where(row)}",
                    "check the database by hand. If you undid what the rollback did, run "
                    "'keel repair --failed': the migration is recorded as applied again. If "
                    "you finished the rollback by hand, run 'keel repair --failed "
                    "--rolled-back': it is recorded as rolled back (pending).",
                    row.failed_line or 0,
                )
            )
        elif row.state is State.FAILED:
            problems.append(
                Problem(
                    "failed",
                    row.script,
                    f"migration {row.label} is recorded as failed{_failed_where(row)}",
                    "check the database by hand and undo or finish what the migration did, "
                    "then run 'keel repair --failed' and upgrade again.",
                    row.failed_line or 0,
                )
            )
        elif file is None:
            problems.append(
                Problem(
                    "missing-file",
                    row.script,
                    f"migration {row.label} is applied but its file is missing.",
                    f"restore {row.script}, or run 'keel repair --missing' to forget it.",
                )
            )
        elif (
            row.kind is Kind.VERSIONED
            and not file.recorded_by(row)
            and file.checksum != row.checksum
        ):
            problems.append(
                Problem(
                    "checksum-mismatch",
                    file.path,
                    f"applied migration {row.label} was edited since it ran "
                    f"(checksum {row.checksum[:12]} recorded, {file.checksum[:12]} now).",
                    "undo the edit and put the change in a new migration; if the edit is "
                    "deliberate and harmless, run 'keel repair --checksums'.",
                )
            )
    del by_file
    top = head(history)
    recorded = dict.fromkeys(r.identity for r in history)  # a dict: half a set's size
    if len(recorded) != len(history):
        problems.extend(duplicate_rows(history, table))
    if top is not None:
        for f in files:
            if f.version is None or f.identity in recorded or f.version > top:
                continue
            applied = logged.get(f.version) if logged else None
            if applied is not None:
                problems.append(_history_row_missing(f, applied, table))
            else:
                problems.append(
                    Problem(
                        "below-head",
                        f.path,
                        f"pending migration {f.version} is at or below the head {top}; "
                        "history is linear, so it would never run in order.",
                        f"rename it above the head, e.g. V{_next_version_hint(top)}__"
                        f"{f.description}.sql.",
                    )
                )
    return problems


def validate(
    files: Sequence[MigrationFile],
    history: Sequence[HistoryRow],
    source_problems: Sequence[Problem] = (),
    *,
    table: str = "keel_history",
    logged: Mapping[Version, LogRow] | None = None,
) -> None:
    """Raises ValidationFailed holding every problem when there is at least one."""
    problems = find_problems(files, history, source_problems, table=table, logged=logged)
    if problems:
        raise ValidationFailed(problems)


def pending(files: Sequence[MigrationFile], history: Sequence[HistoryRow]) -> list[MigrationFile]:
    """Pending versioned files in order, then changed repeatables, then run-always files.

    Assumes a valid state; run-always files are included as if the upgrade reaches the end.
    """
    return _pending_versioned(files, history) + _repeatables(files, history)


def _pending_versioned(
    files: Sequence[MigrationFile], history: Sequence[HistoryRow]
) -> list[MigrationFile]:
    applied = dict.fromkeys(r.identity for r in history)  # a dict: half a set's size
    return sorted(
        (f for f in files if f.version is not None and f.identity not in applied),
        key=lambda f: f.version or Version.parse("0"),
    )


def _by_name(f: MigrationFile) -> tuple[str, str]:
    # By description, not path: sub-folders are for grouping only (SPEC 1).
    return (f.description, f.path)


def _repeatables(
    files: Sequence[MigrationFile], history: Sequence[HistoryRow]
) -> list[MigrationFile]:
    if not any(f.kind is not Kind.VERSIONED for f in files):
        return []
    applied = {r.identity: r for r in history}
    changed = [
        f
        for f in files
        if f.kind is Kind.REPEATABLE
        and (f.identity not in applied or applied[f.identity].checksum != f.checksum)
    ]
    always = [f for f in files if f.kind is Kind.ALWAYS]
    return sorted(changed, key=_by_name) + sorted(always, key=_by_name)


class TransactionSupport(Value):
    """What the database's transactions can undo, as far as the plan needs to know."""

    __slots__ = ("ddl", "dml")
    ddl: bool  # it rolls back DDL (CREATE, ALTER, DROP) with the transaction
    dml: bool  # it rolls back changes to rows

    def __init__(self, *, ddl: bool, dml: bool) -> None:
        self.ddl = ddl
        self.dml = dml


# PostgreSQL and SQLite: a transaction undoes everything, so no mode needs the statements.
EVERYTHING = TransactionSupport(ddl=True, dml=True)


def needs_statements(file: MigrationFile, support: TransactionSupport) -> bool:
    """Whether the mode of a step of ``file`` depends on its statements' classes: only
    where the database rolls back rows but not DDL, for a file that allows a transaction."""
    return file.transactional and support.dml and not support.ddl


def step_mode(
    file: MigrationFile,
    support: TransactionSupport,
    classes: Sequence[StatementClass] | None = None,
) -> Mode:
    """How a step of ``file`` runs on its own (outside ``single_transaction``): in a
    transaction where the database can undo all of it, else statement by statement.
    ``classes`` are those of the section's statements, where ``needs_statements``; without
    them such a step is never promised a rollback."""
    if not file.transactional or not support.dml:
        return Mode.STATEMENT_BY_STATEMENT
    if support.ddl:
        return Mode.TRANSACTION
    if classes is not None and all(c is StatementClass.DML for c in classes):
        return Mode.TRANSACTION
    return Mode.STATEMENT_BY_STATEMENT


# The classes of the statements of the sections a plan runs, by identity, for the files
# where ``needs_statements``: read and classified by the shell (``classify.classify_all``).
Classes = Mapping[Identity, Sequence[StatementClass]]


def _decided(step: Step, support: TransactionSupport, classes: Classes) -> Step:
    f = step.migration
    return Step(f, step.direction, step_mode(f, support, classes.get(f.identity)))


def with_classes(plan: Plan, support: TransactionSupport, classes: Classes) -> Plan:
    """``plan`` with the mode of each step that ``needs_statements`` decided from
    ``classes``: where the database cannot roll back DDL, the shell reads the sections of
    the planned steps (and only those) and hands their classes in."""
    if plan.single_transaction:
        return plan
    steps = tuple(
        _decided(s, support, classes) if needs_statements(s.migration, support) else s
        for s in plan.steps
    )
    return Plan(plan.direction, steps)


def _steps(
    files: Sequence[MigrationFile], direction: Direction, support: TransactionSupport
) -> tuple[Step, ...]:
    return tuple(Step(f, direction, step_mode(f, support)) for f in files)


def _count(count: int | None) -> None:
    if count is not None and count < 1:
        raise UsageError("{count} must be 1 or more.", fields=("count",))


def _known_version(files: Sequence[MigrationFile], target: Version) -> None:
    if not any(f.version == target for f in files):
        raise UsageError(
            f"no migration file has version {target}. Fix: pass a version that exists "
            "(see 'keel status')."
        )


def plan_upgrade(
    files: Sequence[MigrationFile],
    history: Sequence[HistoryRow],
    *,
    support: TransactionSupport,
    target: Version | None = None,
    count: int | None = None,
    single_transaction: bool = False,
    source_problems: Sequence[Problem] = (),
    table: str = "keel_history",
    logged: Mapping[Version, LogRow] | None = None,
) -> Plan:
    """Validate, then plan pending versioned files (up to ``target``/``count``), each step
    with its mode (see ``step_mode``; a step that ``needs_statements`` runs statement by
    statement until ``with_classes`` decides it).

    Repeatables run only when the plan reaches the last pending versioned file. Raises
    ValidationFailed, or UsageError naming the fields (``target``, ``count``,
    ``single_transaction``) that ask for the impossible.
    """
    validate(files, history, source_problems, table=table, logged=logged)
    _count(count)
    if single_transaction and not support.ddl:
        raise UsageError(
            "{single_transaction} is not possible: this database commits DDL implicitly, so "
            "the run could not be rolled back as a whole. Fix: run without it.",
            fields=("single_transaction",),
        )
    if target is not None:
        _known_version(files, target)
    todo = _pending_versioned(files, history)
    chosen = [f for f in todo if target is None or (f.version is not None and f.version <= target)]
    if count is not None:
        chosen = chosen[:count]
    steps = chosen + (_repeatables(files, history) if len(chosen) == len(todo) else [])
    if not single_transaction:
        return Plan(Direction.UPGRADE, _steps(steps, Direction.UPGRADE, support))
    outside = [f.path for f in steps if not f.transactional]
    if outside:
        raise UsageError(
            "{single_transaction} cannot include files marked '-- keel: transaction=off': "
            + ", ".join(outside)
            + ". Fix: run without {single_transaction}, or upgrade up to the version "
            "before them first ({to}).",
            fields=("single_transaction", "to"),
        )
    return Plan(Direction.UPGRADE, tuple(Step(f, Direction.UPGRADE, Mode.SINGLE) for f in steps))


def plan_rollback(
    files: Sequence[MigrationFile],
    history: Sequence[HistoryRow],
    *,
    support: TransactionSupport,
    target: Version | None = None,
    count: int | None = None,
    source_problems: Sequence[Problem] = (),
    table: str = "keel_history",
    logged: Mapping[Version, LogRow] | None = None,
) -> Plan:
    """Validate, then plan the rollback of the last ``count`` (default 1) applied versions,
    or of every applied version above ``target`` (``0`` rolls back everything), each step
    with its mode as in ``plan_upgrade``."""
    validate(files, history, source_problems, table=table, logged=logged)
    if target is not None and count is not None:
        raise UsageError("give either {to} or {count}, not both.", fields=("to", "count"))
    _count(count)
    applied = sorted(
        (r for r in history if r.version is not None and r.state is State.APPLIED),
        key=lambda r: r.version or Version.parse("0"),
        reverse=True,
    )
    if target is not None:
        if target != Version.parse("0") and not any(r.version == target for r in applied):
            raise UsageError(
                f"version {target} is not applied, so it cannot be the version to stay at. "
                "Fix: pass an applied version (see 'keel history'), or 0 to roll back everything."
            )
        chosen = [r for r in applied if r.version is not None and r.version > target]
    else:
        chosen = applied[: count or 1]
    by_identity = {f.identity: f for f in files}
    steps = []
    for row in chosen:
        file = by_identity[row.identity]  # validation guarantees the file exists
        if not file.can_roll_back:
            # A blank section is refused too: it is what an unfinished `keel new` file
            # looks like, and "rolling back" by doing nothing would leave the schema behind.
            # Comments make it a decision (SPEC 12): such a section rolls back as a no-op.
            what = (
                "no '-- rollback' section"
                if not file.has_rollback
                else ("an empty '-- rollback' section")
            )
            raise PlanError(
                f"{file.path}: migration {file.version} has {what}, so it cannot be rolled "
                "back; nothing was changed. Fix: write the statements that undo it under "
                "'-- rollback'; if there is truly nothing to undo, say so in a comment there "
                "(e.g. '-- This file intentionally left blank'), and keel rolls it back as "
                "a no-op."
            )
        steps.append(file)
    return Plan(Direction.ROLLBACK, _steps(steps, Direction.ROLLBACK, support))


class RepairAction(Value):
    """One change ``keel repair`` makes to the history."""

    __slots__ = ("action", "description", "file", "row")
    # The description is logged as the repair's detail; its first word ("restore",
    # "accept", ...) tells history.HistoryStore.applied_in_log what became of the row.
    # "update-checksum" | "forget-missing" | "clear-failed" | "restore-applied" |
    # "forget-rolled-back"
    action: str
    row: HistoryRow
    file: MigrationFile | None
    description: str

    def __init__(
        self, action: str, row: HistoryRow, file: MigrationFile | None, description: str
    ) -> None:
        self.action = action
        self.row = row
        self.file = file
        self.description = description


def _failed_rollback_repair(
    row: HistoryRow, file: MigrationFile | None, *, rolled_back: bool
) -> RepairAction:
    what = f"migration {row.label} ({row.script})"
    if rolled_back:
        return RepairAction(
            "forget-rolled-back",
            row,
            file,
            f"record {what} as rolled back: its rollback failed part-way and was finished "
            "by hand; it will run again on the next upgrade",
        )
    return RepairAction(
        "restore-applied",
        row,
        file,
        f"restore {what} as applied: its rollback failed part-way and what it did was "
        "undone by hand (if the rollback was finished by hand instead, use --failed "
        "--rolled-back)",
    )


def plan_repair(
    files: Sequence[MigrationFile],
    history: Sequence[HistoryRow],
    *,
    checksums: bool,
    missing: bool,
    failed: bool,
    rolled_back: bool = False,
) -> list[RepairAction]:
    """What repair would change for the chosen kinds of problem; empty when nothing.

    A failed rollback is restored as applied (the rollback did not finish, and the user
    undid it), or with ``rolled_back`` recorded as rolled back (the user finished it)."""
    if not (checksums or missing or failed):
        raise UsageError(
            "say what to repair: {checksums}, {missing} and/or {failed} (see 'keel repair "
            "--help').",
            fields=("checksums", "missing", "failed"),
        )
    if rolled_back and not failed:
        raise UsageError(
            "{rolled_back} says how to clear a failed rollback, so it goes with {failed}: "
            "give both.",
            fields=("rolled_back", "failed"),
        )
    by_identity = {f.identity: f for f in files}
    actions = []
    for row in history:
        file = by_identity.get(row.identity)
        if failed and row.is_failed_rollback:
            actions.append(_failed_rollback_repair(row, file, rolled_back=rolled_back))
        elif failed and row.state is State.FAILED:
            actions.append(
                RepairAction(
                    "clear-failed",
                    row,
                    file,
                    f"clear failed migration {row.label} ({row.script}); it will run again "
                    "on the next upgrade",
                )
            )
        elif row.state is State.FAILED:
            continue
        elif missing and file is None:
            actions.append(
                RepairAction(
                    "forget-missing",
                    row,
                    None,
                    f"forget applied migration {row.label} ({row.script}): its file is gone",
                )
            )
        elif (
            checksums
            and file is not None
            and row.kind is Kind.VERSIONED
            and (file.checksum, file.rollback_checksum) != (row.checksum, row.rollback_checksum)
        ):
            actions.append(
                RepairAction(
                    "update-checksum",
                    row,
                    file,
                    f"accept the current contents of {file.path} for migration {row.label} "
                    f"(checksum {row.checksum[:12]} -> {file.checksum[:12]})",
                )
            )
    return actions


def plan_baseline(
    files: Sequence[MigrationFile],
    history: Sequence[HistoryRow],
    version: Version,
    source_problems: Sequence[Problem] = (),
) -> list[MigrationFile]:
    """The versioned files to record as applied (without running) to adopt a database at
    ``version``; raises when the history already has versioned rows."""
    validate(files, (), source_problems)  # the files alone: names, parsing, duplicates
    # An exact version, as for --to: "baselined at 99" with files up to 5 would mislead.
    _known_version(files, version)
    if any(r.version is not None for r in history):
        raise PlanError(
            "baseline adopts a database that keel has not migrated yet, but this one already "
            "has versioned history rows. Fix: use 'keel upgrade' instead, or baseline a "
            "fresh database."
        )
    return sorted(
        (f for f in files if f.version is not None and f.version <= version),
        key=lambda f: f.version or version,
    )
