"""The frozen values the pure core works on: migration files, history rows, plans."""

from __future__ import annotations

import struct
from datetime import datetime
from enum import Enum

from sqlkeel.core.splitter import SplitOptions, Statement
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
    """One section of a file parsed whole, or split alone to run it: its statements, its
    first line and, when parsing computed it, the checksum of its text."""

    __slots__ = ("checksum", "is_noop", "line", "span", "statements")
    _compared = ("statements", "checksum", "line", "is_noop")
    statements: tuple[Statement, ...]
    # None for a section split alone to run it: its file's checksums are the file's own.
    checksum: str | None
    line: int  # first line of the section in the file (0: not known, a history row's file)
    # No statements but comments: a deliberate no-op (SPEC 12), run and recorded as usual.
    is_noop: bool
    span: Span | None  # where parsing found it, if it did

    def __init__(
        self,
        statements: tuple[Statement, ...],
        checksum: str | None,
        line: int,
        *,
        is_noop: bool = False,
        span: Span | None = None,
    ) -> None:
        self.statements = statements
        self.checksum = checksum
        self.line = line
        self.is_noop = is_noop
        self.span = span

    @property
    def is_empty(self) -> bool:
        """No statements."""
        return not self.statements

    @property
    def is_blank(self) -> bool:
        """No statements and no comments either: unfinished work (what ``keel new``
        leaves), never run (SPEC 12)."""
        return not self.is_noop and not self.statements


class Span(Value):
    """Where parsing found a section in its file's text, and how it splits it: what
    splitting the section again, or computing its checksum, takes besides that text
    (``parsing.split_span`` and ``parsing.span_checksum``)."""

    __slots__ = ("delimiter", "end", "first_line", "options", "start")
    _compared = ("start", "end", "first_line", "options", "delimiter")
    start: int  # offsets in the file's decoded text
    end: int
    first_line: int
    options: SplitOptions
    delimiter: str | None  # a ``delimiter=`` directive's

    def __init__(
        self, start: int, end: int, first_line: int, options: SplitOptions, delimiter: str | None
    ) -> None:
        self.start = start
        self.end = end
        self.first_line = first_line
        self.options = options
        self.delimiter = delimiter


TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:  # a type only: importing typing costs every command ~2 ms
    from typing import Protocol

    class Source(Protocol):
        """Where what a file's value does not hold is read from: its statements, and its
        checksums when not yet known (``discovery.MigrationSet`` reads the file again).
        Handed explicitly to whoever needs them (the executor, ``--dry-run``)."""

        def parse(self, file: MigrationFile) -> MigrationFile:
            """The file parsed whole: sections with their statements, and checksums."""
            ...

        def section(self, file: MigrationFile, direction: Direction) -> Section:
            """The section ``direction`` runs, with its statements; raises if there is none."""
            ...

        def checksums(self, file: MigrationFile) -> tuple[str, str | None, str | None]:
            """The file's checksum, rollback checksum and digest."""
            ...

        def with_checksums(self, file: MigrationFile) -> MigrationFile:
            """``file`` with its checksums known (``has_checksums``)."""
            ...


class ChecksumsUnknown(LookupError):
    """A file's checksums were read before they were computed: pass it through its
    source's ``with_checksums`` first (a mistake in keel, never the user's)."""


