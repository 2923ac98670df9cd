"""The KeelError tree: every failure keel reports, with its exit code and structured fields.

Exit codes (SPEC 7): 1 a migration or validation failed; 2 usage or configuration
error; 3 lock not acquired in time. The CLI prints ``error.spelled(flags)`` (``str(error)``
with the request's fields named as its flags) as one paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from sqlkeel.core.values import Value


class KeelError(Exception):
    """Base of every error keel raises on purpose."""

    exit_code = 1
    # The request's fields (parameters) the message names: see ``spelled``.
    fields: tuple[str, ...] = ()

    def spelled(self, names: Mapping[str, str]) -> str:
        """The message with each of its ``fields`` named as ``names`` spells it (the CLI:
        ``{"to": "--to"}``); ``str(error)`` names them as the library does."""
        return str(self)


class ConfigError(KeelError):
    """Bad settings, URL, option combination or missing directory."""

    exit_code = 2


class ConnectionFailed(KeelError):
    """The database could not be reached or refused the connection."""

    exit_code = 2


class SourceError(KeelError):
    """A migration file that cannot be read or parsed.

    ``path`` and ``line`` locate the problem; ``fix`` says what to change.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        line: int = 0,
        fix: str = "",
        code: str = "parse-error",
    ) -> None:
        if not message.endswith((".", "?", "!")):
            message += "."
        self.message = message
        self.code = code
        self.path = path
        self.line = line
        self.fix = fix
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(f"{where}{message}" + (f" Fix: {fix}" if fix else ""))


class SplitError(KeelError):
    """The statement splitter met an unterminated quote, comment or dollar tag, or a
    malformed ``DELIMITER`` line (whose ``fix`` it names).

    Raised by the pure core without a file name; parsing re-raises it as a SourceError.
    """

    def __init__(self, message: str, *, line: int, column: int, fix: str = "") -> None:
        self.message = message
        self.line = line
        self.column = column
        self.fix = fix
        super().__init__(f"line {line}, column {column}: {message}")


class Problem(Value):
    """One validation finding (SPEC 4), with a stable ``code`` for scripts and tests."""

    __slots__ = ("code", "fix", "line", "message", "path")
    code: str
    path: str
    message: str
    fix: str
    line: int

    def __init__(self, code: str, path: str, message: str, fix: str, line: int = 0) -> None:
        self.code = code
        self.path = path
        self.message = message
        self.fix = fix
        self.line = line

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message} Fix: {self.fix}"


class ValidationFailed(KeelError):
    """Validation found problems; ``problems`` holds every one of them at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"validation failed: {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in self.problems))


class PlanError(KeelError):
    """The requested operation cannot be planned (bad --to, nothing to roll back...)."""


class UsageError(KeelError):
    """The request is impossible as asked; the user must change the command.

    The pure core names the request's fields, not CLI flags: ``template`` holds each field
    of ``fields`` as ``{field}``, which ``str()`` spells as the field itself (``count``) and
    the CLI as its flag (``--count``).
    """

    exit_code = 2

    def __init__(self, template: str, *, fields: Sequence[str] = ()) -> None:
        self.template = template
        self.fields = tuple(fields)
        super().__init__(self.spelled({}))

    def spelled(self, names: Mapping[str, str]) -> str:
        if not self.fields:
            return self.template
        return _FIELD.sub(
            lambda m: names.get(m[1], m[1]) if m[1] in self.fields else m[0], self.template
        )


# A field named in a UsageError's template.
_FIELD = re.compile(r"\{(\w+)\}")

# How much of a failed statement's first line an error quotes.
_QUOTED_MAX = 120


class MigrationFailed(KeelError):
    """A statement failed while a migration ran.

    Carries the file, the statement's 1-based index and first line, and the database's
    message. ``recorded_failed`` is true when the history now holds a ``failed`` row.
    """

    def __init__(
        self,
        *,
        path: str,
        line: int,
        statement_index: int,
        statement: str,
        db_message: str,
        direction: str = "upgrade",
        recorded_failed: bool = False,
        note: str = "",
    ) -> None:
        self.path = path
        self.line = line
        self.statement_index = statement_index
        self.statement = statement
        self.db_message = db_message
        self.direction = direction
        self.recorded_failed = recorded_failed
        first_line = statement.strip().splitlines()[0] if statement.strip() else ""
        if len(first_line) > _QUOTED_MAX:  # a 90 KB INSERT on one line names itself briefly
            first_line = first_line[: _QUOTED_MAX - 1] + "…"
        if statement_index:
            text = (
                f"{path}:{line}: {direction} failed at statement {statement_index} "
                f"(`{first_line}`): {db_message.strip().rstrip('.')}."
            )
        else:  # sent whole: the server did not say which statement was running
            text = f"{path}:{line}: {direction} did not finish: {db_message.strip().rstrip('.')}."
        if note:
            text += f" {note}"
        super().__init__(text)


class ConnectionLost(MigrationFailed):
    """The connection broke while a migration ran (the server stopped or ended keel's
    session): not the migration's fault, so exit 2 like a connection that failed."""

    exit_code = 2


class LockTimeout(KeelError):
    """The migration lock was not acquired in time; ``holder`` describes who has it."""

    exit_code = 3

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        self.holder = holder
        super().__init__(message)


class LockLost(KeelError):
    """The migration lock was no longer held by this run: it stopped before committing
    anything more (exit 3, as for a lock not acquired)."""

    exit_code = 3


class DatabaseError(KeelError):
    """The database failed keel's own SQL (its tables, its lock), not a migration's."""


class HistoryWriteFailed(KeelError):
    """keel's own write of a migration's history or log row failed after the migration's
    statements ran; in a transaction both were rolled back together."""

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(message)


class HistoryRowUnreadable(KeelError):
    """A history row holds a value keel never writes (a state, kind or version it does not
    know): the message names the row, the column, the value and the fix."""


class DatabaseBusy(KeelError):
    """Another process kept the database busy (an SQLite write transaction) for longer than
    lock_timeout: as for the migration lock, exit 3."""

    exit_code = 3


class DiskFull(KeelError):
    """The disk holding the database filled up; the database says what it kept."""
