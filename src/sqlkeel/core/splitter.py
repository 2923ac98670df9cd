"""SQL-aware statement splitting: one regex-driven lexer switched by dialect capability flags.

``tokenize`` covers the whole text with tokens; ``split_statements`` cuts it on top-level
``;`` (or on a ``-- keel: delimiter=`` token, or on the tokens of the mysql client's
``DELIMITER`` lines) into exact slices with their first line (SPEC 1).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cache

from sqlkeel.core.delimiters import ClientLine, client_lines, regions
from sqlkeel.core.lexer import (
    ESTRING,
    MYSQL,
    POSTGRES,
    SQLITE,
    WHITESPACE,
    Raw,
    SplitOptions,
    close_token,
    lex,
    literal_patterns,
    may_contain,
)
from sqlkeel.core.values import Value

__all__ = [
    "MYSQL",
    "POSTGRES",
    "SQLITE",
    "SplitOptions",
    "Statement",
    "Token",
    "is_significant",
    "split_statements",
    "tokenize",
]


class Token(Value):
    """One lexical token: ``text[start:end]``; ``line`` is the 1-based line of ``start``.

    ``kind`` is one of word, string, ident, dollar, comment, space, semicolon, other.
    """

    __slots__ = ("end", "kind", "line", "start")
    kind: str
    start: int
    end: int
    line: int

    def __init__(self, kind: str, start: int, end: int, line: int) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.line = line


class Statement(Value):
    """An exact slice of the input (terminator excluded), its first line and 1-based index."""

    __slots__ = ("index", "line", "sql")
    sql: str
    line: int
    index: int

    def __init__(self, sql: str, line: int, index: int) -> None:
        self.sql = sql
        self.line = line
        self.index = index


# Internal token: (kind, start, end, line). Tuples keep the hot loop cheap; ``tokenize``
# wraps them in ``Token`` for callers.
_Raw = tuple[str, int, int, int]

# Only ASCII whitespace: the servers treat e.g. U+00A0 as an identifier character, so
# collapsing it in the checksum would hide a real change.
_SPACE = r"[ \t\n\r\f\v]+"
_WORD = r"\w[\w$]*"
# Group name -> token kind, for tokens the master regex matches completely.
_SIMPLE_KINDS = {
    "word": "word",
    "space": "space",
    "other": "other",
    "semicolon": "semicolon",
    "sq": "string",
    "estr": "string",
    "dqs": "string",
    "dqi": "ident",
    "bt": "ident",
    "line_comment": "comment",
}
_MULTILINE_KINDS = frozenset({"space", "string", "ident", "comment", "dollar"})
_GROUPS = {name: (kind, kind in _MULTILINE_KINDS) for name, kind in _SIMPLE_KINDS.items()}


@cache
def _master(options: SplitOptions) -> re.Pattern[str]:
    """The alternation of every token start, in priority order, for ``options``."""
    parts = [f"(?P<space>{_SPACE})"]
    if options.escape_strings:
        # Before `word`, so that a lone E/e directly before a quote prefixes the string.
        parts += [f"(?P<estr>{ESTRING})", "(?P<estr_open>[Ee]')"]
    parts.append(f"(?P<word>{_WORD})")
    parts += literal_patterns(options)
    parts.append(r"(?P<other>\$\d+|.)")
    return re.compile("|".join(parts), re.DOTALL)


def _scan(text: str, options: SplitOptions, first_line: int) -> list[_Raw]:
    """Tokenize into raw tuples; raises SplitError on an unterminated construct."""
    match = _master(options).match
    count = text.count
    tokens: list[_Raw] = []
    append = tokens.append
    pos = 0
    line = first_line
    size = len(text)
    if text.startswith("\ufeff"):
        # A byte-order mark is encoding noise, never SQL: treat it as whitespace.
        append(("space", 0, 1, line))
        pos = 1
    while pos < size:
        m = match(text, pos)
        assert m is not None  # `other` matches any character
        end = m.end()
        simple = _GROUPS.get(m.lastgroup or "")
        if simple is None:
            kind, end = close_token(text, m, options, line)
            append((kind, pos, end, line))
            line += count("\n", pos, end)
        else:
            kind, multiline = simple
            append((kind, pos, end, line))
            if multiline:
                line += count("\n", pos, end)
        pos = end
    return tokens


def tokenize(text: str, options: SplitOptions, *, first_line: int = 1) -> list[Token]:
    """Tokens covering ``text`` exactly (their slices concatenate back to it).

    Raises SplitError (1-based line counted from ``first_line``, column) on an
    unterminated quote, block comment, dollar body or E-string.
    """
    return [Token(*raw) for raw in _scan(text, options, first_line)]


def _is_executable_comment(text: str, start: int) -> bool:
    return text.startswith(("/*!", "/*+"), start)


def is_significant(token: Token, text: str, options: SplitOptions) -> bool:
    """True when ``token`` is statement content: not whitespace and not an ignorable comment.

    MySQL's ``/*! ... */`` and ``/*+ ... */`` (with ``hash_comments``) are content.
    """
    return _significant(token.kind, token.start, text, options.hash_comments)


def _significant(kind: str, start: int, text: str, executable_comments: bool) -> bool:
    if kind == "space":
        return False
    if kind == "comment":
        return executable_comments and _is_executable_comment(text, start)
    return True


# Block tracking (SPEC 1: trigger / routine bodies stay whole).
_ROUTINE_WORDS = frozenset({"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"})
# Words that show a CREATE is not a routine: a later `function` or `begin` there is a name.
_HEADER_STOP_WORDS = frozenset(
    {"AS", "SELECT", "TABLE", "VIEW", "INDEX", "TYPE", "DOMAIN", "SEQUENCE", "SCHEMA"}
)
_END_NOT_CLOSING = frozenset({"IF", "LOOP", "WHILE", "REPEAT"})


def split_statements(
    text: str,
    options: SplitOptions,
    *,
    first_line: int = 1,
    delimiter: str | None = None,
) -> tuple[Statement, ...]:
    """Split on top-level ``;`` (or on ``delimiter``), dropping empty statements.

    Each ``Statement.sql`` is the exact slice from its first to its last significant token.
    Without ``delimiter``, the mysql client's ``DELIMITER`` lines (``client_delimiters``)
    end statements and change the delimiter; they are never part of one.
    Raises SplitError on an unterminated literal or comment, or a malformed DELIMITER line.
    """
    if delimiter is None and options.client_delimiters:
        lines = client_lines(text, options, first_line)
        if lines:
            return _split_regions(text, options, lines, first_line)
    tokens = lex(text, options, first_line)
    return split_section(text, tokens, options, first_line=first_line, delimiter=delimiter)


def _split_regions(
    text: str, options: SplitOptions, lines: list[ClientLine], first_line: int
) -> tuple[Statement, ...]:
    """The statements between and around ``lines``, each stretch split on its delimiter."""
    statements: list[Statement] = []
    line, counted = first_line, 0  # `line` is the line number at offset `counted`
    for start, end, delimiter in regions(len(text), lines):
        line += text.count("\n", counted, start)
        counted = start
        piece = text[start:end]
        tokens = lex(piece, options, line)
        for s in split_section(piece, tokens, options, first_line=line, delimiter=delimiter):
            statements.append(Statement(s.sql, s.line, len(statements) + 1))
    return tuple(statements)


# A routine body may hold `;` that do not end the statement; only then do words matter.
_ROUTINE_HINT = re.compile(r"(?<![\w$])(?:TRIGGER|PROCEDURE|FUNCTION|EVENT)(?![\w$])", re.I)
_ROUTINE_WORDS_LOWER = ("trigger", "procedure", "function", "event")


def needs_words(
    text: str, options: SplitOptions, *, start: int, end: int, delimiter: str | None
) -> bool:
    """Whether splitting ``text[start:end]`` takes the word-level lexer: a custom delimiter,
    or a routine body whose ``;`` may not end the statement. Otherwise every top-level
    ``;`` ends one."""
    if delimiter is not None:
        return True
    if not (options.begin_end_blocks or options.begin_atomic):
        return False
    return may_contain(text, start, end, _ROUTINE_WORDS_LOWER) and bool(
        _ROUTINE_HINT.search(text, start, end)
    )


def split_section(
    text: str,
    tokens: list[Raw],
    options: SplitOptions,
    *,
    start: int = 0,
    end: int | None = None,
    first_line: int = 1,
    delimiter: str | None = None,
) -> tuple[Statement, ...]:
    """The statements of ``text[start:end]``, whose tokens (from ``lex``) are ``tokens``;
    ``first_line`` is the line number at ``start``."""
    end = len(text) if end is None else end
    if needs_words(text, options, start=start, end=end, delimiter=delimiter):
        return split_words(text[start:end], options, first_line=first_line, delimiter=delimiter)
    executable_comments = options.hash_comments
    statements: list[Statement] = []
    first = last = -1  # span of the current statement's significant text
    line, counted = first_line, start  # `line` is the line number at offset `counted`
    for kind, begin, stop in tokens:
        if kind == "code":
            piece = text[begin:stop]
            core = piece.lstrip(WHITESPACE)
            if not core:
                continue
            begin = stop - len(core)
            stop -= len(core) - len(core.rstrip(WHITESPACE))
        elif kind == "semicolon":
            if first >= 0:
                line += text.count("\n", counted, first)
                counted = first
                statements.append(Statement(text[first:last], line, len(statements) + 1))
                first = -1
            continue
        elif kind == "space" or (
            kind == "comment" and not (executable_comments and _is_executable_comment(text, begin))
        ):
            continue
        if first < 0:
            first = begin
        last = stop
    if first >= 0:
        line += text.count("\n", counted, first)
        statements.append(Statement(text[first:last], line, len(statements) + 1))
    return tuple(statements)


def split_words(
    text: str,
    options: SplitOptions,
    *,
    first_line: int = 1,
    delimiter: str | None = None,
) -> tuple[Statement, ...]:
    """``split_statements`` on the word-level lexer: tracks BEGIN ... END blocks and custom
    delimiters, at several times the cost."""
    tokens = _scan(text, options, first_line)
    exe = options.hash_comments
    significant = [t for t in tokens if _significant(t[0], t[1], text, exe)]
    if delimiter is not None:
        return _split_on_delimiter(text, tokens, significant, delimiter)
    return _split_on_semicolons(text, significant, options)


def _split_on_semicolons(
    text: str, significant: list[_Raw], options: SplitOptions
) -> tuple[Statement, ...]:
    blocks = options.begin_end_blocks or options.begin_atomic
    statements: list[Statement] = []
    first: _Raw | None = None  # first token of the current statement
    last: _Raw | None = None
    # Per-statement block state.
    is_create = False
    in_header = False  # still between CREATE and the routine's name/body
    is_routine = False
    depth = 0
    closer = -1  # index of the CASE that belongs to the preceding END
    count = len(significant)
    for i in range(count):
        token = significant[i]
        kind = token[0]
        if kind == "semicolon" and depth == 0:
            if first is not None and last is not None:
                statements.append(
                    Statement(text[first[1] : last[2]], first[3], len(statements) + 1)
                )
            first = last = None
            is_create = in_header = is_routine = False
            continue
        if first is None:
            first = token
            if blocks and kind == "word" and text[token[1] : token[2]].upper() == "CREATE":
                is_create = in_header = True
        last = token
        if not is_create:
            continue
        if kind == "word":
            word = text[token[1] : token[2]].upper()
            if in_header:
                if word in _ROUTINE_WORDS:
                    is_routine = True
                    in_header = False
                elif word in _HEADER_STOP_WORDS:
                    in_header = False
                continue
            if not is_routine:
                continue
            if word == "BEGIN":
                if options.begin_end_blocks or _next_word(text, significant, i) == "ATOMIC":
                    depth += 1
            elif word == "CASE":
                if i == closer:  # the CASE of `END CASE`
                    continue
                depth += 1
            elif word == "END":
                following = _next_word(text, significant, i)
                # `END IF` / `END LOOP` / ... close constructs that opened no block here.
                if depth > 0 and following not in _END_NOT_CLOSING:
                    depth -= 1
                if following == "CASE":
                    closer = i + 1
        elif in_header and text[token[1]] == "(":
            # MySQL's `DEFINER = CURRENT_USER()` is the one parenthesis a routine header has.
            previous = significant[i - 1]
            if text[previous[1] : previous[2]].upper() != "CURRENT_USER":
                in_header = False
    if first is not None and last is not None:
        statements.append(Statement(text[first[1] : last[2]], first[3], len(statements) + 1))
    return tuple(statements)


def _next_word(text: str, significant: list[_Raw], i: int) -> str:
    """The upper-cased next significant token when it is a word, else ''."""
    if i + 1 < len(significant):
        kind, start, end, _ = significant[i + 1]
        if kind == "word":
            return text[start:end].upper()
    return ""


_CODE_KINDS = frozenset({"word", "other", "semicolon", "space"})


def _split_on_delimiter(
    text: str, tokens: list[_Raw], significant: list[_Raw], delimiter: str
) -> tuple[Statement, ...]:
    """Split on a literal ``delimiter`` outside literals and comments; ';' is plain text."""
    if not delimiter or re.search(r"\s", delimiter):
        raise ValueError(f"delimiter must be a non-empty token without spaces: {delimiter!r}")
    # Code regions: maximal runs of tokens a delimiter may appear in.
    region_starts: list[int] = []
    region_ends: list[int] = []
    for kind, start, end, _ in tokens:
        if kind in _CODE_KINDS:
            if region_ends and region_ends[-1] == start:
                region_ends[-1] = end
            else:
                region_starts.append(start)
                region_ends.append(end)
    if re.fullmatch(r"\w+", delimiter):
        # A word delimiter (GO) only counts alone on its line, as sqlcmd and friends do.
        pattern = re.compile(
            rf"^[ \t]*{re.escape(delimiter)}[ \t]*(?=\r?\n|\r|\Z)", re.MULTILINE | re.IGNORECASE
        )
    else:
        pattern = re.compile(re.escape(delimiter))
    cuts: list[tuple[int, int]] = []
    search, pos = pattern.search, 0
    while (m := search(text, pos)) is not None:
        r = bisect_right(region_starts, m.start()) - 1
        if r >= 0 and m.end() <= region_ends[r]:
            cuts.append((m.start(), m.end()))
            pos = m.end()
        else:
            # Not a delimiter, but one may start inside it: `*///` closes a comment with
            # its first '/' and holds a `//` after it.
            pos = m.start() + 1
    statements: list[Statement] = []
    count = len(significant)
    k = 0  # first significant token not wholly before the current segment
    for seg_start, seg_end in _segments(cuts, len(text)):
        while k < count and significant[k][2] <= seg_start:
            k += 1
        j = k
        while j < count and significant[j][1] < seg_end:
            j += 1
        if j > k:
            # A word may straddle a cut (`END$$`): clip the slice to the segment.
            head, tail = significant[k], significant[j - 1]
            start = max(head[1], seg_start)
            stop = min(tail[2], seg_end)
            line = head[3] + text.count("\n", head[1], start)
            statements.append(Statement(text[start:stop], line, len(statements) + 1))
    return tuple(statements)


def _segments(cuts: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The spans between consecutive delimiter occurrences, including the tail."""
    spans: list[tuple[int, int]] = []
    previous = 0
    for start, end in cuts:
        spans.append((previous, start))
        previous = end
    spans.append((previous, size))
    return spans
