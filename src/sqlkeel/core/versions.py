"""Migration versions: dot-separated non-negative integers compared component-wise.

Missing components count as 0, so ``1`` == ``1.0`` and ``1.10`` > ``1.9`` (SPEC 1).
"""

from __future__ import annotations

import re

from sqlkeel.core.values import Value

_VERSION = re.compile(r"\d+(?:\.\d+)*")


class Version(Value):
    """A parsed version; ``text`` keeps the spelling, ``key`` orders and compares."""

    __slots__ = ("_text", "key")
    _compared = ("text",)  # shown by repr; equality and hashing go by ``key``, below
    key: tuple[int, ...]
    # None when the spelling is the key's own ("7", "2.10"): most are, and 10 000 history
    # rows and files would each keep a string the key already says.
    _text: str | None

    def __init__(self, text: str, key: tuple[int, ...]) -> None:
        self._text = None if text == _spelling(key) else text
        self.key = key

    @property
    def text(self) -> str:
        return self._text if self._text is not None else _spelling(self.key)

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``text``; raises ValueError when it is not ``N(.N)*``."""
        if not _VERSION.fullmatch(text):
            raise ValueError(f"not a version: {text!r} (expected digits separated by dots)")
        if "." not in text:  # most versions: no list to build
            return cls(text, (int(text),))
        parts = [int(p) for p in text.split(".")]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return cls(text, tuple(parts))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __gt__(self, other: Version) -> bool:
        return self.key > other.key

    def __ge__(self, other: Version) -> bool:
        return self.key >= other.key

    def __str__(self) -> str:
        return self.text


def _spelling(key: tuple[int, ...]) -> str:
    return str(key[0]) if len(key) == 1 else ".".join(map(str, key))
