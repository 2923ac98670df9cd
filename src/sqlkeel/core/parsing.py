"""Turn a migration file's name and text into a MigrationFile (SPEC 1), or a SourceError.

Pure: the caller reads and decodes the file; this module only looks at strings.
"""

from __future__ import annotations

import re

from sqlkeel.core.checksum import canonical_parts, checksum, file_digest, sha256_hex
from sqlkeel.core.delimiters import ClientLine, client_lines, mask
from sqlkeel.core.lexer import Lexed, Raw, lex, may_contain
from sqlkeel.core.model import Kind, MigrationFile, Section, Span, outline
from sqlkeel.core.splitter import SplitOptions, Statement, needs_words, split_statements
from sqlkeel.core.values import Value
from sqlkeel.core.versions import Version
from sqlkeel.errors import SourceError, SplitError

EXPECTED_NAMES = (
    "V<version>__<description>.sql (e.g. V3__add_orders.sql, V2.1__fix.sql), "
    "R__<description>.sql or ROC__<description>.sql (repeatable on change), "
    "RA__<description>.sql (repeatable always); <version> is digits separated by dots, "
    "<description> letters, digits and underscores"
)

_NAME = re.compile(
    r"(?:V(?P<version>\d+(?:\.\d+)*)|(?P<prefix>R|ROC|RA))__(?P<desc>[A-Za-z0-9_]+)\.sql",
    re.IGNORECASE,
)
_MARKER = re.compile(r"--\s*(upgrade|rollback)\s*", re.IGNORECASE)
# Lines that look like a marker but are not one: run as part of the upgrade, a mistyped
# '-- rollback:' would silently drop a table. Markers of other tools are caught too.
_NEAR_MARKER = re.compile(
    r"--\s*(?:(?:upgrade|rollback)\s*[:=>-]|(?:up|down|undo)\s*:?\s*$|migrate\s*:\s*(?:up|down)"
    r"|\+goose\s+(?:up|down)|\+migrate\s+(?:up|down)|//\s*@undo|!\s*(?:ups|downs))",
    re.IGNORECASE,
)
_DIRECTIVE = re.compile(r"--\s*keel\s*:(?P<body>.*)", re.IGNORECASE | re.DOTALL)
_DIRECTIVE_ITEM = re.compile(r"\s*(?P<key>[A-Za-z_]+)\s*=\s*(?P<value>\S+)\s*")


class FileName(Value):
    __slots__ = ("description", "kind", "version")
    kind: Kind
    version: Version | None
    description: str

    def __init__(self, kind: Kind, version: Version | None, description: str) -> None:
        self.kind = kind
        self.version = version
        self.description = description


def parse_filename(path: str) -> FileName:
    """Classify a ``.sql`` file by its base name; raises SourceError when it fits no pattern."""
    name = path.rsplit("/", 1)[-1]
    match = _NAME.fullmatch(name)
    # The prefix letters must be upper case (``v1__x.sql`` is a typo, not a migration);
    # only the extension is case-insensitive.
    if (
        not match
        or not name.startswith(("V", "R"))
        or (match["prefix"] and not match["prefix"].isupper())
    ):
        raise SourceError(
            f"file name {name!r} is not a migration file name.",
            path=path,
            code="bad-filename",
            fix=f"rename it to one of: {EXPECTED_NAMES}; or give it another extension "
            "if it is not a migration.",
        )
    if match["version"] is not None:
        version = Version.parse(match["version"])
        if version.key == (0,):
            raise SourceError(
                f"version {match['version']} is not a migration version: 0 stands for the "
                "empty database ('keel rollback --to 0' rolls back everything), so a "
                "migration numbered 0 could never be the one to stay at.",
                path=path,
                code="version-zero",
                fix=f"rename it to {zero_renamed(path)}, a version above 0 that still sorts "
                "before V1 (or any unused version above 0).",
            )
        return FileName(Kind.VERSIONED, version, match["desc"])
    kind = Kind.ALWAYS if match["prefix"].upper() == "RA" else Kind.REPEATABLE
    return FileName(kind, None, match["desc"])


