"""What the shared tests need to know about a database family that keel's own code does
not: how to make a fresh database and drop it, how to look into it without keel, and what
to expect of it. Each family's package has a ``harness.py`` with a ``Harness`` class; the
conformance suite (``sqlkeel.testing.conformance``) and keel's scenario tests run once per
harness, and name no family themselves (golang-migrate's ``database/testing``).

A harness is test code: it may read ``KEEL_TEST_*`` environment variables to find a server.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlkeel.dialects import ENTRIES, Entry, entry_for
from sqlkeel.dialects.base import Capabilities, Dialect

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, ClassVar

__all__ = [
    "DialectHarness",
    "HarnessUnavailable",
    "harness_for",
    "harness_of",
    "harnesses",
    "holding_lock",
]


class HarnessUnavailable(Exception):
    """The harness cannot reach what it needs (a server that is not running); the message
    says how to start it. A test fails on it, loudly: it never skips."""


class DialectHarness(ABC):
    """One family's test fixture maker and expectations."""

    # The id tests are parametrized with (pytest's [sqlite], [postgres], ...).
    id: ClassVar[str]
    # What the family's lock holder description mentions (``Dialect.lock_holder``).
    holder_mentions: ClassVar[str]
    # Whether the database says where in a statement an error is (so keel names the exact
    # line), rather than only which statement failed.
    reports_error_position: ClassVar[bool]
    # A server keel reaches over the network (its sessions can be cut or killed), rather
    # than a file this process opens.
    is_server: ClassVar[bool]

    # How many keel processes a concurrency test starts at once on one database: as many as
    # the database serialises without the test outgrowing its time budget.
    concurrent_processes: ClassVar[int] = 8
    # The driver runs a text of several commands in one call (a batch between two custom
    # delimiters); Python's sqlite3 runs one command per call.
    # Another process can open the database while a run migrates it (to read it, or to
    # wait for a lease in it); False where a writer has the file to itself.
    shared_between_processes: ClassVar[bool] = True
    runs_command_batches: ClassVar[bool] = True

    def __init__(self, entry: Entry) -> None:
        self.entry = entry

    @property
    def family(self) -> str:
        return self.entry.family

    @property
    def dialect_class(self) -> type[Dialect]:
        cls: type[Dialect] = getattr(importlib.import_module(self.entry.module), self.entry.cls)
        return cls

    @property
    def capabilities(self) -> Capabilities:
        return self.dialect_class.capabilities

    @abstractmethod
    def create_database(self, tmp_path: Path) -> str:
        """A fresh, empty database of its own (a unique name on a server, a file in
        ``tmp_path``); its URL. Raises HarnessUnavailable."""

    @abstractmethod
    def drop_database(self, url: str) -> None:
        """Drop what ``create_database`` made, whatever is still connected to it."""

    @abstractmethod
    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement on ``url`` in autocommit mode, through the driver, not keel;
        its rows, if it returns any."""

    @abstractmethod
    def tables(self, url: str) -> set[str]:
        """The names of the tables in the database's default schema (keel's own included)."""

    @abstractmethod
    def slow_statement(self, seconds: float) -> str:
        """A statement that runs on the database for about ``seconds`` and changes nothing."""

    def concatenation(self, *parts: str) -> str:
        """SQL joining the text expressions ``parts`` into one (the standard's ``||``)."""
        return " || ".join(parts)

    def drop_index_statement(self, index: str, table: str) -> str:
        """The statement dropping ``index`` of ``table`` (SQL's own spelling by default)."""
        return f"DROP INDEX {index}"

    def lock_file(self, url: str) -> Path | None:
        """The file whose OS lock is keel's migration lock on ``url`` (a family whose
        ``capabilities.lock`` is "file"); None where the lock lives on a server."""
        return None

    # -- a server's sessions: what the fault tests watch and cut. A file family has none
    # (its work runs in the keel process), so the defaults hold for it; a server family
    # implements each.
    def running_sessions(self, url: str, fragment: str) -> list[object]:
        """The ids of the server sessions on ``url``'s database (the asking one aside) that
        are running a statement whose text holds ``fragment``, in any case."""
        if self.is_server:
            raise NotImplementedError(f"{type(self).__module__}: running_sessions")
        return []

    def lock_session(self, url: str) -> object | None:
        """The id of the server session holding keel's migration lock on ``url``'s
        database, or None when no session holds it."""
        raise NotImplementedError(f"{type(self).__module__}: lock_session")

    def end_session(self, url: str, session: object) -> None:
        """Have the server end ``session`` (an id from ``running_sessions`` or
        ``lock_session``), as an administrator does: its client finds its connection gone."""
        raise NotImplementedError(f"{type(self).__module__}: end_session")

    def release_locks_statement(self) -> str:
        """A statement with which a migration lets go of every session lock its own
        session holds, keel's included (the fence must notice)."""
        raise NotImplementedError(f"{type(self).__module__}: release_locks_statement")


def harness_for(entry: Entry) -> DialectHarness | None:
    """The harness of a registry entry: the ``Harness`` class of its package's
    ``harness`` module, or None where the package has none."""
    try:
        module = importlib.import_module(f"{entry.module}.harness")
    except ModuleNotFoundError:
        return None
    harness: DialectHarness = module.Harness(entry)
    return harness


def harness_of(url: str) -> DialectHarness:
    """The harness of the family a database URL names (by its scheme)."""
    entry = entry_for(url.partition(":")[0].partition("+")[0])
    harness = harness_for(entry) if entry is not None else None
    if harness is None:
        raise LookupError(f"no harness for the database URL scheme of {url.partition(':')[0]!r}")
    return harness


def harnesses() -> Iterator[DialectHarness]:
    """Every registered family's harness, in registry order."""
    for entry in ENTRIES:
        harness = harness_for(entry)
        if harness is not None:
            yield harness


@contextmanager
def holding_lock(
    dialect: Dialect,
    *,
    timeout: float = 0,
    wait: bool = False,
    on_wait: Callable[[Any], None] | None = None,
) -> Iterator[None]:
    """Hold ``dialect``'s migration lock on a session of its own, as a running keel does."""
    session = dialect.connect()
    try:
        with dialect.session_lock(lambda: session, timeout=timeout, wait=wait, on_wait=on_wait):
            yield
    finally:
        session.close()
