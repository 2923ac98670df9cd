"""The frozen values the pure core works on: migration files, history rows, plans."""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import datetime
from enum import Enum

from sqlkeel.core.checksum import file_digest
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
    """One section of a file: its statements and the checksum of its text.

    The statements may be split only when first asked for (``split``): checking files
    needs the checksum, running them the statements.
    """

    __slots__ = ("_checksum", "_is_empty", "_split", "_statements", "is_noop", "line", "span")
    _compared = ("statements", "checksum", "line", "is_noop")
    line: int  # first line of the section in the file
    span: Span | None  # where parsing found it, if it did
    # No statements but comments: a deliberate no-op (SPEC 12), run and recorded as usual.
    is_noop: bool

    def __init__(
        self,
        statements: tuple[Statement, ...] | None,
        checksum: str | Callable[[], str],
        line: int,
        split: Callable[[], tuple[Statement, ...]] | None = None,
        *,
        is_empty: bool | None = None,
        is_noop: bool = False,
        span: Span | None = None,
    ) -> None:
        """``checksum`` may be a function computing it, called once when first needed;
        ``is_empty``, when known, spares an unsplit section that computation."""
        self.span = span
        self.is_noop = is_noop
        self._statements = statements
        self._split = split
        self._checksum = checksum
        self._is_empty = is_empty
        self.line = line

    @property
    def checksum(self) -> str:
        # Computed on first use rather than while parsing: status and validate never read
        # the checksums of pending files, and canonicalising a section costs as much as
        # the rest of parsing it (issue 3: status with 1000 pending files).
        if not isinstance(self._checksum, str):
            self._checksum = self._checksum()
        return self._checksum

    @property
    def statements(self) -> tuple[Statement, ...]:
        # Split again on each use rather than kept: a migration's statements are wanted
        # once (to run them), and 10 000 files' statements would double keel's memory.
        if self._statements is not None:
            return self._statements
        return self._split() if self._split is not None else ()

    @property
    def is_empty(self) -> bool:
        """No statements. Split sections know, parsing tells the others; otherwise the
        canonical text, which holds every statement, is empty (sections with a custom
        delimiter or DELIMITER lines are always split: their statements are not the
        canonical text's)."""
        if self._statements is not None:
            return not self._statements
        if self._is_empty is not None:
            return self._is_empty
        return self.checksum == EMPTY_CHECKSUM

    @property
    def is_blank(self) -> bool:
        """No statements and no comments either: unfinished work (what ``keel new``
        leaves), never run (SPEC 12)."""
        return not self.is_noop and self.is_empty


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

    class Loader(Protocol):
        """Reads again, when it must run, a file whose text keel does not keep (discovery)."""

        def parse(self, file: MigrationFile) -> MigrationFile:
            """The file read and parsed whole."""
            ...

        def split(self, file: MigrationFile, rollback: bool) -> tuple[Statement, ...]:
            """The statements of one section of a ``detached`` file, split from where it is."""
            ...

        def sums(self, file: MigrationFile) -> tuple[str, str | None, str]:
            """A ``detached`` file's checksum, rollback checksum and digest."""
            ...


