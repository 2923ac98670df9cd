"""What every tool adapter provides: its file format, its commands, its history table.

An adapter only builds values (files on disk, argument vectors); running, timing and
checking belong to the harness.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar


class Action(enum.Enum):
    """A command the harness asks a tool to run."""

    HELP = "help"
    STATUS = "status"
    UPGRADE = "upgrade"
    ROLLBACK_ALL = "rollback-all"


class Kind(enum.Enum):
    """A measured scenario; several share one Action (no-op upgrade is an upgrade)."""

    HELP = "help"
    STATUS_EMPTY = "status-empty"
    UPGRADE = "upgrade"
    NOOP_UPGRADE = "noop-upgrade"
    STATUS = "status"
    ROLLBACK_ALL = "rollback-all"

    @property
    def action(self) -> Action:
        return {
            Kind.HELP: Action.HELP,
            Kind.STATUS_EMPTY: Action.STATUS,
            Kind.UPGRADE: Action.UPGRADE,
            Kind.NOOP_UPGRADE: Action.UPGRADE,
            Kind.STATUS: Action.STATUS,
            Kind.ROLLBACK_ALL: Action.ROLLBACK_ALL,
        }[self]


@dataclass(frozen=True)
class Database:
    """One database a command works on: a SQLite or DuckDB file, or a PostgreSQL database."""

    dialect: str  # "sqlite", "postgresql" or "duckdb"
    path: Path | None = None  # SQLite, DuckDB
    host: str = ""  # PostgreSQL, as the remaining fields
    port: int = 0
    user: str = ""
    name: str = ""

    def sqlite_file(self) -> Path:
        """The absolute path of the database file (SQLite, DuckDB); raises ValueError on
        PostgreSQL."""
        if self.path is None:
            raise ValueError(f"{self.dialect} database has no file")
        return self.path.resolve()

    def postgres_url(self, scheme: str = "postgresql", query: str = "") -> str:
        """A URL such as postgresql://user@host:port/name, with the given scheme."""
        url = f"{scheme}://{self.user}@{self.host}:{self.port}/{self.name}"
        return f"{url}?{query}" if query else url


@dataclass(frozen=True)
class Project:
    """The generated workload written in one tool's format."""

    root: Path  # the tool's working directory
    migrations: Path  # the folder holding the migration files
    size: int  # number of migrations


@dataclass(frozen=True)
class Command:
    """An argument vector with its working directory and extra environment."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)


class Adapter(ABC):
    """One migration tool: writes the workload in its format and knows its commands.

    `unsupported` maps each scenario the tool cannot run as one command to the reason;
    the harness reports those cells as n/a and never runs them.
    """

    name: ClassVar[str]
    package: ClassVar[str | None]  # distribution whose version is reported, None: no venv
    history_table: ClassVar[str]
    unsupported: ClassVar[Mapping[Kind, str]] = {}
    # The databases the tool can migrate; the others' cells stay empty.
    databases: ClassVar[frozenset[str]] = frozenset({"sqlite", "postgresql"})

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir

    def executable(self, name: str) -> str:
        return str(self.bin_dir / name)

    @abstractmethod
    def write_project(self, parent: Path, size: int) -> Project:
        """Write `size` migrations under `parent` (a fresh folder) and describe them."""

    @abstractmethod
    def command(self, action: Action, db: Database | None, project: Project) -> Command:
        """The command for `action`; `db` is None only for Action.HELP."""

    def supports(self, kind: Kind) -> bool:
        return kind not in self.unsupported


def require(db: Database | None) -> Database:
    """`db`, for actions that need one; raises ValueError if it is missing."""
    if db is None:
        raise ValueError("this action needs a database")
    return db
