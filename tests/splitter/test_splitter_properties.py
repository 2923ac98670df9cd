"""Splitter properties over generated adversarial scripts (hypothesis).

Scripts are built from a grammar of fragments: words, numbers, punctuation, strings holding
quotes, semicolons and newlines, quoted identifiers, comments, dollar bodies (PostgreSQL),
executable comments (MySQL) and trigger / routine bodies with inner semicolons.
"""

from __future__ import annotations

import sqlite3
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from sqlkeel.core.splitter import (
    MYSQL,
    POSTGRES,
    SQLITE,
    SplitOptions,
    split_statements,
    tokenize,
)
from sqlkeel.core.splitter import (
    is_significant as significant_token,
)

PROFILES = {"sqlite": SQLITE, "postgres": POSTGRES, "mysql": MYSQL}
SETTINGS = settings(max_examples=200, deadline=None)

# Words that steer block detection are left to the dedicated block fragments.
BLOCK_WORDS = {
    "create", "begin", "end", "case", "atomic", "trigger", "procedure", "function", "event",
}  # fmt: skip
WORDS = st.sampled_from(
    ["SELECT", "insert", "Into", "t", "x1", "values", "e", "E", "N", "U", "from", "where",
     "if", "loop", "go", "$x", "a$b", "_"]
) | st.text(alphabet="abcdeEnNgoRT_", min_size=1, max_size=6).filter(
    lambda w: w.lower() not in BLOCK_WORDS
)  # fmt: skip
NUMBERS = st.integers(min_value=0, max_value=9999).map(str)
PUNCTUATION = st.sampled_from(["(", ")", ",", "=", "+", "*", "<", ">", ".", "-", "/", "%", ":"])
SPACES = st.sampled_from([" ", "\n", "\t", "  \n\n  ", "\r\n", " \r\n\t"])
TEXT = st.text(alphabet="ab ;'\"`\\-/*$#\n\r", max_size=12)


def _quote(body: str, quote: str, *, backslash: bool) -> str:
    if backslash:
        body = body.replace("\\", "\\\\")
    return quote + body.replace(quote, quote * 2) + quote


@cache
@st.composite
def strings(draw: st.DrawFn, profile: str) -> str:
    body = draw(TEXT)
    if profile == "mysql":
        quote = draw(st.sampled_from(["'", '"']))
        if draw(st.booleans()):
            body = body.replace("\\", "\\\\").replace(quote, "\\" + quote)
            return quote + body + quote
        return _quote(body, quote, backslash=True)
    if profile == "postgres" and draw(st.booleans()):
        return draw(st.sampled_from(["E", "e"])) + _quote(body, "'", backslash=True)
    return draw(st.sampled_from(["", "N", "X"])) + _quote(body, "'", backslash=False)


@cache
@st.composite
def identifiers(draw: st.DrawFn, profile: str) -> str:
    body = draw(TEXT.filter(bool))
    choices = {"sqlite": ['"', "`"], "postgres": ['"'], "mysql": ["`"]}[profile]
    return _quote(body, draw(st.sampled_from(choices)), backslash=False)


@cache
@st.composite
def comments(draw: st.DrawFn, profile: str) -> str:
    """A comment, a line comment carrying its newline."""
    body = draw(TEXT).replace("\r", "").replace("\n", "")
    kinds = ["--", "/*"] + (["#"] if profile == "mysql" else [])
    kind = draw(st.sampled_from(kinds))
    if kind != "/*":
        return f"{kind}{body}\n"
    body = body.replace("*", "").replace("/", "")
    if profile == "postgres" and draw(st.booleans()):
        return f"/*{body} /* {body} */ {body}*/"
    return f"/*{body}*/"


@cache
@st.composite
def dollar_bodies(draw: st.DrawFn) -> str:
    tag = "$" + draw(st.sampled_from(["", "fn", "_t1"])) + "$"
    body = draw(TEXT.filter(lambda b: (b + tag).find(tag) == len(b)))
    return f"{tag}{body}{tag}"


