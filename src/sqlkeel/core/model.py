"""The frozen values the pure core works on: migration files, history rows, plans."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property

from sqlkeel.core.splitter import Statement
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


def label(version: Version | None, kind: Kind) -> str:
    """How tables show a migration: its version, or R / RA."""
    return str(version) if version is not None else kind.short


# The checksum of a section with no statements: its canonical text is empty.
EMPTY_CHECKSUM = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass(frozen=True)
class Section:
    """One section of a file: its statements and the checksum of its text."""

    statements: tuple[Statement, ...]
    checksum: str
    line: int  # first line of the section in the file


@dataclass(frozen=True)
class MigrationFile:
    """A parsed migration file. ``path`` is relative to the migrations directory."""

    path: str
    kind: Kind
    version: Version | None
    description: str
    upgrade: Section
    rollback: Section | None
    transactional: bool = True
    digest: str | None = None  # SHA-256 of the file's bytes, as read
    # Set on a file left unparsed because its bytes are exactly those of its applied
    # history row: its sections hold that row's checksums and no statements, and
    # ``parsed()`` reads the real ones when the file must run.
    loader: Callable[[], MigrationFile] | None = field(default=None, compare=False, repr=False)

    def parsed(self) -> MigrationFile:
        """This file with its statements (parsing it now if it was left unparsed)."""
        return self if self.loader is None else self.loader()

    @cached_property  # matched on for every file and row, many times per command
    def identity(self) -> str:
        return identity(self.version, self.kind, self.description)

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
        if self.rollback is None:
            return False
        if self.loader is not None:  # unparsed: a section without statements is empty text
            return self.rollback.checksum != EMPTY_CHECKSUM
        return bool(self.rollback.statements)


@dataclass(frozen=True)
class HistoryRow:
    """One row of ``keel_history``: a currently applied (or failed) migration."""

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
    failed_statement: int | None = None
    failed_line: int | None = None
    error: str | None = None
    digest: str | None = None  # SHA-256 of the file's bytes when it was applied

    @cached_property  # matched on for every file and row, many times per command
    def identity(self) -> str:
        return identity(self.version, self.kind, self.description)

    @property
    def label(self) -> str:
        return label(self.version, self.kind)


@dataclass(frozen=True)
class LogRow:
    """One row of the append-only ``keel_log`` audit trail."""

    id: int
    action: str
    version: str | None
    script: str | None
    at: datetime
    by: str
    duration_ms: int
    outcome: str
    detail: str


@dataclass(frozen=True)
class Step:
    """One migration to run in one direction."""

    migration: MigrationFile
    direction: Direction


@dataclass(frozen=True)
class Plan:
    """What will run, in order, and how transactions are laid out."""

    direction: Direction
    steps: tuple[Step, ...]
    single_transaction: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.steps
