"""The migration lock, chosen by ``lock_mode``: a ``Locker`` holds it for a block of work on
the working connection and fences each migration inside its own transaction.

- ``SessionLock`` (``lock_mode = "session"``, the default): the dialect's server session
  lock (PostgreSQL advisory lock, MySQL ``GET_LOCK``) or its OS file lock (SQLite); the
  database or the kernel frees it when its holder dies.
- ``TableLease`` (``lock_mode = "table"``, SPEC 10): a lease row in ``<table>_lock``, taken
  by one atomic statement, renewed by a heartbeat on a connection of its own, and taken over
  once its heartbeat is older than ``lock_lease``. For connection poolers that strand session
  locks (PgBouncer in transaction mode) and databases without session locks.

The invariant either way: no two runs ever apply the same migration. The fence, inside each
migration's transaction before its history row commits, is what makes a lost lock harmless.
Nothing here names a database family: the lease's SQL is the dialect's ``LeaseSQL``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlkeel.core.values import Value
from sqlkeel.dialects.base import Dialect, Holder, LeaseSQL, LockWait, Session, poll_lock
from sqlkeel.errors import LockTimeout

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object


def lock_table_for(table: str) -> str:
    """``keel_history``'s lease lives in ``keel_lock``; another name ``X``'s in ``X_lock``."""
    return "keel_lock" if table == "keel_history" else f"{table}_lock"


class UnlockResult(Value):
    """What ``keel unlock`` did. ``removed``: the lease it deleted (None: nothing to
    delete, or session mode, where there never is)."""

    __slots__ = ("age", "forced", "mode", "removed")
    mode: str
    removed: str | None  # the owner of the deleted lease
    age: float | None  # seconds since its last heartbeat
    forced: bool  # it was fresh, deleted because of --force

    def __init__(
        self, mode: str, removed: str | None = None, age: float | None = None, forced: bool = False
    ) -> None:
        self.mode = mode
        self.removed = removed
        self.age = age
        self.forced = forced


class Locker(Protocol):
    """The migration lock of one database, as the commands that write use it."""

    mode: str  # "session" or "table", as lock_mode names it

    def hold(
        self,
        connect: Callable[[], Session],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> contextlib.AbstractContextManager[None]:
        """Hold the lock for the block; ``connect`` gives the working connection. Raises
        LockTimeout (exit 3, naming the holder)."""
        ...

    def fence(self, conn: Session) -> bool:
        """Inside a migration's transaction on ``conn``: whether this run still holds the
        lock, kept so until the transaction ends."""
        ...

    def fence_command(self, session: Session) -> tuple[str, Sequence[object]]:
        """``fence`` as one command, for a migration sent whole (OneRoundTrip): it fails
        unless this run holds the lock."""
        ...

    def lost_reason(self) -> str | None:
        """Why the lock was lost, when the locker knows (a lease taken over); else None."""
        ...

    def check(self) -> str | None:
        """Before each migration: why this run no longer holds the lock, when it can tell
        (a lease it has seen taken over, or not renewed for longer than the lease and then
        found gone); else None. A round trip only in the second case."""
        ...

    def holder(self) -> Holder | None:
        """Who holds the lock now; None when it is free."""
        ...

    def unlock(self, *, force: bool) -> UnlockResult:
        """Clear a lock its holder left behind; raises LockTimeout for a live one."""
        ...


class SessionLock:
    """The dialect's session lock (server session lock or OS file lock), as it always was."""

    mode = "session"

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def hold(
        self,
        connect: Callable[[], Session],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> contextlib.AbstractContextManager[None]:
        return self.dialect.session_lock(connect, timeout=timeout, wait=wait, on_wait=on_wait)

    def fence(self, conn: Session) -> bool:
        return self.dialect.fence(conn)

    def fence_command(self, session: Session) -> tuple[str, Sequence[object]]:
        return self.dialect.fence_command(session)

    def lost_reason(self) -> str | None:
        return None

    def check(self) -> str | None:
        return None

    def holder(self) -> Holder | None:
        return self.dialect.lock_holder()

    def unlock(self, *, force: bool) -> UnlockResult:
        return UnlockResult(self.mode)


class Lease(Value):
    """The lease row as read: whose it is and how old its heartbeat is (database time)."""

    __slots__ = ("acquired_at", "age", "owner", "token")
    token: str
    owner: str
    acquired_at: datetime | None
    age: float  # seconds since the last heartbeat

    def __init__(self, token: str, owner: str, acquired_at: datetime | None, age: float) -> None:
        self.token = token
        self.owner = owner
        self.acquired_at = acquired_at
        self.age = age

    def holder(self, lease: float) -> Holder:
        state = "stale: its holder is gone" if self.age > lease else "alive"
        return Holder(
            f"{self.owner} (lease in the lock table, last heartbeat {self.age:.0f} s ago, {state})",
            self.acquired_at,
        )


def _as_utc(value: Any) -> datetime | None:
    """A stored timestamp (a datetime, aware or naive UTC, or ISO text) as aware UTC."""
    if value is None:
        return None
    try:
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


# Takeovers ``TableLease.on_takeover`` hears: the old owner and its heartbeat's age.
Takeover = Callable[[str, float], None]


class TableLease:
    """A lease row in keel's lock table (SPEC 10).

    Taken by one atomic statement: an insert that does nothing when a row exists, or, when
    the row's heartbeat is older than ``lease`` seconds on the database's clock, an update
    conditional on the old row's token (a compare-and-swap). Renewed every ``lease / 3``
    seconds by a daemon thread on a connection of its own. Each migration's transaction
    locks the row and checks it is still ours (``fence``), so a takeover waits for a
    migration that passed its fence, and a holder whose lease was taken over (paused
    longer than the lease) stops before recording anything more.
    """

    mode = "table"

    def __init__(
        self,
        dialect: Dialect,
        *,
        table: str,
        lease: float,
        owner: str,
        on_takeover: Takeover | None = None,
    ) -> None:
        self.dialect = dialect
        self.table = table  # keel's name of the lock table, unqualified
        self.lease = lease
        self.owner = owner
        self.on_takeover = on_takeover
        self._sql: LeaseSQL | None = None
        self._token: str | None = None  # this run's, while it holds the lease
        self._lost: Lease | None = None  # the lease that replaced ours, seen by the heartbeat
        self._lost_gone = False  # ours is gone: taken over and released since, or deleted
        self._renewed = 0.0  # time.monotonic() of our last heartbeat (or acquisition)

    def _lease_sql(self, session: Session | None = None) -> LeaseSQL:
        """The lease's statements, named as ``session`` (the first one asked with) names
        keel's tables: PostgreSQL qualifies them with the schema the session found."""
        if self._sql is None:
            assert session is not None  # hold() asks first, with its session
            self._sql = self.dialect.lease_sql(session, self.table)
        return self._sql

    # -- the row ---------------------------------------------------------------------------
    def _create(self, conn: Session) -> None:
        """The lock table, made on first use with no lock held: two first runs may both
        try, and the loser's error (a catalog race) is no error if the table is there."""
        d = self.dialect
        try:
            conn.execute(self._lease_sql(conn).create)
        except d.error_types:
            self._lease(conn)  # raises unless another run made it at the same moment

    def _lease(self, conn: Session) -> Lease | None:
        """The lease row, or None when there is none."""
        rows = conn.query(self._lease_sql(conn).read)
        if not rows:
            return None
        token, owner, acquired_at, age = rows[0]
        return Lease(str(token), str(owner), _as_utc(acquired_at), float(age or 0))

    # -- holding it ------------------------------------------------------------------------
    @contextmanager
    def hold(
        self,
        connect: Callable[[], Session],
        *,
        timeout: float,
        wait: bool,
        on_wait: LockWait | None,
    ) -> Iterator[None]:
        import secrets

        d = self.dialect
        conn = connect()
        # The lock table lives beside keel's tables: in their schema, which may not exist
        # yet on a first run (HistoryStore.ensure would make it only after the lock). Runs
        # starting together race to create it (CREATE SCHEMA IF NOT EXISTS is not safe
        # against a concurrent one): the loser's error is none once the schema is there,
        # and if it is not, creating the lock table says why.
        with contextlib.suppress(*d.error_types):
            d.prepare_schema(conn)
        sql = self._lease_sql(conn)
        self._create(conn)
        token = secrets.token_hex(16)
        owner = self.owner[:255]
        seen: list[Lease | None] = [None]
        taken: list[Lease] = []

        def try_acquire() -> bool:
            # Read first only to spare a needless write (and, on SQLite, a wait for another
            # run's write lock); what takes the lease is the one conditional statement.
            for _ in range(3):  # a lease released between two statements: try again now
                current = self._lease(conn)
                if current is None:
                    conn.run(sql.acquire, (token, owner))
                elif current.age > self.lease:
                    conn.run(sql.takeover, (token, owner, current.token, self.lease))
                else:
                    seen[0] = current
                    return False
                after = self._lease(conn)
                if after is not None and after.token == token:
                    if current is not None:
                        taken.append(current)
                    return True
                seen[0] = after
                if after is not None:
                    return False
            return False

        def describe() -> Holder | None:
            return seen[0].holder(self.lease) if seen[0] is not None else None

        poll_lock(
            try_acquire,
            describe,
            timeout=timeout,
            wait=wait,
            on_wait=on_wait,
            what=f"{d.url.masked()} (lease in {sql.table})",
        )
        self._token, self._lost, self._lost_gone = token, None, False
        self._renewed = time.monotonic()
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(token, stop), name="keel lease heartbeat", daemon=True
        )
        released = False
        try:
            # Started inside the try: whatever interrupts the run stops the heartbeat.
            beat.start()
            if taken and self.on_takeover is not None:
                self.on_takeover(taken[0].owner, taken[0].age)
            yield
            stop.set()
            beat.join()
            conn.run(sql.release, (token,))
            released = True
        finally:
            stop.set()
            self._token = None
            if not released:
                # The working connection may be broken or inside a transaction: another
                # one deletes the lease. Safe even while the server still runs this run's
                # last migration: that one's fence finds the row gone, or holds the row
                # until it commits. If this fails too, the lease goes stale in lock_lease.
                with contextlib.suppress(Exception):
                    other = d.connect()
                    try:
                        other.run(sql.release, (token,))
                    finally:
                        other.close()

    def _heartbeat(self, token: str, stop: threading.Event) -> None:
        """Every ``lease / 3`` s, until ``stop``: renew our lease, or note that it is ours
        no more (then stop renewing: the fence stops the run). A failed beat is retried on
        a new connection at the next one; the lease outlives two missed beats."""
        d = self.dialect
        sql = self._lease_sql()
        conn: Session | None = None
        try:
            while not stop.wait(self.lease / 3):
                try:
                    if conn is None:
                        # Never waits for the database, nor says it does: the run's own
                        # migration may be what keeps the file busy (a retry comes next).
                        conn = d.with_busy(d.busy_timeout, None, wait=False).connect()
                        if sql.heartbeat_setup is not None:
                            conn.execute(sql.heartbeat_setup)
                    conn.run(sql.heartbeat, (token,))
                    current = self._lease(conn)
                except Exception:
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            conn.close()
                    conn = None
                    continue
                if current is None or current.token != token:
                    self._lost, self._lost_gone = current, current is None
                    return
                self._renewed = time.monotonic()
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def fence(self, conn: Session) -> bool:
        if self._token is None:
            return False
        rows: list[tuple[Any, ...]] = []
        for statement in self._lease_sql(conn).fence:
            rows = conn.query(statement)
        return bool(rows) and rows[0][0] == self._token

    def fence_command(self, session: Session) -> tuple[str, Sequence[object]]:
        command = self._lease_sql(session).fence_or_fail
        if command is None or self._token is None:
            raise NotImplementedError(f"{self.dialect.name} sends no migration whole")
        return command, (self._token,)

    def check(self) -> str | None:
        if self._token is None:
            return None
        if self._lost is None and not self._lost_gone:
            # The monotonic clock runs on while the process is stopped (SIGSTOP, a frozen
            # VM): a heartbeat overdue by a whole lease means another run may have taken
            # the lease, so look before starting the next migration.
            if time.monotonic() - self._renewed <= self.lease:
                return None
            d = self.dialect
            conn = d.connect()
            try:
                current = self._lease(conn)
            finally:
                conn.close()
            if current is not None and current.token == self._token:
                return None
            self._lost, self._lost_gone = current, current is None
        return self.lost_reason()

    def lost_reason(self) -> str:
        if self._lost is not None:
            whom = f"was taken over by {self._lost.owner}"
        else:
            whom = (
                "was taken over by another run (finished since), deleted by 'keel unlock "
                "--force', or changed by a migration's own SQL"
            )
        return (
            f"this run's lease in the lock table {whom}. A lease is taken over once its "
            f"heartbeat is older than lock_lease ({self.lease:g} s): this run was paused, or "
            "cut off from the database, for longer than that, and another run may be "
            "migrating now"
        )

    # -- who and unlock --------------------------------------------------------------------
    def _peek(self) -> tuple[Lease | None, LeaseSQL, Session]:
        d = self.dialect
        conn = d.connect()
        sql = self._lease_sql(conn)
        table = sql.table.rsplit(".", 1)[-1].strip('"`')
        if d.relation_kind(conn, table) is None:  # no run has held a lease here yet
            return None, sql, conn
        return self._lease(conn), sql, conn

    def holder(self) -> Holder | None:
        lease, _sql, conn = self._peek()
        conn.close()
        return lease.holder(self.lease) if lease is not None else None

    def unlock(self, *, force: bool) -> UnlockResult:
        """Delete the lease if its heartbeat is stale, or with ``force`` even a fresh one.
        Each delete is conditional on the token read (and, without force, on staleness),
        so a lease renewed or taken meanwhile is left alone."""
        lease, sql, conn = self._peek()
        try:
            if lease is None:
                return UnlockResult(self.mode)
            stale = lease.age > self.lease
            if not stale and not force:
                raise LockTimeout(
                    f"the lease in {sql.table} is held by {lease.owner}, whose last heartbeat "
                    f"was {lease.age:.0f} s ago (lock_lease is {self.lease:g} s): that run is "
                    "alive, and deleting its lease would let another run migrate beside it. "
                    "Fix: wait for it to finish; if you know it is gone (its machine is "
                    "frozen, say), run 'keel unlock --force'.",
                    holder=str(lease.holder(self.lease)),
                )
            if stale:
                conn.run(sql.release_stale, (lease.token, self.lease))
            else:
                conn.run(sql.release, (lease.token,))
            after = self._lease(conn)
            if after is not None and after.token == lease.token:
                raise LockTimeout(
                    f"the lease in {sql.table} held by {lease.owner} was renewed while keel "
                    "was deleting it: its holder is alive. Fix: wait for it to finish.",
                    holder=str(after.holder(self.lease)),
                )
            return UnlockResult(self.mode, lease.owner, lease.age, forced=not stale)
        finally:
            conn.close()
