"""keel's own tables: ``keel_history`` (what is applied now) and ``keel_log`` (every action).

Both are created on first use under the lock; columns that a newer keel added are added
in place to an older layout, and so is the unique key on ``keel_history.version``: the last
line of defence of the lock, it makes a second writer of one version fail instead of
committing a duplicate. ``keel_log`` is append-only: keel never updates or deletes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from sys import intern

from sqlkeel.core.model import Direction, HistoryRow, Kind, LogRow, MigrationFile, State
from sqlkeel.core.plan import duplicate_rows
from sqlkeel.core.values import Value
from sqlkeel.core.versions import Version
from sqlkeel.dialects.base import Dialect, Session
from sqlkeel.errors import ConfigError, HistoryRowUnreadable, Problem, ValidationFailed

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any

# (column, type key, nullable). Order matters only for new tables; older layouts get the
# missing columns appended by ``ensure``.
HISTORY_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("version", "text", True),
    ("description", "text", False),
    ("script", "text", False),
    ("kind", "text", False),
    ("checksum", "text", False),
    ("rollback_checksum", "text", True),
    ("applied_at", "ts", False),
    ("applied_by", "text", False),
    ("execution_ms", "int", False),
    ("state", "text", False),
    ("failed_statement", "int", True),
    ("failed_line", "int", True),
    ("error", "text", True),
    ("digest", "text", True),
    # 'rollback' for a failed rollback (its migration's changes were applied), else NULL.
    ("failed_direction", "text", True),
    # 1: the upgrade held only comments and changed nothing (SPEC 12). NULL in the rows of
    # an older layout, which ``ensure`` extends: those keels refused such files.
    ("noop", "int", True),
)
LOG_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("action", "text", False),
    ("version", "text", True),
    ("script", "text", True),
    ("logged_at", "ts", False),
    ("by_user", "text", False),
    ("duration_ms", "int", False),
    ("outcome", "text", False),
    ("detail", "text", True),
)


# Columns every layout of keel's tables has had: a table that lacks one of them is not
# keel's (another tool's, of the same name), and keel must neither read nor alter it.
HISTORY_KEYS = ("id", "version", "kind", "checksum", "state")
LOG_KEYS = ("id", "action", "outcome")


# How repair's log rows begin (core.plan.plan_repair's descriptions): one that restores a
# migration as applied, and one that keeps it applied (new checksums); every other repair
# (forget a missing file, clear a failed row, record a rollback finished by hand) removes
# the migration's row.
_RESTORED = "restore "
_KEPT = "accept "


def log_table_for(table: str) -> str:
    """``keel_history`` keeps its log in ``keel_log``; another name ``X`` in ``X_log``."""
    return "keel_log" if table == "keel_history" else f"{table}_log"


def _other_name(table: str) -> str:
    """A table name to suggest instead of ``table``, taken by something else."""
    return "keel_migrations" if table != "keel_migrations" else "keel_history"


def _as_datetime(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime, whatever the session's time zone."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _reads_as_datetime(value: Any) -> bool:
    try:
        _as_datetime(value)
    except (ValueError, TypeError):
        return False
    return True


def shown_name(dialect: Dialect) -> str:
    """The history table as a user would write it in SQL of their own: qualified only where
    a schema is configured (keel qualifies it always)."""
    return dialect.qualify(dialect.table) if dialect.schema else dialect.table


def _bad_column(r: Sequence[Any]) -> tuple[str, object, str, str]:
    """The first column of a raw history row that does not read: its name, its value, what
    keel expects there and an example value (as SQL) for the fix."""
    kinds = [k.value for k in Kind]
    if r[1] is not None:
        try:
            Version.parse(str(r[1]))
        except ValueError:
            found = re.match(r"V([0-9.]+?)__", Path(str(r[3])).name)
            return (
                "version",
                r[1],
                "a version is digits separated by dots, e.g. 3 or 2.1",
                f"'{found.group(1)}'" if found else "'1'",
            )
    if r[4] not in kinds:
        example = "'versioned'" if r[1] is not None else "'repeatable'"
        return "kind", r[4], f"the kind is one of {', '.join(map(repr, kinds))}", example
    if r[10] not in [s.value for s in State]:
        return (
            "state",
            r[10],
            "the state is 'applied', or 'failed' for a migration to be refused until "
            "'keel repair --failed'",
            "'applied'",
        )
    if r[15] not in (None, *(d.value for d in Direction)):
        return (
            "failed_direction",
            r[15],
            "failed_direction is 'rollback' for a failed rollback, else NULL",
            "NULL",
        )
    try:
        _as_datetime(r[7])
    except (ValueError, TypeError):
        return "applied_at", r[7], "applied_at is a UTC timestamp", "CURRENT_TIMESTAMP"
    if not isinstance(r[8], str):
        return "applied_by", r[8], "applied_by names who applied it (user@host)", "'unknown'"
    return "execution_ms", r[9], "execution_ms is a whole number of milliseconds", "0"


class Entry(Value):
    """What a caller wants recorded about one run of a migration."""

    __slots__ = ("at", "by", "execution_ms", "file")
    file: MigrationFile
    at: datetime
    by: str
    execution_ms: int | None  # None: measured by the database as the row is written

    def __init__(
        self, file: MigrationFile, at: datetime, by: str, execution_ms: int | None
    ) -> None:
        self.file = file
        self.at = at
        self.by = by
        self.execution_ms = execution_ms


class HistoryStore:
    """Reads and writes keel's tables through one session; the SQL is the dialect's
    ``HistorySQL``."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = dialect = session.dialect
        self.sql = dialect.history_sql
        self.history = session.qualify(dialect.table)
        self.log = session.qualify(log_table_for(dialect.table))
        self._queued: list[tuple[str, Sequence[object]]] | None = None

    def _write(self, sql: str, params: Sequence[object]) -> None:
        if self._queued is not None:
            self._queued.append((sql, params))
        else:
            self.session.run(sql, params)

    def queued(self, write: Callable[[], None]) -> list[tuple[str, Sequence[object]]]:
        """The commands ``write`` would run, for a dialect to send with a migration."""
        self._queued = []
        try:
            write()
            return self._queued
        finally:
            self._queued = None

    def _ms(self, ms: int | None, params: list[object]) -> str:
        """The SQL for a run time: a parameter, or (None) the dialect's measurement."""
        if ms is None:
            sender = self.dialect.one_round_trip
            assert sender is not None
            return sender.elapsed_ms
        params.append(ms)
        return self.sql.param

    def _at(self, at: datetime, ms: int | None, params: list[object]) -> str:
        """The SQL for when a run started: a parameter, or, when the database measures the
        run time (``ms`` None), the database's own start of the transaction: the command
        is then built before the migration is sent, while the previous one still runs."""
        if ms is None:
            sender = self.dialect.one_round_trip
            assert sender is not None
            return sender.started_at
        params.append(self.sql.timestamp_param(at))
        return self.sql.param

    def commit_with(self, write: Callable[[], None]) -> None:
        """Run ``write`` (inserts, deletes, log rows) and commit the open transaction, sending
        the writes and the COMMIT together where the dialect can (one round trip)."""
        self._queued = []
        try:
            write()
            commands, self._queued = self._queued, None
            self.session.run_and_commit(commands)
        finally:
            self._queued = None

    def exists(self) -> bool:
        return self._keel_columns(self.dialect.table, self.history, HISTORY_KEYS) is not None

    def _keel_columns(self, name: str, table: str, keys: Sequence[str]) -> set[str] | None:
        """The columns of keel's table ``name`` (``table`` as qualified), None when it does
        not exist yet; raises ConfigError when the name belongs to something else."""
        kind = self.dialect.relation_kind(self.session, name)
        if kind is None:
            return None
        other = (
            f'Fix: set table = "{_other_name(self.dialect.table)}" in keel.toml (or '
            "KEEL_TABLE, or table= in Keel(...)) to keep keel's history under another name"
        )
        if kind != "table":
            raise ConfigError(
                f"{table} is a {kind}, not a table, so keel cannot keep its history there. "
                f"{other}; or rename that {kind} if nothing else needs its name."
            )
        present = self._columns(table)
        lacking = [key for key in keys if key not in present]
        if lacking:
            raise ConfigError(
                f"the table {table} was not made by keel: it lacks keel's columns "
                f"{', '.join(lacking)} (it has {', '.join(sorted(present))}); another tool may "
                f"use that name. keel has not read or changed it. {other}."
            )
        return present

    def ensure(self) -> None:
        """Create both tables, or add columns an older layout lacks. Call under the lock."""
        d, session = self.dialect, self.session
        d.prepare_schema(session)
        for name, table, columns, keys in (
            (d.table, self.history, HISTORY_COLUMNS, HISTORY_KEYS),
            (log_table_for(d.table), self.log, LOG_COLUMNS, LOG_KEYS),
        ):
            present = self._keel_columns(name, table, keys)
            if present is None:
                session.execute(self.sql.create_table(table, columns))
                continue
            for c, t, _null in columns:
                if c not in present:
                    session.execute(self.sql.add_column(table, c, t))
        self._ensure_unique_version()

    def _ensure_unique_version(self) -> None:
        """Add the unique key on the version to a table that lacks it; refuses, naming the
        rows, when the table already holds one version twice."""
        d, session = self.dialect, self.session
        index = f"{d.table}_version_key"
        if d.index_exists(session, index):
            return
        duplicated = session.query(self.sql.duplicated_versions(self.history))
        if duplicated:
            # The same problem as validation's (which runs first on upgrade and rollback,
            # but not on repair or baseline), from the rows read in full: it is rare.
            versions = {str(r[0]) for r in duplicated}
            rows = [r for r in self.read() if r.version is not None and r.label in versions]
            raise ValidationFailed(duplicate_rows(rows, self.shown))
        session.execute(self.sql.unique_index(index, self.history, "version"))

    def _columns(self, table: str) -> set[str]:
        return {name.lower() for name in self.session.columns(self.sql.no_rows(table))}

    # -- keel_history ------------------------------------------------------------------
    def read(self) -> tuple[HistoryRow, ...]:
        """Every history row in insertion order; empty when the table does not exist yet.

        Raises ValidationFailed when it is gone but the log records applied migrations."""
        present = self._keel_columns(self.dialect.table, self.history, HISTORY_KEYS)
        if present is None:
            self._refuse_lost_history()
            return ()
        # A table from before the digest column reads as having no digests (such files are
        # parsed), one from before the noop column as having no no-ops; ``ensure`` adds the
        # columns when this command first writes.
        digest = "digest" if "digest" in present else "NULL"
        direction = "failed_direction" if "failed_direction" in present else "NULL"
        noop = "noop" if "noop" in present else "NULL"
        rows = self.session.rows(self.sql.select_history(self.history, digest, direction, noop))
        kinds = {k.value: k for k in Kind}  # a dict lookup: Kind(value) costs ~1 us a row
        states = {s.value: s for s in State}
        directions: dict[str | None, Direction | None] = {d.value: d for d in Direction}
        directions[None] = None
        read: list[HistoryRow] = []
        # closing: a row that cannot be read ends the driver's cursor now, not when the
        # generator is collected (after the connection closed: "Exception ignored ...").
        with closing(rows):
            for r in rows:
                try:
                    read.append(
                        HistoryRow(
                            id=int(r[0]),
                            version=Version.parse(r[1]) if r[1] is not None else None,
                            description=r[2],
                            script=r[3],
                            kind=kinds[r[4]],
                            checksum=r[5],
                            rollback_checksum=r[6],
                            applied_at=_as_datetime(r[7]),
                            applied_by=intern(r[8]),  # one or a few users write every row
                            execution_ms=int(r[9]),
                            state=states[r[10]],
                            failed_statement=r[11],
                            failed_line=r[12],
                            error=r[13],
                            digest=r[14],
                            failed_direction=directions[r[15]],
                            is_noop=bool(r[16]),
                        )
                    )
                except (KeyError, ValueError, TypeError) as exc:
                    raise self._unreadable(r) from exc
        return tuple(read)

    @property
    def shown(self) -> str:
        return shown_name(self.dialect)

    def _unreadable(self, r: Sequence[Any]) -> HistoryRowUnreadable:
        """Which column of the raw row ``r`` keel cannot read, what it expects and the fix."""
        where = f"{self.shown} row id {r[0]} ({r[3]}, version {r[1]})"
        column, value, expected, example = _bad_column(r)
        return HistoryRowUnreadable(
            f"{where} has {column} {value!r}, which keel cannot read: {expected}. keel "
            "writes its rows itself, so this one was changed by hand or by another tool. "
            f"Fix: correct it by hand, e.g. UPDATE {self.shown} SET {column} = {example} "
            f"WHERE id = {r[0]}; then run the command again."
        )

    def _refuse_lost_history(self) -> None:
        """A history table dropped by hand while its log stays would make keel run every
        migration again on top of the schema they built: refuse, naming both tables."""
        d = self.dialect
        if self._keel_columns(log_table_for(d.table), self.log, LOG_KEYS) is None:
            return  # (or refused: another tool's table of that name)
        applied = self.session.query(self.sql.count_upgrades(self.log))[0][0]
        if not applied:
            return
        raise ValidationFailed(
            [
                Problem(
                    "history-missing",
                    self.history,
                    f"the history table {self.history} does not exist, but {self.log} "
                    f"records {applied} successful upgrade(s): it was dropped or renamed by "
                    "hand, and running the migrations again on top of their schema would "
                    "apply them twice.",
                    f"restore {self.history} from a backup ({self.log} lists what was "
                    f"applied and when); or, to adopt the database as it is, rename {self.log} "
                    "(e.g. to keel_log_old) and record the applied versions with "
                    "'keel baseline VERSION'.",
                )
            ]
        )

    def insert(
        self,
        entry: Entry,
        *,
        state: State = State.APPLIED,
        failed_statement: int | None = None,
        failed_line: int | None = None,
        error: str | None = None,
    ) -> None:
        f = entry.file
        params: list[object] = [
            str(f.version) if f.version is not None else None,
            f.description,
            f.path,
            f.kind.value,
            f.checksum,
            f.rollback_checksum,
        ]
        at = self._at(entry.at, entry.execution_ms, params)
        params.append(entry.by)
        ms = self._ms(entry.execution_ms, params)
        params += [state.value, failed_statement, failed_line, error, f.digest, int(f.is_noop)]
        self._write(self.sql.insert_history(self.history, at, ms), params)

    def mark(
        self,
        row_id: int,
        state: State,
        *,
        failed_statement: int | None = None,
        failed_line: int | None = None,
        error: str | None = None,
        failed_direction: Direction | None = None,
    ) -> None:
        """Set a row's state and failure fields (None clears them) in place: a rollback
        outside a transaction keeps the row of the migration it began from."""
        self._write(
            self.sql.update_state(self.history),
            (
                state.value,
                failed_statement,
                failed_line,
                error,
                failed_direction.value if failed_direction else None,
                row_id,
            ),
        )

    def delete(self, rows: Sequence[HistoryRow]) -> None:
        for row in rows:
            self.delete_id(row.id)

    def delete_id(self, row_id: int) -> None:
        self._write(self.sql.delete_row(self.history), (row_id,))

    def last_id(self) -> int:
        """The id of the newest history row; only under the lock, where keel alone writes."""
        return int(self.session.query(self.sql.last_id(self.history))[0][0])

    def update_checksums(self, row: HistoryRow, file: MigrationFile) -> None:
        self._write(
            self.sql.update_checksums(self.history),
            (
                file.checksum,
                file.rollback_checksum,
                file.path,
                file.digest,
                int(file.is_noop),
                row.id,
            ),
        )

    # -- keel_log ----------------------------------------------------------------------
    def append_log(
        self,
        *,
        action: str,
        at: datetime,
        by: str,
        outcome: str,
        duration_ms: int | None = 0,
        version: str | None = None,
        script: str | None = None,
        detail: str = "",
    ) -> None:
        """``duration_ms`` None: measured by the database, and the row's command returns it."""
        params: list[object] = [action, version, script]
        stamp = self._at(at, duration_ms, params)
        params.append(by)
        ms = self._ms(duration_ms, params)
        params += [outcome, detail]
        returning = self._returning_ms() if duration_ms is None else ""
        self._write(self.sql.insert_log(self.log, stamp, ms, returning), params)

    def _returning_ms(self) -> str:
        sender = self.dialect.one_round_trip
        assert sender is not None
        return sender.returning_ms

    def applied_in_log(self, versions: Collection[Version]) -> dict[Version, LogRow]:
        """Of ``versions``, those whose last successful action in the log left them applied,
        each with that log row: an upgrade, a baseline up to it or beyond, or a repair that
        restored it, not followed by a rollback or by a repair that forgot it. Reads the
        whole log: call it only for a file found below the head, never on the usual path."""
        wanted = set(versions)
        applied: dict[Version, LogRow] = {}
        for row in self.read_log():
            if row.outcome != "success" or row.version is None:
                continue
            try:
                version = Version.parse(row.version)
            except ValueError:
                continue  # a repeatable's R/RA, or a row changed by hand
            if row.action == "baseline":
                # 'keel baseline V' records every versioned file up to V (api.baseline).
                applied.update((v, row) for v in wanted if v <= version)
            elif version not in wanted:
                continue
            elif row.action == "upgrade" or (
                row.action == "repair" and row.detail.startswith(_RESTORED)
            ):
                applied[version] = row
            elif row.action == "rollback" or (
                row.action == "repair" and not row.detail.startswith(_KEPT)
            ):
                applied.pop(version, None)
        return applied

    def read_log(self) -> tuple[LogRow, ...]:
        if self._keel_columns(log_table_for(self.dialect.table), self.log, LOG_KEYS) is None:
            return ()
        rows = self.session.query(self.sql.select_log(self.log))
        read = []
        for r in rows:
            try:
                read.append(
                    LogRow(
                        int(r[0]),
                        r[1],
                        r[2],
                        r[3],
                        _as_datetime(r[4]),
                        r[5],
                        int(r[6]),
                        r[7],
                        r[8] or "",
                    )
                )
            except (ValueError, TypeError) as exc:
                column, example = (
                    ("logged_at", "CURRENT_TIMESTAMP")
                    if not _reads_as_datetime(r[4])
                    else ("duration_ms", "0")
                )
                value = r[4] if column == "logged_at" else r[6]
                raise HistoryRowUnreadable(
                    f"{self.log} row id {r[0]} ({r[1]} of {r[3]}) has {column} {value!r}, "
                    "which keel cannot read. keel writes its log itself, so this row was "
                    f"changed by hand or by another tool. Fix: correct it by hand, e.g. UPDATE "
                    f"{self.log} SET {column} = {example} WHERE id = {r[0]}; then run the "
                    "command again."
                ) from exc
        return tuple(read)
