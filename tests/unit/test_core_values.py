"""Value: equality, hashing and repr of keel's plain value classes, read from their fields."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sqlkeel.core.model import HistoryRow, Kind, State
from sqlkeel.core.values import Value
from sqlkeel.core.versions import Version


class Point(Value):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


class Other(Value):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


class Tagged(Value):
    """``note`` is neither compared nor shown; ``tags`` is compared but not hashed."""

    __slots__ = ("name", "note", "tags")
    _compared = ("name", "tags")
    _hashed = ("name",)

    def __init__(self, name: str, tags: dict[str, str], note: str = "") -> None:
        self.name = name
        self.tags = tags
        self.note = note


EQUALITY = [
    pytest.param(Point(1, 2), Point(1, 2), True, id="same_fields_are_equal"),
    pytest.param(Point(1, 2), Point(1, 3), False, id="one_field_differs"),
    pytest.param(Point(1, 2), Other(1, 2), False, id="other_class_same_fields_is_not_equal"),
    pytest.param(Point(1, 2), (1, 2), False, id="a_tuple_is_not_a_value"),
    pytest.param(Tagged("a", {}, "x"), Tagged("a", {}, "y"), True, id="uncompared_field_ignored"),
    pytest.param(Tagged("a", {"k": "v"}), Tagged("a", {}), False, id="unhashed_field_compared"),
]


@pytest.mark.parametrize(("left", "right", "equal"), EQUALITY)
def test_values_are_equal_by_their_compared_fields(left: Value, right: object, equal: bool) -> None:
    assert (left == right) is equal
    assert (left != right) is not equal


def test_equal_values_hash_alike_and_work_as_keys() -> None:
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2
    # ``tags`` is a dict: left out of the hash, so the value stays hashable.
    assert hash(Tagged("a", {"k": "v"}, "x")) == hash(Tagged("a", {}, "y"))


REPRS = [
    pytest.param(Point(1, 2), "Point(x=1, y=2)", id="every_slot_in_order"),
    pytest.param(Tagged("a", {"k": "v"}, "x"), "Tagged(name='a', tags={'k': 'v'})", id="compared"),
]


@pytest.mark.parametrize(("value", "expected"), REPRS)
def test_repr_shows_the_compared_fields(value: Value, expected: str) -> None:
    assert repr(value) == expected


def test_a_value_has_no_instance_dict() -> None:
    with pytest.raises(AttributeError):
        Point(1, 2).z = 3  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("checksum", "rollback", "digest"),
    [
        ("ab" * 32, "cd" * 32, "ef" * 32),
        ("ab" * 32, None, "ef" * 32),
        ("ab" * 32, "cd" * 32, None),
        ("ab" * 32, None, None),
        # Not what keel writes (hand edits, older tools): read back exactly as stored.
        ("AB" * 32, "cd" * 32, "ef" * 32),
        ("0", None, None),
        ("ab" * 32, "not hex", "ef" * 31),
        ("ab" * 33, "", "ef" * 32),
        ("ab" * 32, "", "ef" * 32),
        ("ab" * 32, "cd" * 32, ""),
    ],
)
def test_a_history_rows_checksums_and_digest_read_back_as_given(
    checksum: str, rollback: str | None, digest: str | None
) -> None:
    at = datetime(2026, 11, 25, tzinfo=timezone.utc)

    def make() -> HistoryRow:
        return HistoryRow(
            1,
            Version.parse("7"),
            "t7",
            "V7__t7.sql",
            Kind.VERSIONED,
            checksum,
            rollback,
            at,
            "ada",
            3,
            State.APPLIED,
            digest=digest,
        )

    row, same = make(), make()  # built apart: equal by value, not identity
    assert (row.checksum, row.rollback_checksum, row.digest) == (checksum, rollback, digest)
    assert row == same and hash(row) == hash(same)
    assert "checksum=" in repr(row)
