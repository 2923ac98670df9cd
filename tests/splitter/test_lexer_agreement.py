"""The one-pass lexer (splitting and checksums) agrees with the word-level reference.

``split_statements`` and ``canonical_text`` run on the coarse one-pass lexer; the
word-level lexer (``split_words``) and the checksum built on it
(``reference_checksum``) are the slower definitions they must match exactly, statement
for statement, character for character, error for error.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference_checksum import canonical_text as reference_canonical
from test_splitter_properties import PROFILES, SPACES, adversarial_scripts, client_scripts, middles

from sqlkeel.core.checksum import canonical_text, canonical_tokens, file_digest
from sqlkeel.core.lexer import Lexed, lex, may_contain, outline
from sqlkeel.core.model import EMPTY_CHECKSUM
from sqlkeel.core.parsing import (
    _TRANSACTION_CONTROL,
    _TRANSACTION_WORDS,
    _markers,
    parse_migration,
    span_checksum,
    split_span,
)
from sqlkeel.core.splitter import _ROUTINE_HINT, MYSQL, split_statements, split_words
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


def spanned(tokens: list[tuple[str, int, int]], start: int, end: int) -> list[tuple[str, int, int]]:
    return [t for t in tokens if start <= t[1] < end]


NON_ASCII_LOOKALIKES = st.sampled_from(["TR\u0131GGER", "ST\u0130RT", "\u017ftart", "comm\u0131t"])


@SETTINGS
@given(
    st.one_of(adversarial_scripts(), plain_scripts()),
    st.one_of(adversarial_scripts(), plain_scripts()),
)
@example(("sqlite", "SELECT 1;"), ("sqlite", ";; -- only comments\n;"))
@example(("postgres", "\ufeffSELECT $$a$$;"), ("postgres", "/* c */ ;"))
@example(("mysql", "/*!40101 SET x=1 */;"), ("mysql", "/*!40101 SET y=1 */"))
def test_parsing_leaves_checksums_and_digest_to_first_use_with_the_values_it_computed_before(
    upgrade: tuple[str, str], rollback: tuple[str, str]
) -> None:
    # The checksum of a section is computed from the section's slice when first read; it
    # must be what canonicalising the file's own tokens between the markers gives, and
    # emptiness (known without the checksum) must agree with it.
    profile = upgrade[0]
    options = PROFILES[profile]
    text = f"-- upgrade\n{upgrade[1]}\n-- rollback\n{rollback[1]}"
    content = text.encode("utf-8")
    try:
        lexed = Lexed(text, options)
        markers = _markers("V1__x.sql", lexed)  # a quote may hide the '-- rollback' line
    except (SplitError, SourceError):
        return
    up_end = markers["rollback"][1] if "rollback" in markers else len(text)
    spans = [(markers["upgrade"][2], up_end)]
    if "rollback" in markers:
        spans.append((markers["rollback"][2], len(text)))
    expected = [
        hashlib.sha256(
            canonical_tokens(text, spanned(lex(text, options), *span), options).encode()
        ).hexdigest()
        for span in spans
    ]
    try:
        migration = parse_migration("V1__x.sql", text, options, content=content)
    except (SplitError, SourceError) as exc:
        if "no statements to run" in exc.message:
            assert expected[0] == EMPTY_CHECKSUM
        return
    sections = [migration.upgrade, migration.rollback][: len(spans)]
    for section, checksum in zip(sections, expected, strict=True):
        assert section is not None
        assert section.is_empty is (checksum == EMPTY_CHECKSUM)
        assert section.checksum == checksum
    assert migration.digest == file_digest(
        content, migration.upgrade.checksum, migration.rollback_checksum
    )


@SETTINGS
@given(st.lists(st.one_of(NASTY, NON_ASCII_LOOKALIKES, TRANSACTION_PIECES), max_size=6))
def test_the_keyword_prefilters_never_miss_what_the_case_insensitive_regexes_find(
    parts: list[str],
) -> None:
    text = " ".join(parts)
    words = ("trigger", "procedure", "function", "event")
    if _ROUTINE_HINT.search(text):
        assert may_contain(text, 0, len(text), words)
    if _TRANSACTION_CONTROL.search(text):
        assert may_contain(text, 0, len(text), _TRANSACTION_WORDS)


def test_a_non_ascii_lookalike_of_a_routine_word_still_takes_the_word_level_splitter() -> None:
    text = "CREATE TR\u0131GGER t AFTER INSERT ON x BEGIN SELECT 1; SELECT 2; END;"
    assert _ROUTINE_HINT.search(text) is not None
    assert len(split_statements(text, PROFILES["sqlite"])) == 1


def merged(tokens: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """``lex`` tokens with each run of code, literals and ';' joined into one code token."""
    out: list[tuple[str, int, int]] = []
    for kind, start, end in tokens:
        if kind in ("code", "string", "ident", "semicolon"):
            if out and out[-1][0] == "code" and out[-1][2] == start:
                out[-1] = ("code", out[-1][1], end)
                continue
            kind = "code"
        out.append((kind, start, end))
    return out


@SETTINGS
@given(st.one_of(adversarial_scripts(), plain_scripts()))
@example(("postgres", "x'a' E'b\\'c' $$d$$E'e' type'f' -- g\n;e'h"))
@example(("postgres", "'x'$E'y' a$E'z' $1E'w'"))
@example(("sqlite", "\ufeff;'a''b' \"c\" `d` -- e;\n/* f */ g"))
@example(("mysql", "'a\\'b' \"c\\\"d\" # e\n/*! f */"))
def test_the_outline_parsing_reads_is_the_lexer_with_runs_of_code_and_literals_joined(
    script: tuple[str, str],
) -> None:
    profile, text = script
    options = PROFILES[profile]
    try:
        expected: object = merged(lex(text, options))
    except SplitError as exc:
        expected = ("error", exc.message, exc.line, exc.column)
    try:
        ours: object = outline(text, options)
    except SplitError as exc:
        ours = ("error", exc.message, exc.line, exc.column)
    assert ours == expected


@SETTINGS
@given(client_scripts(), st.data())
def test_a_file_with_delimiter_lines_parses_to_its_statements_under_a_checksum_that_follows_them(
    script: tuple[str, list[str], list[int]], data: st.DataObject
) -> None:
    text, sqls, offsets = script
    if not sqls:
        return
    try:
        migration = parse_migration("V1__x.sql", text, MYSQL)
    except SourceError as exc:  # a generated word such as 'aboRT' is a transaction statement
        assert "transaction of its own" in exc.message
        return
    upgrade = migration.upgrade
    assert [s.sql for s in upgrade.statements] == sqls
    assert upgrade.span is not None  # the lazy paths: the section read again from its span
    assert split_span(text, upgrade.span) == upgrade.statements
    assert span_checksum(text, upgrade.span) == migration.checksum
    i = data.draw(st.integers(min_value=0, max_value=len(sqls) - 1))
    end = offsets[i] + len(sqls[i])
    edited = parse_migration("V1__x.sql", text[:end] + " x" + text[end:], MYSQL)
    assert [s.sql for s in edited.upgrade.statements] == [
        sql + " x" if j == i else sql for j, sql in enumerate(sqls)
    ]
    assert edited.checksum != migration.checksum


CLIENT_LINES = st.sampled_from(
    ["\nDELIMITER //\n", "\ndelimiter $$ -- c\n", "\n  DELIMITER ;\n", "\nDELIMITER\n",
     "\nDELIMITER '\n", "\nDELIMITER ;;\n", "//", "$$", "\n-- rollback\n", "\n-- upgrade\n"]
)  # fmt: skip


@SETTINGS
@given(
    st.lists(
        st.one_of(CLIENT_LINES, st.sampled_from(["'", "/*", "*/", "#"]), middles("mysql")),
        max_size=12,
    )
)
def test_delimiter_lines_anywhere_give_exact_slices_and_the_same_answer_on_every_path(
    parts: list[str],
) -> None:
    # Whether they end up in a literal, a comment, another section or nowhere sensible:
    # statements are exact slices at their lines, parsing agrees with splitting, and the
    # lazy paths (a section read again from its span) agree with parsing.
    text = " ".join(parts)
    try:
        statements = split_statements(text, MYSQL)
    except SplitError:
        statements = None
    offset = 0
    for statement in statements or ():  # in order, each at its line ('E' is in 'DELIMITER')
        offset = text.find(statement.sql, offset)
        while offset >= 0 and text.count("\n", 0, offset) + 1 != statement.line:
            offset = text.find(statement.sql, offset + 1)
        assert offset >= 0, statement
        offset += len(statement.sql)
    try:
        migration = parse_migration("V1__x.sql", text, MYSQL)
    except SourceError:
        return
    if "-- upgrade" not in text and "-- rollback" not in text:
        assert statements is not None
        assert migration.upgrade.statements == statements
    for section in (migration.upgrade, migration.rollback):
        if section is not None:
            assert section.span is not None
            assert split_span(text, section.span) == section.statements
            assert span_checksum(text, section.span) == section.checksum
