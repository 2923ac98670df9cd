"""Checksums that ignore line endings, a BOM, comments and whitespace outside literals (SPEC 2).

The canonical text is rebuilt from the lexer's tokens, so what counts as a literal or a
comment is exactly what the splitter sees. Literals keep every character (newlines as LF);
whitespace survives only as one space between two words or literals (``a b`` is not
``ab``, while ``f (x)`` is ``f(x)``); empty statements disappear. The mysql client's
``DELIMITER`` lines (MySQL profile) count as ``DELIMITER <token>``: which delimiter splits
the statements is part of them.
"""

from __future__ import annotations

import re

from sqlkeel.core.delimiters import ClientLine, client_lines, regions
from sqlkeel.core.lexer import (
    WHITESPACE,
    Raw,
    canonical_code,
    ends_with_word,
    lex,
    starts_with_word,
)
from sqlkeel.core.splitter import SplitOptions

__all__ = [
    "canonical_parts",
    "canonical_text",
    "canonical_tokens",
    "checksum",
    "checksum_tokens",
    "file_digest",
    "sha256_hex",
]

_SPACED = frozenset({"word", "string", "ident", "dollar"})


# The fast path masks every literal with WORDLIKE (it spaces like a word) and every MySQL
# executable comment with PUNCTUATION, then canonicalises all the code at once.
WORDLIKE, PUNCTUATION = "\ue000", "\ue001"
_MASKS = re.compile("[\ue000\ue001]")
# Each pattern starts with a literal or a character set, so the regex engine can skip to
# candidates instead of trying every position.
_WHITESPACE_RUN = re.compile(r"[ \t\n\r\f\v]+")
_DOLLAR_GAP = re.compile(r"(\$[\d$]*) (?=[\w\ue000])")
# A space that does not stand between two words is layout.
_LAYOUT = re.compile(r" (?:(?<![\w$\ue000] )|(?![\w\ue000]))")
_SEMICOLONS = re.compile(";{2,}")


def canonical_tokens(text: str, tokens: list[Raw], options: SplitOptions) -> str:
    """The canonical text of ``tokens`` (a stretch of ``lex(text)``)."""
    return canonical_parts(text, tokens, options)[0]


def canonical_parts(text: str, tokens: list[Raw], options: SplitOptions) -> tuple[str, str | None]:
    """The canonical text of ``tokens`` and, when the fast path made it, the same text with
    every literal still masked: its ';' are exactly the statement separators."""
    if "\ue000" in text or "\ue001" in text:  # the masks would be ambiguous
        return _canonical_token_by_token(text, tokens, options), None
    executable_comments = options.hash_comments
    masked: list[str] = []
    kept: list[str] = []
    for kind, start, end in tokens:
        if kind == "code" or kind == "semicolon":
            masked.append(text[start:end])
        elif kind == "comment":
            if executable_comments and text.startswith(("/*!", "/*+"), start):
                masked.append(PUNCTUATION)
                kept.append(text[start:end])
            else:
                masked.append(" ")
        elif kind == "space":
            masked.append(" ")
        else:
            masked.append(WORDLIKE)
            kept.append(text[start:end])
    code = _WHITESPACE_RUN.sub(" ", "".join(masked))
    if "$" in code:
        code = _DOLLAR_GAP.sub(_dollar_gap, code)
    code = _LAYOUT.sub("", code)
    if ";" in code:  # empty statements (`;;`, a leading or trailing ';') are not content
        code = _SEMICOLONS.sub(";", code).strip(";")
    if not kept:
        return code, code
    pieces = iter(kept)
    canonical = _MASKS.sub(lambda _: next(pieces), code)
    if "\r" in canonical:
        # autocrlf must not make a migration look edited, not even inside literals
        canonical = canonical.replace("\r\n", "\n").replace("\r", "\n")
    return canonical, code


def _dollar_gap(match: re.Match[str]) -> str:
    """`$1 x` loses its space (`$1` is a parameter, not a word), `a$1 x` keeps it."""
    start = match.start()
    if start and (
        match.string[start - 1] == "$"
        or match.string[start - 1].isalnum()
        or match.string[start - 1] == "_"
    ):
        return match.group()
    return match.group(1)


