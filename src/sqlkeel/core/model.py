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


# What files and history rows are matched on (see ``identity``).
Identity = tuple[int, ...] | str


def identity(version: Version | None, kind: Kind, description: str) -> Identity:
    """What files and history rows are matched on: the version's key (by value, so ``1`` is
    ``1.0``; the version's own tuple, so no string per file or row), or the kind and
    description of a repeatable."""
    return version.key if version is not None else f"{kind.value}:{description}"


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
    def splitter(self) -> Callable[[], tuple[Statement, ...]] | None:
        """What splits the statements when first asked for, if they are not split yet."""
        return self._split if self._statements is None else None

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
        "_digest",
        "_rollback",
        "_upgrade",
        "description",
        "identity",
        "kind",
        "loader",
        "path",
        "transactional",
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
    transactional: bool
    # Set on a file whose text keel does not keep (discovery): its sections split their
    # statements from the file read again, and ``parsed()`` reads and parses it whole.
    loader: Callable[[MigrationFile], MigrationFile] | None
    identity: Identity  # matched on for every file and row, many times per command
    # A file whose text is not kept holds in ``_upgrade``, instead of its sections, their
    # checksums and its digest: packed with the sections' lines (``detached``: three hex
    # strings and two Sections cost ~500 bytes a file, these bytes ~140), or the history
    # row its bytes are exactly those of (``from_row``; lines unknown: 0). Its sections
    # are made when asked for.
    _upgrade: Section | HistoryRow | bytes
    _rollback: Section | None
    _digest: str | None

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
        loader: Callable[[MigrationFile], MigrationFile] | None = None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.version = version
        self.description = description
        self._upgrade = upgrade
        self._rollback = rollback
        self.transactional = transactional
        self._digest = digest
        self.loader = loader
        self.identity = identity(version, kind, description)

    @classmethod
    def from_row(
        cls, row: HistoryRow, loader: Callable[[MigrationFile], MigrationFile]
    ) -> MigrationFile:
        """The file ``row.script``, byte for byte as ``row`` was applied from: the row's
        version, kind, description, checksums and digest are the file's, shared rather
        than copied (10 000 files each cost only this object)."""
        file = cls.__new__(cls)
        file.path = row.script
        file.kind = row.kind
        file.version = row.version
        file.description = row.description
        file._upgrade = row
        file._rollback = None
        file.transactional = True  # discovery parses files with directives
        file._digest = None
        file.loader = loader
        file.identity = row.identity
        return file

    def detached(
        self, loader: Callable[[MigrationFile], MigrationFile], where: bytes = b""
    ) -> MigrationFile:
        """This file without what holds its text (its sections' splitting), which
        ``loader`` reads and parses again when it must run; itself if a section is split
        already (a custom delimiter: such files are few). ``where`` is kept for the
        loader: where in the file its sections are (``split_at``)."""
        up, down = self._upgrade, self._rollback
        if not isinstance(up, Section) or not up.unsplit or (down and not down.unsplit):
            return self
        sums = _pack(up.checksum, down.checksum if down else None, self._digest)
        if not isinstance(sums, bytes):  # pragma: no cover - keel's checksums are hex
            return self
        file = MigrationFile.__new__(MigrationFile)
        file.path = self.path
        file.kind = self.kind
        file.version = self.version
        file.description = self.description
        lines = up.line.to_bytes(4, "little") + (down.line if down else 0).to_bytes(4, "little")
        file._upgrade = sums + lines + where
        file._rollback = None
        file.transactional = self.transactional
        file._digest = None
        file.loader = loader
        file.identity = self.identity
        return file

    def parsed(self) -> MigrationFile:
        """This file with its statements (parsing it now if it was left unparsed)."""
        return self if self.loader is None else self.loader(self)

    @property
    def upgrade(self) -> Section:
        up = self._upgrade
        if isinstance(up, Section):
            return up
        if isinstance(up, bytes):
            line = int.from_bytes(up[_lines(up) : _lines(up) + 4], "little")
            return Section(None, _checksum(up), line, _Part(self, False))
        return Section(None, up.checksum, 0, _Part(self, False))

    @property
    def rollback(self) -> Section | None:
        up = self._upgrade
        if isinstance(up, Section):
            return self._rollback
        checksum = self.rollback_checksum
        if checksum is None:
            return None
        line = (
            int.from_bytes(up[_lines(up) + 4 : _lines(up) + 8], "little")
            if isinstance(up, bytes)
            else 0
        )
        return Section(None, checksum, line, _Part(self, True))

    @property
    def digest(self) -> str | None:
        """SHA-256 of the file's bytes, as read, and of its checksums (``file_digest``)."""
        up = self._upgrade
        if isinstance(up, Section):
            return self._digest
        return _digest(up) if isinstance(up, bytes) else up.digest

    @property
    def label(self) -> str:
        return label(self.version, self.kind)

    @property
    def checksum(self) -> str:
        up = self._upgrade
        return _checksum(up) if isinstance(up, bytes) else up.checksum

    @property
    def rollback_checksum(self) -> str | None:
        up = self._upgrade
        if isinstance(up, Section):
            return self._rollback.checksum if self._rollback is not None else None
        return _rollback_checksum(up) if isinstance(up, bytes) else up.rollback_checksum

    @property
    def can_roll_back(self) -> bool:
        """A rollback section with statements: an empty one is an unfinished file, not a
        promise that there is nothing to undo."""
        up = self._upgrade
        if isinstance(up, Section):
            return self._rollback is not None and not self._rollback.is_empty
        sums = up if isinstance(up, bytes) else up._sums
        if isinstance(sums, bytes):  # no hex: asked of every file by status
            return bool(sums[0] & _HAS_ROLLBACK) and sums[33:65] != _EMPTY
        checksum = sums[1]
        return checksum is not None and checksum != EMPTY_CHECKSUM

    def split_at(self) -> bytes:
        """What ``detached`` was given as ``where`` (empty if nothing)."""
        up = self._upgrade
        if not isinstance(up, bytes):
            return b""
        return up[_lines(up) + 8 :]

    def recorded_by(self, row: HistoryRow) -> bool:
        """This file is ``row``'s own (``from_row``): their checksums are the same ones."""
        return self._upgrade is row