def _refuse_nul(path: str, text: str) -> None:
    """A NUL byte is in no SQL text; drivers cut the statement there or the server rejects
    it, so it is refused before anything runs."""
    pos = text.find("\x00")
    if pos < 0:
        return
    line = text.count("\n", 0, pos) + 1
    raise SourceError(
        f"the file holds a NUL byte (column {pos - _line_start(text, pos) + 1}), which no SQL "
        "text contains: the file is damaged, binary, or saved as UTF-16 without a byte "
        "order mark.",
        path=path,
        line=line,
        code="nul-byte",
        fix="remove it (e.g. tr -d '\\000' < old > new), or save the file as UTF-8 text.",
    )


def zero_renamed(path: str) -> str:
    """The base name a version-0 file should take: the same with version 0.1."""
    name = path.rsplit("/", 1)[-1]
    return "V0.1__" + name.split("__", 1)[1]


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _is_alone_on_line(text: str, token: Raw) -> bool:
    return not text[_line_start(text, token[1]) : token[1]].strip()


class _Directives(Value):
    __slots__ = ("delimiter", "transactional")
    transactional: bool
    delimiter: str | None

    def __init__(self, transactional: bool = True, delimiter: str | None = None) -> None:
        self.transactional = transactional
        self.delimiter = delimiter


def _read_directives(path: str, lexed: Lexed) -> _Directives:
    text = lexed.text
    transactional, delimiter = True, None
    first_statement: int | None = None
    for token in lexed.comments:
        _, start, end = token
        match = _DIRECTIVE.fullmatch(text[start:end].rstrip("\r"))
        if not match:
            continue
        if first_statement is None:
            first_statement = lexed.first_significant()
        if first_statement < start:
            raise SourceError(
                "a '-- keel:' directive appears after the first statement.",
                path=path,
                line=lexed.line(token[1]),
                fix="move it to the top of the file, before any SQL.",
            )
        items = match["body"].strip().split()
        if not items:
            raise SourceError(
                "empty '-- keel:' directive.",
                path=path,
                line=lexed.line(token[1]),
                fix="write '-- keel: transaction=off' or '-- keel: delimiter=<token>'.",
            )
        for item in items:
            kv = _DIRECTIVE_ITEM.fullmatch(item)
            key = kv["key"].lower() if kv else item
            value = kv["value"] if kv else ""
            if key == "transaction" and value.lower() in ("off", "on"):
                transactional = value.lower() == "on"
            elif key == "delimiter" and value:
                delimiter = value
            else:
                raise SourceError(
                    f"unknown or malformed '-- keel:' directive {item!r}.",
                    path=path,
                    line=lexed.line(token[1]),
                    fix="the directives are 'transaction=off' (run outside a transaction) "
                    "and 'delimiter=<token>' (split on <token> instead of ';').",
                )
    return _Directives(transactional, delimiter)


def _markers(path: str, lexed: Lexed) -> dict[str, Raw]:
    text = lexed.text
    found: dict[str, Raw] = {}
    for token in lexed.comments:
        comment = text[token[1] : token[2]].rstrip("\r")
        match = _MARKER.fullmatch(comment)
        if not _is_alone_on_line(text, token):
            continue
        if not match:
            if _NEAR_MARKER.match(comment):
                raise SourceError(
                    f"the line {comment.strip()!r} looks like a section marker but is not one, "
                    "so everything below it would run as part of the upgrade.",
                    path=path,
                    line=lexed.line(token[1]),
                    fix="write the marker alone on its line, exactly '-- upgrade' or "
                    "'-- rollback', with the statements below it; or reword the comment.",
                )
            continue
        name = match[1].lower()
        if name in found:
            raise SourceError(
                f"more than one '-- {name}' marker (first on line {lexed.line(found[name][1])}).",
                path=path,
                line=lexed.line(token[1]),
                fix=f"keep a single '-- {name}' line; each section appears at most once.",
            )
        found[name] = token
    if "upgrade" in found and "rollback" in found and found["rollback"][1] < found["upgrade"][1]:
        raise SourceError(
            "'-- rollback' comes before '-- upgrade'.",
            path=path,
            line=lexed.line(found["rollback"][1]),
            fix="put the upgrade section first, then '-- rollback' and its statements.",
        )
    if "upgrade" in found:
        first = lexed.first_significant(found["upgrade"][1])
        if first < found["upgrade"][1]:
            raise SourceError(
                "SQL appears before the '-- upgrade' marker.",
                path=path,
                line=lexed.line(first),
                fix="move that SQL below '-- upgrade', or remove the marker.",
            )
    return found


