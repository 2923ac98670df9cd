"""Walk the migrations directory, read and decode every ``.sql`` file, and parse it.

Problems with names or contents are collected (validation reports them all at once);
files and folders that cannot be read, files that cannot be decoded, symbolic links that
cannot be followed (or dangle, named ``*.sql``) and symbolic-link loops stop keel with
exit 2, since nothing can be checked: an unread folder is never taken for an empty one.
"""

from __future__ import annotations

import _thread
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlkeel.core.checksum import file_digest
from sqlkeel.core.model import Direction, HistoryRow, Kind, MigrationFile, Section, Span, State
from sqlkeel.core.parsing import outline_migration, parse_migration, span_checksum, split_span
from sqlkeel.core.splitter import SplitOptions, Statement
from sqlkeel.core.values import Value
from sqlkeel.core.versions import Version
from sqlkeel.errors import ConfigError, Problem, SourceError


class FileReadError(ConfigError):
    """A migration file could not be read or is not UTF-8 (exit 2)."""


class Discovery(Value):
    """The files of a ``MigrationSet`` for one history, and the problems found; ``source``
    reads what the files do not hold (their statements; checksums not yet known)."""

    __slots__ = ("files", "problems", "source")
    _compared = ("files", "problems")
    files: tuple[MigrationFile, ...]
    problems: tuple[Problem, ...]
    source: MigrationSet

    def __init__(
        self, files: tuple[MigrationFile, ...], problems: tuple[Problem, ...], source: MigrationSet
    ) -> None:
        self.files = files
        self.problems = problems
        self.source = source


def _unreadable_folder(path: str, exc: OSError) -> FileReadError:
    return FileReadError(
        f"cannot read folder {path}: {exc.strerror} (errno {exc.errno}). keel does not take a "
        "folder it cannot read for an empty one. Fix: give keel's user read and execute "
        "permission on it (and on the folders above it), or run keel as a user who has them."
    )


def _check_directory(directory: Path) -> None:
    """Raise ConfigError unless ``directory`` is a folder keel can stat."""
    try:
        st = os.stat(directory)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:  # e.g. a parent folder keel may not enter: not "missing"
        raise _unreadable_folder(os.fspath(directory), exc) from exc
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise ConfigError(
            f"the migrations directory {directory} does not exist. Fix: run 'keel init' to "
            "create it, or point --dir / migrations_dir at your migrations."
        )


def _unreachable_link(link: str, exc: OSError) -> FileReadError:
    return FileReadError(
        f"cannot follow the symbolic link {link} -> {_link_target(link)}: {exc.strerror} "
        f"(errno {exc.errno}). keel does not skip what a link in the migrations directory "
        "leads to: the migrations behind it would be taken for missing. Fix: give keel's "
        "user read and execute permission on the link's target and the folders above it, "
        "or re-point the link at a file or folder that exists, or remove it."
    )


def _dangling_migration(link: str) -> FileReadError:
    return FileReadError(
        f"the symbolic link {link} -> {_link_target(link)} is named like a migration file, "
        "but what it points to does not exist (errno 2). "
        "keel does not skip a migration file it cannot find. Fix: re-point the link at the "
        "migration file, or remove the link."
    )


def _link_target(link: str) -> str:
    try:
        return os.readlink(link)
    except OSError:  # pragma: no cover - the link was just listed in its folder
        return "(unreadable target)"


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """Whether keel descends into ``entry``. A symbolic link is stat'ed here: scandir's
    ``is_dir()`` (and so os.walk) takes a link whose target cannot be stat'ed for a plain
    file, silently, and the migrations behind it would never be read (issue 10, 2.2).
    A dangling link is left alone unless it is named like a migration file."""
    if not entry.is_symlink():
        return entry.is_dir(follow_symlinks=False)
    try:
        mode = os.stat(entry.path).st_mode
    except FileNotFoundError as exc:
        if entry.name.lower().endswith(".sql"):
            raise _dangling_migration(entry.path) from exc
        return False
    except OSError as exc:  # EACCES on the way to the target, ELOOP, ENOTDIR, ...
        raise _unreachable_link(entry.path, exc) from exc
    return stat.S_ISDIR(mode)


def _entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            # In name order: of two problems in one folder, the same is reported each run.
            return sorted(listing, key=lambda entry: entry.name)
    except OSError as exc:  # os.walk would skip a folder it cannot list, silently
        raise _unreadable_folder(folder, exc) from exc