# Strategies are built once per profile: hypothesis validates each new strategy object,
# which dominated the run time when they were rebuilt on every draw.
@cache
def atoms(profile: str) -> st.SearchStrategy[str]:
    """Fragments that can start or end a statement (no comments, no ';')."""
    options = [WORDS, NUMBERS, strings(profile), identifiers(profile)]
    if profile == "postgres":
        options += [dollar_bodies(), st.just("$1")]
    if profile == "mysql":
        options += [st.sampled_from(["/*!40101 SET x=1 */", "/*+ BKA(t) */"])]
    return st.one_of(options)


@cache
def middles(profile: str) -> st.SearchStrategy[str]:
    return st.one_of(atoms(profile), PUNCTUATION, comments(profile))


@cache
@st.composite
def plain_statements(draw: st.DrawFn, profile: str) -> str:
    """A statement with no top-level ';' that starts and ends with significant tokens."""
    first = draw(atoms(profile))
    inner = draw(st.lists(middles(profile), max_size=4))
    parts = [first, *inner]
    if inner:
        parts.append(draw(atoms(profile)))
    out = parts[0]
    for part in parts[1:]:
        # A line comment carries its newline; anything else needs a separator.
        out += draw(SPACES) + part
    return out


@cache
@st.composite
def block_statements(draw: st.DrawFn, profile: str) -> str:
    """A trigger / routine whose body holds semicolons, CASE ... END and comments."""
    body = draw(st.lists(plain_statements(profile), min_size=1, max_size=2))
    if draw(st.booleans()):
        body.append("SELECT CASE WHEN a THEN 'end;' END")
    if profile == "postgres":
        head = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
    elif profile == "mysql":
        head = "CREATE DEFINER=`u`@`%` PROCEDURE p()\nBEGIN\n"
        if draw(st.booleans()):
            body.append("IF a THEN SELECT 1; END IF")
    else:
        head = "create temp trigger trg after insert on t begin\n"
    separator = draw(st.sampled_from([";\n", "; ", ";\n-- note;\n"]))
    return head + separator.join(body) + ";\nEND"


@cache
def statements(profile: str) -> st.SearchStrategy[str]:
    return st.one_of(plain_statements(profile), block_statements(profile))


@cache
@st.composite
def separators(draw: st.DrawFn, profile: str) -> str:
    """What may stand between two statements: ';' plus space, comments and empty statements."""
    parts = draw(st.lists(st.one_of(SPACES, comments(profile), st.just(";")), max_size=3))
    return ";" + "".join(part + " " for part in parts)


PROFILE_NAMES = st.sampled_from(sorted(PROFILES))


def significant_texts(text: str, options: SplitOptions) -> list[str]:
    tokens = tokenize(text, options)
    return [text[t.start : t.end] for t in tokens if significant_token(t, text, options)]


def squash_semicolons(texts: list[str]) -> list[str]:
    """Drop empty statements: runs of ';' become one, leading and trailing ones go."""
    out: list[str] = []
    for text in texts:
        if text == ";" and (not out or out[-1] == ";"):
            continue
        out.append(text)
    while out and out[-1] == ";":
        out.pop()
    return out


@st.composite
def adversarial_scripts(draw: st.DrawFn) -> tuple[str, str]:
    """Any mix of fragments, block keywords and ';', whether or not it forms valid SQL."""
    profile = draw(PROFILE_NAMES)
    fragment = st.one_of(
        middles(profile),
        statements(profile),
        st.sampled_from([";", "BEGIN", "END", "CASE", "CREATE", "TRIGGER", "ATOMIC", "END IF"]),
    )
    parts = draw(st.lists(fragment, max_size=10))
    return profile, "".join(part + draw(SPACES) for part in parts)


@SETTINGS
@given(adversarial_scripts())
def test_split_then_join_loses_nothing_but_space_and_comments(script: tuple[str, str]) -> None:
    profile, text = script
    options = PROFILES[profile]
    joined = ";".join(s.sql for s in split_statements(text, options))
    assert squash_semicolons(significant_texts(joined, options)) == squash_semicolons(
        significant_texts(text, options)
    )


@SETTINGS
@given(PROFILE_NAMES.flatmap(lambda p: st.tuples(st.just(p), st.lists(statements(p), max_size=5))))
def test_joined_statements_split_back_exactly(script: tuple[str, list[str]]) -> None:
    profile, expected = script
    text = ";\n".join(expected)
    assert [s.sql for s in split_statements(text, PROFILES[profile])] == expected