# Statements that end or open a transaction. ROLLBACK TO (a savepoint) is harmless.
_TRANSACTION_CONTROL = re.compile(
    r"(?:BEGIN|START\s+TRANSACTION|COMMIT|END|ABORT|ROLLBACK(?!\s+(?:WORK\s+|TRANSACTION\s+)?TO\b))"
    r"(?:\s+(?:WORK|TRANSACTION|DEFERRED|IMMEDIATE|EXCLUSIVE))?\s*",
    re.IGNORECASE,
)


# Every statement _TRANSACTION_CONTROL matches starts with one of these words.
_TRANSACTION_WORDS = ("begin", "start", "commit", "end", "abort", "rollback")


def _refuse_transaction_control(path: str, text: str, section: _Found | None) -> None:
    if section is None:
        return
    statements = section.statements
    if statements is None:
        # Kept: building the whole file would split it again.
        statements = section.statements = split_span(text, section.span)
    for statement in statements:
        if _TRANSACTION_CONTROL.fullmatch(statement.sql):
            raise SourceError(
                f"statement {statement.index} is {statement.sql.strip()!r}, but keel already "
                "runs each migration in a transaction of its own, together with its history "
                "row; a transaction statement inside the file would break that.",
                path=path,
                line=statement.line,
                fix="remove it, or put '-- keel: transaction=off' at the top of the file if "
                "it must manage transactions itself.",
            )


def _unterminated(path: str, exc: SplitError) -> SourceError:
    return SourceError(
        f"{exc.message} (column {exc.column})",
        path=path,
        line=exc.line,
        fix=exc.fix or "close the quote, comment or dollar-quoted body that starts there.",
    )


def _section_lines(
    text: str, options: SplitOptions, up_end: int, down_start: int, lexed: Lexed
) -> list[ClientLine]:
    """The DELIMITER lines of the upgrade section (with what lies above it) and of the
    rollback section, each scanned from ``;``; offsets are the file's."""
    down = client_lines(text[down_start:], options, lexed.line(down_start))
    return client_lines(text[:up_end], options) + [
        (start + down_start, end + down_start, token) for start, end, token in down
    ]


def _check_client_lines(
    path: str, lexed: Lexed, lines: list[ClientLine], directives: _Directives, upgrade: int
) -> None:
    """Refuse DELIMITER lines that could not mean what they say: next to a ``delimiter=``
    directive (two rules for one file), or above ``-- upgrade`` (each section starts with
    ``;``, so such a line would change nothing)."""
    start = lines[0][0]
    if directives.delimiter is not None:
        raise SourceError(
            f"the file has a '-- keel: delimiter={directives.delimiter}' directive and "
            "DELIMITER lines, two ways of choosing its delimiter.",
            path=path,
            line=lexed.line(start),
            fix="keep one: remove the directive (keel reads DELIMITER lines as the mysql "
            "client does), or remove the DELIMITER lines.",
        )
    if start < upgrade:
        raise SourceError(
            "a DELIMITER line comes before the '-- upgrade' marker, where it changes "
            "nothing: each section starts with ';' as its delimiter.",
            path=path,
            line=lexed.line(start),
            fix="move it below '-- upgrade' (and repeat it below '-- rollback' if the "
            "rollback section needs it too).",
        )


def split_span(text: str, span: Span) -> tuple[Statement, ...]:
    """The statements of the section ``span`` locates in ``text`` (its file's decoded text),
    as parsing splits them."""
    # Both sections share the file's text; a slice is made only while splitting.
    return split_statements(
        text[span.start : span.end],
        span.options,
        first_line=span.first_line,
        delimiter=span.delimiter,
    )


def span_checksum(text: str, span: Span) -> str:
    """The checksum of the section ``span`` locates in ``text``, as parsing computes it."""
    # The section's tokens are those of the file between its offsets (sections start and
    # end on token boundaries), so lexing the slice again gives the checksum parsing would.
    return checksum(text[span.start : span.end], span.options)


