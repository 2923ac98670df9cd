"""Checksums that ignore line endings, a BOM, comments and whitespace outside literals (SPEC 2).

The canonical text is rebuilt from the lexer's tokens, so what counts as a literal or a
comment is exactly what the splitter sees. Literals keep every character (newlines as LF);
whitespace survives only as one space between two words or literals (``a b`` is not
``ab``, while ``f (x)`` is ``f(x)``); empty statements disappear.
"""

from __future__ import annotations

import hashlib

from sqlkeel.core.lexer import (
    WHITESPACE,
    Raw,
    canonical_code,
    ends_with_word,
    lex,
    starts_with_word,
)
from sqlkeel.core.splitter import SplitOptions

__all__ = ["canonical_text", "canonical_tokens", "checksum", "checksum_tokens"]

_SPACED = frozenset({"word", "string", "ident", "dollar"})


def canonical_tokens(text: str, tokens: list[Raw], options: SplitOptions) -> str:
    """The canonical text of ``tokens`` (a stretch of ``lex(text)``)."""
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
    return hashlib.sha256(canonical_tokens(text, tokens, options).encode("utf-8")).hexdigest()


def canonical_text(text: str, options: SplitOptions) -> str:
    """The canonical text of a whole script; raises SplitError like the splitter."""
    return canonical_tokens(text, lex(text, options), options)


def checksum(text: str, options: SplitOptions) -> str:
    """SHA-256 hex digest of ``canonical_text(text, options)`` encoded as UTF-8."""
    return checksum_tokens(text, lex(text, options), options)