def _canonical_token_by_token(text: str, tokens: list[Raw], options: SplitOptions) -> str:
    executable_comments = options.hash_comments
    parts: list[str] = []
    append = parts.append
    gap = False  # whitespace or a comment since the last kept token
    last = ""  # kind of the last kept token: word, other, string, ident, dollar, semicolon
    for kind, start, end in tokens:
        if kind == "code":
            piece = text[start:end]
            core = piece.strip(WHITESPACE)
            if not core:
                gap = True
                continue
            if (gap or core[0] != piece[0]) and last in _SPACED and starts_with_word(core):
                append(" ")
            append(canonical_code(core))
            last = "word" if ends_with_word(core) else "other"
            gap = core[-1] != piece[-1]
        elif kind == "semicolon":
            # `;;` is an empty statement and a leading ';' an empty first one.
            if parts and last != "semicolon":
                append(";")
                last = kind
            gap = False
        elif (
            kind == "comment"
            and not (executable_comments and text.startswith(("/*!", "/*+"), start))
        ) or kind == "space":
            gap = True
        else:
            if gap and last in _SPACED and kind in _SPACED:
                append(" ")
            piece = text[start:end]
            if "\r" in piece:
                # autocrlf must not make a migration look edited, not even inside literals
                piece = piece.replace("\r\n", "\n").replace("\r", "\n")
            append(piece)
            last = kind
            gap = False
    if last == "semicolon":
        parts.pop()
    return "".join(parts)


def checksum_tokens(text: str, tokens: list[Raw], options: SplitOptions) -> str:
    """SHA-256 hex digest of the canonical text of ``tokens``, encoded as UTF-8."""
    return sha256_hex(canonical_tokens(text, tokens, options).encode("utf-8"))


def canonical_text(text: str, options: SplitOptions) -> str:
    """The canonical text of a whole script; raises SplitError like the splitter."""
    if options.client_delimiters:
        lines = client_lines(text, options)
        if lines:
            return _canonical_regions(text, lines, options)
    return canonical_tokens(text, lex(text, options), options)


def _canonical_regions(text: str, lines: list[ClientLine], options: SplitOptions) -> str:
    """The canonical text of a script with ``DELIMITER`` lines: each stretch between them
    canonical on its own, each line as ``\nDELIMITER <token>\n`` (outside literals the
    canonical text has no newline, so nothing else reads the same). Which delimiter splits
    the statements is part of them; how the line is written (case, blanks, quotes, a
    comment after it) is not. Empty when no stretch has content, like any empty section."""
    parts: list[str] = []
    content = False
    for start, end, delimiter in regions(len(text), lines):
        if parts:
            parts.append(f"\nDELIMITER {delimiter or ';'}\n")
        piece = text[start:end]
        canonical = canonical_tokens(piece, lex(piece, options), options)
        content = content or bool(canonical)
        parts.append(canonical)
    return "".join(parts) if content else ""


def checksum(text: str, options: SplitOptions) -> str:
    """SHA-256 hex digest of ``canonical_text(text, options)`` encoded as UTF-8."""
    return sha256_hex(canonical_text(text, options).encode("utf-8"))


def file_digest(content: bytes, checksum: str, rollback_checksum: str | None) -> str:
    """What a history row's ``digest`` holds: SHA-256 over the file's bytes and the two
    checksums recorded with them. A file whose digest still matches is exactly as applied,
    and its row's checksums are the ones keel computed from it; if anything rewrote those
    checksums, the digest no longer matches and the file is checked again."""
    return sha256_hex(content, f"\0{checksum}\0{rollback_checksum or ''}".encode())


def sha256_hex(*parts: bytes) -> str:
    """SHA-256 hex digest of ``parts`` concatenated."""
    # Imported on first use: status and validate of pending files hash nothing, and
    # hashlib costs every command ~2 ms to import.
    import hashlib

    sha = hashlib.sha256(parts[0])
    for part in parts[1:]:
        sha.update(part)
    return sha.hexdigest()
