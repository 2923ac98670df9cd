"""Walk the migrations directory, read and decode every ``.sql`` file, and parse it.

Problems with names or contents are collected (validation reports them all at once);
files that cannot be read or decoded stop keel with exit 2, since nothing can be checked.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from sqlkeel.core.checksum import file_digest
from sqlkeel.core.model import HistoryRow, Kind, MigrationFile, Section, State
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.splitter import SplitOptions
from sqlkeel.core.values import Value
from sqlkeel.errors import ConfigError, Problem, SourceError


class FileReadError(ConfigError):
    """A migration file could not be read or is not UTF-8 (exit 2)."""


class Discovery(Value):
    __slots__ = ("files", "problems")
    files: tuple[MigrationFile, ...]
    problems: tuple[Problem, ...]

    def __init__(self, files: tuple[MigrationFile, ...], problems: tuple[Problem, ...]) -> None:
        self.files = files
        self.problems = problems


def sql_paths(directory: Path) -> list[str]:
    """Relative POSIX paths of every ``.sql`` file below ``directory``, sorted."""
    if not directory.is_dir():
        raise ConfigError(
            f"the migrations directory {directory} does not exist. Fix: run 'keel init' to "
            "create it, or point --dir / migrations_dir at your migrations."
        )
    found = []
    top = os.fspath(directory)
    for root, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        # String slicing, not Path.relative_to: this runs once per file (10 000 and more).
        prefix = os.path.relpath(root, top).replace(os.sep, "/") + "/" if root != top else ""
        for name in names:
            if name.lower().endswith(".sql") and not name.startswith("."):
                found.append(prefix + name)
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
            f"{path}: cannot read the migration file ({exc.strerror}). "
            "Fix: check that it exists and that keel's user may read it."
        ) from exc


def decode(path: str, data: bytes) -> str:
    """The file decoded as UTF-8 (BOM dropped); raises FileReadError with line and fix."""
    try:
        # Plain UTF-8 first: what utf-8-sig gives valid files, at a seventh of the cost.
        text = data.decode()
        return text[1:] if text.startswith("\ufeff") else text
    except UnicodeDecodeError as exc:
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
    errors: list[SourceError] = []
    for options in profiles:
        try:
            return parse_migration(path, text, options, content=content)
        except SourceError as exc:
            errors.append(exc)
    # The profile that read furthest into the file is the one whose complaint is real.
    raise max(errors, key=lambda e: e.line)


def _reload(
    directory: Path, path: str, profiles: Sequence[SplitOptions], row: HistoryRow
) -> MigrationFile:
    """Read and parse a file left unparsed, now that it must run (its bytes are not kept:
    with 10 000 files they would be most of keel's memory)."""
    data = read_bytes(directory, path)
    if file_digest(data, row.checksum, row.rollback_checksum) != row.digest:
        raise FileReadError(
            f"{path}: the file changed while keel was running. Fix: run the command again."
        )
    return _parse(path, decode(path, data), profiles, data)


def _unparsed(path: str, row: HistoryRow, load: Callable[[], MigrationFile]) -> MigrationFile:
    """A file whose bytes are those its history row was applied from: the row's checksums
    stand for its sections (SPEC 2 compares exactly those), and it is parsed only if it
    must run (a rollback)."""
    # Same path, same bytes: the row's version, kind and description are the file name's.
    rollback = Section(None, row.rollback_checksum, 0) if row.rollback_checksum else None
    return MigrationFile(
        path=path,
        kind=row.kind,
        version=row.version,
        description=row.description,
        upgrade=Section(None, row.checksum, 0),
        rollback=rollback,
        digest=row.digest,
        loader=load,
    )


def discover(
    directory: Path,
    profiles: Sequence[SplitOptions],
    applied: Iterable[HistoryRow] = (),
) -> Discovery:
    """Parse every migration file with the first of ``profiles`` that can; malformed names
    and files no profile parses become Problems.

    A file byte for byte identical to the one an ``applied`` row was recorded from is not
    parsed (issue 3: ``status`` with 10 000 files); repeatables that always run are.
    """
    known = {
        row.script: row
        for row in applied
        if row.digest and row.state is State.APPLIED and row.kind is not Kind.ALWAYS
    }
    files: list[MigrationFile] = []
    problems: list[Problem] = []
    paths = sql_paths(directory)
    try:
        directory_fd: int | None = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # each file is opened by its whole path, and fails with the fix
        directory_fd = None
    # Parsing allocates many small objects and no reference cycles; the cyclic collector
    # would rescan the growing heap again and again (~15 % of discovering 10 000 files).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in paths:
            data = read_bytes(directory, path, directory_fd)
            row = known.get(path)
            try:
                if (
                    row is not None
                    and row.digest == file_digest(data, row.checksum, row.rollback_checksum)
                    # With a custom delimiter the statements are not the canonical text's,
                    # so only splitting tells whether a section is empty: always parse.
                    and b"delimiter" not in data.lower()
                ):
                    load = partial(_reload, directory, path, profiles, row)
                    files.append(_unparsed(path, row, load))
                else:
                    files.append(_parse(path, decode(path, data), profiles, data))
            except SourceError as exc:
                problems.append(Problem(exc.code, path, exc.message, exc.fix, exc.line))
    finally:
        if collecting:
            gc.enable()
        if directory_fd is not None:
            os.close(directory_fd)
    return Discovery(tuple(files), tuple(problems))