class MigrationFile(Value):
    """A parsed migration file. ``path`` is relative to the migrations directory.

    ``identity`` (see the function) is what files and history rows are matched on.
    """

    __slots__ = (
        "_content",
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
    loader: Loader | None
    identity: Identity  # matched on for every file and row, many times per command
    # A file whose text is not kept holds in ``_upgrade``, instead of its sections: the
    # history row its bytes are exactly those of (``from_row``; lines unknown: 0), or its
    # sections' lines, places and emptiness, a fingerprint of its bytes and, once first
    # asked for, its checksums and digest, packed (``detached``: two Sections and their
    # text cost ~900 bytes a file, these bytes ~170). Its sections are made when asked for.
    _upgrade: Section | HistoryRow | bytes
    _rollback: Section | None
    _digest: str | None
    _content: bytes | None

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
        loader: Loader | None = None,
        *,
        content: bytes | None = None,
    ) -> None:
        """``content``, the file's bytes as read, stands for ``digest`` until it is first
        read."""
        self.path = path
        self.kind = kind
        self.version = version
        self.description = description
        self._upgrade = upgrade
        self._rollback = rollback
        self.transactional = transactional
        self._digest = digest
        self._content = content
        self.loader = loader
        self.identity = identity(version, kind, description)

    @classmethod
    def from_row(cls, row: HistoryRow, loader: Loader) -> MigrationFile:
        """The file ``row.script``, byte for byte as ``row`` was applied from: the row's
        version, kind, description, checksums and digest are the file's, shared rather
        than copied (10 000 files each cost only this object)."""
        # transactional: discovery parses every file that has directives
        return cls._stand_in(
            row.script, row.kind, row.version, row.description, row, True, loader, row.identity
        )

    def detached(self, loader: Loader, fingerprint: int, profile: int) -> MigrationFile:
        """This file without its text, which ``loader`` reads again when the file must run
        or its checksums are first asked for (``sums``: status of pending files never asks);
        ``fingerprint``, ``hash`` of its bytes, tells the loader they are still the ones
        parsed, and ``profile`` which of its split profiles parsing used. Itself when its
        sections cannot be found again from their span alone (a custom delimiter: such
        files are few)."""
        up, down = self._upgrade, self._rollback
        span = up.span if isinstance(up, Section) else None
        if span is None or span.delimiter is not None or span.end >= 1 << 32:
            return self
        if down is None:
            flags, down_line, down_start, down_end = 0, 0, 0, 0
        elif down.span is None or down.span.delimiter is not None or down.span.end >= 1 << 32:
            return self
        else:
            flags = _ROLLBACK | (_ROLLBACK_NOOP if down.is_noop else 0)
            flags |= _ROLLBACK_BLANK if down.is_blank else 0
            down_line, down_start, down_end = down.line, down.span.start, down.span.end
        packed = _PLACES.pack(
            flags | (_UPGRADE_NOOP if self.is_noop else 0),
            profile,
            fingerprint,
            span.first_line,
            down_line,
            span.start,
            span.end,
            down_start,
            down_end,
        )
        return MigrationFile._stand_in(
            self.path,
            self.kind,
            self.version,
            self.description,
            packed,
            self.transactional,
            loader,
            self.identity,
        )

    @classmethod
    def _stand_in(
        cls,
        path: str,
        kind: Kind,
        version: Version | None,
        description: str,
        sections: HistoryRow | bytes,
        transactional: bool,
        loader: Loader,
        identity: Identity,
    ) -> MigrationFile:
        """A file without its text: ``sections`` (its history row, or its packed places)
        stands for both sections, which ``loader`` reads again when they are needed."""
        file = cls.__new__(cls)
        file.path = path
        file.kind = kind
        file.version = version
        file.description = description
        file._upgrade = sections
        file._rollback = None
        file.transactional = transactional
        file._digest = None
        file._content = None
        file.loader = loader
        file.identity = identity
        return file

    def parsed(self) -> MigrationFile:
        """This file with its statements (parsing it now if it was left unparsed)."""
        return self if self.loader is None else self.loader.parse(self)

    @property
    def upgrade(self) -> Section:
        up = self._upgrade
        if isinstance(up, Section):
            return up
        if isinstance(up, bytes):
            line = _PLACES.unpack_from(up)[3]
            noop = bool(up[0] & _UPGRADE_NOOP)  # a blank upgrade does not parse
            part = _Part(self, False)
            return Section(None, _Sum(self, False), line, part, is_empty=noop, is_noop=noop)
        return Section(None, up.checksum, 0, _Part(self, False), is_noop=up.is_noop)

    @property
    def rollback(self) -> Section | None:
        up = self._upgrade
        if isinstance(up, Section):
            return self._rollback
        if isinstance(up, bytes):
            if not up[0] & _ROLLBACK:
                return None
            line = _PLACES.unpack_from(up)[4]
            noop = bool(up[0] & _ROLLBACK_NOOP)
            empty = noop or bool(up[0] & _ROLLBACK_BLANK)
            part = _Part(self, True)
            return Section(None, _Sum(self, True), line, part, is_empty=empty, is_noop=noop)
        checksum = up.rollback_checksum
        return None if checksum is None else Section(None, checksum, 0, _Part(self, True))

    @property
    def digest(self) -> str | None:
        """SHA-256 of the file's bytes, as read, and of its checksums (``file_digest``),
        when the bytes are known."""
        up = self._upgrade
        if isinstance(up, bytes):
            return _digest(self._sums(up))
        if isinstance(up, HistoryRow):
            return up.digest
        # Computed on first use: it covers the checksums, which are computed lazily too.
        # The bytes wait until then (the text they decode to is kept anyway, for splitting).
        if self._digest is None and self._content is not None:
            self._digest = file_digest(self._content, self.checksum, self.rollback_checksum)
            self._content = None
        return self._digest

    @property
    def label(self) -> str:
        return label(self.version, self.kind)

    @property
    def checksum(self) -> str:
        up = self._upgrade
        return _checksum(self._sums(up)) if isinstance(up, bytes) else up.checksum

    @property
    def rollback_checksum(self) -> str | None:
        up = self._upgrade
        if isinstance(up, Section):
            return self._rollback.checksum if self._rollback is not None else None
        if isinstance(up, bytes):
            return _rollback_checksum(self._sums(up)) if up[0] & _ROLLBACK else None
        return up.rollback_checksum

    @property
    def is_noop(self) -> bool:
        """The upgrade section holds only comments: a deliberate no-op (SPEC 12)."""
        up = self._upgrade
        if isinstance(up, bytes):  # asked of every file by status: no section made
            return bool(up[0] & _UPGRADE_NOOP)
        return up.is_noop

    @property
    def rollback_is_noop(self) -> bool:
        """The rollback section holds only comments: rolling back changes nothing."""
        up = self._upgrade
        if isinstance(up, bytes):  # asked of every file by status, as is_noop
            return bool(up[0] & _ROLLBACK_NOOP)
        if isinstance(up, Section):
            return self._rollback is not None and self._rollback.is_noop
        # A history row's stand-in: discovery parses every file with an empty section.
        return False

    @property
    def can_roll_back(self) -> bool:
        """A rollback section with statements, or with comments only (a deliberate no-op):
        a blank one is an unfinished file, not a promise that there is nothing to undo."""
        up = self._upgrade
        if isinstance(up, Section):
            return self._rollback is not None and not self._rollback.is_blank
        if isinstance(up, bytes):  # asked of every file by status: no checksum needed
            return up[0] & (_ROLLBACK | _ROLLBACK_BLANK) == _ROLLBACK
        sums = up._sums
        if isinstance(sums, bytes):  # no hex: asked of every file by status
            return bool(sums[0] & _HAS_ROLLBACK) and sums[33:65] != _EMPTY
        checksum = sums[1]
        return checksum is not None and checksum != EMPTY_CHECKSUM

    def place(self, rollback: bool) -> tuple[int, int, int, int] | None:
        """Where a ``detached`` file's section is: the profile parsing split it with, its
        start and end offsets in the text and its first line; None for other files and
        for a rollback section it does not have."""
        up = self._upgrade
        if not isinstance(up, bytes) or (rollback and not up[0] & _ROLLBACK):
            return None
        _, profile, _, line, down_line, start, end, down_start, down_end = _PLACES.unpack_from(up)
        if rollback:
            return profile, down_start, down_end, down_line
        return profile, start, end, line

    def holds(self, data: bytes) -> bool:
        """``data``, the file read again, are its bytes as parsed."""
        up = self._upgrade
        if isinstance(up, bytes):
            fingerprint: int = _PLACES.unpack_from(up)[2]
            return hash(data) == fingerprint
        return file_digest(data, self.checksum, self.rollback_checksum) == self.digest

    def recorded_by(self, row: HistoryRow) -> bool:
        """This file is ``row``'s own (``from_row``): their checksums are the same ones."""
        return self._upgrade is row

    def _sums(self, up: bytes) -> Sums:
        """A detached file's packed checksums and digest, read from the file on first use."""
        if len(up) > _PLACES_END:
            return up[_PLACES_END:]
        assert self.loader is not None  # a detached file has one
        sums = _pack(*self.loader.sums(self))
        if isinstance(sums, bytes):  # keel's own hex always packs
            self._upgrade = up + sums
        return sums


