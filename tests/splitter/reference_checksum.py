"""Reference checksum (word-level lexer), the oracle for sqlkeel.core.checksum (SPEC 2).

The canonical text is rebuilt from the splitter's tokens, so what counts as a literal or
a comment is exactly what the splitter sees.
"""

from __future__ import annotations

import hashlib

from sqlkeel.core.splitter import SplitOptions, _scan, _significant

__all__ = ["canonical_text", "checksum"]

_SPACED = frozenset({"word", "string", "ident", "dollar"})


def canonical_text(text: str, options: SplitOptions) -> str:
    """The text with comments dropped, whitespace outside literals collapsed and empty statements
    removed; literals, quoted identifiers and dollar bodies kept (newlines as LF).

    Raises SplitError on an unterminated literal or comment, like the splitter.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    # Line endings are normalised everywhere, literals included: a checkout with
    # autocrlf must not look like an edited migration.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    executable_comments = options.hash_comments
    parts: list[str] = []
    gap = False  # whitespace or a comment since the last kept token
    last_kind = ""  # kind of the last kept token
    for kind, start, end, _ in _scan(text, options, 1):
        if not _significant(kind, start, text, executable_comments):
            gap = True
            continue
        if kind == "semicolon":
            # `;;` is an empty statement and a leading ';' an empty first one.
            if parts and last_kind != "semicolon":
                parts.append(";")
                last_kind = kind
            gap = False
            continue
        if gap and last_kind in _SPACED and kind in _SPACED:
            # Only where a space separates two words or literals does it carry meaning
            # (`a b` is not `ab`); around punctuation it is layout (`f (x)` is `f(x)`).
            parts.append(" ")
        parts.append(text[start:end])
        last_kind = kind
        gap = False
    if last_kind == "semicolon":
        parts.pop()
    return "".join(parts)


def checksum(text: str, options: SplitOptions) -> str:
    """SHA-256 hex digest of ``canonical_text(text, options)`` encoded as UTF-8."""
    return hashlib.sha256(canonical_text(text, options).encode("utf-8")).hexdigest()
