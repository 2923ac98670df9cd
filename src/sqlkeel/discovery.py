"""Walk the migrations directory, read and decode every ``.sql`` file, and parse it.

Problems with names or contents are collected (validation reports them all at once);
files that cannot be read or decoded stop keel with exit 2, since nothing can be checked.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from sqlkeel.core.checksum import file_digest
from sqlkeel.core.model import HistoryRow, Kind, MigrationFile, State
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.splitter import SplitOptions, Statement, split_statements
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


def read_bytes(directory: Path, path: str) -> bytes:
    """The file's bytes; raises FileReadError with the fix."""
    try:
        # os.open/os.read: no buffered file object per file (discovery reads thousands).
        fd = os.open(os.path.join(directory, path), os.O_RDONLY)
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
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
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


class _Reader:
    """Reads and parses again a file whose text keel does not keep (with 10 000 files, the
    texts and what refers to them would be most of keel's memory), when it must run. One
    per discovery, shared by its files. The file's digest, over its bytes and the checksums
    it was checked with, tells whether it is still the file that was checked."""

    __slots__ = ("directory", "profiles")

    def __init__(self, directory: Path, profiles: Sequence[SplitOptions]) -> None:
        self.directory = directory
        self.profiles = profiles

    def _read(self, file: MigrationFile) -> bytes:
        data = read_bytes(self.directory, file.path)
        if file_digest(data, file.checksum, file.rollback_checksum) != file.digest:
            raise FileReadError(
                f"{file.path}: the file changed while keel was running. Fix: run the command again."
            )
        return data

    def __call__(self, file: MigrationFile) -> MigrationFile:
        data = self._read(file)
        return _parse(file.path, decode(file.path, data), self.profiles, data)

    def split(self, file: MigrationFile, rollback: bool) -> tuple[Statement, ...] | None:
        """The statements of one section, split from where ``_where`` recorded it is
        (as parsing splits it); None when that is not known."""
        where = file.split_at()
        if len(where) != _WHERE_SIZE:
            return None
        at = 9 if rollback else 1
        start = int.from_bytes(where[at : at + 4], "little")
        end = int.from_bytes(where[at + 4 : at + 8], "little")
        section = file.rollback if rollback else file.upgrade
        if section is None:
            return ()
        text = decode(file.path, self._read(file))
        return split_statements(text[start:end], self.profiles[where[0]], first_line=section.line)


_WHERE_SIZE = 17  # profile, then upgrade start and end, rollback start and end


def _where(file: MigrationFile, text: str, profiles: Sequence[SplitOptions]) -> bytes:
    """Where ``file``'s sections are in ``text`` and which profile split them, read from
    the splitting parsing deferred (its arguments: text, start, end, options, first line,
    delimiter); empty when they are not that (the file is then parsed again whole)."""
    found: list[int] = []
    profile: int | None = None
    for section in (file.upgrade, file.rollback):
        if section is None:
            found += [0, 0]
            continue
        split = section.splitter
        if not isinstance(split, partial) or split.keywords or len(split.args) != 6:
            return b""
        body, start, end, options, _line, delimiter = split.args
        if body is not text or delimiter is not None:
            return b""
        index = next((i for i, p in enumerate(profiles) if p is options), None)
        if index is None or profile not in (None, index):
            return b""
        profile = index
        found += [start, end]
    if profile is None or profile > 255 or max(found) >= 1 << 32:
        return b""
    return bytes((profile,)) + b"".join(n.to_bytes(4, "little") for n in found)


def _has_directive_words(data: bytes) -> bool:
    """The file may hold a ``delimiter=`` or ``transaction=`` directive (or only mention
    them: such files are merely parsed when they need not be)."""
    lowered = data.lower()
    return b"delimiter" in lowered or b"transaction" in lowered


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
    reader = _Reader(directory, profiles)
    files: list[MigrationFile] = []
    problems: list[Problem] = []
    # Parsing allocates many small objects and no reference cycles; the cyclic collector
    # would rescan the growing heap again and again (~15 % of discovering 10 000 files).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in sql_paths(directory):
            data = read_bytes(directory, path)
            row = known.get(path)
            try:
                if (
                    row is not None
                    and row.digest == file_digest(data, row.checksum, row.rollback_checksum)
                    # With a custom delimiter the statements are not the canonical text's,
                    # so only splitting tells whether a section is empty; and whether the
                    # file runs in a transaction only its directives tell: parse those.
                    and not _has_directive_words(data)
                ):
                    files.append(MigrationFile.from_row(row, reader))
                else:
                    text = decode(path, data)
                    parsed = _parse(path, text, profiles, data)
                    files.append(parsed.detached(reader, _where(parsed, text, profiles)))
            except SourceError as exc:
                problems.append(Problem(exc.code, path, exc.message, exc.fix, exc.line))
    finally:
        if collecting:
            gc.enable()
    return Discovery(tuple(files), tuple(problems))