class _Found:
    """A section as parsing found it: its place and what parsing already learnt of it
    (statements split when words or DELIMITER lines made that necessary, the checksum
    when looking for transaction statements computed it)."""

    __slots__ = ("checksum", "is_empty", "is_noop", "span", "statements")

    def __init__(
        self,
        span: Span,
        statements: tuple[Statement, ...] | None,
        checksum: str | None,
        is_empty: bool,
        is_noop: bool,
    ) -> None:
        self.span = span
        self.statements = statements
        self.checksum = checksum
        self.is_empty = is_empty
        self.is_noop = is_noop

    @property
    def is_blank(self) -> bool:
        return self.is_empty and not self.is_noop

    def section(self, text: str) -> Section:
        """The section whole: statements split and checksum computed if not yet."""
        statements = self.statements
        if statements is None:
            statements = split_span(text, self.span)
        checksum = self.checksum if self.checksum is not None else span_checksum(text, self.span)
        return Section(
            statements, checksum, self.span.first_line, is_noop=self.is_noop, span=self.span
        )


def _section(
    text: str,
    lexed: Lexed,
    start: int,
    end: int,
    delimiter: str | None,
    transactional: bool,
    has_lines: bool = False,
) -> tuple[_Found, bool]:
    """The section of ``text`` (``lexed`` is its outline, DELIMITER lines blanked) and
    whether its statements must be checked for transaction statements.

    Statements are split, and the checksum computed, only where checking the file needs
    them. Split eagerly when words matter or the section has DELIMITER lines
    (``has_lines``; raises SplitError).
    """
    options = lexed.options
    first_line = lexed.line(start)
    # Splitting later lexes the section again (~5 us) rather than keeping its tokens:
    # 10 000 files' tokens would outweigh everything else keel holds.
    span = Span(start, end, first_line, options, delimiter)
    if has_lines or needs_words(text, options, start=start, end=end, delimiter=delimiter):
        statements = split_span(text, span)
        is_noop = not statements and _has_comments(lexed, start, end)
        return _Found(span, statements, None, not statements, is_noop), transactional
    if not (transactional and may_contain(text, start, end, _TRANSACTION_WORDS)):
        is_empty = not lexed.has_content(start, end)
        is_noop = is_empty and _has_comments(lexed, start, end)
        return _Found(span, None, None, is_empty, is_noop), False
    # A transaction statement is a whole piece between two ';' of the masked canonical text:
    # most files are settled without splitting them.
    piece = text[start:end]
    canonical, masked = canonical_parts(piece, lex(piece, options), options)
    known = sha256_hex(canonical.encode("utf-8"))
    suspect = masked is None or any(_TRANSACTION_CONTROL.fullmatch(p) for p in masked.split(";"))
    is_noop = not canonical and _has_comments(lexed, start, end)
    return _Found(span, None, known, not canonical, is_noop), suspect


