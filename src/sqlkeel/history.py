"""keel's own tables: ``keel_history`` (what is applied now) and ``keel_log`` (every action).

Both are created on first use under the lock; columns that a newer keel added are added
in place to an older layout. ``keel_log`` is append-only: keel never updates or deletes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from sys import intern

from sqlkeel.core.model import HistoryRow, Kind, LogRow, MigrationFile, State
from sqlkeel.core.values import Value
from sqlkeel.core.versions import Version
from sqlkeel.dialects.base import Connection, Dialect
from sqlkeel.errors import Problem, ValidationFailed

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


def log_table_for(table: str) -> str:
    """``keel_history`` keeps its log in ``keel_log``; another name ``X`` in ``X_log``."""
    return "keel_log" if table == "keel_history" else f"{table}_log"


def _as_datetime(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime, whatever the session's time zone."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


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
    """Reads and writes keel's tables through one dialect and connection."""

    def __init__(self, dialect: Dialect, conn: Connection) -> None:
        self.dialect = dialect
        self.conn = conn
        self.history = dialect.qualify(dialect.table)
        self.log = dialect.qualify(log_table_for(dialect.table))
        self._queued: list[tuple[str, Sequence[object]]] | None = None

    def _write(self, sql: str, params: Sequence[object]) -> None:
        if self._queued is not None:
            self._queued.append((sql, params))
        else:
            self.dialect.run(self.conn, sql, params)

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
            assert self.dialect.elapsed_ms is not None
            return self.dialect.elapsed_ms
        params.append(ms)
        return self.dialect.param

    def _at(self, at: datetime, ms: int | None, params: list[object]) -> str:
        """The SQL for when a run started: a parameter, or, when the database measures the
        run time (``ms`` None), the database's own start of the transaction: the command
        is then built before the migration is sent, while the previous one still runs."""
        if ms is None:
            assert self.dialect.started_at is not None
            return self.dialect.started_at
        params.append(self.dialect.timestamp_param(at))
        return self.dialect.param

    def commit_with(self, write: Callable[[], None]) -> None:
        """Run ``write`` (inserts, deletes, log rows) and commit the open transaction, sending
        the writes and the COMMIT together where the dialect can (one round trip)."""
        self._queued = []
        try:
            write()
            commands, self._queued = self._queued, None
            self.dialect.run_and_commit(self.conn, commands)
        finally:
            self._queued = None

    def exists(self) -> bool:
        return self.dialect.table_exists(self.conn, self.dialect.table)

    def ensure(self) -> None:
        """Create both tables, or add columns an older layout lacks. Call under the lock."""
        d = self.dialect
        d.prepare_schema(self.conn)
        for name, table, columns in (
            (d.table, self.history, HISTORY_COLUMNS),
            (log_table_for(d.table), self.log, LOG_COLUMNS),
        ):
            if not d.table_exists(self.conn, name):
                cols = ", ".join(
                    f"{c} {d.types[t]}{'' if null else ' NOT NULL'}" for c, t, null in columns
                )
                d.execute(self.conn, f"CREATE TABLE {table} (id {d.types['id']}, {cols})")
                continue
            present = self._columns(table)
            for c, t, _null in columns:
                if c not in present:
                    d.execute(self.conn, f"ALTER TABLE {table} ADD COLUMN {c} {d.types[t]}")

    def _columns(self, table: str) -> set[str]:
        cur = self.conn.cursor()
        try:
            cur.execute(f"SELECT * FROM {table} WHERE 1 = 0")
            return {col[0].lower() for col in cur.description}
        finally:
            cur.close()

    # -- keel_history ------------------------------------------------------------------
    def read(self) -> tuple[HistoryRow, ...]:
        """Every history row in insertion order; empty when the table does not exist yet.

        Raises ValidationFailed when it is gone but the log records applied migrations."""
        if not self.exists():
            self._refuse_lost_history()
            return ()
        # A table from before the digest column reads as having no digests (such files are
        # parsed); ``ensure`` adds the column when this command first writes.
        digest = "digest" if "digest" in self._columns(self.history) else "NULL"
        rows = self.dialect.rows(
            self.conn,
            f"SELECT id, version, description, script, kind, checksum, rollback_checksum, "
            f"applied_at, applied_by, execution_ms, state, failed_statement, failed_line, "
            f"error, {digest} FROM {self.history} ORDER BY id",
        )
        kinds = {k.value: k for k in Kind}  # a dict lookup: Kind(value) costs ~1 us a row
        states = {s.value: s for s in State}
        return tuple(
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
            )
            for r in rows
        )

    def _refuse_lost_history(self) -> None:
        """A history table dropped by hand while its log stays would make keel run every
        migration again on top of the schema they built: refuse, naming both tables."""
        d = self.dialect
        log = log_table_for(d.table)
        if not d.table_exists(self.conn, log):
            return
        applied = d.query(
            self.conn,
            f"SELECT count(*) FROM {self.log} WHERE action = 'upgrade' AND outcome = 'success'",
        )[0][0]
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
                    f"applied and when); or, to adopt the database as it is, rename {log} "
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
        p = self.dialect.param
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
        params += [state.value, failed_statement, failed_line, error, f.digest]
        self._write(
            f"INSERT INTO {self.history} (version, description, script, kind, checksum, "
            f"rollback_checksum, applied_at, applied_by, execution_ms, state, failed_statement, "
            f"failed_line, error, digest) VALUES ({', '.join([p] * 6)}, {at}, {p}, {ms}, "
            f"{', '.join([p] * 5)})",
            params,
        )

    def delete(self, rows: Sequence[HistoryRow]) -> None:
        p = self.dialect.param
        for row in rows:
            self._write(f"DELETE FROM {self.history} WHERE id = {p}", (row.id,))

    def delete_id(self, row_id: int) -> None:
        self._write(f"DELETE FROM {self.history} WHERE id = {self.dialect.param}", (row_id,))

    def last_id(self) -> int:
        """The id of the newest history row; only under the lock, where keel alone writes."""
        return int(self.dialect.query(self.conn, f"SELECT MAX(id) FROM {self.history}")[0][0])

    def update_checksums(self, row: HistoryRow, file: MigrationFile) -> None:
        p = self.dialect.param
        self._write(
            f"UPDATE {self.history} SET checksum = {p}, rollback_checksum = {p}, script = {p}, "
            f"digest = {p} WHERE id = {p}",
            (file.checksum, file.rollback_checksum, file.path, file.digest, row.id),
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
        p = self.dialect.param
        params: list[object] = [action, version, script]
        stamp = self._at(at, duration_ms, params)
        params.append(by)
        ms = self._ms(duration_ms, params)
        params += [outcome, detail]
        self._write(
            f"INSERT INTO {self.log} (action, version, script, logged_at, by_user, duration_ms, "
            f"outcome, detail) VALUES ({p}, {p}, {p}, {stamp}, {p}, {ms}, {p}, {p})"
            + (" RETURNING duration_ms" if duration_ms is None else ""),
            params,
        )

    def read_log(self) -> tuple[LogRow, ...]:
        if not self.dialect.table_exists(self.conn, log_table_for(self.dialect.table)):
            return ()
        rows = self.dialect.query(
            self.conn,
            f"SELECT id, action, version, script, logged_at, by_user, duration_ms, outcome, detail "
            f"FROM {self.log} ORDER BY id",
        )
        return tuple(
            LogRow(
                int(r[0]), r[1], r[2], r[3], _as_datetime(r[4]), r[5], int(r[6]), r[7], r[8] or ""
            )
            for r in rows
        )