class _Folders:
    """The folders one walk has entered, by (device, inode): a folder reached twice, through
    a symbolic link, would be read twice, or forever when the link points at an ancestor."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: dict[tuple[int, int], str] = {}

    def enter(self, folder: str) -> None:
        try:
            st = os.stat(folder)
        except OSError as exc:
            raise _unreadable_folder(folder, exc) from exc
        key = (st.st_dev, st.st_ino)
        first = self.seen.setdefault(key, folder)
        if first == folder:
            return
        if folder.startswith(first.rstrip(os.sep) + os.sep):
            what = f"a symbolic link loop: {folder} leads back to {first}, which contains it"
        else:
            what = f"{folder} is the folder {first} again, through a symbolic link"
        raise ConfigError(
            f"the migrations directory holds {what}, so its files would be read more than "
            "once. Fix: remove or re-point that link; a folder may appear only once below "
            "the migrations directory."
        )


def sql_paths(directory: Path) -> list[str]:
    """Relative POSIX paths of every ``.sql`` file below ``directory``, sorted.

    Symbolic links to folders are followed, as links to files are; a folder reached twice
    (a link loop), a folder that cannot be read, a link that cannot be followed and a
    dangling link named ``*.sql`` raise ConfigError (exit 2).
    """
    _check_directory(directory)
    found: list[str] = []
    folders = _Folders()
    # Depth first and in name order, as os.walk: a folder is entered before the folders
    # below it, so a link loop is reported from the link, not from its ancestor.
    pending = [(os.fspath(directory), "")]
    while pending:
        folder, prefix = pending.pop()
        folders.enter(folder)
        below = []
        for entry in _entries(folder):
            name = entry.name
            if name.startswith("."):  # hidden: never read, so never stat'ed
                continue
            if _is_folder(entry):
                below.append(name)
            elif name.lower().endswith(".sql"):
                found.append(prefix + name)
        # String concatenation, not Path.relative_to: this runs once per file (10 000 and more).
        pending.extend((os.path.join(folder, n), f"{prefix}{n}/") for n in reversed(below))
    return sorted(found)


def read_bytes(directory: Path, path: str, directory_fd: int | None = None) -> bytes:
    """The file's bytes; raises FileReadError with the fix. ``directory_fd``, a descriptor
    open on ``directory``, spares the kernel walking the directory's path for every file."""
    try:
        # os.open/os.read: no buffered file object per file (discovery reads thousands).
        if directory_fd is None:
            fd = os.open(os.path.join(directory, path), os.O_RDONLY)
        else:
            fd = os.open(path, os.O_RDONLY, dir_fd=directory_fd)
        try:
            chunks = [os.read(fd, 1 << 16)]
            while chunks[-1]:  # a short read is not the end (network file systems)
                chunks.append(os.read(fd, 1 << 16))
        finally:
            os.close(fd)
        return b"".join(chunks) if len(chunks) > 2 else chunks[0]
    except OSError as exc:
        raise FileReadError(
            f"{path}: cannot read the migration file: {exc.strerror} (errno {exc.errno}). "
            "Fix: check that it exists and that keel's user may read it."
        ) from exc


# Byte order marks of the encodings editors on Windows offer besides UTF-8; UTF-32's
# little-endian mark starts with UTF-16's, so it comes first.
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32 when ``data`` starts with that encoding's byte order mark."""
    return next((name for bom, name in _WIDE_BOMS if data.startswith(bom)), None)


def decode(path: str, data: bytes) -> str:
    """The file decoded as UTF-8 (BOM dropped); raises FileReadError with line and fix."""
    try:
        # Plain UTF-8 first: what utf-8-sig gives valid files, at a seventh of the cost.
        text = data.decode()
        return text[1:] if text.startswith("\ufeff") else text
    except UnicodeDecodeError as exc:
        wide = _wide_encoding(data)
        if wide is not None:
            raise FileReadError(
                f"{path}: the file is saved as {wide} (it starts with a {wide} byte order "
                f"mark); keel reads migration files as UTF-8. Fix: save it as UTF-8 (e.g. "
                f"iconv -f {wide} -t UTF-8, or your editor's 'Save with encoding')."
            ) from exc
        # Offsets from plain UTF-8 count from the file's first byte, a BOM included
        # (utf-8-sig's would count from after it).
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileReadError(
            f"{path}:{line}: the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}). Fix: save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)."
        ) from exc


def _parse(
    path: str, text: str, profiles: Sequence[SplitOptions], content: bytes | None = None
) -> MigrationFile:
    """The file parsed whole with the first of ``profiles`` that can."""
    errors: list[SourceError] = []
    for options in profiles:
        try:
            return parse_migration(path, text, options, content=content)
        except SourceError as exc:
            errors.append(exc)
    # The profile that read furthest into the file is the one whose complaint is real.
    raise max(errors, key=lambda e: e.line)