# A detached file's flags: it has a rollback section; that section is blank (SPEC 12);
# it holds only comments; its upgrade section holds only comments.
_ROLLBACK, _ROLLBACK_BLANK, _ROLLBACK_NOOP, _UPGRADE_NOOP = 1, 2, 4, 8
# Its packed bytes: flags, profile, fingerprint (8), upgrade and rollback lines, upgrade
# start and end, rollback start and end (4 each), then its sums once known (``_pack``).
_PLACES = struct.Struct("<BBqIIIIII")
_PLACES_END = _PLACES.size


class _Sum:
    """A checksum of a detached file, for its section to compute when first asked for."""

    __slots__ = ("file", "rollback")

    def __init__(self, file: MigrationFile, rollback: bool) -> None:
        self.file = file
        self.rollback = rollback

    def __call__(self) -> str:
        checksum = self.file.rollback_checksum if self.rollback else self.file.checksum
        assert checksum is not None  # a rollback section is made only if there is one
        return checksum


class _Part:
    """The statements of one section of a file whose text is not kept: split from the
    file read again when asked for (made with the section, which is made on access)."""

    __slots__ = ("file", "rollback")

    def __init__(self, file: MigrationFile, rollback: bool) -> None:
        self.file = file
        self.rollback = rollback

    def __call__(self) -> tuple[Statement, ...]:
        loader = self.file.loader
        assert loader is not None  # the file is detached or a history row's
        # A detached file's section is split alone: parsing the whole file again would
        # double the parsing an upgrade does.
        if self.file.place(self.rollback) is not None:
            return loader.split(self.file, self.rollback)
        parsed = loader.parse(self.file)
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
