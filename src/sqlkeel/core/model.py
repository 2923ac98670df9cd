"""The frozen values the pure core works on: migration files, history rows, plans."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum

from sqlkeel.core.splitter import Statement
from sqlkeel.core.values import Value
from sqlkeel.core.versions import Version


class Kind(str, Enum):
    """The three kinds of migration file (SPEC 1)."""

    VERSIONED = "versioned"
    REPEATABLE = "repeatable"  # R__ / ROC__: re-run when its checksum changes
    ALWAYS = "always"  # RA__: re-run on every upgrade that reaches the end

    @property
    def short(self) -> str:
        """How a migration without a version is labelled in tables: R or RA."""
        return {"versioned": "V", "repeatable": "R", "always": "RA"}[self.value]


class Direction(str, Enum):
    UPGRADE = "upgrade"
    ROLLBACK = "rollback"


class State(str, Enum):
    APPLIED = "applied"
    FAILED = "failed"


def identity(version: Version | None, kind: Kind, description: str) -> str:
    """What files and history rows are matched on: the version (by value, so ``1`` is
    ``1.0``), or the kind and description of a repeatable."""
    return f"V{version.key}" if version is not None else f"{kind.value}:{description}"


_identity = identity  # for MigrationFile.__init__, whose parameter shadows the function


def label(version: Version | None, kind: Kind) -> str:
    """How tables show a migration: its version, or R / RA."""
    return str(version) if version is not None else kind.short


# The checksum of a section with no statements: its canonical text is empty.
EMPTY_CHECKSUM = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


class Section(Value):
    """One section of a file: its statements and the checksum of its text.

    The statements may be split only when first asked for (``split``): checking files
    needs the checksum, running them the statements.
    """

    __slots__ = ("_split", "_statements", "checksum", "line")
    _compared = ("statements", "checksum", "line")
    checksum: str
    line: int  # first line of the section in the file

    def __init__(
        self,
        statements: tuple[Statement, ...] | None,
        checksum: str,
        line: int,
        split: Callable[[], tuple[Statement, ...]] | None = None,
    ) -> None:
        self._statements = statements
        self._split = split
        self.checksum = checksum
        self.line = line

    @property
    def statements(self) -> tuple[Statement, ...]:
        # Split again on each use rather than kept: a migration's statements are wanted
        # once (to run them), and 10 000 files' statements would double keel's memory.
        if self._statements is not None:
            return self._statements
        return self._split() if self._split is not None else ()

    @property
    def unsplit(self) -> bool:
        """Its statements are split only when asked for (from what ``split`` holds)."""
        return self._statements is None and self._split is not None

    @property
    def is_empty(self) -> bool:
        """No statements. Split sections know; otherwise the canonical text, which holds every
        statement, is empty (sections with a custom delimiter are always split: their
        statements are not the canonical text's)."""
        if self._statements is not None:
            return not self._statements
        return self.checksum == EMPTY_CHECKSUM


class MigrationFile(Value):
    """A parsed migration file. ``path`` is relative to the migrations directory.

    ``identity`` (see the function) is what files and history rows are matched on.
    """

    __slots__ = (
        "description",
        "digest",
        "identity",
        "kind",
        "loader",
        "path",
        "rollback",
        "transactional",
        "upgrade",
        "version",
    )
    # Not compared, hashed nor shown: ``loader`` and the derived ``identity``.
    _compared = (
        "path",
        "kind",
        "version",
        "description",
        "upgrade",
        "rollback",
        "transactional",
        "digest",
    )
    path: str
    kind: Kind
    version: Version | None
    description: str
    upgrade: Section
    rollback: Section | None
    transactional: bool
    digest: str | None  # SHA-256 of the file's bytes, as read
    # Set on a file whose text is not kept (discovery): its sections split their
    # statements from the file read again, and ``parsed()`` reads and parses it whole.
    # A file left unparsed because its bytes are exactly those of its applied history
    # row has that row's checksums, and its sections' lines are unknown (0).
    loader: Callable[[], MigrationFile] | None
    identity: str  # matched on for every file and row, many times per command

    def __init__(
        self,
        path: str,
        kind: Kind,
        version: Version | None,
        description: str,
        upgrade: Section,
        rollback: Section | None,
        transactional: bool = True,
        digest: str | None = None,
        loader: Callable[[], MigrationFile] | None = None,
        identity: str | None = None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.version = version
        self.description = description
        self.upgrade = upgrade
        self.rollback = rollback
        self.transactional = transactional
        self.digest = digest
        self.loader = loader
        # ``identity`` passed in: its history row's, shared rather than built again.
        self.identity = identity or _identity(version, kind, description)

    def parsed(self) -> MigrationFile:
        """This file with its statements (parsing it now if it was left unparsed)."""
        return self if self.loader is None else self.loader()

    @property
    def label(self) -> str:
        return label(self.version, self.kind)

    @property
    def checksum(self) -> str:
        return self.upgrade.checksum

    @property
    def rollback_checksum(self) -> str | None:
        return self.rollback.checksum if self.rollback else None

    @property
    def can_roll_back(self) -> bool:
        """A rollback section with statements: an empty one is an unfinished file, not a
        promise that there is nothing to undo."""
        return self.rollback is not None and not self.rollback.is_empty


class HistoryRow(Value):
    """One row of ``keel_history``: a currently applied (or failed) migration.

    ``identity`` (see the function) is what files and history rows are matched on.
    """

    __slots__ = (
        "applied_at",
        "applied_by",
        "checksum",
        "description",
        "digest",
        "error",
        "execution_ms",
        "failed_line",
        "failed_statement",
        "id",
        "identity",
        "kind",
        "rollback_checksum",
        "script",
        "state",
        "version",
    )
    # Not compared, hashed nor shown: the derived ``identity``.
    _compared = (
        "id",
        "version",
        "description",
        "script",
        "kind",
        "checksum",
        "rollback_checksum",
        "applied_at",
        "applied_by",
        "execution_ms",
        "state",
        "failed_statement",
        "failed_line",
        "error",
        "digest",
    )
    id: int  # insertion counter: history is ordered by it, never by timestamps
    version: Version | None
    description: str
    script: str
    kind: Kind
    checksum: str
    rollback_checksum: str | None
    applied_at: datetime
    applied_by: str
    execution_ms: int
    state: State
    failed_statement: int | None
    failed_line: int | None
    error: str | None
    digest: str | None  # SHA-256 of the file's bytes when it was applied
    identity: str  # matched on for every file and row, many times per command

    def __init__(
        self,
        id: int,
        version: Version | None,
        description: str,
        script: str,
        kind: Kind,
        checksum: str,
        rollback_checksum: str | None,
        applied_at: datetime,
        applied_by: str,
        execution_ms: int,
        state: State,
        failed_statement: int | None = None,
        failed_line: int | None = None,
        error: str | None = None,
        digest: str | None = None,
    ) -> None:
        self.id = id
        self.version = version
        self.description = description
        self.script = script
        self.kind = kind
        self.checksum = checksum
        self.rollback_checksum = rollback_checksum
        self.applied_at = applied_at
        self.applied_by = applied_by
        self.execution_ms = execution_ms
        self.state = state
        self.failed_statement = failed_statement
        self.failed_line = failed_line
        self.error = error
        self.digest = digest
        self.identity = identity(version, kind, description)

    @property
    def label(self) -> str:
        return label(self.version, self.kind)


class LogRow(Value):
    """One row of the append-only ``keel_log`` audit trail."""

    __slots__ = (
        "action",
        "at",
        "by",
        "detail",
        "duration_ms",
        "id",
        "outcome",
        "script",
        "version",
    )
    id: int
    action: str
    version: str | None
    script: str | None
    at: datetime
    by: str
    duration_ms: int
    outcome: str
    detail: str

    def __init__(
        self,
        id: int,
        action: str,
        version: str | None,
        script: str | None,
        at: datetime,
        by: str,
        duration_ms: int,
        outcome: str,
        detail: str,
    ) -> None:
        self.id = id
        self.action = action
        self.version = version
        self.script = script
        self.at = at
        self.by = by
        self.duration_ms = duration_ms
        self.outcome = outcome
        self.detail = detail


class Step(Value):
    """One migration to run in one direction."""

    __slots__ = ("direction", "migration")
    migration: MigrationFile
    direction: Direction

    def __init__(self, migration: MigrationFile, direction: Direction) -> None:
        self.migration = migration
        self.direction = direction


class Plan(Value):
    """What will run, in order, and how transactions are laid out."""

    __slots__ = ("direction", "single_transaction", "steps")
    direction: Direction
    steps: tuple[Step, ...]
    single_transaction: bool

    def __init__(
        self, direction: Direction, steps: tuple[Step, ...], single_transaction: bool = False
    ) -> None:
        self.direction = direction
        self.steps = steps
        self.single_transaction = single_transaction

    @property
    def is_empty(self) -> bool:
        return not self.steps
