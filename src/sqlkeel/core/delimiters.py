"""The mysql command-line client's ``DELIMITER`` lines (profiles with ``client_delimiters``).

``DELIMITER //`` is a command of the client, not SQL: the server never sees it. At the
start of a line (leading blanks allowed) that begins a statement, outside any literal or
comment, ``DELIMITER`` (any letter case), blanks and a token make the token the statement
delimiter until the next such line; ``DELIMITER ;`` brings back ordinary, SQL-aware
splitting. keel reads them as the client does, so files written for ``mysql < file`` run
unchanged. The rest of the line after the token is ignored, as the client does. Inside a
statement such a line is statement text (``delimiter varchar(5)`` may be a column), as it
is for MariaDB's client: "begins a statement" means that nothing but blanks and comments
follows the last delimiter, the client's (a ``;`` even inside a routine body), before it.
"""

from __future__ import annotations

import re

from sqlkeel.core.lexer import (
    WHITESPACE,
    SplitOptions,
    column,
    construct_end,
    lex,
    may_contain,
)
from sqlkeel.errors import SplitError

__all__ = ["ClientLine", "client_lines", "mask", "regions"]

# (start, end, token): the line's offsets, its trailing line break excluded, and the
# delimiter it sets (quotes removed).
ClientLine = tuple[int, int, str]

# A line that may be one: the word alone, or followed by blanks.
_CANDIDATE = re.compile(r"^[ \t]*delimiter(?![^ \t\r\n])[^\r\n]*", re.IGNORECASE | re.MULTILINE)
_WORDS = re.compile(r"[^ \t\r\n]+")  # ASCII blanks only: U+00A0 can be part of a token
_QUOTES = "'\"`"
# What would make the token hide in, or open, a literal or comment (or, for the client, an
# escape): keel could not find it again where the client would.
_UNSPLITTABLE = re.compile(r"['\"`\\#]|--|/\*")

_FIX_TOKEN = "write the new delimiter after the word, e.g. 'DELIMITER //' (and 'DELIMITER ;' "
_FIX_TOKEN += "after the statements that need it)"


def client_lines(text: str, options: SplitOptions, first_line: int = 1) -> list[ClientLine]:
    """The ``DELIMITER`` lines of ``text``, in order; none unless ``options`` has
    ``client_delimiters``. Raises SplitError (line from ``first_line``) on one without a
    token or with a token keel cannot split on."""
    if not options.client_delimiters or not may_contain(text, 0, len(text), ("delimiter",)):
        return []
    found: list[ClientLine] = []
    code = 0  # the lexer is outside any literal or comment here
    delimiter: str | None = None  # the current one; None: ';'
    scanned, last = 0, -1  # the end of the last significant token in text[:scanned], or -1
    for candidate in _CANDIDATE.finditer(text):
        start = candidate.start()
        if start < code:
            continue  # inside the literal or comment that hid the one before
        hidden = _hidden_until(text, code, start, options)
        if hidden is not None:  # inside a string or a block comment: text, not a command
            code = hidden
            continue
        # Both ends are outside literals and comments: lexing the stretch between is exact,
        # and each character is lexed once however many candidates there are.
        last = _last_significant(text, scanned, start, options, last)
        scanned = code = start
        if not _at_statement_start(text, last, delimiter):
            continue  # e.g. a column named delimiter: statement text
        token = _token(text, candidate, first_line)
        found.append((start, candidate.end(), token))
        delimiter = None if token == ";" else token
        scanned = code = candidate.end()
        last = -1
    return found


def _last_significant(text: str, begin: int, end: int, options: SplitOptions, last: int) -> int:
    """Where the last significant token of ``text[begin:end]`` ends (its trailing blanks
    excluded); ``last`` if it has none. Executable ``/*! */`` comments are significant."""
    for kind, start, stop in reversed(lex(text[begin:end], options)):
        if kind == "space":
            continue
        if kind == "comment" and not text.startswith(("/*!", "/*+"), begin + start):
            continue
        significant = text[begin + start : begin + stop].rstrip(WHITESPACE)
        if significant:  # a run of code may be blanks only
            return begin + start + len(significant)
    return last


def _at_statement_start(text: str, last: int, delimiter: str | None) -> bool:
    """Whether the client would read a line after significant text ending at ``last`` (-1:
    none since the previous DELIMITER line) as the start of a statement."""
    if last < 0:
        return True
    return text.endswith(delimiter or ";", 0, last)


def _hidden_until(text: str, code: int, pos: int, options: SplitOptions) -> int | None:
    """None when ``pos`` (a line start after ``code``) is outside literals and comments:
    the text from ``code`` up to it lexes completely (a line comment ends before ``pos``).
    Otherwise where the literal or comment around ``pos`` ends (the end of the text if it
    never does), for the next line to be looked at from there: each character is lexed
    once however many lines inside a literal start with the word."""
    piece = text[code:pos]
    try:
        lex(piece, options)
    except SplitError as exc:
        line_start = 0
        for _ in range(exc.line - 1):
            line_start = piece.index("\n", line_start) + 1
        try:
            end = construct_end(text, code + line_start + exc.column - 1, options)
        except SplitError:
            return len(text)  # never closed: lexing the whole file reports it
        # None: an opening this profile's literals do not have (E''): no skipping ahead.
        return code if end is None or end < pos else end
    return None


def _token(text: str, line: re.Match[str], first_line: int) -> str:
    """The delimiter ``line`` sets; raises SplitError, with the fix, if it sets none."""
    words: list[str] = _WORDS.findall(line.group())
    indent = len(line.group()) - len(line.group().lstrip(" \t"))
    where = {
        "line": first_line + text.count("\n", 0, line.start()),
        "column": column(text, line.start() + indent),
    }
    if len(words) < 2:
        raise SplitError("a DELIMITER line without a delimiter", fix=_FIX_TOKEN, **where)
    token = words[1]
    if len(token) > 1 and token[0] in _QUOTES and token[-1] == token[0]:
        token = token[1:-1]  # the client takes 'DELIMITER "$$"' as $$
    if not token or _UNSPLITTABLE.search(token):
        raise SplitError(
            f"the delimiter {words[1]!r} is empty or holds a quote, a backslash or the start "
            "of a comment, which keel cannot split on",
            fix="choose a delimiter such as // or $$ and end the statements with it",
            **where,
        )
    return token


def mask(text: str, lines: list[ClientLine]) -> str:
    """``text`` with each line's characters blanked: the same offsets and line numbers, no
    SQL where the lines were."""
    pieces: list[str] = []
    previous = 0
    for start, end, _ in lines:
        pieces += [text[previous:start], " " * (end - start)]
        previous = end
    pieces.append(text[previous:])
    return "".join(pieces)


def regions(size: int, lines: list[ClientLine]) -> list[tuple[int, int, str | None]]:
    """The stretches of a text of length ``size`` between its ``lines``, each with the
    delimiter it is split on: None (``;``, SQL-aware) before the first line and after a
    ``DELIMITER ;``."""
    spans: list[tuple[int, int, str | None]] = []
    previous, delimiter = 0, None
    for start, end, token in lines:
        spans.append((previous, start, delimiter))
        previous, delimiter = end, (None if token == ";" else token)
    spans.append((previous, size, delimiter))
    return spans