def _outline(
    path: str, text: str, profiles: Sequence[SplitOptions], fingerprint: int
) -> MigrationFile:
    """The file checked with the first of ``profiles`` that can, its text not kept."""
    errors: list[SourceError] = []
    for index, options in enumerate(profiles):
        try:
            return outline_migration(path, text, options, fingerprint=fingerprint, profile=index)
        except SourceError as exc:
            errors.append(exc)
    raise max(errors, key=lambda e: e.line)


def _has_directive_words(data: bytes) -> bool:
    """The file may hold a ``delimiter=`` or ``transaction=`` directive (or only mention
    them: such files are merely parsed when they need not be)."""
    lowered = data.lower()
    return b"delimiter" in lowered or b"transaction" in lowered


def _is_below(
    version: Version | None, top: list[Version | None], history: tuple[HistoryRow, ...]
) -> bool:
    """``version`` lies below the head of ``history`` (``top`` keeps the head once found)."""
    if version is None:
        return False
    if not top:
        top.append(max((row.version for row in history if row.version is not None), default=None))
    return top[0] is not None and version < top[0]


class MigrationSet:
    """The migration files of one directory, found once (``sql_paths``) and matched
    against any number of histories (``match``): one per command, shareable between
    databases and threads. It is also the files' ``Source``: it reads a file again for its
    statements, or for checksums not yet known, and refuses a file that changed since.

    Each file is parsed at most once whatever the number of histories; a file byte for
    byte as a history row recorded it is not parsed at all for that history (issue 3:
    ``status`` with 10 000 files).
    """

    def __init__(self, directory: Path, profiles: Sequence[SplitOptions]) -> None:
        """Walks ``directory`` now; raises ConfigError as ``sql_paths``."""
        self.directory = directory
        self.profiles = tuple(profiles)
        self.paths = tuple(sql_paths(directory))
        # Parsed files (or their problems), in the order of ``paths``: another history, or
        # another thread, reuses them while the bytes are the same (a file's fingerprint;
        # a problem's in ``_problem_prints``). A list, not a dict: 10 000 entries cost
        # 80 KB rather than 1 MB. Guarded by ``_lock``; parsing runs outside it (it is pure).
        self._parsed: list[MigrationFile | Problem | None] = [None] * len(self.paths)
        self._problem_prints: dict[int, int] = {}
        # _thread, not threading: the latter costs every command ~1 ms to import.
        self._lock = _thread.allocate_lock()

    # -- discovery -----------------------------------------------------------------------
    def match(self, history: Iterable[HistoryRow] = ()) -> Discovery:
        """Every file, for a database whose history is ``history``: a file exactly as an
        applied row recorded it is that row's (``MigrationFile.from_row``), others parsed;
        a file that has a row of its identity, or lies below the head, has its checksums
        known (they are compared, or shown); pending files do not (they are computed only
        for what runs: ``with_checksums``).
        Malformed names and files no profile parses become Problems."""
        history = tuple(history)
        known = {
            row.script: row
            for row in history
            if row.digest and row.state is State.APPLIED and row.kind is not Kind.ALWAYS
        }
        recorded = {row.identity for row in history}
        # A file below the head without a row may be one whose row was deleted by hand:
        # the fix validation offers re-inserts that row, checksums included. The head is
        # looked for only when a parsed file has no row (most runs parse none).
        top: list[Version | None] = []
        files: list[MigrationFile] = []
        problems: list[Problem] = []
        try:
            directory_fd: int | None = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:  # each file is opened by its whole path, and fails with the fix
            directory_fd = None
        try:
            for index, path in enumerate(self.paths):
                data = read_bytes(self.directory, path, directory_fd)
                fingerprint = hash(data)
                row = known.get(path)
                if (
                    row is not None
                    and row.digest == file_digest(data, row.checksum, row.rollback_checksum)
                    # With a custom delimiter (a directive, or the mysql client's
                    # DELIMITER lines) the statements are not the canonical text's,
                    # so only splitting tells whether a section is empty; and whether the
                    # file runs in a transaction only its directives tell: parse those.
                    and not _has_directive_words(data)
                    # A section whose checksum is that of no statements may be blank or
                    # hold comments (a no-op, SPEC 12): only its text tells. Such files are few.
                    and not row.has_empty_section
                ):
                    files.append(MigrationFile.from_row(row, fingerprint))
                    continue
                found = self._parse_once(index, data, fingerprint)
                if isinstance(found, Problem):
                    problems.append(found)
                elif not found.has_checksums and (
                    found.identity in recorded or _is_below(found.version, top, history)
                ):
                    files.append(self._with_checksums(found, data))
                else:
                    files.append(found)
        finally:
            if directory_fd is not None:
                os.close(directory_fd)
        return Discovery(tuple(files), tuple(problems), self)

    def _parse_once(self, index: int, data: bytes, fingerprint: int) -> MigrationFile | Problem:
        with self._lock:
            done = self._parsed[index]
            if isinstance(done, MigrationFile):
                if done.fingerprint == fingerprint:
                    return done
            elif done is not None and self._problem_prints[index] == fingerprint:
                return done
        path = self.paths[index]
        found: MigrationFile | Problem
        try:
            found = _outline(path, decode(path, data), self.profiles, fingerprint)
        except SourceError as exc:
            found = Problem(exc.code, path, exc.message, exc.fix, exc.line)
        with self._lock:
            self._parsed[index] = found
            if isinstance(found, Problem):
                self._problem_prints[index] = fingerprint
        return found

    # -- the files' source ---------------------------------------------------------------
    def _read(self, file: MigrationFile) -> bytes:
        data = read_bytes(self.directory, file.path)
        if hash(data) != file.fingerprint:
            raise FileReadError(
                f"{file.path}: the file changed while keel was running. Fix: run the command again."
            )
        return data

    def parse(self, file: MigrationFile) -> MigrationFile:
        """``file`` parsed whole: sections with their statements, and its checksums."""
        if file.is_whole:
            return file
        data = self._read(file)
        return _parse(file.path, decode(file.path, data), self.profiles, data)

    def section(self, file: MigrationFile, direction: Direction) -> Section:
        """The section ``direction`` runs, with its statements. Only that section is split:
        splitting the other one too, or computing checksums, would double the parsing an
        upgrade or a rollback does. Raises ValueError when the file has no such section."""
        place = file.place(direction)
        data = self._read(file)
        text = decode(file.path, data)
        if place is None:  # a history row's file: where its sections are is not known
            file = _outline(file.path, text, self.profiles, file.fingerprint)
            place = file.place(direction)
        if place is None:  # a custom delimiter, which a place does not hold
            whole = _parse(file.path, text, self.profiles, data)
            section = whole.upgrade if direction is Direction.UPGRADE else whole.rollback
            if section is None:
                raise ValueError(f"{file.path} has no {direction.value} section")
            return section
        profile, start, end, line = place
        span = Span(start, end, line, self.profiles[profile], None)
        is_noop = file.is_noop if direction is Direction.UPGRADE else file.rollback_is_noop
        return Section(split_span(text, span), None, line, is_noop=is_noop, span=span)

    def statements(self, file: MigrationFile, direction: Direction) -> tuple[Statement, ...]:
        return self.section(file, direction).statements

    def checksums(self, file: MigrationFile) -> tuple[str, str | None, str | None]:
        """The file's checksum, rollback checksum and digest (reading it when not known)."""
        if not file.has_checksums:
            file = self._with_checksums(file, self._read(file))
        return file.checksum, file.rollback_checksum, file.digest

    def with_checksums(self, file: MigrationFile) -> MigrationFile:
        """``file`` with its checksums known (reading it when they are not)."""
        return file if file.has_checksums else self._with_checksums(file, self._read(file))

    def _with_checksums(self, file: MigrationFile, data: bytes) -> MigrationFile:
        up = file.place(Direction.UPGRADE)
        if up is None:  # only parsing it whole finds its sections
            whole = _parse(file.path, decode(file.path, data), self.profiles, data)
            return file.with_sums(whole.checksum, whole.rollback_checksum, whole.digest)
        text = decode(file.path, data)
        options = self.profiles[up[0]]
        checksum = span_checksum(text, Span(up[1], up[2], up[3], options, None))
        down = file.place(Direction.ROLLBACK)
        rollback_checksum = None
        if down is not None:
            rollback_checksum = span_checksum(text, Span(down[1], down[2], down[3], options, None))
        return file.with_sums(
            checksum, rollback_checksum, file_digest(data, checksum, rollback_checksum)
        )


def discover(
    directory: Path,
    profiles: Sequence[SplitOptions],
    applied: Iterable[HistoryRow] = (),
) -> Discovery:
    """``MigrationSet(directory, profiles).match(applied)``: every migration file, for one
    history."""
    return MigrationSet(directory, profiles).match(applied)