class MigrationFile(Value):
    """A migration file as a value: what its name says, its flags, a fingerprint of its
    bytes and, once known, its checksums. ``path`` is relative to the migrations directory;
    ``identity`` (see the function) is what files and history rows are matched on.

    Comparing, hashing and showing it reads nothing: the statements are not kept (10 000
    files' statements would double keel's memory) but read through a ``Source`` when the
    file runs; only a file parsed whole (``parse_migration``) holds its ``upgrade`` and
    ``rollback`` sections. The checksums of a pending file are computed only when it is
    about to be recorded (``status`` of 1000 pending files never needs them).
    """

    __slots__ = (
        "_flags",
        "_places",
        "_sections",
        "_sums",
        "description",
        "fingerprint",
        "identity",
        "kind",
        "path",
        "transactional",
        "version",
    )
    # Stable fields only: the checksums follow from the bytes (``fingerprint``) and are
    # known or not depending on who asked, so they are neither compared nor hashed.
    _compared = (
        "path",
        "kind",
        "version",
        "description",
        "transactional",
        "fingerprint",
        "is_noop",
        "has_rollback",
        "rollback_is_noop",
        "can_roll_back",
    )
    path: str
    kind: Kind
    version: Version | None
    description: str
    transactional: bool
    # ``hash`` of the file's bytes as read (of its text when parsed from a string): equal
    # for equal contents, and tells a source that the file it reads again is the one parsed.
    fingerprint: int
    identity: Identity  # matched on for every file and row, many times per command
    _flags: int  # _ROLLBACK, _ROLLBACK_BLANK, _ROLLBACK_NOOP, _UPGRADE_NOOP
    # Where its sections are, packed (``_PLACES``), for a source to split one alone; None
    # when only parsing the whole file finds them (a history row's file, a custom delimiter).
    _places: bytes | None
    _sums: Sums | None  # checksum, rollback checksum and digest, packed, once known
    _sections: tuple[Section, Section | None] | None  # a file parsed whole

    def __init__(
        self,
        path: str,
        kind: Kind,
        version: Version | None,
        description: str,
        *,
        transactional: bool = True,
        fingerprint: int = 0,
        flags: int = 0,
        places: bytes | None = None,
        sums: Sums | None = None,
        sections: tuple[Section, Section | None] | None = None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.version = version
        self.description = description
        self.transactional = transactional
        self.fingerprint = fingerprint
        self._flags = flags
        self._places = places
        self._sums = sums
        self._sections = sections
        self.identity = identity(version, kind, description)

    @classmethod
    def whole(
        cls,
        path: str,
        kind: Kind,
        version: Version | None,
        description: str,
        upgrade: Section,
        rollback: Section | None,
        *,
        transactional: bool = True,
        fingerprint: int = 0,
        digest: str | None = None,
    ) -> MigrationFile:
        """A file parsed whole: its sections, with their statements and checksums."""
        assert upgrade.checksum is not None
        flags = _UPGRADE_NOOP if upgrade.is_noop else 0
        if rollback is not None:
            assert rollback.checksum is not None
            flags |= _ROLLBACK | (_ROLLBACK_NOOP if rollback.is_noop else 0)
            flags |= _ROLLBACK_BLANK if rollback.is_blank else 0
        return cls(
            path,
            kind,
            version,
            description,
            transactional=transactional,
            fingerprint=fingerprint,
            flags=flags,
            sums=_pack(
                upgrade.checksum, rollback.checksum if rollback is not None else None, digest
            ),
            sections=(upgrade, rollback),
        )

    @classmethod
    def from_row(cls, row: HistoryRow, fingerprint: int) -> MigrationFile:
        """The file ``row.script``, byte for byte as ``row`` was applied from (``fingerprint``
        is its bytes' ``hash``): the row's version, kind, description, checksums and digest
        are the file's, shared rather than copied (10 000 files each cost only this object).
        Its statements come from parsing it whole when it runs."""
        # transactional: discovery parses every file that has directives; a blank or
        # comments-only section: every file whose row has an empty section's checksum.
        sums = row._sums
        if isinstance(sums, bytes):
            has_rollback = bool(sums[0] & _HAS_ROLLBACK)
        else:
            has_rollback = sums[1] is not None
        file = cls.__new__(cls)
        file.path = row.script
        file.kind = row.kind
        file.version = row.version
        file.description = row.description
        file.transactional = True
        file.fingerprint = fingerprint
        file._flags = (_UPGRADE_NOOP if row.is_noop else 0) | (_ROLLBACK if has_rollback else 0)
        file._places = None
        file._sums = sums
        file._sections = None
        file.identity = row.identity
        return file

    def with_sums(
        self, checksum: str, rollback_checksum: str | None, digest: str | None
    ) -> MigrationFile:
        """This file with its checksums and digest known."""
        file = MigrationFile.__new__(MigrationFile)
        for name in MigrationFile.__slots__:
            setattr(file, name, getattr(self, name))
        file._sums = _pack(checksum, rollback_checksum, digest)
        return file

    @property
    def label(self) -> str:
        return label(self.version, self.kind)

    @property
    def has_checksums(self) -> bool:
        return self._sums is not None

    def _known_sums(self) -> Sums:
        if self._sums is None:
            raise ChecksumsUnknown(
                f"{self.path}: its checksums were read before they were computed; "
                "pass it through its source's with_checksums() first"
            )
        return self._sums

    @property
    def checksum(self) -> str:
        """Raises ChecksumsUnknown unless ``has_checksums``."""
        return _checksum(self._known_sums())

    @property
    def rollback_checksum(self) -> str | None:
        """Raises ChecksumsUnknown unless ``has_checksums``."""
        return _rollback_checksum(self._known_sums())

    @property
    def digest(self) -> str | None:
        """SHA-256 of the file's bytes, as read, and of its checksums (``file_digest``),
        when the bytes are known. Raises ChecksumsUnknown unless ``has_checksums``."""
        return _digest(self._known_sums())

    @property
    def is_whole(self) -> bool:
        """Parsed whole: ``upgrade`` and ``rollback`` hold its sections."""
        return self._sections is not None

    def _whole(self) -> tuple[Section, Section | None]:
        if self._sections is None:
            raise ValueError(
                f"{self.path}: only a file parsed whole holds its sections; ask its source."
            )
        return self._sections

    @property
    def upgrade(self) -> Section:
        """The upgrade section of a file parsed whole (``is_whole``); raises ValueError
        for others, whose statements a ``Source`` reads."""
        return self._whole()[0]

    @property
    def rollback(self) -> Section | None:
        """The rollback section of a file parsed whole, as ``upgrade``."""
        return self._whole()[1]

    @property
    def has_rollback(self) -> bool:
        """It has a ``-- rollback`` section (perhaps blank)."""
        return bool(self._flags & _ROLLBACK)

    @property
    def is_noop(self) -> bool:
        """The upgrade section holds only comments: a deliberate no-op (SPEC 12)."""
        return bool(self._flags & _UPGRADE_NOOP)

    @property
    def rollback_is_noop(self) -> bool:
        """The rollback section holds only comments: rolling back changes nothing."""
        return bool(self._flags & _ROLLBACK_NOOP)

    @property
    def can_roll_back(self) -> bool:
        """A rollback section with statements, or with comments only (a deliberate no-op):
        a blank one is an unfinished file, not a promise that there is nothing to undo."""
        # A history row's file has no blank section: discovery parses every file whose
        # row has an empty section's checksum.
        return self._flags & (_ROLLBACK | _ROLLBACK_BLANK) == _ROLLBACK

    def line(self, direction: Direction) -> int:
        """The first line of the section ``direction`` runs (0: not known without parsing
        the file whole, a history row's file)."""
        if self._sections is not None:
            section = self._sections[0 if direction is Direction.UPGRADE else 1]
            return section.line if section is not None else 0
        if self._places is None:
            return 0
        line: int = _PLACES.unpack_from(self._places)[1 if direction is Direction.UPGRADE else 2]
        return line

    def place(self, direction: Direction) -> tuple[int, int, int, int] | None:
        """Where a section is, for a source to split it alone: the index of the split
        profile parsing used, its start and end offsets in the text and its first line;
        None when only parsing the whole file finds it, or the file has no such section."""
        places = self._places
        if places is None or (direction is Direction.ROLLBACK and not self._flags & _ROLLBACK):
            return None
        profile, line, down_line, start, end, down_start, down_end = _PLACES.unpack_from(places)
        if direction is Direction.ROLLBACK:
            return profile, down_start, down_end, down_line
        return profile, start, end, line

    def recorded_by(self, row: HistoryRow) -> bool:
        """This file is ``row``'s own (``from_row``): their checksums are the same ones."""
        return self._sums is row._sums


def outline(
    path: str,
    kind: Kind,
    version: Version | None,
    description: str,
    transactional: bool,
    fingerprint: int,
    profile: int,
    upgrade: tuple[int, int, int, bool],
    rollback: tuple[int, int, int, bool, bool] | None,
    *,
    findable: bool,
) -> MigrationFile:
    """A file parsed without keeping its text (discovery): ``upgrade`` is its section's
    start, end, first line and whether it holds only comments; ``rollback`` the same and
    whether it is blank. ``findable``: a section can be split again from its place alone
    (no custom delimiter)."""
    start, end, line, noop = upgrade
    flags = _UPGRADE_NOOP if noop else 0
    down_start = down_end = down_line = 0
    if rollback is not None:
        down_start, down_end, down_line, down_noop, down_blank = rollback
        flags |= _ROLLBACK | (_ROLLBACK_NOOP if down_noop else 0)
        flags |= _ROLLBACK_BLANK if down_blank else 0
    places = None
    if findable and max(end, down_end) < 1 << 32:
        places = _PLACES.pack(profile, line, down_line, start, end, down_start, down_end)
    return MigrationFile(
        path,
        kind,
        version,
        description,
        transactional=transactional,
        fingerprint=fingerprint,
        flags=flags,
        places=places,
    )


# A file's flags: it has a rollback section; that section is blank (SPEC 12); it holds
# only comments; its upgrade section holds only comments.
_ROLLBACK, _ROLLBACK_BLANK, _ROLLBACK_NOOP, _UPGRADE_NOOP = 1, 2, 4, 8
# Its packed places: the split profile's index, upgrade and rollback first lines, upgrade
# start and end, rollback start and end (4 bytes each): ~60 bytes a file, where two
# Sections and their text cost ~900.
_PLACES = struct.Struct("<BIIIIII")


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
        "failed_direction",
        "failed_line",
        "failed_statement",
        "id",
        "identity",
        "is_noop",
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
        "failed_direction",
        "is_noop",
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
    # The upgrade that ran held only comments (SPEC 12); stored, so that history tells
    # without the file. Rows of a keel from before no-ops read False, as they were.
    is_noop: bool
    # With state FAILED: which section failed. A failed rollback keeps the row it began
    # from, since the migration was applied; None reads as a failed upgrade (older rows).
    failed_direction: Direction | None
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
        is_noop: bool = False,
        failed_direction: Direction | None = None,
    ) -> None:
        self.id = id
        self.failed_direction = failed_direction
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
        self.is_noop = is_noop
        self.identity = identity(version, kind, description)

    @property
    def label(self) -> str:
        return label(self.version, self.kind)

    @property
    def has_empty_section(self) -> bool:
        """Its upgrade or rollback checksum is that of no statements: the file's text alone
        tells whether such a section was blank or held comments (SPEC 12)."""
        sums = self._sums
        if isinstance(sums, bytes):
            # One search rather than two slices (asked of every applied row by discovery):
            # a match elsewhere in the bytes, were one ever found, only costs a parse.
            return _EMPTY in sums
        return EMPTY_CHECKSUM in sums[:2]

    @property
    def is_failed_rollback(self) -> bool:
        return self.state is State.FAILED and self.failed_direction is Direction.ROLLBACK

    @property
    def state_text(self) -> str:
        """The state as tables show it: applied, failed, or rollback failed."""
        return "rollback failed" if self.is_failed_rollback else self.state.value

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
        or (rollback_checksum is not None and len(rollback_checksum) != 64)
        or (digest is not None and len(digest) != 64)
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


