"""The mysql command-line client's ``DELIMITER`` lines (profiles with ``client_delimiters``).

``DELIMITER //`` is a command of the client, not SQL: the server never sees it. At the
start of a line (leading blanks allowed) outside any literal or comment, ``DELIMITER``
(any letter case), blanks and a token end the statement before them and make the token
the statement delimiter until the next such line; ``DELIMITER ;`` brings back ordinary,
SQL-aware splitting. keel reads them the same way, so files written for ``mysql < file``
run unchanged. The rest of the line after the token is ignored, as the client does. A
line in the middle of a statement ends it (MariaDB's client would read the line into the
statement, which the server then rejects).
"""

from __future__ import annotations

import re

from sqlkeel.core.lexer import SplitOptions, column, construct_end, lex, may_contain
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
    for candidate in _CANDIDATE.finditer(text):
        start = candidate.start()
        if start < code:
            continue  # inside the literal or comment that hid the one before
        hidden = _hidden_until(text, code, start, options)
        if hidden is not None:  # inside a string or a block comment: text, not a command
            code = hidden
            continue
        found.append((start, candidate.end(), _token(text, candidate, first_line)))
        code = candidate.end()
    return found


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