class _Part:
    """The statements of one section of a file whose text is not kept: split from the
    file parsed again when asked for (made with the section, which is made on access)."""

    __slots__ = ("file", "rollback")

    def __init__(self, file: MigrationFile, rollback: bool) -> None:
        self.file = file
        self.rollback = rollback

    def __call__(self) -> tuple[Statement, ...]:
        # A loader that knows where the section is splits only it (parsing the whole file
        # again would double the parsing an upgrade does).
        split = getattr(self.file.loader, "split", None)
        statements = split(self.file, self.rollback) if split is not None else None
        if statements is not None:
            return statements  # type: ignore[no-any-return]
        parsed = self.file.parsed()
        section = parsed.rollback if self.rollback else parsed.upgrade
        return section.statements if section is not None else ()


class HistoryRow(Value):
    """One row of ``keel_history``: a currently applied (or failed) migration.

    ``identity`` (see the function) is what files and history rows are matched on.
    """

    __slots__ = (
        "_sums",
        "applied_at",
        "applied_by",
        "description",
        "error",
        "execution_ms",
        "failed_line",
        "failed_statement",
        "id",
        "identity",
        "kind",
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
    applied_at: datetime
    applied_by: str
    execution_ms: int
    state: State
    failed_statement: int | None
    failed_line: int | None
    error: str | None
    identity: Identity  # matched on for every file and row, many times per command
    # checksum, rollback_checksum and digest (SHA-256 of the file's bytes when it was
    # applied) packed by ``_pack``: three hex strings cost ~390 bytes a row, the packed
    # bytes ~140, and 10 000 rows are read for every command.
    _sums: Sums

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
        self._sums = _pack(checksum, rollback_checksum, digest)
        self.applied_at = applied_at
        self.applied_by = applied_by
        self.execution_ms = execution_ms
        self.state = state
        self.failed_statement = failed_statement
        self.failed_line = failed_line
        self.error = error
        self.identity = identity(version, kind, description)

    @property
    def label(self) -> str:
        return label(self.version, self.kind)

    @property
    def checksum(self) -> str:
        return _checksum(self._sums)

    @property
    def rollback_checksum(self) -> str | None:
        return _rollback_checksum(self._sums)

    @property
    def digest(self) -> str | None:
        """SHA-256 of the file's bytes and checksums when it was applied (``file_digest``)."""
        return _digest(self._sums)

    @property
    def fingerprint(self) -> object:
        """Equal for two reads of this row while its checksums and digest are unchanged
        (cheaper than building their hex strings)."""
        return (self.script, self._sums)


_HAS_ROLLBACK, _HAS_DIGEST = 1, 2
_EMPTY = bytes.fromhex(EMPTY_CHECKSUM)
Sums = bytes | tuple[str, str | None, str | None]


def _lines(packed: bytes) -> int:
    """Where a detached file's section lines start in its packed bytes."""
    flags = packed[0]
    return 33 + (32 if flags & _HAS_ROLLBACK else 0) + (32 if flags & _HAS_DIGEST else 0)


def _checksum(sums: Sums) -> str:
    return sums[1:33].hex() if isinstance(sums, bytes) else sums[0]


def _rollback_checksum(sums: Sums) -> str | None:
    if not isinstance(sums, bytes):
        return sums[1]
    return sums[33:65].hex() if sums[0] & _HAS_ROLLBACK else None


def _digest(sums: Sums) -> str | None:
    if not isinstance(sums, bytes):
        return sums[2]
    if not sums[0] & _HAS_DIGEST:
        return None
    start = 65 if sums[0] & _HAS_ROLLBACK else 33
    return sums[start : start + 32].hex()


def _pack(checksum: str, rollback_checksum: str | None, digest: str | None) -> Sums:
    """The three SHA-256 hex digests of a row as one bytes: a flags byte, then the
    checksum, the rollback checksum and the digest that are present. Anything that would
    not read back exactly (not lower-case hex of 32 bytes: a hand edit) is kept as is."""
    flags = (_HAS_ROLLBACK if rollback_checksum is not None else 0) | (
        _HAS_DIGEST if digest is not None else 0
    )
    try:
        text = checksum + (rollback_checksum or "") + (digest or "")
        packed = bytes.fromhex(text)
    except (ValueError, TypeError):
        return (checksum, rollback_checksum, digest)
    if (
        len(checksum) != 64
        or len(rollback_checksum or "0" * 64) != 64
        or len(digest or "0" * 64) != 64
        or packed.hex() != text
    ):
        return (checksum, rollback_checksum, digest)
    return bytes((flags,)) + packed


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
