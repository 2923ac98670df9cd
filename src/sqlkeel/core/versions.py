"""Migration versions: dot-separated non-negative integers compared component-wise.

Missing components count as 0, so ``1`` == ``1.0`` and ``1.10`` > ``1.9`` (SPEC 1).
"""

from __future__ import annotations

import re

from sqlkeel.core.values import Value

_VERSION = re.compile(r"\d+(?:\.\d+)*")


class Version(Value):
    """A parsed version; ``text`` keeps the spelling, ``key`` orders and compares."""

    __slots__ = ("key", "text")
    _compared = ("text",)  # shown by repr; equality and hashing go by ``key``, below
    text: str
    key: tuple[int, ...]

    def __init__(self, text: str, key: tuple[int, ...]) -> None:
        self.text = text
        self.key = key

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