def _has_comments(lexed: Lexed, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` holds a comment that says something: what makes a
    section without statements a deliberate no-op (SPEC 12) rather than unfinished work.
    ``-- keel:`` directives configure the file and say nothing; the mysql client's
    DELIMITER lines are blanked in ``lexed`` already."""
    text = lexed.text
    return any(
        start <= token[1] < end and not _DIRECTIVE.fullmatch(text[token[1] : token[2]].rstrip("\r"))
        for token in lexed.comments
    )


class _Outline:
    """A file as parsing checked it: its name, directives and sections."""

    __slots__ = ("delimiter", "name", "rollback", "transactional", "upgrade")

    def __init__(
        self,
        name: FileName,
        transactional: bool,
        delimiter: str | None,
        upgrade: _Found,
        rollback: _Found | None,
    ) -> None:
        self.name = name
        self.transactional = transactional
        self.delimiter = delimiter
        self.upgrade = upgrade
        self.rollback = rollback


def parse_migration(
    path: str, text: str, options: SplitOptions, *, content: bytes | None = None
) -> MigrationFile:
    """Parse one migration file whole: its sections with their statements, and its
    checksums; ``path`` is relative to the migrations directory and ``content`` its bytes
    as read, when known (for its ``digest`` and ``fingerprint``).

    Raises SourceError naming the file, line and fix.
    """
    found = _outline(path, text, options)
    upgrade = found.upgrade.section(text)
    rollback = found.rollback.section(text) if found.rollback is not None else None
    digest = None
    if content is not None:
        assert upgrade.checksum is not None
        down = rollback.checksum if rollback is not None else None
        digest = file_digest(content, upgrade.checksum, down)
    return MigrationFile.whole(
        path,
        found.name.kind,
        found.name.version,
        found.name.description,
        upgrade,
        rollback,
        transactional=found.transactional,
        fingerprint=hash(content if content is not None else text),
        digest=digest,
    )


def outline_migration(
    path: str, text: str, options: SplitOptions, *, fingerprint: int, profile: int
) -> MigrationFile:
    """Check one migration file as ``parse_migration`` does, keeping neither its text nor
    its statements nor its checksums: a source reads them again when they are needed
    (``fingerprint``, ``hash`` of its bytes, and ``profile``, the index of ``options``
    among the source's split profiles, tell it how)."""
    found = _outline(path, text, options)
    up, down = found.upgrade, found.rollback
    return outline(
        path,
        found.name.kind,
        found.name.version,
        found.name.description,
        found.transactional,
        fingerprint,
        profile,
        (up.span.start, up.span.end, up.span.first_line, up.is_noop),
        None
        if down is None
        else (down.span.start, down.span.end, down.span.first_line, down.is_noop, down.is_blank),
        # A custom delimiter is not in the place: such files are parsed whole again.
        findable=found.delimiter is None,
    )


def _outline(path: str, text: str, options: SplitOptions) -> _Outline:
    """Check one migration file (SPEC 1); raises SourceError naming the file, line and fix."""
    name = parse_filename(path)
    _refuse_nul(path, text)
    try:
        # The mysql client's DELIMITER lines are not SQL: markers, directives and content
        # are looked for around them, and each section splits on the delimiters they set.
        lines = client_lines(text, options)
        lexed = Lexed(mask(text, lines) if lines else text, options)
    except SplitError as exc:
        raise _unterminated(path, exc) from exc
    directives = _read_directives(path, lexed)
    markers = _markers(path, lexed)
    up_start = markers["upgrade"][2] if "upgrade" in markers else 0
    up_end = markers["rollback"][1] if "rollback" in markers else len(text)
    if (
        "rollback" in markers
        and options.client_delimiters
        and may_contain(text, markers["rollback"][2], len(text), ("delimiter",))
    ):
        # Each section starts with ';' (a DELIMITER line never reaches past the marker):
        # the lines as each section's own scan finds them, as splitting it later will.
        try:
            lines = _section_lines(text, options, up_end, markers["rollback"][2], lexed)
        except SplitError as exc:
            raise _unterminated(path, exc) from exc
        lexed = Lexed(mask(text, lines), options)
    if lines:
        _check_client_lines(path, lexed, lines, directives, up_start)
    transactional, delimiter = directives.transactional, directives.delimiter
    has_lines = bool(lines) and lines[0][0] < up_end  # none lies above the upgrade section
    try:
        upgrade, up_suspect = _section(
            text, lexed, up_start, up_end, delimiter, transactional, has_lines
        )
    except SplitError as exc:  # the word-level lexer of a routine body
        raise _unterminated(path, exc) from exc
    rollback, down_suspect = None, False
    if "rollback" in markers:
        if name.kind is not Kind.VERSIONED:
            raise SourceError(
                "a repeatable migration has a '-- rollback' section.",
                path=path,
                line=lexed.line(markers["rollback"][1]),
                fix="remove it: repeatable migrations are re-run when they change, "
                "never rolled back.",
            )
        down_start = markers["rollback"][2]
        try:
            rollback, down_suspect = _section(
                text,
                lexed,
                down_start,
                len(text),
                delimiter,
                transactional,
                bool(lines) and lines[-1][0] >= down_start,
            )
        except SplitError as exc:
            raise _unterminated(path, exc) from exc
    if upgrade.is_blank:
        # Whitespace alone is what 'keel new' leaves: unfinished, not a decision (SPEC 12).
        raise SourceError(
            "the file has no statements to run"
            + (" before its '-- rollback' marker" if "rollback" in markers else "")
            + ".",
            path=path,
            line=upgrade.span.first_line,
            fix="write the upgrade SQL; or, if this migration deliberately changes nothing "
            "here, say so in a comment (e.g. '-- This file intentionally left blank'), which "
            "keel applies as a no-op; or delete the file if it is not needed.",
        )
    if up_suspect:
        _refuse_transaction_control(path, text, upgrade)
    if down_suspect:
        _refuse_transaction_control(path, text, rollback)
    return _Outline(name, transactional, delimiter, upgrade, rollback)
