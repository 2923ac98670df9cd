"""Walk the migrations directory, read and decode every ``.sql`` file, and parse it.

Problems with names or contents are collected (validation reports them all at once);
files that cannot be read or decoded stop keel with exit 2, since nothing can be checked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlkeel.core.model import MigrationFile
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.splitter import SplitOptions
from sqlkeel.errors import ConfigError, Problem, SourceError


class FileReadError(ConfigError):
    """A migration file could not be read or is not UTF-8 (exit 2)."""


@dataclass(frozen=True)
class Discovery:
    files: tuple[MigrationFile, ...]
    problems: tuple[Problem, ...]


def sql_paths(directory: Path) -> list[str]:
    """Relative POSIX paths of every ``.sql`` file below ``directory``, sorted."""
    if not directory.is_dir():
        raise ConfigError(
            f"the migrations directory {directory} does not exist. Fix: run 'keel init' to "
            "create it, or point --dir / migrations_dir at your migrations."
        )
    found = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.lower().endswith(".sql") and not name.startswith("."):
                found.append(Path(root, name).relative_to(directory).as_posix())
    return sorted(found)


def read_text(directory: Path, path: str) -> str:
    """The file decoded as UTF-8 (BOM dropped); raises FileReadError with line and fix."""
    full = directory / path
    try:
        data = full.read_bytes()
    except OSError as exc:
        raise FileReadError(
            f"{path}: cannot read the migration file ({exc.strerror}). "
            "Fix: check that it exists and that keel's user may read it."
        ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileReadError(
            f"{path}:{line}: the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}). Fix: save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)."
        ) from exc


def _parse(path: str, text: str, profiles: Sequence[SplitOptions]) -> MigrationFile:
    errors: list[SourceError] = []
    for options in profiles:
        try:
            return parse_migration(path, text, options)
        except SourceError as exc:
            errors.append(exc)
    # The profile that read furthest into the file is the one whose complaint is real.
    raise max(errors, key=lambda e: e.line)


def discover(directory: Path, profiles: Sequence[SplitOptions]) -> Discovery:
    """Parse every migration file with the first of ``profiles`` that can; malformed names
    and files no profile parses become Problems."""
    files: list[MigrationFile] = []
    problems: list[Problem] = []
    for path in sql_paths(directory):
        text = read_text(directory, path)
        try:
            files.append(_parse(path, text, profiles))
        except SourceError as exc:
            problems.append(Problem(exc.code, path, exc.message, exc.fix, exc.line))
    return Discovery(tuple(files), tuple(problems))
