"""``Value``: equality, hashing and repr for keel's plain value classes.

A value class lists its fields in ``__slots__`` and writes its own ``__init__``; nothing is
generated, so defining one costs no more than a class statement (``dataclasses`` and the
methods it generates cost start-up ~35 ms). Values are never mutated once built: by
convention, since a guarding ``__setattr__`` would slow down building 10 000 history rows.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs start-up ~3 ms; mypy takes this as True
if TYPE_CHECKING:
    from typing import ClassVar


class Value:
    """Compares, hashes and shows the fields named in ``_compared`` (default: every slot, in
    ``__slots__`` order); ``_hashed`` (default: ``_compared``) leaves mutable ones out of
    the hash. Instances of different classes are never equal.

    The names are read from the instance's own class at call time, so value classes do not
    subclass one another.
    """

    __slots__ = ()
    _compared: ClassVar[tuple[str, ...] | None] = None
    _hashed: ClassVar[tuple[str, ...] | None] = None

    def _fields(self) -> tuple[str, ...]:
        cls = type(self)
        return cls._compared if cls._compared is not None else cls.__slots__

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = self._fields()
        return tuple([getattr(self, n) for n in names]) == tuple([getattr(other, n) for n in names])

    def __hash__(self) -> int:
        names = self._hashed if self._hashed is not None else self._fields()
        return hash(tuple([getattr(self, n) for n in names]))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__qualname__}({shown})"
