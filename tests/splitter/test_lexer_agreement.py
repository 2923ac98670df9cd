"""The one-pass lexer (splitting and checksums) agrees with the word-level reference.

``split_statements`` and ``canonical_text`` run on the coarse one-pass lexer; the
word-level lexer (``split_words``) and the checksum built on it
(``reference_checksum``) are the slower definitions they must match exactly, statement
for statement, character for character, error for error.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference_checksum import canonical_text as reference_canonical
from test_splitter_properties import PROFILES, SPACES, adversarial_scripts, middles

from sqlkeel.core.checksum import canonical_text
from sqlkeel.core.parsing import _TRANSACTION_CONTROL, parse_migration
from sqlkeel.core.splitter import _ROUTINE_HINT, split_statements, split_words
from sqlkeel.errors import SourceError, SplitError

SETTINGS = settings(max_examples=400, deadline=None)
# Characters that start, end or bend a token in some dialect, plus plain letters.
NASTY = st.text(alphabet="aEe_1$ \n\r\t;'\"`\\-/*#()x\ufeff\u00a0\ue000\ue001", max_size=40)


def outcome(function: object, text: str, profile: str) -> object:
    """What ``function(text, options)`` returns, or the SplitError it raises, as data."""
    try:
        result = function(text, PROFILES[profile])  # type: ignore[operator]
    except SplitError as exc:
        return ("error", exc.message, exc.line, exc.column)
    if isinstance(result, tuple):
        return [(s.sql, s.line, s.index) for s in result]
    return result


@st.composite
def plain_scripts(draw: st.DrawFn) -> tuple[str, str]:
    """Scripts without routine bodies, so the one-pass splitter handles them itself."""
    profile = draw(st.sampled_from(sorted(PROFILES)))
    fragment = st.one_of(middles(profile), st.just(";"), NASTY)
    parts = draw(st.lists(fragment, max_size=12))
    return profile, "".join(part + draw(SPACES) for part in parts)


@SETTINGS
@given(st.one_of(adversarial_scripts(), plain_scripts()))
@example(("postgres", "$1 x; a$ b; $1e'x' y; typee'a' 'b'"))
@example(("postgres", "SELECT e'it''s' ;$E'x'; x$1 $2"))
@example(("postgres", "SELECT $$x$$E'a\\'b'; $$a$$e'b\\'c' x"))
@example(("sqlite", "\ufeffSELECT 1 ;;\r\n'a\r\nb' c"))
@example(("mysql", "/*!40101 SET x=1 */ a # c\n b"))
def test_split_matches_word_level_splitter(script: tuple[str, str]) -> None:
    profile, text = script
    assert outcome(split_statements, text, profile) == outcome(split_words, text, profile)


@SETTINGS
@given(st.one_of(adversarial_scripts(), plain_scripts()))
@example(("postgres", "$1 x; a$ b; $1e'x' y; typee'a' 'b' $$ a $$ b"))
@example(("postgres", "x $1$a y; 1$ z"))
@example(("postgres", "SELECT $$x$$E'a\\'b'; $$a$$e'b\\'c' x"))
@example(("sqlite", "\ufeffSELECT 1 ;;\r\n'a\r\nb' c"))
@example(("mysql", "/*!40101 SET x=1 */ a # c\n b ; /*+ h */ c"))
def test_canonical_text_matches_reference(script: tuple[str, str]) -> None:
    profile, text = script
    ours, reference = (outcome(f, text, profile) for f in (canonical_text, reference_canonical))
    if isinstance(reference, tuple):  # an error: the reference counts lines after CR -> LF,
        ours, reference = ours[:2], reference[:2]  # users see the splitter's lines anyway
    assert ours == reference


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_plain_scripts_take_the_one_pass_path(profile: str) -> None:
    # The agreement tests above only prove something if most scripts avoid the fallback.
    text = "CREATE TABLE t (id integer primary key, name text);\nINSERT INTO t VALUES (1, 'a;b');"
    assert _ROUTINE_HINT.search(text) is None
    assert [s.sql for s in split_statements(text, PROFILES[profile])] == [
        "CREATE TABLE t (id integer primary key, name text)",
        "INSERT INTO t VALUES (1, 'a;b')",
    ]


TRANSACTION_PIECES = st.sampled_from(
    ["BEGIN", "commit", "COMMIT WORK", "end", "ROLLBACK", "rollback to x", "START TRANSACTION",
     "begin -- c\n", "BEGIN;", "'COMMIT'", "/* c */ COMMIT", "begin\u00a0work"]
)  # fmt: skip


@SETTINGS
@given(
    st.one_of(adversarial_scripts(), plain_scripts()),
    st.lists(TRANSACTION_PIECES, max_size=3),
)
def test_transaction_statements_are_refused_exactly_when_a_statement_is_one(
    script: tuple[str, str], pieces: list[str]
) -> None:
    # parse_migration checks the masked canonical text first and splits only on a hit;
    # the answer must be the one the statements themselves give.
    profile, text = script
    text = ";\n".join([text, *pieces])
    options = PROFILES[profile]
    try:
        statements = split_statements(text, options)
    except SplitError:
        return
    expected = any(_TRANSACTION_CONTROL.fullmatch(s.sql) for s in statements)
    try:
        parse_migration("V1__x.sql", text, options)
    except SourceError as exc:
        if "transaction of its own" in exc.message:
            assert expected, exc.message
            return
        return  # refused for another reason first (empty, a marker look-alike, ...)
    assert not expected