class Mode(str, Enum):
    """How a step runs; the plan decides, the executor and ``--dry-run`` obey."""

    # In its own transaction with its history and log rows: a failure leaves no trace.
    TRANSACTION = "transaction"
    # One statement after another outside a transaction (``transaction=off``, or statements
    # the database cannot roll back): recorded ``failed`` before it starts.
    STATEMENT_BY_STATEMENT = "statement-by-statement"
    # With every other step of the plan in one transaction (``single_transaction``).
    SINGLE = "single"


class Step(Value):
    """One migration to run in one direction, and how."""

    __slots__ = ("direction", "migration", "mode")
    migration: MigrationFile
    direction: Direction
    mode: Mode

    def __init__(self, migration: MigrationFile, direction: Direction, mode: Mode) -> None:
        self.migration = migration
        self.direction = direction
        self.mode = mode


class Plan(Value):
    """What will run, in order, and how (each step's ``mode``)."""

    __slots__ = ("direction", "steps")
    direction: Direction
    steps: tuple[Step, ...]

    def __init__(self, direction: Direction, steps: tuple[Step, ...]) -> None:
        self.direction = direction
        self.steps = steps

    @property
    def is_empty(self) -> bool:
        return not self.steps

    @property
    def single_transaction(self) -> bool:
        """Whether the whole plan runs in one transaction: its steps are all ``single``, or
        none is."""
        return bool(self.steps) and self.steps[0].mode is Mode.SINGLE
