"""Describe the state of a database for ``status``: applied rows, then pending files in
the order an upgrade would run them, each flagged with its problem if it has one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlkeel.core.model import HistoryRow, Kind, MigrationFile, State
from sqlkeel.core.plan import find_problems, head, invalid_files, pending
from sqlkeel.core.values import Value
from sqlkeel.errors import Problem


class StatusEntry(Value):
    """One line of ``status``. ``state`` is applied, pending, failed, rollback-failed,
    missing, invalid (the file is there but has a problem of its own), mismatched or
    below-head; ``order`` numbers pending entries in run order."""

    __slots__ = (
        "applied_at",
        "applied_by",
        "description",
        "execution_ms",
        "has_rollback",
        "is_noop",
        "kind",
        "label",
        "order",
        "rollback_changed",
        "rollback_is_noop",
        "script",
        "state",
        "version",
    )
    version: str | None
    kind: str
    description: str
    script: str
    state: str
    label: str  # the version, or R / RA
    applied_at: datetime | None
    applied_by: str | None
    execution_ms: int | None
    order: int | None
    rollback_changed: bool
    has_rollback: bool
    is_noop: bool  # its upgrade holds (or, applied, held) only comments (SPEC 12)
    rollback_is_noop: bool  # its file's rollback section holds only comments

    def __init__(
        self,
        version: str | None,
        kind: str,
        description: str,
        script: str,
        state: str,
        label: str,
        applied_at: datetime | None = None,
        applied_by: str | None = None,
        execution_ms: int | None = None,
        order: int | None = None,
        rollback_changed: bool = False,
        has_rollback: bool = False,
        is_noop: bool = False,
        rollback_is_noop: bool = False,
    ) -> None:
        self.version = version
        self.kind = kind
        self.description = description
        self.script = script
        self.state = state
        self.label = label
        self.applied_at = applied_at
        self.applied_by = applied_by
        self.execution_ms = execution_ms
        self.order = order
        self.rollback_changed = rollback_changed
        self.has_rollback = has_rollback
        self.is_noop = is_noop
        self.rollback_is_noop = rollback_is_noop


def describe(
    files: Sequence[MigrationFile],
    history: Sequence[HistoryRow],
    source_problems: Sequence[Problem] = (),
) -> tuple[list[StatusEntry], list[Problem]]:
    """Entries (applied in history order, then pending in run order) and every problem."""
    problems = find_problems(files, history, source_problems)
    return list(status_entries(files, history, problems)), problems


def status_entries(
    files: Sequence[MigrationFile], history: Sequence[HistoryRow], problems: Sequence[Problem]
) -> Iterator[StatusEntry]:
    """The entries of ``describe``, one at a time, given its problems: ``status`` prints
    them as they come rather than keep 10 000 of them."""
    flagged = {(p.code, p.path) for p in problems if p.code == "checksum-mismatch"}
    by_identity = {f.identity: f for f in files}
    invalid = invalid_files(problems) if problems else set()
    for row in history:
        file = by_identity.get(row.identity)
        if row.state is State.FAILED:
            state = "rollback-failed" if row.is_failed_rollback else "failed"
        elif file is None and (row.identity in invalid or row.script in invalid):
            state = "invalid"
        elif file is None:
            state = "missing"
        elif ("checksum-mismatch", file.path) in flagged:
            state = "mismatched"
        else:
            state = "applied"
        version = str(row.version) if row.version is not None else None
        yield (
            StatusEntry(
                version=version,
                label=version or row.label,  # one string for both
                kind=row.kind.value,
                description=row.description,
                script=file.path if file else row.script,
                state=state,
                applied_at=row.applied_at,
                applied_by=row.applied_by,
                execution_ms=row.execution_ms,
                rollback_changed=bool(
                    file
                    and row.kind is Kind.VERSIONED
                    and not file.recorded_by(row)
                    and file.rollback_checksum != row.rollback_checksum
                ),
                has_rollback=bool(file and file.can_roll_back),
                # What ran, as its row says: the file may have changed or be gone since.
                is_noop=row.is_noop,
                rollback_is_noop=bool(file and file.rollback_is_noop),
            )
        )
    top = head(history)
    order = 0
    for file in pending(files, history):
        below = file.version is not None and top is not None and file.version <= top
        if not below:
            order += 1
        version = str(file.version) if file.version is not None else None
        yield (
            StatusEntry(
                version=version,
                label=version or file.label,
                kind=file.kind.value,
                description=file.description,
                script=file.path,
                state="below-head" if below else "pending",
                order=None if below else order,
                has_rollback=file.can_roll_back,
                is_noop=file.is_noop,
                rollback_is_noop=file.rollback_is_noop,
            )
        )
