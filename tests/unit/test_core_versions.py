"""Version parsing and ordering (SPEC 1): dot-separated integers, missing parts count as 0."""

from __future__ import annotations

import pytest

from sqlkeel.core.versions import Version

# (smaller, larger): each pair must compare strictly in this order.
ORDERED = [
    pytest.param("1", "2", id="single_components"),
    pytest.param("1.9", "1.10", id="1.10_is_after_1.9_numerically"),
    pytest.param("1.10", "2", id="2_is_after_1.10"),
    pytest.param("2", "2.1", id="2.1_is_after_2"),
    pytest.param("2.0.1", "2.1", id="third_component_counts_less_than_second"),
    pytest.param("9", "10", id="10_is_after_9_not_lexically_before"),
    pytest.param("0", "0.0.1", id="zero_below_its_own_patch"),
    pytest.param("20261125.143022", "20261125.143023", id="timestamp_seconds"),
    pytest.param("20261124.235959", "20261125.000000", id="timestamp_day_boundary"),
    pytest.param("3", "20261125.143022", id="small_number_below_timestamp"),
]

# (a, b): the same version spelled differently.
EQUAL = [
    pytest.param("1", "1.0", id="1_equals_1.0"),
    pytest.param("1", "1.0.0", id="1_equals_1.0.0"),
    pytest.param("2.1", "2.1.0", id="trailing_zero_component"),
    pytest.param("01", "1", id="leading_zero_digits"),
    pytest.param("0", "0.0", id="zero_equals_0.0"),
]

INVALID = [
    pytest.param("", id="empty"),
    pytest.param("a", id="letter"),
    pytest.param("1.a", id="letter_component"),
    pytest.param("1..2", id="empty_component"),
    pytest.param(".1", id="leading_dot"),
    pytest.param("1.", id="trailing_dot"),
    pytest.param("-1", id="negative"),
    pytest.param("1_2", id="underscore"),
    pytest.param("V1", id="prefix_letter"),
    pytest.param(" 1", id="leading_space"),
]


@pytest.mark.parametrize(("smaller", "larger"), ORDERED)
def test_versions_compare_component_by_component_as_integers(smaller: str, larger: str) -> None:
    a, b = Version.parse(smaller), Version.parse(larger)
    assert a < b
    assert a <= b
    assert b > a
    assert b >= a
    assert a != b
    assert max(a, b) == b
    assert sorted([b, a]) == [a, b]


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_versions_that_differ_only_by_trailing_zeros_are_the_same_version(a: str, b: str) -> None:
    va, vb = Version.parse(a), Version.parse(b)
    assert va == vb
    assert hash(va) == hash(vb)
    assert not va < vb
    assert not va > vb
    assert len({va, vb}) == 1


@pytest.mark.parametrize("text", INVALID)
def test_text_that_is_not_dot_separated_digits_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a version"):
        Version.parse(text)


def test_a_version_keeps_its_spelling_for_display() -> None:
    assert str(Version.parse("1.10")) == "1.10"
    assert str(Version.parse("1.0")) == "1.0"
    assert str(Version.parse("20261125.143022")) == "20261125.143022"


def test_a_mixed_list_sorts_into_migration_order() -> None:
    texts = ["2", "1.10", "10", "1.9", "1", "1.2.3", "20261125.143022", "1.2"]
    ordered = [str(v) for v in sorted(Version.parse(t) for t in texts)]
    assert ordered == ["1", "1.2", "1.2.3", "1.9", "1.10", "2", "10", "20261125.143022"]


def test_a_version_is_never_equal_to_its_text() -> None:
    assert Version.parse("1") != "1"


@pytest.mark.parametrize("text", ["7", "2.10", "1.0", "007", "1.02", "20261125.143022", "0"])
def test_a_version_keeps_its_spelling(text: str) -> None:
    version = Version.parse(text)
    assert (version.text, str(version), repr(version)) == (text, text, f"Version(text={text!r})")
