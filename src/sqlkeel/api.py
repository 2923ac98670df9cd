"""The public Python API: settings -> dialect -> lock -> history -> plan -> execute.

The CLI is a thin layer over ``Keel``; every method returns a result value or raises a
KeelError. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlkeel.config import Settings, find_config_file, init_config_text, load_settings
from sqlkeel.core.classify import StatementClass, classify_all
from sqlkeel.core.model import (
    HistoryRow,
    Identity,
    LogRow,
    MigrationFile,
    Plan,
    State,
    Step,
)
from sqlkeel.core.parsing import parse_filename
from sqlkeel.core.plan import (
    RepairAction,
    TransactionSupport,
    find_problems,
    head,
    head_after,
    needs_statements,
    plan_baseline,
    plan_repair,
    plan_rollback,
    plan_upgrade,
    validate,
    with_classes,
)
from sqlkeel.core.status import StatusEntry, status_entries
from sqlkeel.core.values import Value
from sqlkeel.core.versions import Version
from sqlkeel.dialects import dialect_for, split_profiles_for
from sqlkeel.dialects.base import Dialect, Holder, Session, host_name
from sqlkeel.discovery import Discovery, MigrationSet, sql_paths
from sqlkeel.errors import (
    ConfigError,
    DatabaseError,
    KeelError,
    LockLost,
    Problem,
    UsageError,
    ValidationFailed,
)
from sqlkeel.execute import Listener, Runner, StepResult
from sqlkeel.history import Entry, HistoryStore, shown_name
from sqlkeel.locking import Locker, SessionLock, TableLease, UnlockResult, lock_table_for
from sqlkeel.urls import holds_password, mask_password

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, TypeVar

    _Method = TypeVar("_Method", bound=Callable[..., Any])
    _T = TypeVar("_T")


class UpgradeResult(Value):
    __slots__ = ("applied", "dry_run", "head", "plan")
    plan: Plan
    applied: tuple[StepResult, ...]
    dry_run: bool
    head: str | None  # the head version afterwards (as it would be, for a dry run)

    def __init__(
        self,
        plan: Plan,
        applied: tuple[StepResult, ...] = (),
        dry_run: bool = False,
        head: str | None = None,
    ) -> None:
        self.plan = plan
        self.applied = applied
        self.dry_run = dry_run
        self.head = head


class RollbackResult(Value):
    __slots__ = ("dry_run", "head", "plan", "rolled_back")
    plan: Plan
    rolled_back: tuple[StepResult, ...]
    dry_run: bool
    head: str | None  # the head version afterwards (as it would be, for a dry run)

    def __init__(
        self,
        plan: Plan,
        rolled_back: tuple[StepResult, ...] = (),
        dry_run: bool = False,
        head: str | None = None,
    ) -> None:
        self.plan = plan
        self.rolled_back = rolled_back
        self.dry_run = dry_run
        self.head = head


class StatusResult(Value):
    __slots__ = ("database_exists", "entries", "head", "problems")
    entries: tuple[StatusEntry, ...]
    problems: tuple[Problem, ...]
    head: str | None
    database_exists: bool  # False: an SQLite file that the first upgrade will create

    def __init__(
        self,
        entries: tuple[StatusEntry, ...],
        problems: tuple[Problem, ...],
        head: str | None,
        database_exists: bool = True,
    ) -> None:
        self.entries = entries
        self.problems = problems
        self.head = head
        self.database_exists = database_exists


class StatusStream:
    """A ``StatusResult`` whose entries are made when iterated (``entries()``, as often as
    needed), from the files and history they describe."""

    def __init__(
        self,
        files: tuple[MigrationFile, ...],
        history: tuple[HistoryRow, ...],
        problems: tuple[Problem, ...],
        head: str | None,
        database_exists: bool,
    ) -> None:
        self.files = files
        self.history = history
        self.problems = problems
        self.head = head
        self.database_exists = database_exists

    def entries(self) -> Iterator[StatusEntry]:
        return status_entries(self.files, self.history, self.problems)


class HistoryResult(Value):
    __slots__ = ("rows",)
    rows: tuple[HistoryRow, ...]

    def __init__(self, rows: tuple[HistoryRow, ...]) -> None:
        self.rows = rows


class LogResult(Value):
    __slots__ = ("rows",)
    rows: tuple[LogRow, ...]

    def __init__(self, rows: tuple[LogRow, ...]) -> None:
        self.rows = rows


class ValidateResult(Value):
    __slots__ = ("files", "offline")
    files: int
    offline: bool

    def __init__(self, files: int, offline: bool) -> None:
        self.files = files
        self.offline = offline


class RepairResult(Value):
    __slots__ = ("actions", "dry_run")
    actions: tuple[RepairAction, ...]
    dry_run: bool

    def __init__(self, actions: tuple[RepairAction, ...], dry_run: bool = False) -> None:
        self.actions = actions
        self.dry_run = dry_run


class BaselineResult(Value):
    __slots__ = ("recorded", "version")
    version: str
    recorded: tuple[str, ...]

    def __init__(self, version: str, recorded: tuple[str, ...]) -> None:
        self.version = version
        self.recorded = recorded


class LockStatusResult(Value):
    __slots__ = ("holder", "mode")
    mode: str
    holder: Holder | None

    def __init__(self, mode: str, holder: Holder | None) -> None:
        self.mode = mode
        self.holder = holder


class InitResult(Value):
    __slots__ = (
        "created",
        "existing",
        "migrations",
        "migrations_source",
        "parent_config",
        "unwritten",
    )
    created: tuple[str, ...]
    existing: tuple[str, ...]
    parent_config: Path | None  # a config of an enclosing project, now shadowed
    unwritten: tuple[str, ...]  # options not written, as keel.toml existed already
    migrations: str  # the migrations folder, created or kept
    migrations_source: str | None  # where the migrations_dir naming it came from, if not --dir

    def __init__(
        self,
        created: tuple[str, ...],
        existing: tuple[str, ...] = (),
        parent_config: Path | None = None,
        unwritten: tuple[str, ...] = (),
        migrations: str = "",
        migrations_source: str | None = None,
    ) -> None:
        self.created = created
        self.existing = existing
        self.parent_config = parent_config
        self.unwritten = unwritten
        self.migrations = migrations
        self.migrations_source = migrations_source


def _default_user() -> str:
    import getpass  # only commands that write record who ran them

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{host_name()}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _text(version: Version | None) -> str | None:
    return str(version) if version is not None else None


def _parse_version(
    text: str | Version | None, option: str, fields: tuple[str, ...] = ()
) -> Version | None:
    """``text`` as a version; ``option`` names it in the error (a ``{field}`` of
    ``fields``, which the CLI spells as its flag)."""
    if text is None or isinstance(text, Version):
        return text
    try:
        return Version.parse(str(text).lstrip("Vv"))
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a version. Fix: give digits separated by dots, "
            "e.g. 3 or 2.1 or 20261125.143022.",
            fields=fields,
        ) from None


def _migration_version(text: str | Version, option: str, fix: str) -> Version:
    """A version a migration file may have: above 0, which stands for the empty database."""
    version = _parse_version(text, option)
    assert version is not None
    if version.key == (0,):
        raise UsageError(
            f"version {text} is 0, which stands for the empty database ('keel rollback --to 0' "
            f"rolls back everything), so no migration may have it. Fix: {fix}"
        )
    return version


def _database_errors(method: _Method) -> _Method:
    """A driver error from keel's own SQL (its tables, its lock) as one paragraph naming
    them: a migration's own failures are MigrationFailed already."""

    @functools.wraps(method)
    def wrapper(self: Keel, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except KeelError:
            raise
        except Exception as exc:
            dialect = self._dialect
            if dialect is None:
                raise
            explained = dialect.explain(exc)
            if explained is not None:
                raise explained from exc
            if not isinstance(exc, dialect.error_types):
                raise
            session = self._session
            history = (session or dialect).qualify(dialect.table)
            raise DatabaseError(
                f"the database failed keel's own SQL (on {history}, its log or its lock): "
                f"{mask_password(' '.join(str(exc).split()))}. Fix: check the connection to "
                f"{dialect.url.masked()} and that its user may create, read and change "
                "keel's tables; then run 'keel status' to see what was recorded."
            ) from exc

    return wrapper  # type: ignore[return-value]


class Keel:
    """One project's migrations against one database.

    Settings come from the arguments, then the environment and the config files (SPEC 8).
    ``clock`` and ``user`` are injectable for reproducible output and tests. ``migrations``:
    a ``MigrationSet`` found once and shared by the ``Keel`` of every database it migrates.
    """

    def __init__(
        self,
        url: str | None = None,
        migrations_dir: str | os.PathLike[str] | None = None,
        *,
        table: str | None = None,
        schema: str | None = None,
        lock_timeout: float | None = None,
        lock_mode: str | None = None,
        one_round_trip: bool | None = None,
        lock_lease: float | None = None,
        config: str | os.PathLike[str] | None = None,
        settings: Settings | None = None,
        listener: Listener | None = None,
        clock: Callable[[], datetime] = _utcnow,
        user: str | None = None,
        environ: dict[str, str] | None = None,
        cwd: Path | None = None,
        migrations: MigrationSet | None = None,
    ) -> None:
        if settings is None:
            flags: dict[str, object | None] = {
                "url": url,
                "migrations_dir": str(migrations_dir) if migrations_dir is not None else None,
                "table": table,
                "schema": schema,
                "lock_timeout": lock_timeout,
                "lock_mode": lock_mode,
                "one_round_trip": one_round_trip,
                "lock_lease": lock_lease,
            }
            settings = load_settings(
                flags=flags,
                environ=environ,
                cwd=cwd,
                config_path=Path(config) if config is not None else None,
            )
        self.settings = settings
        self.listener = listener or Listener()
        self.clock = clock
        self._user = user
        self._dialect: Dialect | None = None
        self._session: Session | None = None
        self._locker: Locker | None = None
        # Files found once and shared, e.g. by the Keel of each database of a fleet (and
        # their threads); else found again by each command.
        self._migrations = migrations

    # -- plumbing ------------------------------------------------------------------------
    @property
    def user(self) -> str:
        """Who history and log rows name (``user@host``): found on first use, since the
        read-only commands never write it."""
        if self._user is None:
            self._user = _default_user()
        return self._user

    def close(self) -> None:
        """Close the database connection, if one is open."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def __enter__(self) -> Keel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> Dialect:
        if self._dialect is None:
            if self.settings.url_error:
                raise ConfigError(self.settings.url_error)
            if self.settings.url is None:
                raise ConfigError(
                    "no database URL is configured. Fix: pass --url, set KEEL_URL or "
                    'DATABASE_URL, or put url = "..." in keel.toml.'
                )
            self._dialect = dialect_for(
                self.settings.url,
                table=self.settings.table,
                schema=self.settings.schema,
                # Another process keeping the database busy is waited for as the lock is.
                busy_timeout=self.settings.lock_timeout,
                on_busy=self.listener.database_busy,
                send_whole=self.settings.one_round_trip,
                # Table mode is the mode for transaction-mode poolers (SPEC 10).
                pooled=self.settings.lock_mode == "table",
            )
        return self._dialect

    @property
    def locker(self) -> Locker:
        """The migration lock ``lock_mode`` chooses (SPEC 6 and 10)."""
        if self._locker is None:
            if self.settings.lock_mode == "table":
                from sqlkeel import __version__

                self._locker = TableLease(
                    self.dialect,
                    table=lock_table_for(self.settings.table),
                    lease=self.settings.lock_lease,
                    owner=f"keel {__version__} on {host_name()}, pid {os.getpid()}",
                    on_takeover=self._taken_over,
                )
            else:
                self._locker = SessionLock(self.dialect)
        return self._locker

    def _taken_over(self, owner: str, age: float) -> None:
        """Say and log (``lock-takeover``) that this run took over a dead holder's lease."""
        self.listener.lock_taken_over(owner, age)
        store = self._store()
        store.ensure()
        store.append_log(
            action="lock-takeover",
            at=self.clock(),
            by=self.user,
            outcome="success",
            detail=f"took over the lease of {owner}: its last heartbeat was {age:.0f} s ago, "
            f"more than lock_lease ({self.settings.lock_lease:g} s)",
        )

    def _connection(self) -> Session:
        if self._session is None:
            self._session = self.dialect.connect()
        return self._session

    def _connection_at_once(self) -> Session:
        """The session, opened without waiting for a database file another process keeps
        busy (``--no-wait``: exit 3 at once, as for the lock)."""
        if self._session is None:
            quick = self.dialect.with_busy(
                self.settings.lock_timeout, self.listener.database_busy, wait=False
            )
            self._session = quick.connect()
        return self._session

    def _store(self) -> HistoryStore:
        return HistoryStore(self._connection())

    def _exists(self) -> bool:
        # Read-only commands and dry runs must not create an SQLite file as a side effect.
        return self._session is not None or self.dialect.database_exists()

    def _read_history(self) -> tuple[HistoryRow, ...]:
        return self._store().read() if self._exists() else ()

    def _read_log(self) -> tuple[LogRow, ...]:
        return self._store().read_log() if self._exists() else ()

    def _explained(self, check: Callable[[Mapping[Version, LogRow]], _T]) -> _T:
        """``check()`` (a validation or plan); when it finds files below the head, again
        with what keel_log says of them: a file whose history row was deleted by hand is
        not a new file to rename above the head. The log is read only then."""
        try:
            return check({})
        except ValidationFailed as exc:
            logged = self._logged_below_head(exc.problems)
            if not logged:
                raise
            return check(logged)

    def _logged_below_head(self, problems: Sequence[Problem]) -> dict[Version, LogRow]:
        """keel_log's record of the versions of below-head files that it says are applied."""
        versions = {
            name.version
            for p in problems
            if p.code == "below-head" and (name := parse_filename(p.path)).version is not None
        }
        if not versions or not self._exists():
            return {}
        return self._store().applied_in_log(versions)

    def migration_set(self) -> MigrationSet:
        """The migration files of ``migrations_dir``, found now, for any history; the one
        given as ``migrations`` if one was (found once, shared between databases)."""
        shared = self._migrations
        if shared is not None:
            profiles = split_profiles_for(self.settings.url)
            if Path(shared.directory).resolve() != Path(self.settings.migrations_dir).resolve():
                raise UsageError(
                    f"the MigrationSet given as migrations lists {shared.directory}, but this "
                    f"Keel's migrations_dir is {self.settings.migrations_dir}. Fix: give a set "
                    "of that folder, or pass migrations_dir to match it."
                )
            if not set(profiles) <= set(shared.profiles):
                raise UsageError(
                    f"the MigrationSet given as migrations splits files for other databases "
                    f"than {self.settings.url.masked() if self.settings.url else 'this one'}. "
                    "Fix: build it with the split options of every database it serves, e.g. "
                    "MigrationSet(folder, sqlkeel.dialects.split_profiles_for(None))."
                )
            return shared
        return MigrationSet(self.settings.migrations_dir, split_profiles_for(self.settings.url))

    def discover(self, applied: tuple[HistoryRow, ...] = ()) -> Discovery:
        """Parse every migration file; problems are collected, not raised. Files exactly as
        an ``applied`` row recorded them are parsed only if they must run."""
        return self.migration_set().match(applied)

    def _discoverer(self) -> _Matcher:
        """The files for the history a plan is made from, matched once per distinct set of
        applied files: planning happens under the lock, after one read of the history."""
        return _Matcher(self.migration_set)

    @contextmanager
    def _locked(self, *, wait: bool) -> Iterator[HistoryStore]:
        self.dialect.check_writable()  # before waiting for a lock that could not help
        # The lock is taken on the connection that does the work: see Dialect.session_lock.
        try:
            with self.locker.hold(
                self._connection if wait else self._connection_at_once,
                timeout=self.settings.lock_timeout,
                wait=wait,
                on_wait=self.listener.lock_waiting,
            ):
                # keel's tables are created by the first command that changes something
                # (HistoryStore.ensure), never by one that validation refused.
                yield self._store()
        except BaseException:
            # Whatever state the session is in (a statement interrupted, a connection
            # lost), closing it frees the lock once the server has ended its work; the
            # next call opens a new one.
            with contextlib.suppress(Exception):
                self.close()
            raise

    @property
    def _support(self) -> TransactionSupport:
        return self.dialect.transaction_support

    def _decided(self, plan: Plan, source: MigrationSet) -> Plan:
        """``plan`` with the modes that depend on statements decided: where the database
        cannot roll back DDL, the planned sections are read and classified now (each file
        is read again when it runs), so that a migration of DML only runs in a transaction."""
        support = self._support
        if support.ddl or plan.single_transaction:
            return plan
        options = self.dialect.split_options
        classes: dict[Identity, tuple[StatementClass, ...]] = {}
        for step in plan.steps:
            if needs_statements(step.migration, support):
                statements = source.statements(step.migration, step.direction)
                classes[step.migration.identity] = classify_all(
                    [s.sql for s in statements], options
                )
        return with_classes(plan, support, classes)

    def _fence(self, session: Session) -> None:
        """Inside a transaction of keel's own writes, before its COMMIT: raise LockLost
        unless this run still holds the migration lock (as each migration's does)."""
        if not self.locker.fence(session):
            reason = self.locker.lost_reason() or ("a statement on this connection released it")
            raise LockLost(
                f"keel stopped before committing its changes to {shown_name(self.dialect)}: "
                f"the migration lock was no longer held by this run ({reason}); nothing was "
                "changed. Fix: run 'keel status' once the other run has ended, then run the "
                "command again."
            )

    def _runner(
        self, store: HistoryStore, history: tuple[HistoryRow, ...], source: MigrationSet
    ) -> Runner:
        return Runner(
            store.session,
            store,
            history,
            source,
            clock=self.clock,
            user=self.user,
            listener=self.listener,
            locker=self.locker,
        )

    def _apply(
        self,
        make_plan: Callable[[tuple[HistoryRow, ...], Mapping[Version, LogRow]], Plan],
        found: _Matcher,
        *,
        dry_run: bool,
        wait: bool,
    ) -> tuple[Plan, tuple[StepResult, ...], str | None]:
        """Lock, read history, plan, run: the plan, what ran, and the head afterwards.
        ``found`` (which ``make_plan`` uses) reads the statements of the files it runs.

        A dry run plans from the history as it is now, without the lock.
        """
        if dry_run or not self._exists() or self.dialect.capabilities.reads_beside_writers:
            # Planned first without the lock: a dry run changes nothing; a database that
            # does not exist yet is created only if there is something to run; and where
            # reads never wait for writers, nothing pending (the usual deploy) needs no lock,
            # which on PostgreSQL saves the lock's own connection. Whatever runs is planned
            # again under the lock: a concurrent run may have applied it meanwhile.
            history = self._read_history()
            try:
                plan: Plan | None = self._explained(functools.partial(make_plan, history))
            except ValidationFailed:
                # A migration another keel runs outside a transaction is recorded failed
                # until it ends: only under the lock is such a row really a failure.
                if dry_run or not any(row.state is State.FAILED for row in history):
                    raise
                plan = None
            if plan is not None and (dry_run or plan.is_empty):
                return _parsed(plan, found.source), (), _text(head_after(history, plan))
        with self._locked(wait=wait) as store:
            history = store.read()
            plan = self._explained(functools.partial(make_plan, history))
            done: list[StepResult] = []
            if not plan.is_empty:
                # Each file is read and parsed again only as its turn comes (its section's
                # statements), not all before the run: 10 000 files' texts at once would be
                # most of keel's memory.
                store.ensure()
                # The result reports the plan as it ran (up to a failure).
                plan, done = self._runner(store, history, found.source).apply(plan)
        return plan, tuple(done), _text(head_after(history, plan))

    # -- commands that write -------------------------------------------------------------
    @_database_errors
    def upgrade(
        self,
        *,
        to: str | Version | None = None,
        count: int | None = None,
        dry_run: bool = False,
        single_transaction: bool = False,
        wait: bool = True,
    ) -> UpgradeResult:
        """Apply pending migrations. ``dry_run`` plans without a lock and changes nothing.

        Raises ValidationFailed, MigrationFailed, LockTimeout, UsageError.
        """
        target = _parse_version(to, "{to}", ("to",))
        if single_transaction and not self._support.ddl:
            # Said before discovery, and naming the database (as the plan cannot).
            raise UsageError(
                f"{{single_transaction}} is not possible on {self.dialect.name}: its DDL "
                "commits implicitly, so the run could not be rolled back as a whole. Fix: run "
                "without it.",
                fields=("single_transaction",),
            )
        found = self._discoverer()

        def make_plan(history: tuple[HistoryRow, ...], logged: Mapping[Version, LogRow]) -> Plan:
            files, problems = found(history)
            plan = plan_upgrade(
                files,
                history,
                support=self._support,
                target=target,
                count=count,
                single_transaction=single_transaction,
                source_problems=problems,
                table=shown_name(self.dialect),
                logged=logged,
            )
            return self._decided(plan, found.source)

        plan, applied, top = self._apply(make_plan, found, dry_run=dry_run, wait=wait)
        return UpgradeResult(plan, applied, dry_run, top)

    @_database_errors
    def rollback(
        self,
        *,
        to: str | Version | None = None,
        count: int | None = None,
        dry_run: bool = False,
        wait: bool = True,
    ) -> RollbackResult:
        """Roll back the last ``count`` (default 1) migrations, or down to ``to`` (kept)."""
        target = _parse_version(to, "{to}", ("to",))
        found = self._discoverer()

        def make_plan(history: tuple[HistoryRow, ...], logged: Mapping[Version, LogRow]) -> Plan:
            files, problems = found(history)
            plan = plan_rollback(
                files,
                history,
                support=self._support,
                target=target,
                count=count,
                source_problems=problems,
                table=shown_name(self.dialect),
                logged=logged,
            )
            return self._decided(plan, found.source)

        plan, done, top = self._apply(make_plan, found, dry_run=dry_run, wait=wait)
        return RollbackResult(plan, done, dry_run, top)

    @_database_errors
    def repair(
        self,
        *,
        checksums: bool = False,
        missing: bool = False,
        failed: bool = False,
        rolled_back: bool = False,
        dry_run: bool = False,
        wait: bool = True,
    ) -> RepairResult:
        """Accept edited files, forget missing ones, or clear failed rows; each change is
        recorded in the log. A failed rollback is restored as applied, or with
        ``rolled_back`` recorded as rolled back."""
        source = self.migration_set()
        found = source.match()
        if found.problems:
            raise ValidationFailed(found.problems)

        def files(history: tuple[HistoryRow, ...]) -> tuple[MigrationFile, ...]:
            # Files are read again for each history: one that stopped parsing meanwhile
            # (while keel waited for the lock) is refused, never taken for a missing file.
            matched = source.match(history)
            if matched.problems:
                raise ValidationFailed(matched.problems)
            return matched.files

        if dry_run or not self._exists():
            history = self._read_history()
            actions = plan_repair(
                files(history),
                history,
                checksums=checksums,
                missing=missing,
                failed=failed,
                rolled_back=rolled_back,
            )
            if dry_run or not actions:
                return RepairResult(tuple(actions), dry_run=dry_run)
        with self._locked(wait=wait) as store:
            history = store.read()
            actions = plan_repair(
                files(history),
                history,
                checksums=checksums,
                missing=missing,
                failed=failed,
                rolled_back=rolled_back,
            )
            if not actions:
                return RepairResult(())
            store.ensure()
            session = store.session
            session.begin()
            try:
                for action in actions:
                    if action.action == "update-checksum":
                        assert action.file is not None
                        store.update_checksums(action.row, action.file)
                    elif action.action == "restore-applied":
                        store.mark(action.row.id, State.APPLIED)
                    else:
                        store.delete([action.row])
                    store.append_log(
                        action="repair",
                        at=self.clock(),
                        by=self.user,
                        outcome="success",
                        version=action.row.label,
                        script=action.row.script,
                        detail=action.description,
                    )
                self._fence(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise
        return RepairResult(tuple(actions))

    @_database_errors
    def baseline(self, version: str | Version, *, wait: bool = True) -> BaselineResult:
        """Record every versioned file up to ``version`` as applied without running it."""
        target = _migration_version(
            version, "version", "baseline at the version of one of your migration files."
        )
        found = self.discover()
        with self._locked(wait=wait) as store:
            chosen = plan_baseline(found.files, store.read(), target, found.problems)
            store.ensure()
            session = store.session
            session.begin()
            try:
                at = self.clock()
                for file in chosen:
                    store.insert(Entry(found.source.with_checksums(file), at, self.user, 0))
                store.append_log(
                    action="baseline",
                    at=at,
                    by=self.user,
                    outcome="success",
                    version=str(target),
                    detail=f"recorded {len(chosen)} migration(s) up to {target} as applied "
                    "without running them",
                )
                self._fence(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise
        return BaselineResult(str(target), tuple(f.path for f in chosen))

    # -- read-only commands --------------------------------------------------------------
    def status(self) -> StatusResult:
        """Applied then pending migrations in order, with every problem flagged."""
        found = self.status_stream()
        return StatusResult(
            tuple(found.entries()), found.problems, found.head, found.database_exists
        )

    @_database_errors
    def status_stream(self) -> StatusStream:
        """What ``status`` returns, with its entries made one at a time when asked for (the
        CLI prints 10 000 of them without keeping them)."""
        history = self._read_history()
        found = self.discover(history)
        problems = find_problems(
            found.files, history, found.problems, table=shown_name(self.dialect)
        )
        logged = self._logged_below_head(problems)
        if logged:
            problems = find_problems(
                found.files, history, found.problems, table=shown_name(self.dialect), logged=logged
            )
        return StatusStream(
            found.files, history, tuple(problems), _text(head(history)), self._exists()
        )

    @_database_errors
    def history(self) -> HistoryResult:
        """Applied (and failed) migrations in the order they were recorded."""
        return HistoryResult(self._read_history())

    @_database_errors
    def log(self) -> LogResult:
        """The audit trail of every action, oldest first."""
        return LogResult(self._read_log())

    @_database_errors
    def current(self) -> Version | None:
        """The head version, or None when nothing is applied."""
        return head(self._read_history())

    @_database_errors
    def validate(self, *, offline: bool = False) -> ValidateResult:
        """Run the checks of SPEC 4 (files only when ``offline``); raises ValidationFailed."""
        if offline:
            found = self.discover()
            problems = find_problems(found.files, (), found.problems)
            if problems:
                raise ValidationFailed(problems)
        else:
            history = self._read_history()
            found = self.discover(history)
            self._explained(
                lambda logged: validate(
                    found.files,
                    history,
                    found.problems,
                    table=shown_name(self.dialect),
                    logged=logged,
                )
            )
        return ValidateResult(len(found.files), offline)

    @_database_errors
    def lock_status(self) -> LockStatusResult:
        """Who holds the migration lock now."""
        if self.settings.lock_mode == "table" and not self._exists():
            return LockStatusResult(self.settings.lock_mode, None)
        return LockStatusResult(self.settings.lock_mode, self.locker.holder())

    @_database_errors
    def unlock(self, *, force: bool = False) -> UnlockResult:
        """Table mode: delete a lease whose heartbeat is stale (``force``: even a fresh
        one), with a log row. Session mode: nothing to do (the database frees those locks).
        Raises LockTimeout (exit 3) for a fresh lease without ``force``."""
        if self.settings.lock_mode != "table" or not self._exists():
            return UnlockResult(self.settings.lock_mode)
        result = self.locker.unlock(force=force)
        if result.removed is not None:
            store = self._store()
            store.ensure()
            how = (
                f"deleted the fresh lease of {result.removed} (--force); its last heartbeat "
                f"was {result.age:.0f} s ago"
                if result.forced
                else f"deleted the stale lease of {result.removed}; its last heartbeat was "
                f"{result.age:.0f} s ago, more than lock_lease "
                f"({self.settings.lock_lease:g} s)"
            )
            store.append_log(
                action="unlock", at=self.clock(), by=self.user, outcome="success", detail=how
            )
        return result

    # -- files ---------------------------------------------------------------------------
    def new(self, description: str, *, version: str | None = None) -> Path:
        """Create an empty versioned migration file; refuses a version at or below the
        highest existing file."""
        slug = re.sub(r"[^A-Za-z0-9]+", "_", description).strip("_")
        if not slug:
            raise UsageError(
                f"description {description!r} has no letters or digits. "
                'Fix: describe the change, e.g. keel new "add users".'
            )
        directory = self.settings.migrations_dir
        existing = []
        for path in sql_paths(directory):
            try:
                name = parse_filename(path)
            except KeelError:
                continue
            if name.version is not None:
                existing.append((name.version, path))
        chosen = (
            _migration_version(version, "--version", "pick a version above 0, e.g. --version 1.")
            if version is not None
            else Version.parse(self.clock().astimezone(timezone.utc).strftime("%Y%m%d.%H%M%S"))
        )
        if existing:
            top, top_path = max(existing)
            if chosen <= top and version is None:
                # The timestamp of the same second as the last `keel new` (or a top file
                # from a clock that ran ahead): the next version above it, not an error
                # about a version the user never chose.
                chosen = _next_version(top)
            elif chosen <= top:
                raise UsageError(
                    f"version {chosen} is at or below the highest existing file {top_path} "
                    f"(version {top}); history is linear. Fix: pick a version above {top}."
                )
        target = directory / f"V{chosen}__{slug}.sql"
        if target.exists():
            raise UsageError(f"{target} already exists. Fix: choose another description.")
        # "-- V7: ..." so that no description (say "down") can read as a section marker.
        header = f"-- V{chosen}: {description}"
        try:
            target.write_text(f"{header}\n\n-- upgrade\n\n\n-- rollback\n\n", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot create {target}: {exc.strerror} (errno {exc.errno}). Fix: let keel's "
                f"user write to {directory}, or run keel as a user who may."
            ) from exc
        return target


def _next_version(top: Version) -> Version:
    """``top`` with its last component one higher, keeping its width (``…192359`` ->
    ``…192360``): above ``top`` and below any later timestamp."""
    *rest, last = top.text.split(".")
    return Version.parse(".".join([*rest, str(int(last) + 1).zfill(len(last))]))


class _Matcher:
    """One directory's files matched against the history a plan is made from, once per
    distinct set of applied files; ``source`` reads what the files do not hold. The folder
    is listed when the first plan is made: under the lock where the plan is made only
    there, so that files added while keel waited for the lock are seen."""

    __slots__ = ("_cache", "_make", "_set")

    def __init__(self, make: Callable[[], MigrationSet]) -> None:
        self._make = make
        self._set: MigrationSet | None = None
        self._cache: dict[tuple[object, ...], Discovery] = {}

    @property
    def source(self) -> MigrationSet:
        if self._set is None:
            self._set = self._make()
        return self._set

    def __call__(
        self, history: tuple[HistoryRow, ...]
    ) -> tuple[tuple[MigrationFile, ...], tuple[Problem, ...]]:
        key = tuple(row.fingerprint for row in history)
        if key not in self._cache:
            self._cache.clear()
            self._cache[key] = self.source.match(history)
        return self._cache[key].files, self._cache[key].problems


def _parsed(plan: Plan, source: MigrationSet) -> Plan:
    """The plan with every file it runs parsed whole (for ``--dry-run`` to show)."""
    steps = tuple(
        Step(source.parse(step.migration), step.direction, step.mode) for step in plan.steps
    )
    return Plan(plan.direction, steps)


def _cannot_create(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot create {path}: {exc.strerror} (errno {exc.errno}). Fix: run 'keel init' in a "
        f"folder keel's user may write to, or let it write to {path.parent}."
    )


def _password_in_url(url: str) -> ConfigError:
    # The CLI masks whatever looks like a URL's password, so the advice names no example URL.
    return ConfigError(
        f"--url {mask_password(url)} holds a password, and keel init would write it into "
        "keel.toml in plain text (config files end up in version control and backups). "
        'Fix: keep the password in the environment: leave url = "${DATABASE_URL}" in '
        "keel.toml and set DATABASE_URL, or write the password in --url as ${DB_PASSWORD}, "
        "with the whole URL in single quotes so the shell does not expand it, and set "
        "DB_PASSWORD when running keel."
    )


def _configured_migrations(directory: Path) -> tuple[Path, str] | None:
    """The migrations folder a config file in ``directory`` itself names, and where that
    name came from. A config of an enclosing folder does not count: init's keel.toml hides it."""
    config = find_config_file(directory)
    if config is None or config.parent != directory:
        return None
    settings = load_settings(cwd=directory)
    source = settings.sources["migrations_dir"]
    if source == "default":
        return None
    where = "environment variable KEEL_MIGRATIONS_DIR" if source == "env" else directory / source
    return settings.migrations_dir, str(where)


def init_project(
    directory: Path, *, migrations_dir: str | None = None, url: str | None = None
) -> InitResult:
    """Create the migrations folder (``migrations_dir``, relative to ``directory``; else the
    one an existing config in ``directory`` names; else ``migrations``) and a commented
    ``keel.toml`` holding ``url`` and ``migrations_dir`` when given; keeps what already
    exists. Raises ConfigError when it cannot write, or would write a password."""
    created, existing = [], []
    config = directory / "keel.toml"
    if url is not None and not config.exists() and holds_password(url):
        raise _password_in_url(url)
    configured = _configured_migrations(directory) if migrations_dir is None else None
    if configured is not None:
        migrations, source = configured
    else:
        migrations, source = directory / (migrations_dir or "migrations"), None
    if migrations.is_dir():
        existing.append(str(migrations))
    else:
        try:
            migrations.mkdir(parents=True)
        except OSError as exc:
            raise _cannot_create(migrations, exc) from exc
        created.append(str(migrations))
    parent_config = None
    unwritten: tuple[str, ...] = ()
    if config.exists():
        existing.append(str(config))
        unwritten = tuple(
            option
            for option, value in (("--url", url), ("--dir", migrations_dir))
            if value is not None
        )
    else:
        # Only a note: a broken config of an enclosing folder must not stop init here.
        with contextlib.suppress(ConfigError):
            parent_config = find_config_file(directory.parent)
        try:
            config.write_text(init_config_text(url, migrations_dir), encoding="utf-8")
        except OSError as exc:
            raise _cannot_create(config, exc) from exc
        created.append(str(config))
    return InitResult(
        tuple(created), tuple(existing), parent_config, unwritten, str(migrations), source
    )


__all__ = [
    "BaselineResult",
    "HistoryResult",
    "InitResult",
    "Keel",
    "LockStatusResult",
    "LogResult",
    "MigrationFile",
    "RepairResult",
    "RollbackResult",
    "State",
    "StatusResult",
    "UnlockResult",
    "UpgradeResult",
    "ValidateResult",
    "init_project",
]