@st.composite
def scripts_with_offsets(
    draw: st.DrawFn, profiles: st.SearchStrategy[str] = PROFILE_NAMES
) -> tuple[str, str, list[str], list[int]]:
    """A script of generated statements and separators, with each statement's offset."""
    profile = draw(profiles)
    text = draw(st.lists(st.one_of(SPACES, comments(profile)), max_size=3).map("".join))
    sqls: list[str] = []
    offsets: list[int] = []
    for sql in draw(st.lists(statements(profile), max_size=5)):
        if sqls:
            text += draw(separators(profile))
        offsets.append(len(text))
        sqls.append(sql)
        text += sql
    text += draw(st.sampled_from(["", ";", ";\n", "\n-- done\n"]))
    return profile, text, sqls, offsets


@SETTINGS
@given(scripts_with_offsets(), st.integers(min_value=1, max_value=500))
def test_statement_lines_count_newlines_before_them(
    script: tuple[str, str, list[str], list[int]], first_line: int
) -> None:
    profile, text, sqls, offsets = script
    result = split_statements(text, PROFILES[profile], first_line=first_line)
    assert [s.sql for s in result] == sqls
    assert [s.line for s in result] == [
        first_line + text.count("\n", 0, offset) for offset in offsets
    ]
    assert [s.index for s in result] == list(range(1, len(sqls) + 1))


@SETTINGS
@given(scripts_with_offsets(st.just("sqlite")))
def test_sqlite_statements_are_complete_for_sqlite(
    script: tuple[str, str, list[str], list[int]],
) -> None:
    text = script[1]
    for statement in split_statements(text, SQLITE):
        assert sqlite3.complete_statement(statement.sql + ";"), statement.sql


# The mysql client's DELIMITER lines: tokens that generated statements never hold in code.
CLIENT_TOKENS = st.sampled_from(["//", "$$", ";;", "|", ";", "'@@'"])
DELIMITER_WORDS = st.sampled_from(
    ["DELIMITER", "delimiter", "Delimiter", "  DELIMITER", "\tdelimiter"]
)
LINE_TAILS = st.sampled_from(["", " ", "\t", " -- from here on", " #"])


@st.composite
def client_scripts(draw: st.DrawFn) -> tuple[str, list[str], list[int]]:
    """A MySQL script whose generated statements lie between DELIMITER lines, each region
    ending its statements with the delimiter set before it; with each statement's offset."""
    text = draw(st.lists(st.one_of(SPACES, comments("mysql")), max_size=2).map("".join))
    sqls: list[str] = []
    offsets: list[int] = []
    delimiter = ";"
    for region in range(draw(st.integers(min_value=1, max_value=4))):
        if region:
            token = draw(CLIENT_TOKENS)
            text += f"{draw(DELIMITER_WORDS)} {token}{draw(LINE_TAILS)}\n"
            delimiter = token.strip("'")
        for i, sql in enumerate(draw(st.lists(statements("mysql"), max_size=3))):
            if i and delimiter == ";":
                text += draw(separators("mysql"))
            elif i:
                text += draw(st.sampled_from(["", " ", "\n"])) + delimiter + draw(SPACES)
            offsets.append(len(text))
            sqls.append(sql)
            text += sql
        # The last statement ends with its delimiter: a DELIMITER line read inside a
        # statement is the statement's text, as it is for the mysql client.
        text += draw(st.sampled_from(["", " ", "\n"]))
        text += delimiter + "\n"
    return text, sqls, offsets


@SETTINGS
@given(client_scripts(), st.integers(min_value=1, max_value=500))
def test_delimiter_lines_split_generated_statements_back_exactly(
    script: tuple[str, list[str], list[int]], first_line: int
) -> None:
    text, sqls, offsets = script
    result = split_statements(text, MYSQL, first_line=first_line)
    assert [s.sql for s in result] == sqls
    assert [s.line for s in result] == [
        first_line + text.count("\n", 0, offset) for offset in offsets
    ]
    assert [s.index for s in result] == list(range(1, len(sqls) + 1))
