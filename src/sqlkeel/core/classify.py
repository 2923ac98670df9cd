"""What a statement is, from its first keyword: the one classifier every dialect shares.

A database whose DDL commits implicitly (MySQL, MariaDB) can still run a migration in a
transaction with its history row when every statement of it is one a transaction can undo.
The list is what is known to be safe, not what is known to be unsafe: a statement keel
cannot classify must never be promised a rollback
(https://dev.mysql.com/doc/refman/8.0/en/implicit-commit.html).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum

from sqlkeel.core.lexer import Lexed, SplitOptions, is_significant
from sqlkeel.core.splitter import split_statements
from sqlkeel.errors import SplitError

__all__ = ["StatementClass", "classify", "classify_all", "first_keyword"]


class StatementClass(str, Enum):
    """What a transaction can do about a statement."""

    # Reads and changes rows (INSERT, UPDATE, DELETE, REPLACE, MERGE, SELECT, WITH, VALUES,
    # DO) or sets a user variable (SET @v): a transaction undoes it, and it never commits.
    DML = "dml"
    # Anything else: DDL, GRANT, LOCK TABLES, BEGIN/COMMIT, CALL (a procedure's body may
    # hold DDL), SET of a server variable, an executable comment, what does not lex.
    OTHER = "other"


# Statements whose first keyword alone makes them DML. DO evaluates expressions (MySQL:
# https://mariadb.com/kb/en/do/); a stored function it calls may not commit implicitly.
# PostgreSQL's DO runs a block that may hold DDL, but there DDL is transactional, so no
# plan asks. MERGE is the SQL standard's upsert wherever it exists.
_DML = frozenset(
    ("INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "SELECT", "WITH", "VALUES", "DO")
)
# Layout and the parentheses that may open a query: `(SELECT 1) UNION (SELECT 2)`.
_LEAD = re.compile(r"[\s(]*")
_WORD = re.compile(r"[^\W\d][\w$]*")
# After SET: a user variable (`@v`), not a system one (`@@session.autocommit`, `@@v`).
_USER_VARIABLE = re.compile(r"\s+@(?!@)")


def _keyword_at(lexed: Lexed) -> tuple[str, int]:
    """The first keyword of ``lexed`` (upper case; "" when the statement starts with
    anything else: a literal, a quoted name, an executable comment) and where it ends."""
    text, options = lexed.text, lexed.options
    for token in lexed.tokens:
        if not is_significant(token, text, options):
            continue
        kind, start, end = token
        if kind != "code":
            return "", start
        lead = _LEAD.match(text, start, end)
        pos = lead.end() if lead else start
        if pos == end:
            continue  # only `(`: the keyword follows a comment
        word = _WORD.match(text, pos, end)
        return (word.group().upper(), word.end()) if word else ("", pos)
    return "", len(text)


def first_keyword(sql: str, options: SplitOptions) -> str:
    """The first keyword of ``sql`` in upper case, comments and opening parentheses
    skipped; "" when it starts with anything else. Raises SplitError when it does not lex
    (an unterminated literal or comment)."""
    return _keyword_at(Lexed(sql, options))[0]


def _one(sql: str, options: SplitOptions) -> StatementClass:
    lexed = Lexed(sql, options)
    keyword, end = _keyword_at(lexed)
    if keyword in _DML:
        return StatementClass.DML
    if keyword == "SET" and _USER_VARIABLE.match(sql, end):
        return StatementClass.DML
    return StatementClass.OTHER


def classify(sql: str, options: SplitOptions) -> StatementClass:
    """The class of ``sql``: one statement, or several that a custom delimiter sent as one
    chunk (DML only when every one of them is). Never raises: what does not lex is OTHER."""
    try:
        if ";" not in sql:
            return _one(sql, options)
        parts = split_statements(sql, options)
        if all(_one(part.sql, options) is StatementClass.DML for part in parts):
            return StatementClass.DML
    except SplitError:
        pass
    return StatementClass.OTHER


def classify_all(statements: Iterable[str], options: SplitOptions) -> tuple[StatementClass, ...]:
    """The class of each of ``statements``, in order."""
    return tuple(classify(sql, options) for sql in statements)
