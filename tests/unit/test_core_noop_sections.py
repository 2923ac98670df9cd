"""SPEC 12: a section of whitespace is unfinished work, a section of comments a deliberate
no-op. Pure: parsing, discovery's stand-ins, plans and status, no database."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from sqlkeel.core.model import EMPTY_CHECKSUM, Direction, HistoryRow, MigrationFile, State
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.plan import EVERYTHING, plan_rollback, plan_upgrade
from sqlkeel.core.splitter import MYSQL, POSTGRES, SQLITE, SplitOptions
from sqlkeel.core.status import describe
from sqlkeel.discovery import discover
from sqlkeel.errors import PlanError, SourceError

AT = datetime(2026, 11, 25, 14, 30, 22, tzinfo=timezone.utc)

# (text of an upgrade section holding only comments, the profile it is read with)
COMMENT_ONLY_UPGRADES = [
    pytest.param("-- This file intentionally left blank\n", SQLITE, id="line_comment"),
    pytest.param("/* nothing */\n", POSTGRES, id="block_comment"),
    pytest.param("/* outer /* nested */ still a comment */\n", POSTGRES, id="nested_comment"),
    pytest.param("# applies to the reporting database only\n", MYSQL, id="mysql_hash_comment"),
    pytest.param(
        "-- upgrade\n-- this change is made by the ops team\n\n-- rollback\nSELECT 1;\n",
        SQLITE,
        id="under_an_upgrade_marker",
    ),
    pytest.param("-- keel: transaction=off\n-- nothing to do here\n", POSTGRES, id="directive"),
    pytest.param(
        "-- upgrade\nDELIMITER //\n-- the procedure moved to V9\nDELIMITER ;\n",
        MYSQL,
        id="delimiter_lines",
    ),
    pytest.param(";\n-- only a stray semicolon and this comment\n", SQLITE, id="stray_semicolon"),
    pytest.param("-- keel: delimiter=GO\n-- nothing to do\n", SQLITE, id="delimiter_directive"),
]


@pytest.mark.parametrize(("text", "options"), COMMENT_ONLY_UPGRADES)
def test_an_upgrade_section_of_comments_only_is_a_no_op_with_the_empty_checksum(
    text: str, options: SplitOptions
) -> None:
    parsed = parse_migration("V1__x.sql", text, options, content=text.encode())
    assert parsed.upgrade.is_noop and parsed.is_noop
    assert parsed.upgrade.statements == ()
    # The checksum rules give it the checksum of no statements: comments never count.
    assert parsed.checksum == EMPTY_CHECKSUM


# Sections that are unfinished work: nothing but whitespace, directives, markers or the
# mysql client's DELIMITER lines.
BLANK_UPGRADES = [
    pytest.param("", SQLITE, id="empty_file"),
    pytest.param("\n  \n\t\n", SQLITE, id="whitespace"),
    pytest.param("-- V7: add users\n\n-- upgrade\n\n\n-- rollback\n\n", SQLITE, id="keel_new"),
    pytest.param("-- keel: transaction=off\n\n", POSTGRES, id="directive_only"),
    pytest.param("DELIMITER //\n\nDELIMITER ;\n", MYSQL, id="delimiter_lines_only"),
    pytest.param("-- upgrade\n;\n;\n-- rollback\nSELECT 1;\n", SQLITE, id="semicolons_only"),
    pytest.param("-- keel: delimiter=GO\nGO\n", SQLITE, id="delimiter_directive_and_token"),
]


@pytest.mark.parametrize(("text", "options"), BLANK_UPGRADES)
def test_an_upgrade_section_of_whitespace_only_is_still_refused_as_unfinished(
    text: str, options: SplitOptions
) -> None:
    with pytest.raises(SourceError, match="no statements to run") as info:
        parse_migration("V1__x.sql", text, options)
    # The fix names both ways out: write the SQL, or say in a comment that it is deliberate.
    assert "comment" in info.value.fix


@pytest.mark.parametrize(
    "marker",
    ["-- Rollback:", "-- migrate:down", "-- +goose Down", "-- migrate:up", "-- down"],
)
@pytest.mark.parametrize(
    "text",
    [
        "CREATE TABLE t (id int);\n{marker}\n-- This file intentionally left blank\n",
        "-- nothing here\n{marker}\n-- nothing here either\n",
        "{marker}\n",
    ],
    ids=["after_statements", "between_comments", "alone"],
)
def test_a_line_that_only_looks_like_a_marker_is_refused_even_among_comments(
    marker: str, text: str
) -> None:
    """Read as a comment, such a rollback would make the file a silent no-op upgrade (or
    its upgrade run without a rollback)."""
    body = text.format(marker=marker)
    with pytest.raises(SourceError, match="looks like a section marker") as info:
        parse_migration("V1__x.sql", body, POSTGRES)
    assert info.value.line == body.splitlines().index(marker) + 1


def test_a_rollback_section_of_comments_only_can_be_rolled_back_as_a_no_op() -> None:
    text = "CREATE TABLE t (id int);\n-- rollback\n-- This file intentionally left blank\n"
    parsed = parse_migration("V1__t.sql", text, SQLITE, content=text.encode())
    assert parsed.rollback is not None and parsed.rollback.is_noop
    assert parsed.rollback_is_noop and parsed.can_roll_back and not parsed.is_noop
    assert parsed.rollback_checksum == EMPTY_CHECKSUM


@pytest.mark.parametrize(
    "rollback",
    ["", "\n\n  \n", ";\n"],
    ids=["nothing", "whitespace", "semicolon"],
)
def test_a_rollback_section_of_whitespace_only_still_cannot_be_rolled_back(
    rollback: str,
) -> None:
    text = f"CREATE TABLE t (id int);\n-- rollback\n{rollback}"
    parsed = parse_migration("V1__t.sql", text, SQLITE)
    assert parsed.rollback is not None and not parsed.rollback.is_noop
    assert not parsed.can_roll_back and not parsed.rollback_is_noop
    history = [_row(parsed, 1)]
    with pytest.raises(PlanError, match="empty '-- rollback' section") as info:
        plan_rollback([parsed], history, support=EVERYTHING)
    assert "intentionally left blank" in str(info.value)


def _row(file: MigrationFile, id: int) -> HistoryRow:
    return HistoryRow(
        id=id,
        version=file.version,
        description=file.description,
        script=file.path,
        kind=file.kind,
        checksum=file.checksum,
        rollback_checksum=file.rollback_checksum,
        applied_at=AT,
        applied_by="tester@host",
        execution_ms=1,
        state=State.APPLIED,
        is_noop=file.is_noop,
    )


NOOP_UP = "-- upgrade\n-- applies to the analytics database only\n-- rollback\n-- nothing\n"
NOOP_DOWN = "CREATE TABLE t (id int);\n-- rollback\n-- This file intentionally left blank\n"
PLAIN = "CREATE TABLE u (id int);\n-- rollback\nDROP TABLE u;\n"


def _write(directory: Path) -> None:
    for name, text in (
        ("V1__noop_up.sql", NOOP_UP),
        ("V2__t.sql", NOOP_DOWN),
        ("V3__u.sql", PLAIN),
    ):
        (directory / name).write_text(text, encoding="utf-8")


def test_discovered_files_keep_whether_their_sections_are_no_ops(tmp_path: Path) -> None:
    # Discovery keeps no text: the no-op flags travel with the file's packed places.
    _write(tmp_path)
    discovered = discover(tmp_path, [SQLITE])
    found = {f.path: f for f in discovered.files}
    noop_up, noop_down, plain = found["V1__noop_up.sql"], found["V2__t.sql"], found["V3__u.sql"]
    assert (noop_up.is_noop, noop_up.rollback_is_noop, noop_up.can_roll_back) == (True, True, True)
    section = discovered.source.section(noop_up, Direction.UPGRADE)
    assert section.is_noop and section.statements == ()
    assert (noop_down.is_noop, noop_down.rollback_is_noop, noop_down.can_roll_back) == (
        False,
        True,
        True,
    )
    assert not plain.is_noop and not plain.rollback_is_noop and plain.can_roll_back
    assert [discovered.source.parse(f) for f in found.values()] == list(found.values())


def test_unchanged_applied_files_with_a_no_op_section_can_still_be_rolled_back(
    tmp_path: Path,
) -> None:
    # A file exactly as its row recorded it is not parsed again; a section of comments and
    # a blank one have the same checksum, so such files are parsed to tell them apart.
    _write(tmp_path)
    (tmp_path / "V0.5__blank.sql").write_text("CREATE TABLE b (id int);\n-- rollback\n\n")
    first = discover(tmp_path, [SQLITE])
    history = tuple(
        _row(first.source.with_checksums(f), i) for i, f in enumerate(first.files, start=1)
    )
    again = {f.path: f for f in discover(tmp_path, [SQLITE], history).files}
    assert again["V1__noop_up.sql"].is_noop and again["V1__noop_up.sql"].can_roll_back
    assert again["V2__t.sql"].rollback_is_noop and again["V2__t.sql"].can_roll_back
    assert not again["V0.5__blank.sql"].can_roll_back
    plan = plan_rollback(list(again.values()), history, count=3, support=EVERYTHING)
    assert [s.migration.path for s in plan.steps] == ["V3__u.sql", "V2__t.sql", "V1__noop_up.sql"]


def test_status_marks_no_op_sections_of_applied_and_pending_files() -> None:
    files = [
        parse_migration(name, text, SQLITE)
        for name, text in (
            ("V1__noop_up.sql", NOOP_UP),
            ("V2__t.sql", NOOP_DOWN),
            ("V3__u.sql", PLAIN),
        )
    ]
    history = [_row(files[0], 1)]
    entries, problems = describe(files, history)
    assert problems == []
    assert [(e.state, e.is_noop, e.rollback_is_noop) for e in entries] == [
        ("applied", True, True),
        ("pending", False, True),
        ("pending", False, False),
    ]
    plan = plan_upgrade(files, history, support=EVERYTHING)
    assert [s.migration.is_noop for s in plan.steps] == [False, False]


def test_an_applied_rows_no_op_mark_is_what_ran_even_if_the_file_is_gone() -> None:
    noop = parse_migration("V1__noop_up.sql", NOOP_UP, SQLITE)
    entries, _ = describe([], [_row(noop, 1)])
    assert [(e.state, e.is_noop) for e in entries] == [("missing", True)]
