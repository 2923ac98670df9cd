"""PostgreSQL's optional one-round-trip sender: a transactional migration whose statements
hold no ';' travels whole (BEGIN, statements, the lock's fence, history and log rows,
COMMIT) as one simple-protocol query; its run time is the server's.

It reads the results with psycopg's own building blocks (``psycopg.generators``,
``error_from_result``), present since 3.1 but not documented as public. So it is used only
with the psycopg minor versions it was tested on (``TESTED``, which pyproject pins too), and
``one_round_trip = false`` in the settings turns it off: migrations then run statement by
statement in a pipeline, as with any other driver.
https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from functools import cache

from sqlkeel.dialects.base import (
    Connection,
    OneRoundTrip,
    Session,
    Transaction,
    TransactionFailed,
)

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from typing import Any

# psycopg minor versions whose internals this module was tested with.
TESTED = ("3.2", "3.3")

# From BEGIN, which reaches the server with the statements, to keel's first row. The first
# use keeps the value in a transaction-local setting, so the history row, the log row and
# what keel prints agree to the millisecond; after COMMIT the setting reads ''.
_ELAPSED_MS = (
    "CAST(COALESCE(NULLIF(current_setting('keel.elapsed_ms', true), ''), "
    "set_config('keel.elapsed_ms', CAST(round(EXTRACT(EPOCH FROM clock_timestamp() - "
    "transaction_timestamp()) * 1000) AS text), true)) AS integer)"
)

# Between the commands of a transaction sent whole: the newline ends a trailing line comment.
_GLUE = "\n;\n"


def _position(result: Any) -> int:
    """The character (from 1) an error result points at in the text sent; 0 if none."""
    from psycopg import pq

    position = result.error_field(pq.DiagnosticField.STATEMENT_POSITION)
    return int(position) if position and position.isdigit() else 0


class _Transaction(Transaction):
    """One simple-protocol query holding a whole transaction. The server answers with one
    result per command and stops at the first error, so the number of results before the
    error names the failing statement."""

    def __init__(
        self,
        conn: Connection,
        text: bytes,
        offsets: list[int],
        commands: int,
    ) -> None:
        self.conn = conn
        self.text = text
        self.offsets = offsets  # where each statement starts in the text
        self.expected = len(offsets) + commands + 3  # with BEGIN, the fence and COMMIT

    def send(self) -> None:
        from psycopg.generators import send

        self.conn.pgconn.send_query(self.text)
        self.conn.wait(send(self.conn.pgconn))  # flushed now; wait() reads the results

    def wait(self) -> str | None:
        from psycopg import ProgrammingError, errors, pq
        from psycopg.generators import fetch_many

        ok = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
        results = self.conn.wait(fetch_many(self.conn.pgconn))
        for index, result in enumerate(results):
            if result.status in ok:
                continue
            cause: BaseException
            if result.status == pq.ExecStatus.FATAL_ERROR:
                cause = errors.error_from_result(result, encoding=self.conn.info.encoding)
            else:  # COPY to or from the client: keel has no data to give or take
                cause = ProgrammingError(
                    f"the server answered {pq.ExecStatus(result.status).name}, which a "
                    "migration cannot use"
                )
            # results[0] is BEGIN's, results[k] statement k's. But the server parses the
            # whole text before running any of it: a syntax error comes first, and only its
            # position tells which statement holds it.
            if index == 0:
                index = max(1, bisect_right(self.offsets, _position(result) - 1))
            if index == len(self.offsets) + 1:  # the fence
                raise TransactionFailed(index, cause, None, lock_lost=True)
            statement = 1 <= index <= len(self.offsets)
            offset = self.offsets[index - 1] if statement else None
            if not statement:  # keel's rows or the COMMIT: number them as before the fence
                index -= 1
            raise TransactionFailed(index, cause, offset)
        if len(results) != self.expected:  # cannot happen: the splitter drops empty statements
            return None
        last = results[-2]  # the last command before COMMIT
        if not last.ntuples or not last.nfields:
            return None
        value = last.get_value(0, 0)
        return None if value is None else bytes(value).decode()


class PostgresOneRoundTrip(OneRoundTrip):
    elapsed_ms = _ELAPSED_MS
    started_at = "transaction_timestamp()"
    returning_ms = " RETURNING duration_ms"

    def sendable(self, sql: str) -> bool:
        # A ';' may join several commands (a custom delimiter): their results would not
        # map one to one onto statements. (A ';' in a literal is just sent the other way.)
        return ";" not in sql

    def transaction(
        self,
        session: Session,
        statements: Sequence[str],
        fence: tuple[str, Sequence[object]],
        commands: Sequence[tuple[str, Sequence[object]]],
    ) -> Transaction:
        # One simple-protocol query, not a pipeline: the server runs the statements as psql
        # would send them (no Parse/Bind/Describe per statement), and keel's own values are
        # quoted by psycopg as literals. User SQL is joined untouched (no % substitution).
        conn = session.conn
        mogrifier = getattr(session, "mogrifier", None)
        if mogrifier is None:
            import psycopg

            mogrifier = psycopg.ClientCursor(conn)
            session.mogrifier = mogrifier  # type: ignore[attr-defined]
        mogrify = mogrifier.mogrify
        parts = ["BEGIN"]
        offsets = []
        at = len("BEGIN") + len(_GLUE)
        for sql in statements:
            offsets.append(at)
            parts.append(sql)
            at += len(sql) + len(_GLUE)
        # keel's own commands go as literal SQL rather than PREPAREd once per session: a
        # migration's DEALLOCATE ALL, or a pooler handing out another session, would make
        # a prepared name vanish under the next migration.
        parts.append(mogrify(*fence))
        parts.extend(mogrify(sql, params) if params else sql for sql, params in commands)
        parts.append("COMMIT")
        text = _GLUE.join(parts).encode(conn.info.encoding)
        return _Transaction(conn, text, offsets, len(commands))


@cache
def sender() -> PostgresOneRoundTrip | None:
    """The sender, where the installed psycopg is one it was tested with; else None."""
    try:
        import psycopg
        from psycopg.errors import error_from_result  # noqa: F401
        from psycopg.generators import fetch_many, send  # noqa: F401
    except ImportError:
        return None
    minor = ".".join(psycopg.__version__.split(".")[:2])
    return PostgresOneRoundTrip() if minor in TESTED else None
